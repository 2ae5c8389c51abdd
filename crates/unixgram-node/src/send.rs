//! The two ways to send, plain N-API functions registered by hand (their TypeScript
//! declarations are in `index-header.d.ts`, next to this crate's sources):
//!
//! - `send(fd, data, dest?, ancillary?)`: one datagram; `data` is a Buffer, a string (sent as
//!   its UTF-8 bytes, written straight into a per-thread scratch buffer: no Buffer is made)
//!   or an array of Buffers (gathered into one datagram); `dest` the receiver's `sun_path`
//!   bytes on an unconnected socket; `ancillary` `{ fds?, credentials? }`.
//! - `sendMany(fd, datas, start, end, dest?, ancillary?)`: `datas[start..end]` (at most
//!   `SEND_MANY_MAX`) with one `sendmmsg`, each a Buffer or an array of Buffers gathered
//!   into one datagram, each with its own `ancillary[i]`; `dest` one
//!   address for all, or an array of them by index of `datas` (each datagram to its own).
//!
//! Each finishes where it starts: it returns the bytes (or datagrams) sent, or `WOULD_BLOCK`
//! when the peer's queue is full and nothing was sent, or throws the complete error in
//! Node's shape (an `EMSGSIZE` has already grown `SO_SNDBUF` and sent again; the error names
//! the address). JS keeps one branch: wait on `WOULD_BLOCK`.
//!
//! They take the socket's fd number, as `fs.writeSync(fd, …)` does, and find the socket in
//! this thread's registry (`state::find`): no class unwrap and no napi-rs glue per datagram,
//! which cost more than the send itself (bench/README.md, "Measurements behind the code").

use std::cell::RefCell;
use std::io::IoSlice;
use std::ptr;

use napi::sys;
use napi_derive::napi;
use unixgram_core::{batch, Address, Error as CoreError, OutMessage, SendAncillary};

use crate::args::{
    absent, address_arg, ancillary_arg, args, array_len, buffer_arg, buffers_arg, element, guard,
    int_arg, is_string, type_error, Ancillary,
};
use crate::error;
use crate::state;

/// What a send returns when the peer's queue is full: `-EAGAIN` of this platform (-11 on
/// Linux, -35 on macOS and FreeBSD). Nothing was sent; wait for room and retry.
#[napi]
pub const WOULD_BLOCK: i32 = -libc::EAGAIN;
/// The most descriptors one datagram carries (`SCM_MAX_FD`).
#[napi]
pub const MAX_FDS_PER_DATAGRAM: u32 = unixgram_core::MAX_FDS_PER_MESSAGE as u32;
/// The most datagrams one `sendMany` call sends (`UIO_MAXIOV`).
#[napi]
pub const SEND_MANY_MAX: u32 = batch::SEND_MAX as u32;

/// Size of the per-thread scratch buffer a string is written into at first; it grows for a
/// longer text, and goes back to this size after one longer than [`TEXT_KEEP`].
const TEXT_SCRATCH: usize = 4096;
/// The most scratch memory kept between calls.
const TEXT_KEEP: usize = 256 << 10;

