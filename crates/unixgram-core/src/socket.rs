//! The socket type: create it or adopt a descriptor, bind, connect, its names, and the
//! descriptor it owns (closed on drop). The rest of [`Socket`] is in two child files:
//! `socket/options.rs` (buffer sizes, credentials, the largest datagram it can send) and
//! `socket/io.rs` (send and receive).
//!
//! Platform differences are handled here, each at the function it concerns: creation flags
//! (macOS sets them with fcntl), autobind (Linux only) and the `AF_UNIX` check of adopted
//! descriptors (no `SO_DOMAIN` on macOS); credentials and `SO_SNDBUFFORCE` (Linux only) are
//! in `options`, the explained `ENOBUFS` (Linux only) in `io`.

mod io;
mod options;

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag, AT_FDCWD};
use nix::sys::socket::{
    self, getsockopt, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage,
};
#[cfg(target_os = "linux")]
use nix::sys::stat::fchmod;
use nix::sys::stat::{fchmodat, lstat, FchmodatFlags, Mode};

use crate::addr::Address;
use crate::batch::RecvBatch;
use crate::cmsg::ControlBuffer;
use crate::error::{Error, ErrorKind, Result};
use crate::sys;

pub use crate::kind::Kind;

/// A datagram socket of one [`Kind`] (Unix datagram, Unix seqpacket, UDP), non-blocking and
/// close-on-exec. Dropping it closes the descriptor.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
    kind: Kind,
    /// A seqpacket socket read the end of its stream: nothing more will come.
    eof: bool,
    /// The last `SO_RXQ_OVFL` count the kernel reported: datagrams it dropped at this socket
    /// because the receive queue was full.
    drops: u32,
    /// Whether UDP GSO (`UDP_SEGMENT`) still looks usable: cleared when the kernel or the
    /// route refuses it, and the datagrams are then sent one by one.
    gso: std::cell::Cell<bool>,
    /// The address given to the last successful `connect`, for reconnects and errors.
    peer: Option<Address>,
    control: ControlBuffer,
    /// `recvmmsg` buffers, reserved on the first batch receive; `Err` if the system refused
    /// them (then datagrams are received one per syscall).
    batch: Option<std::result::Result<RecvBatch, ()>>,
    /// The last batch averaged at least [`LARGE_DATAGRAM`] bytes per datagram: receive the
    /// next one datagram at a time, straight into the caller's sink.
    large: bool,
}

/// From this average size on, a batch is received one `recvmsg` per datagram straight into
/// the caller's sink (no copy; what does not fit its room spills into the receive area)
/// instead of `recvmmsg` into per-slot buffers and a copy out: for large datagrams the copy
/// costs more than the extra syscalls (bench/README.md, "Measurements behind the code").
pub const LARGE_DATAGRAM: usize = 16 << 10;

/// `SOCK_NONBLOCK | SOCK_CLOEXEC`, set atomically by socket(2) on Linux and FreeBSD.
#[cfg(not(target_vendor = "apple"))]
fn flags() -> SockFlag {
    SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC
}

/// macOS has neither `SOCK_NONBLOCK` nor `SOCK_CLOEXEC`: sockets are created without
/// flags and [`finish_apple`] sets them right after.
#[cfg(target_vendor = "apple")]
fn flags() -> SockFlag {
    SockFlag::empty()
}

/// Make `fd` non-blocking and close-on-exec. See fcntl(2).
fn set_nonblock_cloexec(fd: &OwnedFd) -> nix::Result<()> {
    let fl = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(fl | OFlag::O_NONBLOCK))?;
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(())
}

/// Turn on `SO_NOSIGPIPE`: macOS has no `MSG_NOSIGNAL`, so this is how a send on a shut-down
/// socket returns `EPIPE` instead of raising `SIGPIPE`. See setsockopt(2).
#[cfg(target_vendor = "apple")]
fn set_nosigpipe(fd: &OwnedFd) -> nix::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            std::ptr::addr_of!(on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Errno::result(rc).map(drop)
}

