//! The send fast paths: `sendOnFd(fd, data)` and `sendManyOnFd(fd, datas, start, end)`,
//! plain N-API functions registered by hand (with `closeFdRange`, see `fdset.rs`). The
//! argument helpers they share with `closeFdRange` are in `raw_args.rs`.
//!
//! A connected socket with nothing but bytes to send is the common case of `sendPacket`.
//! Through a `#[napi]` class method it cost 3.5–4 µs of CPU per datagram on the test VM
//! (class unwrap and type-tag check, napi-rs glue with an allocation and a lock), against
//! 1.6 µs for `unix-dgram`'s whole send loop. This function takes the fd number, as Node's
//! own `fs.writeSync(fd, …)` does, and makes only the N-API calls it needs: read two
//! arguments, one `send(2)`, one integer back.
//!
//! It returns bytes sent, or the negated errno (`-EAGAIN` when the peer's queue is full),
//! and never throws for a failed send: JS finishes any other failure through
//! `NativeSocket.sendFailed`, which reports it with its address without sending again (the
//! kernel reports some errors only once). Wrong arguments throw a `TypeError`.
//!
//! `sendTextOnFd(fd, text)` sends a string's UTF-8 bytes: N-API writes them straight into a
//! per-thread scratch buffer, which spares the text serializers (JSON) a `Buffer.from` per
//! packet, itself two calls into Node's C++ and a pool allocation.
//!
//! `sendManyOnFd` is the same for `sendPackets` without ancillary data: the Buffers
//! `datas[start..end]` (at most 1024) go out with one `sendmmsg`, without slicing the array
//! in JS or napi-rs building `Vec`s of argument wrappers. It returns how many went out, or
//! the negated errno of the first.

use std::cell::RefCell;
use std::ffi::CStr;
use std::io::IoSlice;
use std::os::fd::BorrowedFd;
use std::ptr;

use unixgram_core::{batch, OutMessage, SendAncillary};

use napi::bindgen_prelude::{sys, Object};
use napi::{JsValue, Result};
use napi_derive::napi;

use crate::raw_args::{args, buffer_arg, int_arg, type_error};

/// The functions registered by hand, with their JS names.
const FUNCTIONS: [(&CStr, sys::napi_callback); 4] = [
    (c"sendOnFd", Some(send_on_fd)),
    (c"sendTextOnFd", Some(send_text_on_fd)),
    (c"sendManyOnFd", Some(send_many_on_fd)),
    (c"closeFdRange", Some(crate::fdset::close_fd_range)),
];

/// Register the raw functions on the module's exports.
#[napi(module_exports)]
pub fn register_fast_paths(exports: Object) -> Result<()> {
    let env = exports.value().env;
    for (name, callback) in FUNCTIONS {
        let mut func = ptr::null_mut();
        // SAFETY: `env` is the module's environment during its initialisation; `name` is a
        // NUL-terminated static string, and `callback` has the N-API callback signature.
        let status = unsafe {
            sys::napi_create_function(
                env,
                name.as_ptr(),
                name.count_bytes() as isize,
                callback,
                ptr::null_mut(),
                &mut func,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("napi_create_function failed"));
        }
        // SAFETY: as above; `exports` and `func` are live handles of this scope.
        let status =
            unsafe { sys::napi_set_named_property(env, exports.raw(), name.as_ptr(), func) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("napi_set_named_property failed"));
        }
    }
    Ok(())
}

/// Bytes sent (or datagrams, for `sendManyOnFd`) as a JS number, or the negated errno.
///
/// # Safety
/// `env` is the running callback's.
unsafe fn result_to_js(
    env: sys::napi_env,
    result: unixgram_core::Result<usize>,
) -> sys::napi_value {
    let value = match result {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) => -(e.errno().map_or(libc::EIO, |e| e as i32)),
    };
    let mut out = ptr::null_mut();
    // SAFETY: `env` is this callback's; on failure `out` stays null, which N-API reads as
    // `undefined` (only possible with an exception already pending).
    unsafe { sys::napi_create_int32(env, value, &mut out) };
    out
}

/// `sendManyOnFd(fd: number, datas: Buffer[], start: number, end: number): number`.
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
unsafe extern "C" fn send_many_on_fd(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node calls this with a valid `env` and `info`.
    let Some(argv) = (unsafe { args::<4>(env, info) }) else {
        // SAFETY: `env` is this callback's.
        return unsafe {
            type_error(
                env,
                c"sendManyOnFd(fd, datas, start, end) takes four arguments",
            )
        };
    };
    // SAFETY: live handles of this callback.
    let (fd, start, end) = unsafe {
        (
            int_arg(env, argv[0]),
            int_arg(env, argv[2]),
            int_arg(env, argv[3]),
        )
    };
    let (Some(fd), Some(start), Some(end)) = (fd, start, end) else {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"fd, start and end must be numbers") };
    };
    let mut length = 0u32;
    // SAFETY: a live handle; a non-array makes the call fail, checked.
    if unsafe { sys::napi_get_array_length(env, argv[1], &mut length) } != sys::Status::napi_ok {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"datas must be an array of Buffers") };
    }
    if fd < 0 || start < 0 || end < start || end as u32 > length {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"fd, start or end out of range") };
    }
    let end = (end as usize).min(start as usize + batch::SEND_MAX);
    let mut iovs: Vec<[IoSlice<'_>; 1]> = Vec::with_capacity(end - start as usize);
    for i in start as usize..end {
        let mut element = ptr::null_mut();
        // SAFETY: i < length, a live array handle.
        let ok = unsafe { sys::napi_get_element(env, argv[1], i as u32, &mut element) }
            == sys::Status::napi_ok;
        // SAFETY: `element` is a live handle; the bytes are used only within this call.
        match ok.then(|| unsafe { buffer_arg(env, element) }).flatten() {
            Some(bytes) => iovs.push([IoSlice::new(bytes)]),
            // SAFETY: `env` is this callback's.
            None => return unsafe { type_error(env, c"datas must be an array of Buffers") },
        }
    }
    let msgs: Vec<OutMessage<'_>> = iovs
        .iter()
        .map(|iov| OutMessage {
            iov,
            ancillary: SendAncillary::default(),
        })
        .collect();
    // SAFETY: as in send_on_fd, JS passes the fd of a socket it holds open.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    // SAFETY: `env` is this callback's.
    unsafe { result_to_js(env, batch::sendmmsg(fd, &msgs, None)) }
}