thread_local! {
    /// Where a string's UTF-8 bytes go (one per JS thread: main, workers).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `send(fd, data, dest?, ancillary?)`: see the module docs.
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
pub(crate) unsafe extern "C" fn send(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    guard(env, || {
        // SAFETY: Node calls this with a valid `env` and `info`; every handle below is a
        // live handle of this call, and the bytes read are used only within it.
        unsafe {
            let Some(([fd, data, dest, ancillary], argc @ 2..)) = args::<4>(env, info) else {
                return type_error(
                    env,
                    c"send(fd, data, dest?, ancillary?) takes at least two arguments",
                );
            };
            // The common send (a connected socket, bytes only) passes two arguments: nothing
            // more to read.
            let (dest, ancillary) = if argc == 2 {
                (None, Ancillary::default())
            } else {
                let Some(dest) = dest_arg(env, dest) else {
                    return type_error(env, c"dest must be a Buffer of sun_path bytes");
                };
                let Some(ancillary) = ancillary_arg(env, ancillary) else {
                    return type_error(
                        env,
                        c"ancillary must be { fds?: number[], credentials?: { pid, uid, gid } }",
                    );
                };
                (dest, ancillary)
            };
            let anc = send_ancillary(&ancillary);
            if is_string(env, data) {
                return SCRATCH.with_borrow_mut(|scratch| {
                    let Some(len) = string_arg(env, data, scratch) else {
                        return type_error(env, c"data must be a string");
                    };
                    let result = on_socket(env, fd, |s| {
                        s.send(&[IoSlice::new(&scratch[..len])], &anc, dest.as_ref())
                    });
                    if scratch.len() > TEXT_KEEP {
                        *scratch = Vec::new();
                    }
                    result
                });
            }
            if let Some(bytes) = buffer_arg(env, data) {
                return on_socket(env, fd, |s| {
                    s.send(&[IoSlice::new(bytes)], &anc, dest.as_ref())
                });
            }
            let Some(chunks) = buffers_arg(env, data, 0, None) else {
                return type_error(
                    env,
                    c"data must be a Buffer, a string or an array of Buffers",
                );
            };
            let iov: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
            on_socket(env, fd, |s| s.send(&iov, &anc, dest.as_ref()))
        }
    })
}

/// `sendMany(fd, datas, start, end, dest?, ancillary?)`: see the module docs.
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
pub(crate) unsafe extern "C" fn send_many(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    guard(env, || {
        // SAFETY: as in `send`.
        unsafe {
            let Some(([fd, datas, start, end, dest, ancillary], 4..)) = args::<6>(env, info) else {
                return type_error(env, c"sendMany(fd, datas, start, end, dest?, ancillary?) takes at least four arguments");
            };
            let (Some(start), Some(end)) = (int_arg(env, start), int_arg(env, end)) else {
                return type_error(env, c"start and end must be numbers");
            };
            let length = array_len(env, datas).unwrap_or(0);
            if start < 0 || end < start || end as u32 > length {
                return type_error(env, c"start and end must be indices of datas, start <= end");
            }
            let (start, end) = (
                start as u32,
                (end as u32).min(start as u32 + batch::SEND_MAX as u32),
            );
            let datagrams: Option<Vec<Vec<&[u8]>>> = (start..end)
                .map(|i| gathered_arg(env, element(env, datas, i)?))
                .collect();
            let Some(datagrams) = datagrams else {
                return type_error(
                    env,
                    c"datas must be an array of Buffers, or of arrays of Buffers gathered into one datagram each",
                );
            };
            let Some(dests) = dests_arg(env, dest, start, end) else {
                return type_error(env, c"dest must be a Buffer of sun_path bytes, or an array of them by index of datas");
            };
            let mut extras: Vec<Ancillary> = Vec::new();
            if !absent(env, ancillary) {
                for i in start..end {
                    let entry = element(env, ancillary, i).and_then(|e| ancillary_arg(env, e));
                    let Some(entry) = entry else {
                        return type_error(env, c"ancillary must be an array of { fds?, credentials? } or undefined, by index of datas");
                    };
                    extras.push(entry);
                }
            }
            let iovs: Vec<Vec<IoSlice<'_>>> = datagrams
                .iter()
                .map(|d| d.iter().map(|c| IoSlice::new(c)).collect())
                .collect();
            let msgs: Vec<OutMessage<'_>> = iovs
                .iter()
                .enumerate()
                .map(|(i, iov)| OutMessage {
                    segment_size: None,
                    iov,
                    ancillary: extras
                        .get(i)
                        .map_or_else(SendAncillary::default, send_ancillary),
                    dest: dests.get(i),
                })
                .collect();
            on_socket(env, fd, |s| s.send_many(&msgs))
        }
    })
}

/// Run a send on the open socket with descriptor `fd` argument: the count as a JS number,
/// [`WOULD_BLOCK`] for `EAGAIN`, or the thrown error.
///
/// # Safety
/// `env` is the running callback's and `fd` a live handle of it.
unsafe fn on_socket(
    env: sys::napi_env,
    fd: sys::napi_value,
    send: impl FnOnce(&unixgram_core::Socket) -> unixgram_core::Result<usize>,
) -> sys::napi_value {
    // SAFETY: per the contract.
    let Some(fd) = (unsafe { int_arg(env, fd) }) else {
        // SAFETY: `env` is this callback's.
        return unsafe { type_error(env, c"fd must be a descriptor number") };
    };
    let Some(shared) = state::find(fd) else {
        error::throw_code(env, "ERR_UNIXGRAM_CLOSED", "the socket is closed");
        return ptr::null_mut();
    };
    let result = {
        let Ok(inner) = shared.try_borrow() else {
            error::throw_code(env, "ERR_UNIXGRAM_BUSY", "the socket is in use");
            return ptr::null_mut();
        };
        let result = match inner.sock.as_ref() {
            Some(sock) => send(sock),
            None => Err(CoreError::os(nix::errno::Errno::EBADF, "send")),
        };
        if result.is_ok() {
            inner.watch.busy_poll.sent();
        }
        result
    };
    let value = match result {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) if e.errno() == Some(nix::errno::Errno::EAGAIN) => WOULD_BLOCK,
        Err(e) => {
            error::throw(env, &e);
            return ptr::null_mut();
        }
    };
    let mut out = ptr::null_mut();
    // SAFETY: `env` is this callback's.
    unsafe { sys::napi_create_int32(env, value, &mut out) };
    out
}

fn send_ancillary(ancillary: &Ancillary) -> SendAncillary<'_> {
    SendAncillary {
        fds: &ancillary.fds,
        credentials: ancillary.credentials,
    }
}

/// An optional destination argument: `Some(None)` when absent, `None` when malformed.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
unsafe fn dest_arg(env: sys::napi_env, value: sys::napi_value) -> Option<Option<Address>> {
    // SAFETY: per the contract.
    unsafe {
        if absent(env, value) {
            return Some(None);
        }
        address_arg(env, value).map(Some)
    }
}

/// The destinations of `datas[start..end]`: none (empty) when absent, the one address
/// repeated, or `array[start..end]`; `None` when malformed.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
unsafe fn dests_arg(
    env: sys::napi_env,
    value: sys::napi_value,
    start: u32,
    end: u32,
) -> Option<Vec<Address>> {
    // SAFETY: per the contract.
    unsafe {
        if absent(env, value) {
            return Some(Vec::new());
        }
        if let Some(one) = address_arg(env, value) {
            return Some(vec![one; (end - start) as usize]);
        }
        array_len(env, value)?;
        (start..end)
            .map(|i| address_arg(env, element(env, value, i)?))
            .collect()
    }
}

/// One datagram of a `sendMany`: a Buffer, or an array of Buffers gathered into it.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
unsafe fn gathered_arg<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<Vec<&'a [u8]>> {
    // SAFETY: per the contract.
    unsafe {
        match buffer_arg(env, value) {
            Some(bytes) => Some(vec![bytes]),
            None => buffers_arg(env, value, 0, None),
        }
    }
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