/// macOS: what Linux and FreeBSD get atomically from `SOCK_NONBLOCK | SOCK_CLOEXEC` and
/// `MSG_NOSIGNAL`, set on a new descriptor with fcntl(2) and `SO_NOSIGPIPE`. Another thread
/// that forks and execs between socket(2) and here may inherit the descriptor.
#[cfg(target_vendor = "apple")]
fn finish_apple(fd: &OwnedFd) -> Result<()> {
    set_nonblock_cloexec(fd).map_err(|e| Error::os(e, "fcntl"))?;
    set_nosigpipe(fd).map_err(|e| Error::os(e, "setsockopt"))
}

impl Socket {
    fn wrap(fd: OwnedFd, kind: Kind) -> Self {
        Self {
            fd,
            kind,
            eof: false,
            drops: 0,
            gso: std::cell::Cell::new(kind.is_udp()),
            peer: None,
            control: ControlBuffer::new(),
            batch: None,
            large: false,
        }
    }

    /// A new unbound `AF_UNIX` / `SOCK_DGRAM` socket. See [`Socket::with_kind`].
    pub fn new() -> Result<Self> {
        Self::with_kind(Kind::UnixDatagram)
    }

    /// A new unbound socket of `kind`. See socket(2).
    ///
    /// Non-blocking and close-on-exec from creation on Linux and FreeBSD; on macOS both are
    /// set with fcntl(2) right after, with `SO_NOSIGPIPE`.
    pub fn with_kind(kind: Kind) -> Result<Self> {
        let fd = socket::socket(kind.family(), kind.sock_type(), flags(), None)
            .map_err(|e| Error::os(e, "socket"))?;
        #[cfg(target_vendor = "apple")]
        finish_apple(&fd)?;
        Ok(Self::wrap(fd, kind))
    }

    /// Two `SOCK_DGRAM` sockets connected to each other. See [`Socket::pair_of`].
    pub fn pair() -> Result<(Self, Self)> {
        Self::pair_of(Kind::UnixDatagram)
    }

    /// Two Unix sockets of `kind` connected to each other. See socketpair(2).
    ///
    /// Flags as for [`Socket::with_kind`]. UDP has no pairs: `EOPNOTSUPP`, as the
    /// kernel says.
    pub fn pair_of(kind: Kind) -> Result<(Self, Self)> {
        if kind.is_udp() {
            return Err(Error::os(Errno::EOPNOTSUPP, "socketpair")
                .with_detail("socket pairs are Unix sockets only"));
        }
        let (a, b) = socket::socketpair(AddressFamily::Unix, kind.sock_type(), None, flags())
            .map_err(|e| Error::os(e, "socketpair"))?;
        #[cfg(target_vendor = "apple")]
        {
            finish_apple(&a)?;
            finish_apple(&b)?;
        }
        let (mut a, mut b) = (Self::wrap(a, kind), Self::wrap(b, kind));
        a.peer = Some(Address::Unnamed);
        b.peer = Some(Address::Unnamed);
        Ok((a, b))
    }

    /// Adopt a descriptor after checking it is an `AF_UNIX` / `SOCK_DGRAM` socket; it is
    /// made non-blocking and close-on-exec (and `SO_NOSIGPIPE` on macOS). On error the
    /// descriptor is handed back, open.
    pub fn from_fd(fd: OwnedFd) -> std::result::Result<Self, (Error, OwnedFd)> {
        Self::from_fd_of(fd, &[Kind::UnixDatagram])
    }

    /// Adopt a descriptor after checking it is a socket of one of the `kinds`; otherwise as
    /// [`Socket::from_fd`]. A connected seqpacket socket and a listening one are both
    /// [`Kind::UnixSeqpacket`].
    pub fn from_fd_of(fd: OwnedFd, kinds: &[Kind]) -> std::result::Result<Self, (Error, OwnedFd)> {
        let kind = match check_kind(fd.as_fd(), kinds) {
            Ok(kind) => kind,
            Err(e) => return Err((e, fd)),
        };
        if let Err(errno) = set_nonblock_cloexec(&fd) {
            return Err((Error::os(errno, "fcntl"), fd));
        }
        #[cfg(target_vendor = "apple")]
        if let Err(errno) = set_nosigpipe(&fd) {
            return Err((Error::os(errno, "setsockopt"), fd));
        }
        let mut sock = Self::wrap(fd, kind);
        sock.peer = sock.peer_addr().ok();
        Ok(sock)
    }