/// `sendOnFd(fd: number, data: Buffer): number`.
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
unsafe extern "C" fn send_on_fd(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node calls this with a valid `env` and `info`.
    let (fd, data) =
        match unsafe { fd_and_value(env, info, c"sendOnFd(fd, data) takes two arguments") } {
            Ok(args) => args,
            Err(thrown) => return thrown,
        };
    // SAFETY: a live handle of this callback; the bytes are used only within this call.
    let Some(bytes) = (unsafe { buffer_arg(env, data) }) else {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"data must be a Buffer") };
    };
    // SAFETY: `env` is this callback's.
    unsafe { result_to_js(env, unixgram_core::msg::send(fd, bytes)) }
}

/// The arguments `(fd, value)` of `sendOnFd` / `sendTextOnFd`, the fd checked, or `Err` with
/// what to return once a `TypeError` is thrown.
///
/// # Safety
/// `env` and `info` are the running callback's; the fd must be used only within it.
unsafe fn fd_and_value<'a>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    usage: &CStr,
) -> std::result::Result<(BorrowedFd<'a>, sys::napi_value), sys::napi_value> {
    // SAFETY: per the contract.
    let Some(argv) = (unsafe { args::<2>(env, info) }) else {
        // SAFETY: `env` is this callback's.
        return Err(unsafe { type_error(env, usage) });
    };
    // SAFETY: a live handle of this callback.
    let Some(fd) = (unsafe { int_arg(env, argv[0]) }).filter(|&fd| fd >= 0) else {
        // SAFETY: `env` is this callback's.
        return Err(unsafe { type_error(env, c"fd must be a descriptor number") });
    };
    // SAFETY: JS passes the fd of a socket it holds open (it checks `closed` first, on the
    // only thread that can close it), so the number names that socket for this call; a
    // stale number would at worst make send(2) fail with EBADF or ENOTSOCK.
    Ok((unsafe { BorrowedFd::borrow_raw(fd) }, argv[1]))
}

/// Size of the per-thread scratch buffer `sendTextOnFd` writes UTF-8 into at first; it grows
/// for a longer text, and goes back to this size after one longer than [`TEXT_KEEP`].
const TEXT_SCRATCH: usize = 4096;
/// The most scratch memory kept between calls.
const TEXT_KEEP: usize = 256 << 10;

thread_local! {
    /// Where `sendTextOnFd` puts a string's UTF-8 bytes (one per JS thread: main, workers).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Write the UTF-8 bytes of a string argument into `scratch` (grown as needed), or `None`
/// if it is not a string. Lone surrogates become U+FFFD, as in `Buffer.from(text)`.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
unsafe fn string_arg(
    env: sys::napi_env,
    value: sys::napi_value,
    scratch: &mut Vec<u8>,
) -> Option<usize> {
    if scratch.len() < TEXT_SCRATCH {
        scratch.resize(TEXT_SCRATCH, 0);
    }
    let mut len = 0usize;
    // SAFETY: per the contract; `scratch` has `scratch.len()` writable bytes, and N-API
    // writes at most that many (the text cut short, then a NUL). A non-string fails, checked.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env,
            value,
            scratch.as_mut_ptr().cast(),
            scratch.len(),
            &mut len,
        )
    };
    if status != sys::Status::napi_ok {
        return None;
    }
    // N-API stops before a character that does not fit: with at least 4 bytes to spare (the
    // longest UTF-8 character) nothing was cut.
    if len + 4 < scratch.len() {
        return Some(len);
    }
    // Longer than the scratch: ask for the exact length, grow, and write it again.
    // SAFETY: a null buffer asks only for the length.
    unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) };
    scratch.resize(len + 1, 0);
    // SAFETY: as above, with room for the whole text and its NUL.
    unsafe {
        sys::napi_get_value_string_utf8(
            env,
            value,
            scratch.as_mut_ptr().cast(),
            scratch.len(),
            &mut len,
        )
    };
    Some(len)
}

/// `sendTextOnFd(fd: number, text: string): number`: the UTF-8 bytes of `text` as one
/// datagram; otherwise as [`send_on_fd`].
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
unsafe extern "C" fn send_text_on_fd(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node calls this with a valid `env` and `info`.
    let (fd, text) =
        match unsafe { fd_and_value(env, info, c"sendTextOnFd(fd, text) takes two arguments") } {
            Ok(args) => args,
            Err(thrown) => return thrown,
        };
    SCRATCH.with_borrow_mut(|scratch| {
        // SAFETY: a live handle of this callback; no JS runs while the scratch is borrowed.
        let Some(len) = (unsafe { string_arg(env, text, scratch) }) else {
            // SAFETY: `env` is this callback's.
            return unsafe { type_error(env, c"text must be a string") };
        };
        let result = unixgram_core::msg::send(fd, &scratch[..len]);
        if scratch.len() > TEXT_KEEP {
            *scratch = Vec::new();
        }
        // SAFETY: `env` is this callback's.
        unsafe { result_to_js(env, result) }
    })
}
