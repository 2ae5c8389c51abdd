//! `sendmsg(2)` and `recvmsg(2)` for one datagram, with control messages and exact sizing.
//!
//! Per platform: the size of the next datagram comes from `MSG_PEEK | MSG_TRUNC` on Linux
//! and FreeBSD, from `SO_NREAD` on macOS; received descriptors are close-on-exec through
//! `MSG_CMSG_CLOEXEC` on Linux and FreeBSD, and set so by [`cmsg`] on macOS;
//! sending credentials is Linux-only.

use std::io::IoSlice;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::ptr;

use nix::errno::Errno;
#[cfg(target_os = "linux")]
use nix::sys::socket::UnixCredentials;
use nix::sys::socket::{self, ControlMessage, MsgFlags, SockaddrLike, UnixAddr};

use crate::addr::Address;
use crate::cmsg::{self, ControlBuffer, Credentials, Received, MAX_FDS_PER_MESSAGE};
use crate::error::{Error, ErrorKind, Result};

/// Control data to send with a datagram. The descriptors are borrowed: the caller keeps
/// owning them (the kernel duplicates them into the message).
#[derive(Debug, Default, Clone, Copy)]
pub struct SendAncillary<'a> {
    /// `SCM_RIGHTS`: 0 to 253 descriptors.
    pub fds: &'a [RawFd],
    /// `SCM_CREDENTIALS`: the kernel checks them unless the sender is privileged. Linux
    /// only: elsewhere `Some` makes the send fail with
    /// [`ErrorKind::Unsupported`].
    pub credentials: Option<Credentials>,
}

/// One received datagram, without its bytes (those were appended to the caller's buffer).
#[derive(Debug)]
pub struct Datagram {
    /// Payload length.
    pub len: usize,
    /// The sender's address, when asked for. `Unnamed` for unbound senders.
    pub address: Option<Address>,
    /// Descriptors and credentials that came with it, owned.
    pub ancillary: Received,
}

/// `MSG_DONTWAIT | MSG_NOSIGNAL`. macOS has no `MSG_NOSIGNAL`: its sockets get
/// `SO_NOSIGPIPE` when created or adopted instead.
fn send_flags() -> MsgFlags {
    #[cfg(not(target_vendor = "apple"))]
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    let flags = MsgFlags::MSG_DONTWAIT;
    flags
}

/// Send one datagram of `data` on a connected socket, without control data: send(2)
/// with `MSG_DONTWAIT | MSG_NOSIGNAL`, the cheapest way out (no `msghdr`, no allocation).
/// Errors carry no address; callers that report them use [`sendmsg`] instead.
pub fn send(fd: BorrowedFd<'_>, data: &[u8]) -> Result<usize> {
    loop {
        match socket::send(fd.as_raw_fd(), data, send_flags()) {
            Err(Errno::EINTR) => continue,
            other => return other.map_err(|errno| Error::os(errno, "send")),
        }
    }
}