    /// Adopt a raw descriptor number, see [`Socket::from_fd`].
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else will close.
    pub unsafe fn from_raw_fd(fd: RawFd) -> std::result::Result<Self, (Error, RawFd)> {
        // SAFETY: the caller hands over ownership of an open descriptor.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Self::from_fd(owned).map_err(|(e, fd)| (e, fd.into_raw_fd()))
    }

    /// Adopt a raw descriptor number, see [`Socket::from_fd_of`].
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else will close.
    pub unsafe fn from_raw_fd_of(
        fd: RawFd,
        kinds: &[Kind],
    ) -> std::result::Result<Self, (Error, RawFd)> {
        // SAFETY: the caller hands over ownership of an open descriptor.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Self::from_fd_of(owned, kinds).map_err(|(e, fd)| (e, fd.into_raw_fd()))
    }

    /// Bind to a path, an abstract name, or `Address::Unnamed` to autobind. See bind(2).
    ///
    /// Abstract names and autobind are Linux-only: on macOS and FreeBSD they are
    /// [`ErrorKind::Unsupported`], before any syscall.
    pub fn bind(&self, addr: &Address) -> Result<()> {
        #[cfg(not(target_os = "linux"))]
        if *addr == Address::Unnamed {
            return Err(Error::unsupported(
                "autobind (binding to an unnamed address)",
                "bind",
            ));
        }
        let sa = self.sockaddr(addr, "bind")?;
        socket::bind(self.fd.as_raw_fd(), &sa).map_err(|e| Error::os(e, "bind").with_address(addr))
    }

    /// Bind to the filesystem path `addr` with the socket file's permission bits `mode`
    /// (e.g. `0o600`) in place when the file appears, so nobody can send before they are.
    /// The kernel records the path given here as the socket's name, so peers see replies
    /// come from it. See bind(2), fchmod(2).
    ///
    /// On Linux bind(2) creates the file with the socket inode's mode minus the umask, and
    /// fchmod(2) on the unbound socket sets that mode: the file appears with `mode` minus
    /// the umask, never with more than `mode`. Bits the umask took away are then put back
    /// with fchmodat(2) on the path, not following a symbolic link. macOS and FreeBSD have
    /// no mode on a socket inode: there the file is created with the umask's default and
    /// chmod-ed right after, so for that instant it has the default mode.
    ///
    /// Anything but a path is `EINVAL`, before any syscall.
    pub fn bind_with_mode(&self, addr: &Address, mode: u32) -> Result<()> {
        let Address::Path(path) = addr else {
            return Err(Error::os(Errno::EINVAL, "bind")
                .with_address(addr)
                .with_detail("a mode applies to a filesystem path only"));
        };
        let perms = Mode::from_bits_truncate(mode as libc::mode_t);
        #[cfg(target_os = "linux")]
        fchmod(&self.fd, perms).map_err(|e| Error::os(e, "fchmod"))?;
        self.bind(addr)?;
        let path = std::path::Path::new(OsStr::from_bytes(path));
        let created = lstat(path).map_err(|e| Error::os(e, "lstat").with_address(addr))?;
        if created.st_mode & 0o7777 != perms.bits() {
            fchmodat(AT_FDCWD, path, perms, FchmodatFlags::NoFollowSymlink)
                .map_err(|e| Error::os(e, "fchmodat").with_address(addr))?;
        }
        Ok(())
    }

    /// Set the default destination; only datagrams from it are received. See connect(2).
    pub fn connect(&mut self, addr: &Address) -> Result<()> {
        let sa = self.sockaddr(addr, "connect")?;
        sys::retry(|| socket::connect(self.fd.as_raw_fd(), &sa))
            .map_err(|e| Error::os(e, "connect").with_address(addr))?;
        self.peer = Some(addr.clone());
        Ok(())
    }

