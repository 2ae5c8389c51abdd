//! Pidfds: descriptors that refer to one process, as `SCM_PIDFD` (with
//! [`Socket::set_pass_pidfd`](crate::Socket::set_pass_pidfd)) and `SO_PEERPIDFD`
//! ([`Socket::peer_pidfd`](crate::Socket::peer_pidfd)) hand them out.
//!
//! A pid number is reused once its process has exited and been reaped, so the pid of
//! `SCM_CREDENTIALS`, read after that, names whatever process got the number next. A pidfd
//! keeps referring to the process it was made for, for as long as it is open, and reports
//! that process's exit. What a receiver asks of one, each answered here without a syscall
//! that could act on another process:
//! - [`pid`]: the number the process has now, from the `Pid:` line of
//!   `/proc/self/fdinfo/<fd>` (what the kernel's `pidfd_show_fdinfo` prints: the pid in the
//!   pid namespace of the `/proc` instance; `0` when the process lives in a pid namespace
//!   that is not a descendant of that one, so it has no number here; `-1` once no task is
//!   attached to it any more, i.e. the process has exited **and been reaped**: a zombie still
//!   shows its pid, which cannot be reused while it is a zombie).
//! - [`has_exited`]: `poll(2)` for `POLLIN` with a zero timeout (the kernel's `pidfd_poll`
//!   reports `POLLIN` once the process has exited, a zombie included, and `POLLIN | POLLHUP`
//!   once it has been reaped).
//!
//! The race-free pattern: read [`pid`], use the number (e.g. read `/proc/<pid>/…`), then ask
//! [`has_exited`]: if the process has not exited, the number named the sender all along.
//!
//! Both check that the descriptor is a pidfd (its fdinfo has a `Pid:` line) before they
//! answer; anything else is `EBADF`, as pidfd_send_signal(2) and waitid(2) say for a
//! descriptor that is not a pidfd. Linux only: elsewhere both are
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before any syscall.

use std::os::fd::BorrowedFd;

use crate::error::Result;

/// The pid of the process `pidfd` refers to, from `/proc/self/fdinfo/<fd>`: `> 0` its
/// number in this `/proc`'s pid namespace, `0` if it has none here (another pid namespace
/// branch), `-1` once it has exited and been reaped (see the module documentation). See
/// proc_pid_fdinfo(5), pidfd_open(2).
///
/// Errors: `EBADF` (`fcntl`) if `pidfd` is not open, `EBADF` (`read`) if it is not a pidfd;
/// the errno of `open`/`read` if `/proc/self/fdinfo` cannot be read (no `/proc`).
pub fn pid(pidfd: BorrowedFd<'_>) -> Result<i32> {
    #[cfg(target_os = "linux")]
    {
        linux::pid(pidfd)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pidfd;
        Err(crate::Error::unsupported("pidfds", "open"))
    }
}

/// Whether the process `pidfd` refers to has exited (a zombie counts: it has exited, its
/// parent has not reaped it yet). poll(2) with a zero timeout: never waits. Once `true`, it
/// stays `true`. See pidfd_open(2).
///
/// Errors: as [`pid`] (which checks that `pidfd` is a pidfd), and the errno of `poll`.
pub fn has_exited(pidfd: BorrowedFd<'_>) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
        linux::has_exited(pidfd)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pidfd;
        Err(crate::Error::unsupported("pidfds", "poll"))
    }
}

/// The value of the `Pid:` line of a pidfd's fdinfo text, if it has one.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_fdinfo_pid(fdinfo: &str) -> Option<i32> {
    fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("Pid:"))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::{AsRawFd, BorrowedFd};

    use nix::errno::Errno;
    use nix::fcntl::{fcntl, FcntlArg};
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    use super::parse_fdinfo_pid;
    use crate::error::{Error, Result};
    use crate::sys;

    pub(super) fn pid(pidfd: BorrowedFd<'_>) -> Result<i32> {
        let fd = pidfd.as_raw_fd();
        // Open, or fdinfo/<fd> would be ENOENT, as if /proc were missing.
        fcntl(pidfd, FcntlArg::F_GETFD).map_err(|e| Error::os(e, "fcntl"))?;
        let path = format!("/proc/self/fdinfo/{fd}");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            Error::os(errno, "open").with_detail(format!("cannot read {path}: {}", errno.desc()))
        })?;
        parse_fdinfo_pid(&text).ok_or_else(|| {
            Error::os(Errno::EBADF, "read").with_detail(format!(
                "descriptor {fd} is not a pidfd ({path} has no Pid: line)"
            ))
        })
    }

    pub(super) fn has_exited(pidfd: BorrowedFd<'_>) -> Result<bool> {
        pid(pidfd)?;
        let mut fds = [PollFd::new(pidfd, PollFlags::POLLIN)];
        sys::retry(|| poll(&mut fds, PollTimeout::ZERO)).map_err(|e| Error::os(e, "poll"))?;
        Ok(fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP)))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_fdinfo_pid;

    #[test]
    fn the_pid_line_of_fdinfo_is_read_as_it_is() {
        let alive =
            "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\nNSpid:\t4242\n";
        assert_eq!(parse_fdinfo_pid(alive), Some(4242));
        let reaped = "pos:\t0\nflags:\t02000002\nPid:\t-1\nNSpid:\t-1\n";
        assert_eq!(parse_fdinfo_pid(reaped), Some(-1));
        let elsewhere = "pos:\t0\nPid:\t0\nNSpid:\t0\n";
        assert_eq!(parse_fdinfo_pid(elsewhere), Some(0));
    }

    #[test]
    fn fdinfo_without_a_pid_line_is_not_a_pidfd() {
        assert_eq!(
            parse_fdinfo_pid("pos:\t0\nflags:\t02\nmnt_id:\t3\nino:\t9\n"),
            None
        );
        // NSpid alone is not Pid.
        assert_eq!(parse_fdinfo_pid("NSpid:\t12\n"), None);
    }
}
