//! The socket's options: `SO_SNDBUF` / `SO_RCVBUF`, `SO_PASSCRED`, `SO_PEERCRED`,
//! `SO_PASSPIDFD`, `SO_PEERPIDFD`, the largest datagram it can send, and raising `SO_SNDBUF`
//! for a datagram that does not fit.
//!
//! Platform differences: credentials are Linux-only (`SO_PASSCRED`, `SO_PEERCRED`), and so
//! are pidfds (`SO_PASSPIDFD`, `SO_PEERPIDFD`, Linux >= 6.5: an older kernel answers
//! `ENOPROTOOPT`, reported as [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)) and
//! `SO_SNDBUFFORCE`.

#[cfg(target_os = "linux")]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use super::Socket;
use crate::cmsg::Credentials;
use crate::error::{Error, Result};

/// What `SO_PASSPIDFD` turns on, as error messages name it.
const PASS_PIDFD: &str = "receiving the sender's pidfd (SO_PASSPIDFD)";
/// What `SO_PEERPIDFD` reports, as error messages name it.
const PEER_PIDFD: &str = "the peer's pidfd (SO_PEERPIDFD)";

/// `getsockopt(SOL_SOCKET, SO_PASSPIDFD)` (Linux >= 6.5; libc has its number for every Linux
/// architecture, nix no accessor). See getsockopt(2), socket(7).
#[cfg(target_os = "linux")]
fn get_pass_pidfd(fd: BorrowedFd<'_>) -> nix::Result<bool> {
    let mut on: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `on` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSPIDFD,
            std::ptr::addr_of_mut!(on).cast(),
            &mut len,
        )
    };
    Errno::result(rc).map(|_| on != 0)
}

/// `setsockopt(SOL_SOCKET, SO_PASSPIDFD, on)` (Linux >= 6.5). See setsockopt(2), socket(7).
#[cfg(target_os = "linux")]
fn set_pass_pidfd(fd: BorrowedFd<'_>, on: bool) -> nix::Result<()> {
    let value = libc::c_int::from(on);
    // SAFETY: `value` is a live c_int and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSPIDFD,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Errno::result(rc).map(drop)
}

/// Bytes the kernel keeps back from `SO_SNDBUF` for one datagram's accounting
/// (`len > sk_sndbuf - 32` is `EMSGSIZE` in Linux's `unix_dgram_sendmsg`; macOS and FreeBSD
/// compare the datagram with `SO_SNDBUF` itself).
#[cfg(target_os = "linux")]
const SNDBUF_OVERHEAD: usize = 32;
#[cfg(not(target_os = "linux"))]
const SNDBUF_OVERHEAD: usize = 0;

/// The `SO_SNDBUF` to set for a `len`-byte datagram to fit: Linux doubles the value set,
/// macOS and FreeBSD store it as given.
#[cfg(target_os = "linux")]
fn send_buffer_for(len: usize) -> usize {
    (len + SNDBUF_OVERHEAD).div_ceil(2)
}
#[cfg(not(target_os = "linux"))]
fn send_buffer_for(len: usize) -> usize {
    len + SNDBUF_OVERHEAD
}

impl Socket {
    /// `SO_SNDBUF` as the kernel reports it (on Linux, twice what was set).
    pub fn send_buffer_size(&self) -> Result<usize> {
        getsockopt(&self.fd, sockopt::SndBuf).map_err(|e| Error::os(e, "getsockopt"))
    }

    /// Set `SO_SNDBUF` (Linux doubles it and caps it at `net.core.wmem_max`; macOS and
    /// FreeBSD cap it at `kern.ipc.maxsockbuf`).
    pub fn set_send_buffer_size(&self, size: usize) -> Result<()> {
        setsockopt(&self.fd, sockopt::SndBuf, &size).map_err(|e| Error::os(e, "setsockopt"))
    }

    /// `SO_RCVBUF` as the kernel reports it.
    pub fn recv_buffer_size(&self) -> Result<usize> {
        getsockopt(&self.fd, sockopt::RcvBuf).map_err(|e| Error::os(e, "getsockopt"))
    }