/// Send one datagram gathered from `iov`. See sendmsg(2).
///
/// Returns `EINVAL` (before any syscall) for more than 253 descriptors, and
/// [`ErrorKind::Unsupported`] for credentials on macOS and FreeBSD (`SCM_CREDENTIALS` is
/// Linux-only).
pub fn sendmsg(
    fd: BorrowedFd<'_>,
    iov: &[IoSlice<'_>],
    ancillary: &SendAncillary<'_>,
    dest: Option<&UnixAddr>,
) -> Result<usize> {
    if ancillary.fds.len() > MAX_FDS_PER_MESSAGE {
        return Err(Error::os(Errno::EINVAL, "sendmsg").with_detail(format!(
            "{} file descriptors given; one datagram carries at most {MAX_FDS_PER_MESSAGE}",
            ancillary.fds.len()
        )));
    }
    #[cfg(target_os = "linux")]
    let creds = ancillary.credentials.map(|c| {
        UnixCredentials::from(libc::ucred {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        })
    });
    #[cfg(not(target_os = "linux"))]
    if ancillary.credentials.is_some() {
        return Err(Error::unsupported(
            "sending credentials (SCM_CREDENTIALS)",
            "sendmsg",
        ));
    }
    let mut cmsgs = Vec::with_capacity(2);
    if !ancillary.fds.is_empty() {
        cmsgs.push(ControlMessage::ScmRights(ancillary.fds));
    }
    #[cfg(target_os = "linux")]
    if let Some(creds) = &creds {
        cmsgs.push(ControlMessage::ScmCredentials(creds));
    }
    loop {
        match socket::sendmsg(fd.as_raw_fd(), iov, &cmsgs, send_flags(), dest) {
            Err(Errno::EINTR) => continue,
            other => return other.map_err(|errno| Error::os(errno, "sendmsg")),
        }
    }
}

/// Size of the next queued datagram, or `None` if the queue is empty. See recv(2):
/// `MSG_PEEK | MSG_TRUNC` with an empty buffer returns the real length (Linux >= 3.4,
/// FreeBSD >= 13.2).
#[cfg(not(target_vendor = "apple"))]
pub fn peek_size(fd: BorrowedFd<'_>) -> Result<Option<usize>> {
    let flags = libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT;
    loop {
        // SAFETY: a zero-length buffer is never written; null is allowed with len 0.
        let n = unsafe { libc::recv(fd.as_raw_fd(), ptr::null_mut(), 0, flags) };
        match Errno::result(n) {
            Ok(n) => return Ok(Some(n as usize)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(None),
            Err(errno) => return Err(Error::os(errno, "recvmsg")),
        }
    }
}

/// Size of the next queued datagram, or `None` if the queue is empty.
///
/// macOS does not take `MSG_TRUNC` as an input flag; its `SO_NREAD` gives the size of the
/// first queued datagram instead. `SO_NREAD` reads 0 both for an empty queue and for an
/// empty datagram (or one that arrived just after), so a 0 is settled by peeking one byte:
/// `EAGAIN` is an empty queue, 0 bytes an empty datagram, 1 byte a datagram whose size
/// `SO_NREAD` now gives.
#[cfg(target_vendor = "apple")]
pub fn peek_size(fd: BorrowedFd<'_>) -> Result<Option<usize>> {
    let size = so_nread(fd)?;
    if size > 0 {
        return Ok(Some(size));
    }
    let mut byte = 0u8;
    loop {
        // SAFETY: `byte` is valid for a write of the one byte passed.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                ptr::addr_of_mut!(byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match Errno::result(n) {
            Ok(0) => return Ok(Some(0)),
            Ok(_) => return so_nread(fd).map(Some),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(None),
            Err(errno) => return Err(Error::os(errno, "recvmsg")),
        }
    }
}

/// `SO_NREAD` (macOS): the payload size of the first queued datagram, 0 if none. See
/// getsockopt(2).
#[cfg(target_vendor = "apple")]
fn so_nread(fd: BorrowedFd<'_>) -> Result<usize> {
    let mut size: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `size` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NREAD,
            ptr::addr_of_mut!(size).cast(),
            &mut len,
        )
    };
    Errno::result(rc).map_err(|e| Error::os(e, "getsockopt"))?;
    Ok(usize::try_from(size).unwrap_or(0))
}

/// `MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC` for recvmsg(2) and recvmmsg(2). macOS has
/// neither input flag: descriptors are made close-on-exec by [`cmsg::take_control`], and
/// truncation is still reported in `msg_flags`.
pub(crate) fn recv_flags() -> libc::c_int {
    #[cfg(not(target_vendor = "apple"))]
    let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC;
    #[cfg(target_vendor = "apple")]
    let flags = libc::MSG_DONTWAIT;
    flags
}