    /// Connect again to the last address given to [`connect`](Self::connect): after the peer
    /// restarted, the kernel has dropped the old association (`ENOTCONN`).
    pub fn reconnect(&mut self) -> Result<()> {
        match self.peer.clone() {
            Some(Address::Unnamed) | None => Err(Error::os(Errno::ENOTCONN, "connect")
                .with_detail("the socket has no peer address to reconnect to")),
            Some(addr) => self.connect(&addr),
        }
    }

    /// The kernel form of `addr` for this socket (see [`Address::to_sockaddr_for`]).
    pub(crate) fn sockaddr(
        &self,
        addr: &Address,
        syscall: &'static str,
    ) -> Result<SockaddrStorage> {
        addr.to_sockaddr_for(self.kind, syscall)
    }

    /// What kind of socket this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The address the socket is bound to. See getsockname(2).
    pub fn local_addr(&self) -> Result<Address> {
        socket::getsockname::<SockaddrStorage>(self.fd.as_raw_fd())
            .map(|a| Address::from_storage(&a))
            .map_err(|e| Error::os(e, "getsockname"))
    }

    /// The address of the connected peer. See getpeername(2).
    pub fn peer_addr(&self) -> Result<Address> {
        socket::getpeername::<SockaddrStorage>(self.fd.as_raw_fd())
            .map(|a| Address::from_storage(&a))
            .map_err(|e| Error::os(e, "getpeername"))
    }

    /// Listen for connections (a bound seqpacket socket), with room for `backlog` waiting
    /// ones. See listen(2).
    pub fn listen(&self, backlog: i32) -> Result<()> {
        let backlog = socket::Backlog::new(backlog.clamp(0, libc::SOMAXCONN))
            .map_err(|e| Error::os(e, "listen"))?;
        socket::listen(&self.fd, backlog).map_err(|e| Error::os(e, "listen"))
    }

    /// Take the next waiting connection of a listening socket, non-blocking and close-on-exec
    /// from birth (`accept4`, Linux and FreeBSD); `Ok(None)` when none waits. See accept(2).
    pub fn accept(&self) -> Result<Option<Self>> {
        match sys::retry(|| accept_nonblocking(self.fd.as_raw_fd())) {
            Ok(fd) => {
                let mut sock = Self::wrap(fd, self.kind);
                sock.peer = Some(Address::Unnamed);
                Ok(Some(sock))
            }
            Err(Errno::EAGAIN) => Ok(None),
            // The connection was reset before we took it: nothing to take.
            Err(Errno::ECONNABORTED) => Ok(None),
            Err(e) => Err(Error::os(e, "accept")),
        }
    }

    /// A seqpacket socket read the end of its stream.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// What the kernel dropped at this socket because its receive queue was full, as last
    /// reported with a received datagram (`SO_RXQ_OVFL`, once turned on with
    /// [`set_report_drops`](Self::set_report_drops)): datagrams, or with UDP GRO a coalesced
    /// run of them once (the kernel counts the buffers it would have queued).
    pub fn drops(&self) -> u32 {
        self.drops
    }

    /// A new descriptor for the same socket, close-on-exec from birth (`F_DUPFD_CLOEXEC`, so
    /// a thread forking meanwhile cannot inherit it), e.g. to hand to a child process. The
    /// caller owns it. See fcntl(2).
    pub fn dup_fd(&self) -> Result<OwnedFd> {
        // std's try_clone is fcntl(F_DUPFD_CLOEXEC, 3): atomic, and never fd 0, 1 or 2.
        self.fd.try_clone().map_err(|e| {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            Error::os(errno, "fcntl")
        })
    }