    /// Set `SO_RCVBUF` (no effect on how much a unix datagram socket queues).
    pub fn set_recv_buffer_size(&self, size: usize) -> Result<()> {
        setsockopt(&self.fd, sockopt::RcvBuf, &size).map_err(|e| Error::os(e, "setsockopt"))
    }

    /// Ask for a receive buffer of `size` bytes past `net.core.rmem_max`: `SO_RCVBUFFORCE`
    /// when privileged (Linux), else `SO_RCVBUF`, which the kernel caps at `rmem_max`. Read
    /// back what was granted with [`recv_buffer_size`](Self::recv_buffer_size).
    pub fn raise_recv_buffer_size(&self, size: usize) -> Result<()> {
        #[cfg(target_os = "linux")]
        if setsockopt(&self.fd, sockopt::RcvBufForce, &size).is_ok() {
            return Ok(());
        }
        self.set_recv_buffer_size(size)
    }

    /// UDP GRO (`UDP_GRO`): let the kernel hand over runs of datagrams from one sender
    /// coalesced, each received datagram then carrying its segment size (see
    /// [`Received::segment_size`](crate::Received::segment_size)). Linux >= 5.0; elsewhere
    /// unsupported. See udp(7).
    #[cfg(target_os = "linux")]
    pub fn set_udp_gro(&self, on: bool) -> Result<()> {
        setsockopt(&self.fd, sockopt::UdpGroSegment, &on).map_err(|e| Error::os(e, "setsockopt"))
    }

    /// UDP GRO: unsupported off Linux.
    #[cfg(not(target_os = "linux"))]
    pub fn set_udp_gro(&self, _on: bool) -> Result<()> {
        Err(Error::unsupported("UDP GRO (UDP_GRO)", "setsockopt"))
    }

    /// `SO_RXQ_OVFL`: report with each received datagram how many the kernel dropped at this
    /// socket so far (see [`drops`](Self::drops)). Linux only. See socket(7).
    #[cfg(target_os = "linux")]
    pub fn set_report_drops(&self, on: bool) -> Result<()> {
        setsockopt(&self.fd, sockopt::RxqOvfl, &i32::from(on))
            .map_err(|e| Error::os(e, "setsockopt"))
    }

    /// `SO_RXQ_OVFL`: unsupported off Linux.
    #[cfg(not(target_os = "linux"))]
    pub fn set_report_drops(&self, _on: bool) -> Result<()> {
        Err(Error::unsupported(
            "drop counts (SO_RXQ_OVFL)",
            "setsockopt",
        ))
    }

    /// Whether `SO_PASSCRED` is on.
    #[cfg(target_os = "linux")]
    pub fn pass_credentials(&self) -> Result<bool> {
        getsockopt(&self.fd, sockopt::PassCred).map_err(|e| Error::os(e, "getsockopt"))
    }

    /// Always `false`: macOS and FreeBSD have no `SO_PASSCRED` (credentials are Linux-only),
    /// so received datagrams never carry credentials.
    #[cfg(not(target_os = "linux"))]
    pub fn pass_credentials(&self) -> Result<bool> {
        Ok(false)
    }

    /// Turn `SO_PASSCRED` on or off: every datagram received then carries its sender's
    /// credentials. On an unbound socket the kernel autobinds it at the next send/connect.
    #[cfg(target_os = "linux")]
    pub fn set_pass_credentials(&self, on: bool) -> Result<()> {
        setsockopt(&self.fd, sockopt::PassCred, &on).map_err(|e| Error::os(e, "setsockopt"))
    }

    /// `SO_PASSCRED` is Linux-only: turning it on is
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on macOS and FreeBSD; turning
    /// it off succeeds (it is never on).
    #[cfg(not(target_os = "linux"))]
    pub fn set_pass_credentials(&self, on: bool) -> Result<()> {
        if on {
            return Err(Error::unsupported(
                "receiving credentials (SO_PASSCRED)",
                "setsockopt",
            ));
        }
        Ok(())
    }

