//! Pidfds for JS (the core's `pidfd` module): `pidfdPid` and `pidfdExited` ask what a pidfd
//! says about its process. Both take a plain descriptor number, as `mapSealedPayload` does,
//! check it before any syscall, and never close it: received pidfds are owned by their fd
//! set (`batch/fdset.rs`), and a stolen one by whoever stole it.

use std::os::fd::BorrowedFd;

use napi::{Env, JsValue, Result, Unknown};
use napi_derive::napi;

use crate::args::fd_number;
use crate::error;

/// The descriptor number `fd` of a JS call, checked (see [`fd_number`]), borrowed for `f`.
fn with_fd<T>(
    env: &Env,
    fd: Unknown,
    f: impl FnOnce(BorrowedFd<'_>) -> unixgram_core::Result<T>,
) -> Result<T> {
    let raw = env.raw();
    // SAFETY: a live argument of this call.
    let fd = unsafe { fd_number(raw, fd.raw()) }?;
    // SAFETY: the number is the caller's descriptor, open for this call (no JS runs
    // meanwhile); it is only queried, never closed. A number that is not open makes the
    // first syscall fail with EBADF.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    f(fd).map_err(|e| error::throw(raw, &e))
}

/// The pid of the process the pidfd `fd` refers to, from the `Pid:` line of
/// `/proc/self/fdinfo/<fd>`: `> 0` its pid (in this `/proc`'s pid namespace), `0` when it has
/// none here (it lives in a pid namespace outside this one's descendants), `-1` once it has
/// exited and been reaped, when the number may already belong to another process. Linux only.
///
/// @param fd - a pidfd (the caller keeps it: it is not closed)
/// @returns the pid, 0 or -1
/// @throws `TypeError` `ERR_INVALID_ARG_TYPE` if `fd` is not a number; `RangeError`
///   `ERR_OUT_OF_RANGE` if it is not an integer in `[0, 2**31)`; `EBADF` if it is not open
///   (`syscall: 'fcntl'`) or not a pidfd (`'read'`); `ERR_UNIXGRAM_UNSUPPORTED` on macOS and
///   FreeBSD.
/// @example
/// ```ts
/// const pid = pidfdPid(fd); // e.g. 4242, or -1 once the process is gone
/// ```
#[napi(catch_unwind, ts_args_type = "fd: number")]
pub fn pidfd_pid(env: Env, fd: Unknown) -> Result<i32> {
    with_fd(&env, fd, unixgram_core::pidfd::pid)
}

/// Whether the process the pidfd `fd` refers to has exited (a zombie counts): poll(2) with
/// a zero timeout, so it never waits. Once `true`, always `true`. Linux only.
///
/// @param fd - a pidfd (the caller keeps it: it is not closed)
/// @returns whether the process has exited
/// @throws as `pidfdPid`, and the errno of `poll`
/// @example
/// ```ts
/// if (pidfdExited(fd)) console.log('the sender is gone');
/// ```
#[napi(catch_unwind, ts_args_type = "fd: number")]
pub fn pidfd_exited(env: Env, fd: Unknown) -> Result<bool> {
    with_fd(&env, fd, unixgram_core::pidfd::has_exited)
}