    /// The address last given to `connect`, without a syscall.
    pub fn connected_to(&self) -> Option<&Address> {
        self.peer.as_ref()
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<Socket> for OwnedFd {
    fn from(sock: Socket) -> OwnedFd {
        sock.fd
    }
}

/// The [`Kind`] of an adopted descriptor, from `SO_TYPE` and the address family, if it is
/// one of `kinds`. See getsockopt(2).
fn check_kind(fd: BorrowedFd<'_>, kinds: &[Kind]) -> Result<Kind> {
    let wanted = kinds
        .iter()
        .map(|k| match k {
            Kind::UnixDatagram => "AF_UNIX/SOCK_DGRAM",
            Kind::UnixSeqpacket => "AF_UNIX/SOCK_SEQPACKET",
            Kind::Udp4 => "AF_INET/SOCK_DGRAM",
            Kind::Udp6 => "AF_INET6/SOCK_DGRAM",
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let not = |detail: String| {
        Err(Error::new(ErrorKind::NotUnixDatagram, "getsockopt").with_detail(detail))
    };
    let ty = match getsockopt(&fd, sockopt::SockType) {
        Err(Errno::ENOTSOCK) => return not(format!("fd {} is not a socket", fd.as_raw_fd())),
        Err(e) => return Err(Error::os(e, "getsockopt")),
        Ok(ty) => ty,
    };
    let domain = socket_domain(fd)?;
    let kind = match (domain, ty) {
        (libc::AF_UNIX, SockType::Datagram) => Some(Kind::UnixDatagram),
        (libc::AF_UNIX, SockType::SeqPacket) => Some(Kind::UnixSeqpacket),
        (libc::AF_INET, SockType::Datagram) => Some(Kind::Udp4),
        (libc::AF_INET6, SockType::Datagram) => Some(Kind::Udp6),
        _ => None,
    };
    match kind {
        Some(kind) if kinds.contains(&kind) => Ok(kind),
        _ if ty != SockType::Datagram
            && !(ty == SockType::SeqPacket && domain == libc::AF_UNIX) =>
        {
            not(format!(
                "fd {} is a {ty:?} socket, not {wanted}",
                fd.as_raw_fd()
            ))
        }
        _ if domain == libc::AF_UNIX => not(format!(
            "fd {} is an AF_UNIX {ty:?} socket, not {wanted}",
            fd.as_raw_fd()
        )),
        _ => not(format!(
            "fd {} is a datagram socket of family {domain}, not {wanted}",
            fd.as_raw_fd()
        )),
    }
}

/// accept4(2) with `SOCK_NONBLOCK | SOCK_CLOEXEC` (Linux, FreeBSD).
#[cfg(not(target_vendor = "apple"))]
fn accept_nonblocking(fd: RawFd) -> nix::Result<OwnedFd> {
    let raw = socket::accept4(fd, flags())?;
    // SAFETY: accept4 returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// macOS has no accept4: accept(2), then the flags with fcntl(2).
#[cfg(target_vendor = "apple")]
fn accept_nonblocking(fd: RawFd) -> nix::Result<OwnedFd> {
    let raw = socket::accept(fd)?;
    // SAFETY: accept returned a new descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
    set_nonblock_cloexec(&owned)?;
    set_nosigpipe(&owned)?;
    Ok(owned)
}

/// The address family of a socket: `SO_DOMAIN` (Linux, FreeBSD). See getsockopt(2).
#[cfg(not(target_vendor = "apple"))]
fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int> {
    let mut domain: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `domain` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            std::ptr::addr_of_mut!(domain).cast(),
            &mut len,
        )
    };
    Errno::result(rc).map_err(|e| Error::os(e, "getsockopt"))?;
    Ok(domain)
}

/// The address family of a socket. macOS has no `SO_DOMAIN`: the family of the local
/// address (an unbound `AF_UNIX` socket still reports `AF_UNIX`). See getsockname(2).
#[cfg(target_vendor = "apple")]
fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            std::ptr::addr_of_mut!(addr).cast(),
            &mut len,
        )
    };
    Errno::result(rc).map_err(|e| Error::os(e, "getsockname"))?;
    Ok(libc::c_int::from(addr.ss_family))
}
