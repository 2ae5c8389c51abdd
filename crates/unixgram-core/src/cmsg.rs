//! Control messages: sizing the receive buffer and decoding what the kernel wrote.
//!
//! Decoding is done here rather than with nix's `cmsgs()`, which refuses to iterate when
//! `MSG_CTRUNC` is set and so strands the descriptors the kernel did install. Every
//! descriptor becomes an [`OwnedFd`] the moment it is read out of the buffer, so whatever
//! happens next (truncation error, parse error, a dropped value) closes it exactly once.
//!
//! `SCM_CREDENTIALS` and `SCM_PIDFD` are decoded on Linux only; elsewhere only
//! `SCM_RIGHTS` is, and other control messages are skipped. On macOS, which has no
//! `MSG_CMSG_CLOEXEC`, each received descriptor is made close-on-exec here, the moment it is
//! owned. `cmsg_len` and `msg_controllen` are `usize` with glibc and `u32` with musl and on
//! the BSDs; the conversions below are written `as _` so one text serves all of them.

use std::mem;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `SCM_MAX_FD`: the most descriptors one `sendmsg` may carry on Linux, and the limit this
/// crate keeps on every platform.
pub const MAX_FDS_PER_MESSAGE: usize = 253;

/// `SCM_PIDFD` (Linux >= 6.5, asm-generic value): a pidfd of the sender, sent when the
/// receiver enabled `SO_PASSPIDFD`. It is a descriptor too, so it must be owned and closed.
/// Linux only: the same number is `SCM_BINTIME` on FreeBSD and `SCM_TIMESTAMP_MONOTONIC` on
/// macOS, which are not descriptors.
#[cfg(target_os = "linux")]
pub const SCM_PIDFD: libc::c_int = 4;

/// Process credentials as carried by `SCM_CREDENTIALS` / reported by `SO_PEERCRED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Credentials {
    /// The calling process's own credentials.
    pub fn current() -> Self {
        Self {
            pid: nix::unistd::getpid().as_raw(),
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }
}

/// What arrived beside a datagram's bytes.
#[derive(Debug, Default)]
pub struct Received {
    /// `SCM_RIGHTS` descriptors, in order (several cmsgs are merged by the kernel).
    pub fds: Vec<OwnedFd>,
    /// `SCM_CREDENTIALS`, present on every datagram once `SO_PASSCRED` is on (Linux only;
    /// always `None` elsewhere).
    pub credentials: Option<Credentials>,
    /// `SCM_PIDFD`: a pidfd of the sender's process (see [`crate::pidfd`]), present when
    /// `SO_PASSPIDFD` was on before the datagram was sent (Linux >= 6.5 only; always `None`
    /// elsewhere). Before Linux 6.16 the kernel cannot make one for a sender already reaped
    /// when the datagram is read, and sends its errno instead: then it is `None` too (6.16
    /// and later make a pidfd that reports the exit).
    pub pidfd: Option<OwnedFd>,
    /// UDP GRO (`UDP_GRO`, once turned on): the payload is several datagrams of this many
    /// bytes each, coalesced by the kernel (the last may be shorter). Linux only.
    pub segment_size: Option<u16>,
    /// `SO_RXQ_OVFL`, once turned on: how many datagrams the kernel has dropped at this
    /// socket so far because its receive queue was full. Linux only.
    pub drops: Option<u32>,
}

impl Received {
    /// Nothing arrived.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty() && self.credentials.is_none() && self.pidfd.is_none()
    }
}

// `CMSG_SPACE` is a `const`-compatible computation only through libc's unsafe fn.
fn cmsg_space(payload: usize) -> usize {
    // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
    unsafe { libc::CMSG_SPACE(payload as libc::c_uint) as usize }
}

/// Bytes of control buffer that hold everything a Linux datagram can carry at once: 253
/// descriptors, credentials and a pidfd (Unix), a GRO segment size and a drop count (UDP).
#[cfg(target_os = "linux")]
pub fn receive_space() -> usize {
    cmsg_space(MAX_FDS_PER_MESSAGE * mem::size_of::<RawFd>())
        + cmsg_space(mem::size_of::<libc::ucred>())
        + cmsg_space(mem::size_of::<RawFd>())
        + cmsg_space(mem::size_of::<libc::c_int>())
        + cmsg_space(mem::size_of::<u32>())
}

/// Bytes of control buffer for 253 descriptors, the only control message received on
/// macOS and FreeBSD.
#[cfg(not(target_os = "linux"))]
pub fn receive_space() -> usize {
    cmsg_space(MAX_FDS_PER_MESSAGE * mem::size_of::<RawFd>())
}

/// A control buffer aligned for `cmsghdr`, sized by [`receive_space`].
#[derive(Debug)]
pub struct ControlBuffer {
    words: Vec<u64>,
}

