//! Sealed memfd payloads for JS (the core's `memfd` module): `sealPayload` makes one,
//! `mapSealedPayload` maps a received one as a Buffer without copying it. Both take plain
//! descriptor numbers, as `send` does; the checks and the syscalls are the core's.
//!
//! Ownership: `sealPayload` hands its new descriptor to the caller. `mapSealedPayload` never
//! closes the one it is given. Its Buffer's memory is an external ArrayBuffer that owns the
//! mapping (a boxed `SealedMap`): when JS collects it, or its environment is torn down, the
//! finalizer unmaps it, exactly once (`js::external_arraybuffer_with`).

use std::ffi::c_void;
use std::os::fd::{BorrowedFd, IntoRawFd};

use napi::{sys, Env, JsValue, Result, Unknown};
use napi_derive::napi;
use unixgram_core::SealedMap;

use crate::args::{buffers_arg, fd_number, invalid, number_arg};
use crate::error;
use crate::js;

/// `Number.MAX_SAFE_INTEGER`: the largest `maxSize` taken, as every integer up to it is exact.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Write `chunks` back to back into a new memfd and seal it against any change
/// (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`): how systemd-journald's
/// native protocol passes an entry too large for one datagram, as the only descriptor
/// (`SCM_RIGHTS`) of an empty datagram. Linux only.
///
/// The arguments are checked before any syscall.
///
/// @param chunks - the payload's parts, in order (Buffers or other `Uint8Array`s)
/// @returns the memfd's descriptor, close-on-exec. The caller owns it and closes it
///   (`fs.closeSync`) once it is sent: the datagram holds its own reference.
/// @throws `TypeError` `ERR_INVALID_ARG_TYPE` if `chunks` is not an array of Uint8Arrays;
///   `ERR_UNIXGRAM_UNSUPPORTED` on macOS and FreeBSD; otherwise the errno of the syscall
///   that failed (`memfd_create`, `pwritev`, `fcntl`: `EMFILE`, `ENOMEM`, ...), in Node's
///   shape, the memfd then already closed.
/// @example
/// ```ts
/// const fd = sealPayload([Buffer.from('MESSAGE=hello'), Buffer.of(0x0a)]);
/// try {
///   send(socket.fd, Buffer.alloc(0), null, { fds: [fd] });
/// } finally {
///   fs.closeSync(fd);
/// }
/// ```
#[napi(catch_unwind, ts_args_type = "chunks: Uint8Array[]")]
pub fn seal_payload(env: Env, chunks: Unknown) -> Result<i32> {
    let raw = env.raw();
    // SAFETY: `chunks` is a live argument of this call; the slices are used before it
    // returns, and no JS runs meanwhile.
    let Some(parts) = (unsafe { buffers_arg(raw, chunks.raw(), 0, None) }) else {
        return Err(invalid(
            raw,
            false,
            c"chunks must be an array of Buffers or Uint8Arrays",
        ));
    };
    unixgram_core::memfd::seal_payload(&parts)
        .map(IntoRawFd::into_raw_fd)
        .map_err(|e| error::throw(raw, &e))
}

