//! What every syscall wrapper of this crate shares: the one retry on `EINTR`, and the flags
//! its sends and receives pass.

use nix::errno::Errno;
use nix::sys::socket::MsgFlags;

/// Call `f` again for as long as it fails with `EINTR`: a signal arrived before the syscall
/// could finish. Every syscall this crate makes is safe to repeat then (none is half done
/// when it fails with `EINTR`). Any other result is returned as it is.
pub(crate) fn retry<T>(mut f: impl FnMut() -> nix::Result<T>) -> nix::Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => {}
            other => return other,
        }
    }
}

/// [`retry`] for a raw libc call that returns `-1` and sets `errno` on failure.
pub(crate) fn retry_libc<T: nix::errno::ErrnoSentinel + PartialEq<T>>(
    mut f: impl FnMut() -> T,
) -> nix::Result<T> {
    retry(|| Errno::result(f()))
}

/// Flags of every send: `MSG_DONTWAIT | MSG_NOSIGNAL` (never block: waiting is the caller's
/// policy; a peer that is gone is an error, not a `SIGPIPE`). macOS has no `MSG_NOSIGNAL`:
/// its sockets get `SO_NOSIGPIPE` when created or adopted instead.
pub(crate) fn send_flags() -> MsgFlags {
    #[cfg(not(target_vendor = "apple"))]
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    let flags = MsgFlags::MSG_DONTWAIT;
    flags
}

/// Flags of every receive: `MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC` (received
/// descriptors are close-on-exec; a datagram's real length is reported even when it did not
/// fit). macOS has neither input flag: descriptors are made close-on-exec by
/// `cmsg::take_control`, and truncation is still reported in `msg_flags`.
pub(crate) fn recv_flags() -> libc::c_int {
    #[cfg(not(target_vendor = "apple"))]
    let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC;
    #[cfg(target_vendor = "apple")]
    let flags = libc::MSG_DONTWAIT;
    flags
}