impl Default for ControlBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl ControlBuffer {
    /// A buffer big enough for any message (see [`receive_space`]).
    pub fn new() -> Self {
        let words = receive_space().div_ceil(mem::size_of::<u64>());
        Self {
            words: vec![0; words],
        }
    }

    /// A smaller buffer with room for exactly `fds` descriptors and no other control
    /// message. A datagram carrying more is rejected with `MSG_CTRUNC` (the kernel closes
    /// the excess, this crate closes the ones that fit).
    pub fn with_fd_capacity(fds: usize) -> Self {
        let bytes = cmsg_space(fds.max(1) * mem::size_of::<RawFd>());
        Self {
            words: vec![0; bytes.div_ceil(mem::size_of::<u64>())],
        }
    }

    /// The buffer as a raw pointer and length, for `msghdr`.
    pub(crate) fn as_raw(&mut self) -> (*mut libc::c_void, usize) {
        (
            self.words.as_mut_ptr().cast(),
            self.words.len() * mem::size_of::<u64>(),
        )
    }
}

/// Encode `SCM_RIGHTS`, `SCM_CREDENTIALS` and UDP's `UDP_SEGMENT` for sending: the buffer
/// (aligned for `cmsghdr`) and how many of its bytes are control data (0 = nothing to send).
///
/// Credentials and segments are encoded on Linux only; elsewhere the caller refuses them
/// first (`SCM_CREDENTIALS` and UDP GSO do not exist there). Not used on macOS, which has no
/// `sendmmsg`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn encode(
    fds: &[RawFd],
    credentials: Option<&Credentials>,
    segment_size: Option<u16>,
) -> (Vec<u64>, usize) {
    #[cfg(not(target_os = "linux"))]
    let _ = (credentials, segment_size);
    let fds_bytes = mem::size_of_val(fds);
    let mut space = 0;
    if !fds.is_empty() {
        space += cmsg_space(fds_bytes);
    }
    #[cfg(target_os = "linux")]
    if credentials.is_some() {
        space += cmsg_space(mem::size_of::<libc::ucred>());
    }
    #[cfg(target_os = "linux")]
    if segment_size.is_some() {
        space += cmsg_space(mem::size_of::<u16>());
    }
    if space == 0 {
        return (Vec::new(), 0);
    }
    let mut buf = vec![0u64; space.div_ceil(mem::size_of::<u64>())];
    // SAFETY: an all-zero msghdr is valid; only its control fields are used, to walk `buf`.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_control = buf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg describes `buf`, which is zeroed and `space` bytes long.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    let put = |cmsg: *mut libc::cmsghdr, level: libc::c_int, kind: libc::c_int, payload: &[u8]| {
        // SAFETY: cmsg is a header inside `buf` with CMSG_SPACE(payload.len()) bytes of room,
        // as sized above; the payload is copied byte-wise (no alignment needed).
        unsafe {
            (*cmsg).cmsg_level = level;
            (*cmsg).cmsg_type = kind;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload.len() as libc::c_uint) as _;
            std::ptr::copy_nonoverlapping(payload.as_ptr(), libc::CMSG_DATA(cmsg), payload.len());
        }
    };
    if !fds.is_empty() {
        // SAFETY: viewing a slice of ints as its bytes.
        let bytes = unsafe { std::slice::from_raw_parts(fds.as_ptr().cast::<u8>(), fds_bytes) };
        put(cmsg, libc::SOL_SOCKET, libc::SCM_RIGHTS, bytes);
    }
    // The header after the last one written (the first while none is).
    #[cfg(target_os = "linux")]
    let mut written = !fds.is_empty();
    #[cfg(target_os = "linux")]
    let mut next = |cmsg: *mut libc::cmsghdr| {
        if std::mem::replace(&mut written, true) {
            // SAFETY: msg and cmsg are valid as above; the header at cmsg is written.
            unsafe { libc::CMSG_NXTHDR(&msg, cmsg) }
        } else {
            cmsg
        }
    };
    #[cfg(target_os = "linux")]
    let mut cmsg = cmsg;
    #[cfg(target_os = "linux")]
    if let Some(c) = credentials {
        cmsg = next(cmsg);
        let ucred = libc::ucred {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        };
        // SAFETY: viewing a plain C struct as its bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                std::ptr::addr_of!(ucred).cast::<u8>(),
                mem::size_of::<libc::ucred>(),
            )
        };
        put(cmsg, libc::SOL_SOCKET, libc::SCM_CREDENTIALS, bytes);
    }
    #[cfg(target_os = "linux")]
    if let Some(size) = segment_size {
        cmsg = next(cmsg);
        put(cmsg, libc::SOL_UDP, libc::UDP_SEGMENT, &size.to_ne_bytes());
    }
    (buf, space)
}

