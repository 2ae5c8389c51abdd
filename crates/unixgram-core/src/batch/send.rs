//! [`sendmmsg`] on `sendmmsg(2)`, for Linux and FreeBSD: one header per [`OutMessage`],
//! each with its own encoded control data. macOS has its own `sendmmsg`, in the `looped`
//! module.

use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::socket::SockaddrLike;

use super::{check_batch, dest_addrs, OutMessage, SEND_MAX};
use crate::cmsg;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::sys;

/// Send up to [`SEND_MAX`] datagrams with one `sendmmsg(2)`, each with its own control
/// data and destination (`None`: the connected peer). Returns how many were sent (the
/// kernel stops at the first that fails; an error is returned only if the first one failed).
pub fn sendmmsg(fd: BorrowedFd<'_>, kind: Kind, msgs: &[OutMessage<'_>]) -> Result<usize> {
    let msgs = &msgs[..msgs.len().min(SEND_MAX)];
    if msgs.is_empty() {
        return Ok(0);
    }
    check_batch(msgs)?;
    let names = dest_addrs(msgs, kind)?;
    let mut controls: Vec<(Vec<u64>, usize)> = msgs
        .iter()
        .map(|m| {
            cmsg::encode(
                m.ancillary.fds,
                m.ancillary.credentials.as_ref(),
                m.segment_size,
            )
        })
        .collect();
    let mut hdrs: Vec<libc::mmsghdr> = msgs
        .iter()
        .zip(controls.iter_mut())
        .zip(&names)
        .map(|((m, (control, control_len)), dest)| {
            // SAFETY: an all-zero msghdr is valid; the fields that matter are set below.
            let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
            if let Some(d) = dest {
                hdr.msg_name = d.as_ptr() as *mut libc::c_void;
                hdr.msg_namelen = d.len();
            }
            // IoSlice is ABI-compatible with iovec; the kernel only reads it.
            hdr.msg_iov = m.iov.as_ptr() as *mut libc::iovec;
            hdr.msg_iovlen = m.iov.len() as _;
            if *control_len > 0 {
                hdr.msg_control = control.as_mut_ptr().cast();
                hdr.msg_controllen = *control_len as _;
            }
            libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            }
        })
        .collect();
    let flags = sys::send_flags().bits();
    // SAFETY: every header points to memory borrowed for this call and valid for the declared
    // lengths; the kernel does not write through the iovecs.
    sys::retry_libc(|| unsafe {
        libc::sendmmsg(
            fd.as_raw_fd(),
            hdrs.as_mut_ptr(),
            hdrs.len() as _,
            flags as _, // c_uint with musl
        )
    })
    .map(|n| n as usize)
    .map_err(|e| Error::os(e, "sendmmsg"))
}
