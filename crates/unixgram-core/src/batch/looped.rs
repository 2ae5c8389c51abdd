//! macOS has no `recvmmsg`/`sendmmsg`: the same API as loops of one-datagram syscalls.
//! Built on macOS only, in place of `batch/recv.rs` and `batch/send.rs`.

use std::os::fd::BorrowedFd;

use super::{check_batch, dest_addrs, OutMessage, RECV_SLOTS, SEND_MAX};
use crate::cmsg::ControlBuffer;
use crate::error::Result;
use crate::kind::Kind;
use crate::msg::{self, Datagram};
use crate::sink::PayloadSink;

/// The receive state: one control buffer (each datagram gets a buffer of its exact size
/// from [`msg::recvmsg`], so no receive area is reserved).
#[derive(Debug)]
pub struct RecvBatch {
    control: ControlBuffer,
}

impl RecvBatch {
    /// Never fails on macOS: there is no mapping to reserve.
    pub fn new() -> Result<Self> {
        Ok(Self {
            control: ControlBuffer::new(),
        })
    }

    /// Up to `max` datagrams (at most [`RECV_SLOTS`]) without blocking, one recvmsg(2)
    /// each, with the same results as the `recvmmsg` version: payloads appended to `out`,
    /// `each` called per datagram or per error that discarded one, and the number taken
    /// returned (fewer than asked when the queue ran dry).
    pub fn recv(
        &mut self,
        fd: BorrowedFd<'_>,
        max: usize,
        want_address: bool,
        out: &mut (impl PayloadSink + ?Sized),
        each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        let n = max.clamp(1, RECV_SLOTS);
        msg::recvmsg_many(fd, n, out, &mut self.control, want_address, each)
    }

    /// The same as [`RecvBatch::recv`] on macOS: each datagram is already received into
    /// room of its exact size.
    pub fn recv_large(
        &mut self,
        fd: BorrowedFd<'_>,
        max: usize,
        want_address: bool,
        out: &mut (impl PayloadSink + ?Sized),
        each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        self.recv(fd, max, want_address, out, each)
    }
}

/// Up to [`SEND_MAX`] datagrams, one sendmsg(2) each, stopping at the first that fails,
/// as `sendmmsg` does: returns how many were sent, or the error if the first failed.
pub fn sendmmsg(fd: BorrowedFd<'_>, kind: Kind, msgs: &[OutMessage<'_>]) -> Result<usize> {
    let msgs = &msgs[..msgs.len().min(SEND_MAX)];
    check_batch(msgs)?;
    let names = dest_addrs(msgs, kind)?;
    for (i, (m, dest)) in msgs.iter().zip(&names).enumerate() {
        match msg::sendmsg(fd, m.iov, &m.ancillary, dest.as_ref()) {
            Ok(_) => {}
            Err(e) if i == 0 => return Err(e),
            Err(_) => return Ok(i),
        }
    }
    Ok(msgs.len())
}