/// Take ownership of everything the kernel put in `msg`'s control buffer.
///
/// Walks the buffer even when `MSG_CTRUNC` is set: a cut `SCM_RIGHTS` array still holds
/// descriptors the kernel installed, and they must be closed, not leaked.
///
/// # Safety
/// `msg` must be the `msghdr` just filled by a successful `recvmsg(2)`: `msg_control`
/// points to `msg_controllen` initialised bytes, and the descriptors in it are open and
/// owned by nobody else.
pub(crate) unsafe fn take_control(msg: &libc::msghdr) -> Received {
    let mut out = Received::default();
    // SAFETY: per this function's contract, msg describes a valid control buffer.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR/NXTHDR return either null or a header inside the buffer.
        let hdr = unsafe { &*cmsg };
        // SAFETY: CMSG_DATA points just past the header, inside the same buffer.
        let data = unsafe { libc::CMSG_DATA(cmsg) };
        let header_len = data as usize - cmsg as usize;
        // The kernel may cut the last header short under MSG_CTRUNC: only trust the bytes
        // that are both announced and inside the buffer.
        // `usize` with glibc, `u32` with musl and on the BSDs.
        let (controllen, cmsg_len): (usize, usize) = (msg.msg_controllen as _, hdr.cmsg_len as _);
        let buf_end = msg.msg_control as usize + controllen;
        let announced_end = cmsg as usize + cmsg_len;
        let payload = announced_end.min(buf_end).saturating_sub(data as usize);
        if cmsg_len < header_len {
            break;
        }
        if hdr.cmsg_level == libc::SOL_SOCKET {
            match hdr.cmsg_type {
                libc::SCM_RIGHTS => {
                    for i in 0..payload / mem::size_of::<RawFd>() {
                        // SAFETY: `i` indexes whole ints inside the payload; unaligned read.
                        let fd = unsafe { data.cast::<RawFd>().add(i).read_unaligned() };
                        if fd >= 0 {
                            // SAFETY: the kernel installed this fd for us; nobody else owns it.
                            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                            #[cfg(target_vendor = "apple")]
                            set_cloexec(&fd);
                            out.fds.push(fd);
                        }
                    }
                }
                #[cfg(target_os = "linux")]
                libc::SCM_CREDENTIALS if payload >= mem::size_of::<libc::ucred>() => {
                    // SAFETY: the payload holds a whole ucred; unaligned read.
                    let cred = unsafe { data.cast::<libc::ucred>().read_unaligned() };
                    out.credentials = Some(Credentials {
                        pid: cred.pid,
                        uid: cred.uid,
                        gid: cred.gid,
                    });
                }
                #[cfg(target_os = "linux")]
                SCM_PIDFD if payload >= mem::size_of::<RawFd>() => {
                    // SAFETY: the payload holds one int; unaligned read.
                    let fd = unsafe { data.cast::<RawFd>().read_unaligned() };
                    // Negative: the errno of a pidfd the kernel could not make (a sender
                    // reaped before Linux 6.16's PIDFD_STALE), and nothing to close.
                    if fd >= 0 {
                        // SAFETY: the kernel installed this pidfd for us.
                        out.pidfd = Some(unsafe { OwnedFd::from_raw_fd(fd) });
                    }
                }
                #[cfg(target_os = "linux")]
                libc::SO_RXQ_OVFL if payload >= mem::size_of::<u32>() => {
                    // SAFETY: the payload holds one u32; unaligned read.
                    out.drops = Some(unsafe { data.cast::<u32>().read_unaligned() });
                }
                _ => {}
            }
        }
        #[cfg(target_os = "linux")]
        if hdr.cmsg_level == libc::SOL_UDP
            && hdr.cmsg_type == libc::UDP_GRO
            && payload >= mem::size_of::<libc::c_int>()
        {
            // SAFETY: the payload holds one int; unaligned read.
            let size = unsafe { data.cast::<libc::c_int>().read_unaligned() };
            out.segment_size = u16::try_from(size).ok().filter(|s| *s > 0);
        }
        // SAFETY: msg and cmsg are valid as above; NXTHDR returns null at the end.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
    out
}

/// Make a received descriptor close-on-exec, as `MSG_CMSG_CLOEXEC` does atomically on Linux
/// and FreeBSD. macOS lacks that flag, so a fork+exec in another thread during recvmsg(2)
/// may inherit it. `F_SETFD` cannot fail on an open descriptor. See fcntl(2).
#[cfg(target_vendor = "apple")]
fn set_cloexec(fd: &OwnedFd) {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn receive_space_holds_253_descriptors() {
        let header = mem::size_of::<libc::cmsghdr>();
        assert!(receive_space() >= MAX_FDS_PER_MESSAGE * mem::size_of::<RawFd>() + header);
        let mut buf = ControlBuffer::new();
        assert!(buf.as_raw().1 >= receive_space());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn receive_space_holds_the_linux_maximum() {
        // 253 ints + ucred + one int, each with its header and padding.
        assert!(receive_space() >= 253 * 4 + 12 + 4 + 3 * 16);
        let mut buf = ControlBuffer::new();
        assert!(buf.as_raw().1 >= receive_space());
    }
}