/// Map a sealed memfd received from a peer (`sealPayload`'s, or a journald client's) and
/// return its bytes as a Buffer over the mapping: no copy, however large.
///
/// The memfd must be sealed against writing, shrinking and growing (`F_SEAL_WRITE |
/// F_SEAL_SHRINK | F_SEAL_GROW`, what journald requires), so that its sender can change
/// nothing while it is read. `fd` is not closed: it stays the caller's, who may close it at
/// once; the Buffer stays valid until it is garbage-collected, which unmaps it. Writing to
/// the Buffer changes only this process's copy of the bytes. An empty memfd gives an empty
/// Buffer. The arguments are checked before any syscall. Linux only.
///
/// @param fd - the received descriptor
/// @param maxSize - the largest payload accepted, in bytes
/// @returns the payload's bytes
/// @throws `TypeError` `ERR_INVALID_ARG_TYPE` if `fd` or `maxSize` is not a number;
///   `RangeError` `ERR_OUT_OF_RANGE` if `fd` is not an integer in `[0, 2**31)` or
///   `maxSize` not a safe integer `>= 0`; `ERR_UNIXGRAM_MEMFD_NOT_SEALED` if the memfd lacks
///   one of the three seals, or the descriptor is not a memfd at all (a pipe, a socket, a
///   plain file); `ERR_UNIXGRAM_PAYLOAD_TOO_LARGE` if it holds more than `maxSize` bytes;
///   `ERR_UNIXGRAM_UNSUPPORTED` on macOS and FreeBSD; otherwise the errno of the syscall
///   that failed (`EBADF`, `EACCES` from `mmap` for a write-only descriptor, ...).
/// @example
/// ```ts
/// const [fd] = fds; // the one descriptor of an empty datagram
/// try {
///   const entry = mapSealedPayload(fd, 64 << 20);
///   console.log(entry.toString('utf8'));
/// } finally {
///   fs.closeSync(fd);
/// }
/// ```
#[napi(
    catch_unwind,
    ts_args_type = "fd: number, maxSize: number",
    ts_return_type = "Buffer"
)]
pub fn map_sealed_payload<'env>(
    env: &'env Env,
    fd: Unknown,
    max_size: Unknown,
) -> Result<Unknown<'env>> {
    let raw = env.raw();
    // SAFETY: live arguments of this call.
    let (fd, max_size) = unsafe { (fd_number(raw, fd.raw()), number_arg(raw, max_size.raw())) };
    let fd = fd?;
    let Some(max_size) = max_size else {
        return Err(invalid(raw, false, c"maxSize must be a number"));
    };
    // NaN and the infinities have no zero fraction: refused here too.
    if max_size.fract() != 0.0 || !(0.0..=MAX_SAFE_INTEGER).contains(&max_size) {
        return Err(invalid(raw, true, c"maxSize must be a safe integer >= 0"));
    }
    // SAFETY: the number is the caller's descriptor, open for this call (no JS runs
    // meanwhile); it is only queried and mapped, never closed. A number that is not open
    // makes the first syscall fail with EBADF.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let map = unixgram_core::memfd::map_sealed(fd, max_size as usize)
        .map_err(|e| error::throw(raw, &e))?;
    let value = if map.is_empty() {
        js::buffer_copy(raw, &[])?
    } else {
        buffer_owning(raw, map)?
    };
    // SAFETY: `value` is a live Buffer of this env.
    Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
}

/// A Buffer over the bytes of `map` (not empty), whose memory owns it.
fn buffer_owning(env: sys::napi_env, map: SealedMap) -> Result<sys::napi_value> {
    let len = map.len();
    let owner = Box::into_raw(Box::new(map));
    // SAFETY: `owner` is the Box just leaked, alive until `unmap` frees it.
    let data = unsafe { (*owner).as_mut_slice().as_mut_ptr() };
    // SAFETY: `data` is the `len` mapped bytes `owner` holds: valid and unmoved (a mapping
    // does not move with the Box) until `unmap` drops the Box, exactly once.
    let arraybuffer =
        unsafe { js::external_arraybuffer_with(env, data.cast(), len, unmap, owner.cast())? };
    // From here the ArrayBuffer owns the mapping, whatever fails below.
    js::buffer_over(env, arraybuffer)
}

/// Finalizer of a mapped payload's ArrayBuffer: unmap it.
///
/// # Safety
/// `hint` is the `Box<SealedMap>` leaked by [`buffer_owning`], and this runs once for it
/// (N-API calls it when the ArrayBuffer is collected or its environment is torn down, or
/// `external_arraybuffer_with` when it could not be made); nothing reads the bytes then.
unsafe extern "C" fn unmap(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(hint.cast::<SealedMap>()) });
}
