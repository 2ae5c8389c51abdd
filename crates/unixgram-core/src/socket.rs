//! The socket: create, bind, connect, names, send and receive. Its options (buffer sizes,
//! credentials, the largest datagram it can send) are in `socket/options.rs`.
//!
//! Platform differences are handled here, each at the function it concerns: creation flags
//! (macOS sets them with fcntl), autobind (Linux only) and the `AF_UNIX` check of adopted
//! descriptors (no `SO_DOMAIN` on macOS); credentials and `SO_SNDBUFFORCE` (Linux only) are
//! in `options`.

mod options;

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::socket::{self, getsockopt, sockopt, AddressFamily, SockFlag, SockType, UnixAddr};

use crate::addr::Address;
use crate::batch::{self, OutMessage, RecvBatch};
use crate::cmsg::ControlBuffer;
use crate::error::{Error, ErrorKind, Result};
use crate::msg::{self, Datagram, SendAncillary};

/// Above this a datagram may fail with `ENOBUFS`: the kernel cannot allocate it
/// (4 MiB linear part plus page fragments; 4 263 616 bytes was the largest seen on 6.18).
#[cfg(target_os = "linux")]
const KERNEL_ALLOC_LIMIT: usize = 4 << 20;

/// An `AF_UNIX` / `SOCK_DGRAM` socket, non-blocking and close-on-exec. Dropping it closes
/// the descriptor.
#[derive(Debug)]
pub struct UnixDatagram {
    fd: OwnedFd,
    /// The address given to the last successful `connect`, for reconnects and errors.
    peer: Option<Address>,
    control: ControlBuffer,
    /// `recvmmsg` buffers, reserved on the first batch receive; `Err` if the system refused
    /// them (then datagrams are received one per syscall).
    batch: Option<std::result::Result<RecvBatch, ()>>,
    /// The last batch averaged at least [`LARGE_DATAGRAM`] bytes per datagram: receive the
    /// next one datagram at a time, straight into the caller's buffer.
    large: bool,
}

/// From this average size on, a batch is received one `recvmsg` per datagram straight into
/// the caller's buffer (a peek for the size, then no copy) instead of `recvmmsg` into
/// per-slot buffers and a copy out: measured with 64 KiB datagrams, that copy was a quarter
/// of the receiver's CPU and cost more than the extra syscall.
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

impl UnixDatagram {
    fn wrap(fd: OwnedFd) -> Self {
        Self {
            fd,
            peer: None,
            control: ControlBuffer::new(),
            batch: None,
            large: false,
        }
    }

    /// A new unbound socket. See socket(2).
    ///
    /// Non-blocking and close-on-exec from creation on Linux and FreeBSD; on macOS both are
    /// set with fcntl(2) right after, with `SO_NOSIGPIPE`.
    pub fn new() -> Result<Self> {
        let fd = socket::socket(AddressFamily::Unix, SockType::Datagram, flags(), None)
            .map_err(|e| Error::os(e, "socket"))?;
        #[cfg(target_vendor = "apple")]
        finish_apple(&fd)?;
        Ok(Self::wrap(fd))
    }

    /// Two sockets connected to each other. See socketpair(2).
    ///
    /// Flags as for [`UnixDatagram::new`].
    pub fn pair() -> Result<(Self, Self)> {
        let (a, b) = socket::socketpair(AddressFamily::Unix, SockType::Datagram, None, flags())
            .map_err(|e| Error::os(e, "socketpair"))?;
        #[cfg(target_vendor = "apple")]
        {
            finish_apple(&a)?;
            finish_apple(&b)?;
        }
        let (mut a, mut b) = (Self::wrap(a), Self::wrap(b));
        a.peer = Some(Address::Unnamed);
        b.peer = Some(Address::Unnamed);
        Ok((a, b))
    }

    /// Adopt a descriptor after checking it is an `AF_UNIX` / `SOCK_DGRAM` socket; it is
    /// made non-blocking and close-on-exec (and `SO_NOSIGPIPE` on macOS). On error the
    /// descriptor is handed back, open.
    pub fn from_fd(fd: OwnedFd) -> std::result::Result<Self, (Error, OwnedFd)> {
        if let Err(e) = check_unix_datagram(fd.as_fd()) {
            return Err((e, fd));
        }
        if let Err(errno) = set_nonblock_cloexec(&fd) {
            return Err((Error::os(errno, "fcntl"), fd));
        }
        #[cfg(target_vendor = "apple")]
        if let Err(errno) = set_nosigpipe(&fd) {
            return Err((Error::os(errno, "setsockopt"), fd));
        }
        let mut sock = Self::wrap(fd);
        sock.peer = sock.peer_addr().ok();
        Ok(sock)
    }

    /// Adopt a raw descriptor number, see [`UnixDatagram::from_fd`].
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else will close.
    pub unsafe fn from_raw_fd(fd: RawFd) -> std::result::Result<Self, (Error, RawFd)> {
        // SAFETY: the caller hands over ownership of an open descriptor.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Self::from_fd(owned).map_err(|(e, fd)| (e, fd.into_raw_fd()))
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
        let ua = addr.to_unix_addr("bind")?;
        socket::bind(self.fd.as_raw_fd(), &ua).map_err(|e| Error::os(e, "bind").with_address(addr))
    }

