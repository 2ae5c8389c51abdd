//! The socket's options: `SO_SNDBUF` / `SO_RCVBUF`, `SO_PASSCRED`, `SO_PEERCRED`, the
//! largest datagram it can send, and raising `SO_SNDBUF` for a datagram that does not fit.
//!
//! Platform differences: credentials are Linux-only (`SO_PASSCRED`, `SO_PEERCRED`), and so
//! is `SO_SNDBUFFORCE`.

use nix::errno::Errno;
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use super::UnixDatagram;
use crate::cmsg::Credentials;
use crate::error::{Error, Result};

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

impl UnixDatagram {
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