/// Up to `max` datagrams without blocking, one [`recvmsg`] each: payloads appended to `out`,
/// `each` called per datagram in order, or with the error that discarded one (a truncated
/// datagram is consumed and reported in its place). Returns how many were taken (fewer than
/// `max` when the queue ran dry), or the error if the first call failed.
pub fn recvmsg_many(
    fd: BorrowedFd<'_>,
    max: usize,
    out: &mut Vec<u8>,
    control: &mut ControlBuffer,
    want_address: bool,
    mut each: impl FnMut(Result<Datagram>),
) -> Result<usize> {
    let mut taken = 0;
    while taken < max {
        match recvmsg(fd, out, control, want_address) {
            Ok(None) => break,
            Ok(Some(d)) => each(Ok(d)),
            Err(e) if e.errno().is_none() => each(Err(e)),
            Err(e) if taken == 0 => return Err(e),
            Err(_) => break,
        }
        taken += 1;
    }
    Ok(taken)
}

/// Receive the next datagram whole, appending its bytes to `out`. See recvmsg(2).
///
/// The size is discovered first ([`peek_size`]), so `out` grows by exactly the datagram's
/// length: a small datagram never pays for a large buffer and a large one is never cut.
/// Returns `Ok(None)` when nothing is queued. Descriptors arrive close-on-exec.
/// `MSG_TRUNC` and `MSG_CTRUNC` are errors; whatever descriptors did arrive are closed
/// and `out` is left as it was.
pub fn recvmsg(
    fd: BorrowedFd<'_>,
    out: &mut Vec<u8>,
    control: &mut ControlBuffer,
    want_address: bool,
) -> Result<Option<Datagram>> {
    let Some(size) = peek_size(fd)? else {
        return Ok(None);
    };
    out.reserve(size);
    let start = out.len();
    let mut iov = libc::iovec {
        // SAFETY: `reserve` made room for `size` bytes after `start`.
        iov_base: unsafe { out.as_mut_ptr().add(start) }.cast(),
        iov_len: size,
    };
    // SAFETY: an all-zero sockaddr_un is a valid (empty) value.
    let mut name: libc::sockaddr_un = unsafe { mem::zeroed() };
    let (control_ptr, control_len) = control.as_raw();
    // SAFETY: an all-zero msghdr is valid; the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if want_address {
        msg.msg_name = ptr::addr_of_mut!(name).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control_ptr;
    msg.msg_controllen = control_len as _;
    let flags = recv_flags();
    let n = loop {
        // SAFETY: every pointer in msg is valid for the lengths it declares.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
        match Errno::result(n) {
            Ok(n) => break n as usize,
            Err(Errno::EINTR) => continue,
            // Someone sharing the socket took it between the peek and now.
            Err(Errno::EAGAIN) => return Ok(None),
            Err(errno) => return Err(Error::os(errno, "recvmsg")),
        }
    };
    // SAFETY: recvmsg succeeded, so the control buffer holds what the kernel wrote and the
    // descriptors in it are ours. Taken before any check so that none can leak.
    let ancillary = unsafe { cmsg::take_control(&msg) };
    if msg.msg_flags & libc::MSG_TRUNC != 0 || n > size {
        return Err(Error::new(
            ErrorKind::Truncated {
                size: n,
                capacity: size,
            },
            "recvmsg",
        ));
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(Error::new(ErrorKind::ControlTruncated, "recvmsg"));
    }
    // SAFETY: the kernel initialised `n <= size` bytes after `start`.
    unsafe { out.set_len(start + n) };
    let address = want_address.then(|| {
        // SAFETY: `name` is a sockaddr_un the kernel filled, `msg_namelen` bytes long.
        let addr = unsafe { UnixAddr::from_raw(ptr::addr_of!(name).cast(), Some(msg.msg_namelen)) };
        addr.map_or(Address::Unnamed, |a| Address::from_unix_addr(&a))
    });
    Ok(Some(Datagram {
        len: n,
        address,
        ancillary,
    }))
}