    /// Set the default destination; only datagrams from it are received. See connect(2).
    pub fn connect(&mut self, addr: &Address) -> Result<()> {
        let ua = addr.to_unix_addr("connect")?;
        loop {
            match socket::connect(self.fd.as_raw_fd(), &ua) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::os(e, "connect").with_address(addr)),
                Ok(()) => break,
            }
        }
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

    /// The address the socket is bound to. See getsockname(2).
    pub fn local_addr(&self) -> Result<Address> {
        socket::getsockname::<UnixAddr>(self.fd.as_raw_fd())
            .map(|a| Address::from_unix_addr(&a))
            .map_err(|e| Error::os(e, "getsockname"))
    }

    /// The address of the connected peer. See getpeername(2).
    pub fn peer_addr(&self) -> Result<Address> {
        socket::getpeername::<UnixAddr>(self.fd.as_raw_fd())
            .map(|a| Address::from_unix_addr(&a))
            .map_err(|e| Error::os(e, "getpeername"))
    }

    /// A new descriptor for the same socket, close-on-exec (`F_DUPFD_CLOEXEC`), e.g. to
    /// hand to a child process. The caller owns it. See fcntl(2).
    pub fn dup_fd(&self) -> Result<OwnedFd> {
        nix::unistd::dup(&self.fd)
            .and_then(|fd| {
                fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
                Ok(fd)
            })
            .map_err(|e| Error::os(e, "dup"))
    }

    /// Block the calling thread until a datagram is queued or `timeout_ms` passes
    /// (negative = no limit). Returns whether one is queued. See poll(2).
    pub fn wait_readable(&self, timeout_ms: i32) -> Result<bool> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        let timeout = if timeout_ms < 0 {
            PollTimeout::NONE
        } else {
            PollTimeout::try_from(timeout_ms).unwrap_or(PollTimeout::MAX)
        };
        loop {
            match poll(&mut fds, timeout) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::os(e, "poll")),
                Ok(n) => return Ok(n > 0),
            }
        }
    }

    /// The address last given to `connect`, without a syscall.
    pub fn connected_to(&self) -> Option<&Address> {
        self.peer.as_ref()
    }

    /// Send one datagram to the connected peer or to `dest`.
    ///
    /// A datagram too big for the current `SO_SNDBUF` raises it (with `SO_SNDBUFFORCE` when
    /// privileged, on Linux) and is sent; past what the system allows it is `EMSGSIZE` with
    /// the limit in the message. `EAGAIN` (the receiver's queue is full) is returned as is:
    /// waiting is the caller's policy.
    pub fn send(
        &self,
        iov: &[IoSlice<'_>],
        ancillary: &SendAncillary<'_>,
        dest: Option<&Address>,
    ) -> Result<usize> {
        let dest_addr = dest.map(|a| a.to_unix_addr("sendmsg")).transpose()?;
        let first = msg::sendmsg(self.fd.as_fd(), iov, ancillary, dest_addr.as_ref());
        self.complete_send(first, iov, ancillary, dest)
    }

    /// Finish a send whose first attempt already ran, here or on a fast path that called
    /// [`msg::send`] on this socket's fd: an `EMSGSIZE` grows `SO_SNDBUF` and sends again
    /// (see [`send`](Self::send)); any other error gets the target's address and what the
    /// errno alone does not say. The send is never simply repeated: the kernel reports
    /// some errors only once (a vanished peer's `ECONNREFUSED` is `ENOTCONN` next time).
    pub fn complete_send(
        &self,
        first: Result<usize>,
        iov: &[IoSlice<'_>],
        ancillary: &SendAncillary<'_>,
        dest: Option<&Address>,
    ) -> Result<usize> {
        let target = dest
            .or(self.peer.as_ref())
            .filter(|a| **a != Address::Unnamed);
        let with_target = |e: Error| match target {
            Some(a) => e.with_address(a),
            None => e,
        };
        let len: usize = iov.iter().map(|b| b.len()).sum();
        let result = match first {
            Err(e) if e.errno() == Some(Errno::EMSGSIZE) => {
                self.grow_send_buffer(len)?;
                let dest_addr = dest.map(|a| a.to_unix_addr("sendmsg")).transpose()?;
                msg::sendmsg(self.fd.as_fd(), iov, ancillary, dest_addr.as_ref())
            }
            other => other,
        };
        result.map_err(|e| with_target(self.explain_send_error(e, len)))
    }

    /// Add what the errno alone does not say. The `ENOBUFS` of a datagram past what the
    /// kernel can allocate is explained on Linux only, where that limit was measured.
    fn explain_send_error(&self, e: Error, len: usize) -> Error {
        #[cfg(not(target_os = "linux"))]
        let _ = len;
        match e.errno() {
            #[cfg(target_os = "linux")]
            Some(Errno::ENOBUFS) if len > KERNEL_ALLOC_LIMIT => {
                Error::os(Errno::EMSGSIZE, "sendmsg").with_detail(format!(
                    "a datagram of {len} bytes is larger than the kernel can allocate for one \
                     unix datagram (4 MiB plus page fragments: 4263616 bytes on Linux 6.18)"
                ))
            }
            Some(Errno::ENOTCONN) if self.peer.is_some() && e.detail().is_none() => e.with_detail(
                "the peer went away and the kernel dropped the connection; call reconnect() once it is back",
            ),
            Some(Errno::ECONNREFUSED) if e.detail().is_none() => {
                e.with_detail("nothing is receiving at that address (the peer closed or exited)")
            }
            _ => e,
        }
    }

    /// Receive up to `max` queued datagrams without blocking, appending their bytes to `out`
    /// and calling `each` per datagram (or per error that discarded one). One `recvmmsg`
    /// syscall for up to [`batch::RECV_SLOTS`]; returns how many were taken, and fewer than
    /// asked means the queue ran dry. A socket whose datagrams run large (the last batch
    /// averaged [`LARGE_DATAGRAM`] or more) takes them one `recvmsg` each, straight into
    /// `out`, until they run small again.
    pub fn recv_many(
        &mut self,
        max: usize,
        want_address: bool,
        out: &mut Vec<u8>,
        mut each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        let start = out.len();
        let got = self.recv_many_with(max, want_address, out, &mut each)?;
        if let Some(average) = (out.len() - start).checked_div(got) {
            self.large = average >= LARGE_DATAGRAM;
        }
        Ok(got)
    }

    fn recv_many_with(
        &mut self,
        max: usize,
        want_address: bool,
        out: &mut Vec<u8>,
        each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        let max = max.clamp(1, batch::RECV_SLOTS);
        let batch = self
            .batch
            .get_or_insert_with(|| RecvBatch::new().map_err(|_| ()));
        match batch {
            Ok(b) if !self.large => b.recv(self.fd.as_fd(), max, want_address, out, each),
            _ => msg::recvmsg_many(
                self.fd.as_fd(),
                max,
                out,
                &mut self.control,
                want_address,
                each,
            ),
        }
    }

    /// Send several datagrams with one `sendmmsg`, each with its own control data. Returns
    /// how many went out; fewer than given means the peer's queue filled up (retry the rest
    /// later). An error is returned only when the first one fails (`EAGAIN` included). A
    /// first datagram too big for `SO_SNDBUF` is sent alone after raising it.
    pub fn send_many(&self, msgs: &[OutMessage<'_>], dest: Option<&Address>) -> Result<usize> {
        let dest_addr = dest.map(|a| a.to_unix_addr("sendmmsg")).transpose()?;
        match batch::sendmmsg(self.fd.as_fd(), msgs, dest_addr.as_ref()) {
            Err(e) if e.errno() == Some(Errno::EMSGSIZE) => {
                let first = &msgs[0];
                self.send(first.iov, &first.ancillary, dest).map(|_| 1)
            }
            Err(e) => {
                let target = dest
                    .or(self.peer.as_ref())
                    .filter(|a| **a != Address::Unnamed);
                let len = msgs
                    .first()
                    .map_or(0, |m| m.iov.iter().map(|b| b.len()).sum());
                let e = self.explain_send_error(e, len);
                Err(match target {
                    Some(a) => e.with_address(a),
                    None => e,
                })
            }
            ok => ok,
        }
    }

    /// Receive the next datagram whole, appending its bytes to `out`; `Ok(None)` if none is
    /// queued. See [`msg::recvmsg`].
    pub fn recv(&mut self, out: &mut Vec<u8>, want_address: bool) -> Result<Option<Datagram>> {
        msg::recvmsg(self.fd.as_fd(), out, &mut self.control, want_address)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<UnixDatagram> for OwnedFd {
    fn from(sock: UnixDatagram) -> OwnedFd {
        sock.fd
    }
}

/// Check `SO_TYPE` and the address family. See getsockopt(2).
fn check_unix_datagram(fd: BorrowedFd<'_>) -> Result<()> {
    let not = |detail: String| {
        Err(Error::new(ErrorKind::NotUnixDatagram, "getsockopt").with_detail(detail))
    };
    match getsockopt(&fd, sockopt::SockType) {
        Err(Errno::ENOTSOCK) => return not(format!("fd {} is not a socket", fd.as_raw_fd())),
        Err(e) => return Err(Error::os(e, "getsockopt")),
        Ok(SockType::Datagram) => {}
        Ok(other) => {
            return not(format!(
                "fd {} is a {other:?} socket, not SOCK_DGRAM",
                fd.as_raw_fd()
            ))
        }
    }
    let domain = socket_domain(fd)?;
    if domain != libc::AF_UNIX {
        return not(format!(
            "fd {} is a datagram socket of family {domain}, not AF_UNIX",
            fd.as_raw_fd()
        ));
    }
    Ok(())
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
