//! Descriptors that are not sockets, for systemd's protocols (the core's `fd` module): `pipe`
//! for `BARRIER=1`, `setCloexec` for the sockets `LISTEN_FDS` passes. Both take and give
//! plain descriptor numbers, as `send` does; the syscalls are the core's.
//!
//! Ownership: `pipe` hands both new descriptors to the caller. `setCloexec` never closes
//! the one it is given.

use std::os::fd::{BorrowedFd, IntoRawFd};

use napi::{Env, Result};
use napi_derive::napi;

use crate::error;

/// A new pipe, both ends close-on-exec (`pipe2(O_CLOEXEC)`).
///
/// @returns `[readFd, writeFd]`; the caller owns both and closes them (`fs.closeSync`)
/// @throws the errno of `pipe2` in Node's shape (`EMFILE`, `ENFILE`)
#[napi(catch_unwind, ts_return_type = "[number, number]")]
pub fn pipe(env: Env) -> Result<Vec<i32>> {
    let (read, write) = unixgram_core::fd::pipe().map_err(|e| error::throw(env.raw(), &e))?;
    Ok(vec![read.into_raw_fd(), write.into_raw_fd()])
}

/// Turn on `FD_CLOEXEC` on `fd`, as `sd_listen_fds` does to each descriptor it is passed:
/// it is then closed in programs this process runs. The descriptor stays the caller's.
///
/// @param fd - an open descriptor
/// @throws `ERR_OUT_OF_RANGE` for a negative number; `EBADF` (`syscall` `'fcntl'`) if it
///   is not open
#[napi(catch_unwind)]
pub fn set_cloexec(env: Env, fd: i32) -> Result<()> {
    if fd < 0 {
        return Err(error::throw_code(
            env.raw(),
            "ERR_OUT_OF_RANGE",
            "fd must be >= 0",
        ));
    }
    // SAFETY: the number is the caller's descriptor, open for this call (no JS runs
    // meanwhile); it is only queried and flagged, never closed. A number that is not open
    // makes fcntl fail with EBADF.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    unixgram_core::fd::set_cloexec(fd).map_err(|e| error::throw(env.raw(), &e))
}
