//! The send fast path: `sendOnFd(fd, data)`, a plain N-API function registered by hand.
//!
//! A connected socket with nothing but bytes to send is the common case of `sendPacket`.
//! Through a `#[napi]` class method it cost 3.5–4 µs of CPU per datagram on the test VM
//! (class unwrap and type-tag check, napi-rs glue with an allocation and a lock), against
//! 1.6 µs for `unix-dgram`'s whole send loop. This function takes the fd number, as Node's
//! own `fs.writeSync(fd, …)` does, and makes only the N-API calls it needs: read two
//! arguments, one `send(2)`, one integer back.
//!
//! It returns bytes sent, or the negated errno (`-EAGAIN` when the peer's queue is full),
//! and never throws for a failed send: JS repeats any other failure through
//! `NativeSocket.send`, which reports it with its address (a failed datagram send sent
//! nothing, so nothing goes out twice). Wrong arguments throw a `TypeError`.

use std::ffi::{c_void, CStr};
use std::os::fd::BorrowedFd;
use std::ptr;

use napi::bindgen_prelude::{sys, Object};
use napi::{JsValue, Result};
use napi_derive::napi;

const NAME: &CStr = c"sendOnFd";

/// Register the raw functions on the module's exports.
#[napi(module_exports)]
pub fn register_fast_paths(exports: Object) -> Result<()> {
    let env = exports.value().env;
    let mut func = ptr::null_mut();
    // SAFETY: `env` is the module's environment during its initialisation; NAME is a
    // NUL-terminated static string, and `send_on_fd` has the N-API callback signature.
    let status = unsafe {
        sys::napi_create_function(
            env,
            NAME.as_ptr(),
            NAME.count_bytes() as isize,
            Some(send_on_fd),
            ptr::null_mut(),
            &mut func,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_reason("napi_create_function failed"));
    }
    // SAFETY: as above; `exports` and `func` are live handles of this scope.
    let status = unsafe { sys::napi_set_named_property(env, exports.raw(), NAME.as_ptr(), func) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_reason("napi_set_named_property failed"));
    }
    Ok(())
}

/// Throw a `TypeError` and return no value.
///
/// # Safety
/// `env` must be the environment of the running callback.
unsafe fn type_error(env: sys::napi_env, message: &CStr) -> sys::napi_value {
    // SAFETY: per the contract; both strings are NUL-terminated statics.
    unsafe { sys::napi_throw_type_error(env, c"ERR_INVALID_ARG_TYPE".as_ptr(), message.as_ptr()) };
    ptr::null_mut()
}

/// `sendOnFd(fd: number, data: Buffer): number`.
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
unsafe extern "C" fn send_on_fd(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = 2usize;
    let mut argv = [ptr::null_mut(); 2];
    // SAFETY: `argv` has room for `argc` handles; `this` and data are not asked for.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok || argc < 2 {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"sendOnFd(fd, data) takes two arguments") };
    }
    let mut fd = 0i32;
    // SAFETY: `argv[0]` is a live handle; a non-number makes the call fail, checked.
    if unsafe { sys::napi_get_value_int32(env, argv[0], &mut fd) } != sys::Status::napi_ok || fd < 0
    {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"fd must be a descriptor number") };
    }
    let mut data: *mut c_void = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: `argv[1]` is a live handle; a non-Buffer makes the call fail, checked.
    if unsafe { sys::napi_get_buffer_info(env, argv[1], &mut data, &mut len) }
        != sys::Status::napi_ok
    {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"data must be a Buffer") };
    }
    let bytes: &[u8] = if len == 0 || data.is_null() {
        &[]
    } else {
        // SAFETY: N-API reports `len` bytes at `data`, kept alive by the Buffer, which the
        // caller holds for the duration of this call; nothing else runs meanwhile.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    };
    // SAFETY: JS passes the fd of a socket it holds open (it checks `closed` first, on the
    // only thread that can close it), so the number names that socket for this call; a
    // stale number would at worst make send(2) fail with EBADF or ENOTSOCK.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let result = match unixgram_core::msg::send(fd, bytes) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) => -(e.errno().map_or(libc::EIO, |e| e as i32)),
    };
    let mut out = ptr::null_mut();
    // SAFETY: `env` is this callback's; on failure `out` stays null, which N-API reads as
    // `undefined` (only possible with an exception already pending).
    unsafe { sys::napi_create_int32(env, result, &mut out) };
    out
}