    /// `SO_PEERCRED`. Only socketpairs have it for datagram sockets: a `connect()`ed one
    /// reports pid 0, which is returned as `None`.
    #[cfg(target_os = "linux")]
    pub fn peer_credentials(&self) -> Result<Option<Credentials>> {
        let c = getsockopt(&self.fd, sockopt::PeerCredentials)
            .map_err(|e| Error::os(e, "getsockopt"))?;
        Ok((c.pid() != 0).then(|| Credentials {
            pid: c.pid(),
            uid: c.uid(),
            gid: c.gid(),
        }))
    }

    /// `SO_PEERCRED` is Linux-only: [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)
    /// on macOS and FreeBSD, whose `LOCAL_PEERCRED` only describes the peer of a connected
    /// stream socket.
    #[cfg(not(target_os = "linux"))]
    pub fn peer_credentials(&self) -> Result<Option<Credentials>> {
        Err(Error::unsupported(
            "peer credentials (SO_PEERCRED)",
            "getsockopt",
        ))
    }

    /// Whether `SO_PASSPIDFD` is on. `false` on a kernel older than 6.5, which has no such
    /// option (it cannot be on). See socket(7).
    #[cfg(target_os = "linux")]
    pub fn pass_pidfd(&self) -> Result<bool> {
        match get_pass_pidfd(self.fd.as_fd()) {
            Err(Errno::ENOPROTOOPT) => Ok(false),
            other => other.map_err(|e| Error::os(e, "getsockopt")),
        }
    }

    /// Always `false`: pidfds are Linux-only.
    #[cfg(not(target_os = "linux"))]
    pub fn pass_pidfd(&self) -> Result<bool> {
        Ok(false)
    }

    /// Turn `SO_PASSPIDFD` on or off: every datagram received then carries an `SCM_PIDFD`, a
    /// descriptor of its sender's process that, unlike the pid of `SCM_CREDENTIALS`, cannot
    /// come to name another process once the sender exits (see [`crate::pidfd`]). Like
    /// `SO_PASSCRED`, it must be on before the datagram is sent: a datagram queued before
    /// carries none. See socket(7), unix(7).
    ///
    /// Linux >= 6.5: turning it on with an older kernel (`ENOPROTOOPT`) is
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), naming the kernel; turning
    /// it off there succeeds (it is never on).
    #[cfg(target_os = "linux")]
    pub fn set_pass_pidfd(&self, on: bool) -> Result<()> {
        match set_pass_pidfd(self.fd.as_fd(), on) {
            Err(Errno::ENOPROTOOPT) if !on => Ok(()),
            other => other.map_err(|e| pidfd_error(e, "setsockopt", PASS_PIDFD)),
        }
    }

    /// `SO_PASSPIDFD` is Linux-only: turning it on is
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on macOS and FreeBSD, before
    /// any syscall; turning it off succeeds (it is never on).
    #[cfg(not(target_os = "linux"))]
    pub fn set_pass_pidfd(&self, on: bool) -> Result<()> {
        if on {
            return Err(Error::unsupported(PASS_PIDFD, "setsockopt"));
        }
        Ok(())
    }

    /// `SO_PEERPIDFD`: a pidfd of the process that made the connection, owned by the caller
    /// (close-on-exec). As with `SO_PEERCRED`, datagram sockets only have a peer process on
    /// socketpairs (the process that called socketpair(2), for both ends); a `connect()`ed
    /// or unconnected socket has none (`ENODATA`), returned as `None`. See socket(7).
    ///
    /// Linux >= 6.5: an older kernel (`ENOPROTOOPT`) is
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), naming the kernel.
    #[cfg(target_os = "linux")]
    pub fn peer_pidfd(&self) -> Result<Option<OwnedFd>> {
        match getsockopt(&self.fd, sockopt::PeerPidfd) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::ENODATA) => Ok(None),
            Err(e) => Err(pidfd_error(e, "getsockopt", PEER_PIDFD)),
        }
    }

    /// `SO_PEERPIDFD` is Linux-only:
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on macOS and FreeBSD, before
    /// any syscall.
    #[cfg(not(target_os = "linux"))]
    pub fn peer_pidfd(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        Err(Error::unsupported(PEER_PIDFD, "getsockopt"))
    }

    /// The largest datagram this socket can send right now (`SO_SNDBUF - 32` on Linux,
    /// `SO_SNDBUF` on macOS and FreeBSD).
    pub fn max_datagram_size(&self) -> Result<usize> {
        Ok(self.send_buffer_size()?.saturating_sub(SNDBUF_OVERHEAD))
    }

    /// Raise `SO_SNDBUF` so that a `len`-byte datagram fits, or say why it cannot.
    ///
    /// `SO_SNDBUFFORCE` (past `net.core.wmem_max` when privileged) is tried on Linux only;
    /// macOS and FreeBSD have just `SO_SNDBUF`, capped by `kern.ipc.maxsockbuf`.
    pub(super) fn grow_send_buffer(&self, len: usize) -> Result<()> {
        let want = send_buffer_for(len);
        let _ = setsockopt(&self.fd, sockopt::SndBuf, &want);
        #[cfg(target_os = "linux")]
        if self.max_datagram_size()? < len {
            // Privileged processes may go past net.core.wmem_max.
            let _ = setsockopt(&self.fd, sockopt::SndBufForce, &want);
        }
        let max = self.max_datagram_size()?;
        if max >= len {
            return Ok(());
        }
        Err(Error::os(Errno::EMSGSIZE, "sendmsg").with_detail(format!(
            "a datagram of {len} bytes is larger than this socket can send: the limit is {max} bytes \
             ({})",
            send_limit_reason()
        )))
    }
}

