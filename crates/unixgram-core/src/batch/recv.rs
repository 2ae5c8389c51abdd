//! [`RecvBatch`] on `recvmmsg(2)`, for Linux and FreeBSD: [`RECV_SLOTS`] slots of
//! [`SLOT_SIZE`] bytes in one receive [`Region`], the control buffers, names and headers
//! reused from call to call. macOS has its own `RecvBatch`, in the `looped` module.

use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use nix::errno::Errno;

use super::region::Region;
use super::{RECV_SLOTS, SLOT_SIZE};
use crate::cmsg::ControlBuffer;
use crate::error::{Error, Result};
use crate::msg::{self, Datagram};
use crate::sink::PayloadSink;
use crate::sys;

/// Bytes of each slot kept resident after a large datagram.
const KEEP_RESIDENT: usize = 64 << 10;

/// Reusable buffers for `recvmmsg`.
pub struct RecvBatch {
    region: Region,
    controls: Vec<ControlBuffer>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("slots", &RECV_SLOTS)
            .finish()
    }
}

impl RecvBatch {
    /// Reserve the receive area. Fails only if the system refuses the (unbacked) mapping,
    /// e.g. with strict overcommit; callers then receive one datagram at a time.
    pub fn new() -> Result<Self> {
        Ok(Self {
            region: Region::new(RECV_SLOTS * SLOT_SIZE)?,
            controls: (0..RECV_SLOTS).map(|_| ControlBuffer::new()).collect(),
            // SAFETY: all-zero sockaddr_storage, iovec and mmsghdr are valid values.
            names: vec![unsafe { mem::zeroed() }; RECV_SLOTS],
            // SAFETY: as above.
            iovs: vec![unsafe { mem::zeroed() }; RECV_SLOTS],
            // SAFETY: as above.
            hdrs: vec![unsafe { mem::zeroed() }; RECV_SLOTS],
        })
    }

