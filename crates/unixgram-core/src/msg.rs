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
use nix::sys::socket::{self, ControlMessage, SockaddrLike, SockaddrStorage};

use crate::addr::Address;
use crate::cmsg::{self, ControlBuffer, Credentials, Received, MAX_FDS_PER_MESSAGE};
use crate::error::{Error, ErrorKind, Result};
use crate::sink::PayloadSink;
use crate::sys;

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

impl SendAncillary<'_> {
    /// No descriptors and no credentials.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty() && self.credentials.is_none()
    }
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

/// Send one datagram of `data` on a connected socket, without control data: send(2)
/// with `MSG_DONTWAIT | MSG_NOSIGNAL`, the cheapest way out (no `msghdr`, no allocation).
/// Errors carry no address: [`Socket::send`](crate::Socket::send) adds it.
pub fn send(fd: BorrowedFd<'_>, data: &[u8]) -> Result<usize> {
    sys::retry(|| socket::send(fd.as_raw_fd(), data, sys::send_flags()))
        .map_err(|errno| Error::os(errno, "send"))
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
    dest: Option<&SockaddrStorage>,
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
    sys::retry(|| socket::sendmsg(fd.as_raw_fd(), iov, &cmsgs, sys::send_flags(), dest))
        .map_err(|errno| Error::os(errno, "sendmsg"))
}

/// Size of the next queued datagram, or `None` if the queue is empty. See recv(2):
/// `MSG_PEEK | MSG_TRUNC` with an empty buffer returns the real length (Linux >= 3.4,
/// FreeBSD >= 13.2).
#[cfg(not(target_vendor = "apple"))]
pub fn peek_size(fd: BorrowedFd<'_>) -> Result<Option<usize>> {
    let flags = libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT;
    // SAFETY: a zero-length buffer is never written; null is allowed with len 0.
    match sys::retry_libc(|| unsafe { libc::recv(fd.as_raw_fd(), ptr::null_mut(), 0, flags) }) {
        Ok(n) => Ok(Some(n as usize)),
        Err(Errno::EAGAIN) => Ok(None),
        Err(errno) => Err(Error::os(errno, "recvmsg")),
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
    // SAFETY: `byte` is valid for a write of the one byte passed.
    let peeked = sys::retry_libc(|| unsafe {
        libc::recv(
            fd.as_raw_fd(),
            ptr::addr_of_mut!(byte).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    });
    match peeked {
        Ok(0) => Ok(Some(0)),
        Ok(_) => so_nread(fd).map(Some),
        Err(Errno::EAGAIN) => Ok(None),
        Err(errno) => Err(Error::os(errno, "recvmsg")),
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

/// Up to `max` datagrams without blocking, one [`recvmsg`] each: payloads appended to `out`,
/// `each` called per datagram in order, or with the error that discarded one (a truncated
/// datagram is consumed and reported in its place). Returns how many were taken (fewer than
/// `max` when the queue ran dry), or the error if the first call failed.
pub fn recvmsg_many(
    fd: BorrowedFd<'_>,
    max: usize,
    out: &mut (impl PayloadSink + ?Sized),
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
    out: &mut (impl PayloadSink + ?Sized),
    control: &mut ControlBuffer,
    want_address: bool,
) -> Result<Option<Datagram>> {
    let Some(size) = peek_size(fd)? else {
        return Ok(None);
    };
    out.reserve(size);
    let spare = out.spare();
    let mut iov = libc::iovec {
        // `reserve` made `spare` at least `size` bytes long.
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: size,
    };
    // SAFETY: an all-zero sockaddr_storage is a valid (empty) value.
    let mut name: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let (control_ptr, control_len) = control.as_raw();
    // SAFETY: an all-zero msghdr is valid; the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if want_address {
        msg.msg_name = ptr::addr_of_mut!(name).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control_ptr;
    msg.msg_controllen = control_len as _;
    let flags = sys::recv_flags();
    // SAFETY: every pointer in msg is valid for the lengths it declares.
    let n = match sys::retry_libc(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) }) {
        Ok(n) => n as usize,
        // Someone sharing the socket took it between the peek and now.
        Err(Errno::EAGAIN) => return Ok(None),
        Err(errno) => return Err(Error::os(errno, "recvmsg")),
    };
    // SAFETY: recvmsg succeeded and filled `msg`; its name, when asked for, is `name`.
    let (ancillary, address) = unsafe { received(&msg, n, size, want_address, "recvmsg") }?;
    // SAFETY: the kernel initialised the first `n <= size` bytes of the spare room
    // (checked by `received`).
    unsafe { out.commit(n) };
    Ok(Some(Datagram {
        len: n,
        address,
        ancillary,
    }))
}

/// What the kernel wrote beside one received datagram of `len` bytes that had `capacity`
/// bytes of room, checked in this order: its descriptors owned first, so that none can leak
/// whatever happens next; then `MSG_TRUNC` and `MSG_CTRUNC` as errors (the descriptors that
/// did arrive are closed with them); then the sender's address, when `want_address`. For
/// recvmsg(2) and for each header of recvmmsg(2).
///
/// # Safety
/// `hdr` was just filled by a successful `syscall`: its control buffer holds what the kernel
/// wrote (descriptors owned by nobody else), and with `want_address` its `msg_name` points
/// to a `sockaddr_storage` the kernel filled, `msg_namelen` bytes long.
pub(crate) unsafe fn received(
    hdr: &libc::msghdr,
    len: usize,
    capacity: usize,
    want_address: bool,
    syscall: &'static str,
) -> Result<(Received, Option<Address>)> {
    // SAFETY: per this function's contract.
    let ancillary = unsafe { cmsg::take_control(hdr) };
    if hdr.msg_flags & libc::MSG_TRUNC != 0 || len > capacity {
        return Err(Error::new(
            ErrorKind::Truncated {
                size: len,
                capacity,
            },
            syscall,
        ));
    }
    if hdr.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(Error::new(ErrorKind::ControlTruncated, syscall));
    }
    let address = want_address.then(|| {
        // SAFETY: per this function's contract, msg_name is a filled sockaddr_storage.
        let addr = unsafe {
            SockaddrStorage::from_raw(hdr.msg_name.cast_const().cast(), Some(hdr.msg_namelen))
        };
        addr.map_or(Address::Unnamed, |a| Address::from_storage(&a))
    });
    Ok((ancillary, address))
}
