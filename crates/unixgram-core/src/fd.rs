//! Descriptors that are not our sockets, for systemd's protocols: a close-on-exec pipe (the
//! one `BARRIER=1` passes its write end through) and the close-on-exec flag of an inherited
//! descriptor (what `sd_listen_fds` sets on each socket it is passed).

use std::os::fd::{BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};

use crate::error::{Error, Result};

/// A new pipe, both ends close-on-exec: `(read end, write end)`, each owned by the caller
/// (closed on drop). On Linux and FreeBSD the flag is set atomically by pipe2(2); macOS has
/// no pipe2, so it is set with fcntl(2) right after pipe(2), as for sockets there. See
/// pipe2(2).
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(target_vendor = "apple"))]
    let ends = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::os(e, "pipe2"));
    #[cfg(target_vendor = "apple")]
    let ends = nix::unistd::pipe()
        .map_err(|e| Error::os(e, "pipe"))
        .and_then(|(read, write)| {
            set_cloexec(std::os::fd::AsFd::as_fd(&read))?;
            set_cloexec(std::os::fd::AsFd::as_fd(&write))?;
            Ok((read, write))
        });
    ends
}

/// Turn on `FD_CLOEXEC` on `fd`, keeping its other descriptor flags: the descriptor is
/// closed in any program this process executes. Neither call can be interrupted (`EINTR`):
/// they do not block. See fcntl(2).
pub fn set_cloexec(fd: BorrowedFd<'_>) -> Result<()> {
    let flags = fcntl(fd, FcntlArg::F_GETFD).map_err(|e| Error::os(e, "fcntl"))?;
    let flags = FdFlag::from_bits_retain(flags);
    if flags.contains(FdFlag::FD_CLOEXEC) {
        return Ok(());
    }
    fcntl(fd, FcntlArg::F_SETFD(flags | FdFlag::FD_CLOEXEC))
        .map(drop)
        .map_err(|e| Error::os(e, "fcntl"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    use super::*;

    fn cloexec(fd: BorrowedFd<'_>) -> bool {
        FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap()).contains(FdFlag::FD_CLOEXEC)
    }

    #[test]
    fn pipe_ends_are_close_on_exec_and_connected() {
        let (read, write) = pipe().unwrap();
        assert!(cloexec(read.as_fd()));
        assert!(cloexec(write.as_fd()));
        let mut write = File::from(write);
        write.write_all(b"ping").unwrap();
        drop(write);
        let mut text = String::new();
        File::from(read).read_to_string(&mut text).unwrap();
        assert_eq!(
            text, "ping",
            "the bytes, then end of file once the write end is closed"
        );
    }

    #[test]
    fn set_cloexec_sets_the_flag_and_keeps_it() {
        let (read, _write) = nix::unistd::pipe().unwrap();
        assert!(!cloexec(read.as_fd()));
        set_cloexec(read.as_fd()).unwrap();
        assert!(cloexec(read.as_fd()));
        set_cloexec(read.as_fd()).unwrap();
        assert!(cloexec(read.as_fd()));
    }
}