    /// One `recvmmsg(2)` of up to `max` datagrams (at most [`RECV_SLOTS`]), without
    /// blocking. Payloads are appended to `out` back to back; `each` is called per datagram
    /// in order, with the datagram or the error that discarded it (truncation). Returns how
    /// many were taken from the queue: 0 when it was empty, fewer than asked when it ran dry.
    pub fn recv(
        &mut self,
        fd: BorrowedFd<'_>,
        max: usize,
        want_address: bool,
        out: &mut (impl PayloadSink + ?Sized),
        mut each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        let n = max.clamp(1, RECV_SLOTS);
        for i in 0..n {
            self.iovs[i] = libc::iovec {
                iov_base: self.region.at(i * SLOT_SIZE).cast(),
                iov_len: SLOT_SIZE,
            };
            let (control, control_len) = self.controls[i].as_raw();
            // SAFETY: an all-zero msghdr is valid; the fields that matter are set below.
            let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
            if want_address {
                hdr.msg_name = ptr::addr_of_mut!(self.names[i]).cast();
                hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            }
            hdr.msg_iov = &mut self.iovs[i];
            hdr.msg_iovlen = 1;
            hdr.msg_control = control;
            hdr.msg_controllen = control_len as _;
            self.hdrs[i] = libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            };
        }
        let flags = sys::recv_flags();
        // SAFETY: every header points into buffers owned by self, valid for their declared
        // lengths; no timeout pointer.
        let got = match sys::retry_libc(|| unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                n as _,
                flags as _, // c_uint with musl
                ptr::null_mut(),
            )
        }) {
            Ok(k) => k as usize,
            Err(Errno::EAGAIN) => return Ok(0),
            Err(e) => return Err(Error::os(e, "recvmmsg")),
        };
        // Room for the whole batch at once, not a doubling (and copying) buffer.
        let total: usize = self.hdrs[..got]
            .iter()
            .map(|h| (h.msg_len as usize).min(SLOT_SIZE))
            .sum();
        out.reserve(total);
        for i in 0..got {
            let len = self.hdrs[i].msg_len as usize;
            // SAFETY: recvmmsg filled this header; with want_address its name is names[i].
            let checked = unsafe {
                msg::received(
                    &self.hdrs[i].msg_hdr,
                    len,
                    SLOT_SIZE,
                    want_address,
                    "recvmmsg",
                )
            };
            let (ancillary, address) = match checked {
                Ok(parts) => parts,
                Err(e) => {
                    each(Err(e));
                    continue;
                }
            };
            // SAFETY: the kernel wrote `len` bytes at the start of slot i.
            let bytes = unsafe { std::slice::from_raw_parts(self.region.at(i * SLOT_SIZE), len) };
            out.append(bytes);
            if len > KEEP_RESIDENT {
                self.region
                    .release(i * SLOT_SIZE + KEEP_RESIDENT, len - KEEP_RESIDENT);
            }
            each(Ok(Datagram {
                len,
                address,
                ancillary,
            }));
        }
        Ok(got)
    }

    /// Up to `max` datagrams without blocking, one `recvmsg(2)` each and no peek, for
    /// datagrams that run large: each is received straight into `out`'s spare room, with
    /// the first slot of the receive area behind it (a second iovec) for what does not fit,
    /// which is then appended. A datagram that fits costs no copy; none can be cut, as the
    /// slot holds the largest datagram Linux allocates. Results as [`RecvBatch::recv`].
    pub fn recv_large(
        &mut self,
        fd: BorrowedFd<'_>,
        max: usize,
        want_address: bool,
        out: &mut (impl PayloadSink + ?Sized),
        mut each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        let flags = sys::recv_flags();
        let mut taken = 0;
        while taken < max {
            let spare = out.spare();
            let room = spare.len();
            let mut iovs = [
                libc::iovec {
                    iov_base: spare.as_mut_ptr().cast(),
                    iov_len: room,
                },
                libc::iovec {
                    iov_base: self.region.at(0).cast(),
                    iov_len: SLOT_SIZE,
                },
            ];
            let (control, control_len) = self.controls[0].as_raw();
            // SAFETY: an all-zero msghdr is valid; the fields that matter are set below.
            let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
            if want_address {
                hdr.msg_name = ptr::addr_of_mut!(self.names[0]).cast();
                hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            }
            hdr.msg_iov = iovs.as_mut_ptr();
            hdr.msg_iovlen = iovs.len() as _;
            hdr.msg_control = control;
            hdr.msg_controllen = control_len as _;
            // SAFETY: every pointer in hdr is valid for the length it declares: the spare
            // room of `out`, slot 0 of the region, the control buffer and name of slot 0.
            let len =
                match sys::retry_libc(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut hdr, flags) })
                {
                    Ok(n) => n as usize,
                    Err(Errno::EAGAIN) => break,
                    Err(e) if taken == 0 => return Err(Error::os(e, "recvmsg")),
                    Err(_) => break,
                };
            taken += 1;
            // SAFETY: recvmsg filled hdr; with want_address its name is names[0].
            let checked =
                unsafe { msg::received(&hdr, len, room + SLOT_SIZE, want_address, "recvmsg") };
            let (ancillary, address) = match checked {
                Ok(parts) => parts,
                Err(e) => {
                    each(Err(e));
                    continue;
                }
            };
            let direct = len.min(room);
            // SAFETY: the kernel wrote the first `direct` bytes of the spare room.
            unsafe { out.commit(direct) };
            let spilled = len - direct;
            if spilled > 0 {
                // SAFETY: the kernel wrote the rest, `spilled` bytes, at the start of slot 0.
                out.append(unsafe { std::slice::from_raw_parts(self.region.at(0), spilled) });
                if spilled > KEEP_RESIDENT {
                    self.region.release(KEEP_RESIDENT, spilled - KEEP_RESIDENT);
                }
            }
            each(Ok(Datagram {
                len,
                address,
                ancillary,
            }));
        }
        Ok(taken)
    }
}
