//! Many datagrams per syscall: `recvmmsg(2)` and `sendmmsg(2)`.
//!
//! Receiving several datagrams at once means choosing every buffer before knowing any
//! size. [`RecvBatch`] gives each slot room for the largest datagram Linux can carry, in one
//! anonymous mapping reserved with `MAP_NORESERVE` and without huge pages: only the pages a
//! datagram touches become resident, so sixteen 64-byte datagrams cost sixteen pages, and a
//! datagram can never be cut. Pages past the first 64 KiB of a slot are given back
//! (`MADV_DONTNEED`) after a large datagram, so memory stays flat.
//!
//! Per platform:
//! - Linux: as above.
//! - FreeBSD: the same code, on libc's `recvmmsg`/`sendmmsg` (a loop of recvmsg/sendmsg
//!   inside libc). The mapping has no `MAP_NORESERVE` (FreeBSD does not reserve swap for
//!   anonymous memory unless `vm.overcommit` says so) and no huge-page advice (a superpage
//!   is only promoted once all its pages are touched); pages are given back with
//!   `MADV_FREE`, as FreeBSD's `MADV_DONTNEED` keeps them.
//! - macOS has neither syscall: [`RecvBatch`] and [`sendmmsg`] are loops of the one-datagram
//!   [`crate::msg::recvmsg`] and [`crate::msg::sendmsg`], with the same results (each
//!   datagram is received into a buffer of its exact size, so no mapping is needed).
//!
//! Credentials in an [`OutMessage`] are refused on macOS and FreeBSD before anything is
//! sent ([`crate::ErrorKind::Unsupported`]).
//!
//! This file holds what every platform shares: the sizes, [`OutMessage`] and the checks a
//! batch passes before anything is sent. On Linux and FreeBSD, [`RecvBatch`] is in
//! `batch/recv.rs` (the mapping it receives into, `Region`, in `batch/region.rs`) and
//! [`sendmmsg`] in `batch/send.rs`; on macOS both are loops, in `batch/looped.rs`.

#[cfg(target_vendor = "apple")]
mod looped;
#[cfg(not(target_vendor = "apple"))]
mod recv;
#[cfg(not(target_vendor = "apple"))]
mod region;
#[cfg(not(target_vendor = "apple"))]
mod send;

use std::io::IoSlice;

use nix::errno::Errno;

use nix::sys::socket::SockaddrStorage;

use crate::addr::Address;
use crate::cmsg::MAX_FDS_PER_MESSAGE;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::msg::SendAncillary;

/// Datagrams per `recvmmsg` call.
pub const RECV_SLOTS: usize = 16;

/// Room per slot: more than the largest unix datagram Linux can allocate (4 MiB linear
/// part plus page fragments; 4 263 616 bytes with the default 17 fragments, under
/// 4.4 MB with the maximum of 45).
pub const SLOT_SIZE: usize = (4 << 20) + (512 << 10);

/// Most messages one `sendmmsg` takes (`UIO_MAXIOV`).
pub const SEND_MAX: usize = 1024;

/// One datagram to send with [`sendmmsg`].
#[derive(Debug, Clone, Copy)]
pub struct OutMessage<'a> {
    /// Gathered into one datagram.
    pub iov: &'a [IoSlice<'a>],
    /// Descriptors and credentials for this datagram alone.
    pub ancillary: SendAncillary<'a>,
    /// Where it goes, on a socket that is not connected (`None`: to the connected peer).
    pub dest: Option<&'a Address>,
    /// UDP GSO (`UDP_SEGMENT`): `iov` holds several datagrams of this many bytes each (the
    /// last may be shorter), which the kernel sends as that many datagrams. `None`: `iov` is
    /// one datagram.
    pub segment_size: Option<u16>,
}

/// The destinations of `msgs` as the kernel takes them on a socket of `kind`, checked before
/// anything is sent (a path too long is `ENAMETOOLONG`, an abstract name off Linux
/// unsupported, an address of the other family `EAFNOSUPPORT`).
fn dest_addrs(msgs: &[OutMessage<'_>], kind: Kind) -> Result<Vec<Option<SockaddrStorage>>> {
    msgs.iter()
        .map(|m| {
            m.dest
                .map(|a| a.to_sockaddr_for(kind, "sendmmsg"))
                .transpose()
        })
        .collect()
}

/// Refuse, before anything is sent, a batch that cannot go out whole: a datagram with
/// more than [`MAX_FDS_PER_MESSAGE`] descriptors (`EINVAL`), or credentials on macOS and
/// FreeBSD ([`crate::ErrorKind::Unsupported`]).
fn check_batch(msgs: &[OutMessage<'_>]) -> Result<()> {
    if let Some(m) = msgs
        .iter()
        .find(|m| m.ancillary.fds.len() > MAX_FDS_PER_MESSAGE)
    {
        return Err(Error::os(Errno::EINVAL, "sendmmsg").with_detail(format!(
            "{} file descriptors given; one datagram carries at most {MAX_FDS_PER_MESSAGE}",
            m.ancillary.fds.len()
        )));
    }
    #[cfg(not(target_os = "linux"))]
    if msgs.iter().any(|m| m.ancillary.credentials.is_some()) {
        return Err(Error::unsupported(
            "sending credentials (SCM_CREDENTIALS)",
            "sendmmsg",
        ));
    }
    Ok(())
}

#[cfg(not(target_vendor = "apple"))]
pub use {recv::RecvBatch, send::sendmmsg};

#[cfg(target_vendor = "apple")]
pub use looped::{sendmmsg, RecvBatch};