/// The error for `errno` from a pidfd option (`feature`): `ENOPROTOOPT`, the answer of a
/// kernel older than 6.5, is [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) with
/// the running kernel's release in the message; anything else stays an OS error.
#[cfg(target_os = "linux")]
fn pidfd_error(errno: Errno, syscall: &'static str, feature: &'static str) -> Error {
    if errno != Errno::ENOPROTOOPT {
        return Error::os(errno, syscall);
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_else(|_| "this Linux".to_owned());
    Error::unsupported(feature, syscall).with_detail(format!(
        "the running kernel ({release}) does not support {feature}: it needs Linux 6.5 or later"
    ))
}

/// What caps a datagram's size, for the `EMSGSIZE` message.
#[cfg(target_os = "linux")]
fn send_limit_reason() -> String {
    let wmem_max = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!("SO_SNDBUF minus 32, and SO_SNDBUF is capped at twice net.core.wmem_max = {wmem_max}")
}

/// What caps a datagram's size, for the `EMSGSIZE` message.
#[cfg(not(target_os = "linux"))]
fn send_limit_reason() -> String {
    "SO_SNDBUF minus 32, and SO_SNDBUF is capped by kern.ipc.maxsockbuf".to_owned()
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn enoprotoopt_from_a_pidfd_option_is_unsupported_naming_the_kernel() {
        use nix::errno::Errno;

        let err = super::pidfd_error(Errno::ENOPROTOOPT, "setsockopt", super::PASS_PIDFD);
        assert_eq!(err.code(), "ERR_UNIXGRAM_UNSUPPORTED");
        assert_eq!(err.errno(), None);
        assert_eq!(err.syscall(), "setsockopt");
        let message = err.to_string();
        assert!(
            message.starts_with("setsockopt ERR_UNIXGRAM_UNSUPPORTED: the running kernel (Linux "),
            "{message}"
        );
        assert!(
            message.ends_with(
                "does not support receiving the sender's pidfd (SO_PASSPIDFD): it needs Linux 6.5 or later"
            ),
            "{message}"
        );

        let other = super::pidfd_error(Errno::EBADF, "getsockopt", super::PEER_PIDFD);
        assert_eq!(other.code(), "EBADF");
    }
}
