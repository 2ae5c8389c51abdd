//! The socket's send and receive: one datagram or a batch each way (a datagram too big for
//! `SO_SNDBUF` is sent after raising it), the context added to send errors, and waiting
//! for a datagram to arrive.
//!
//! Platform differences: the `ENOBUFS` of a datagram too big for the kernel to allocate is
//! explained on Linux only; the batches are [`crate::batch`]'s, which differ per platform.

use std::io::IoSlice;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{Kind, Socket, LARGE_DATAGRAM};
use crate::addr::Address;
use crate::batch::{self, OutMessage, RecvBatch};
use crate::error::{Error, Result};
use crate::msg::{self, Datagram, SendAncillary};
use crate::sink::PayloadSink;
use crate::sys;

/// Above this a datagram may fail with `ENOBUFS`: the kernel cannot allocate it
/// (4 MiB linear part plus page fragments; 4 263 616 bytes was the largest seen on 6.18).
#[cfg(target_os = "linux")]
const KERNEL_ALLOC_LIMIT: usize = 4 << 20;

/// The most datagrams one GSO message carries (`UDP_MAX_SEGMENTS` is 64 on Linux 4.18, 128
/// since 5.x: the smaller holds everywhere).
const GSO_MAX_SEGMENTS: usize = 64;

/// The most payload bytes one UDP message carries over IPv4 (65535 less the IP and UDP
/// headers); GSO messages are held to it too.
pub const UDP_MAX_PAYLOAD: usize = 65507;

/// The most payload bytes one UDP message carries over IPv6 (65535 less the UDP header;
/// jumbograms aside).
pub const UDP6_MAX_PAYLOAD: usize = 65527;

/// The largest UDP payload a socket of `kind` sends (an IPv6 socket may reach IPv4 peers,
/// for whom the IPv4 limit holds: the kernel says EMSGSIZE then).
pub fn udp_max_payload(kind: Kind) -> usize {
    if kind == Kind::Udp6 {
        UDP6_MAX_PAYLOAD
    } else {
        UDP_MAX_PAYLOAD
    }
}

/// A run of datagrams that can go as one GSO message: `count` from `start`, each `size`
/// bytes (the last may be shorter).
struct GsoRun {
    start: usize,
    count: usize,
    size: u16,
}

/// Split `msgs` into runs of datagrams to the same destination, with no control data, of
/// one size (the last of a run may be shorter), at most [`GSO_MAX_SEGMENTS`] and
/// [`UDP_MAX_PAYLOAD`] bytes per run. A datagram that joins nothing is a run of one.
fn gso_runs(msgs: &[OutMessage<'_>]) -> Vec<GsoRun> {
    let len = |m: &OutMessage<'_>| m.iov.iter().map(|b| b.len()).sum::<usize>();
    let mut runs: Vec<GsoRun> = Vec::new();
    let mut run_bytes = 0;
    let mut run_open = false;
    for (i, m) in msgs.iter().enumerate() {
        let n = len(m);
        let joinable = m.ancillary.is_empty() && n > 0 && n <= usize::from(u16::MAX);
        if let Some(run) = runs.last_mut().filter(|_| run_open && joinable) {
            let first = &msgs[run.start];
            if first.dest == m.dest
                && n <= usize::from(run.size)
                && run.count < GSO_MAX_SEGMENTS
                && run_bytes + n <= UDP_MAX_PAYLOAD
            {
                run.count += 1;
                run_bytes += n;
                // A shorter datagram ends its run.
                run_open = n == usize::from(run.size);
                continue;
            }
        }
        runs.push(GsoRun {
            start: i,
            count: 1,
            size: u16::try_from(n).unwrap_or(u16::MAX),
        });
        run_bytes = n;
        run_open = joinable;
    }
    runs
}

impl Socket {
    /// Block the calling thread until a datagram is queued or `timeout_ms` passes
    /// (negative = no limit). Returns whether one is queued. See poll(2).
    pub fn wait_readable(&self, timeout_ms: i32) -> Result<bool> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        // A signal (EINTR) restarts the wait with what is left of the time, not all of it.
        let deadline = (timeout_ms >= 0)
            .then(|| Instant::now() + Duration::from_millis(timeout_ms.unsigned_abs().into()));
        let left = || match deadline {
            None => PollTimeout::NONE,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                PollTimeout::try_from(left.as_micros().div_ceil(1000)).unwrap_or(PollTimeout::MAX)
            }
        };
        sys::retry(|| poll(&mut fds, left()))
            .map(|n| n > 0)
            .map_err(|e| Error::os(e, "poll"))
    }

    /// Send one datagram, gathered from `iov`, to the connected peer or to `dest`: send(2)
    /// when there is one buffer, no control data and no destination (no `msghdr` to build),
    /// sendmsg(2) otherwise.
    ///
    /// A datagram too big for the current `SO_SNDBUF` raises it (with `SO_SNDBUFFORCE` when
    /// privileged, on Linux) and is sent; past what the system allows it is `EMSGSIZE` with
    /// the limit in the message. `EAGAIN` (the receiver's queue is full) is returned as is:
    /// waiting is the caller's policy. Any other error carries the target's address and what
    /// the errno alone does not say.
    pub fn send(
        &self,
        iov: &[IoSlice<'_>],
        ancillary: &SendAncillary<'_>,
        dest: Option<&Address>,
    ) -> Result<usize> {
        self.check_not_empty_packet(iov, "send")?;
        let first = match (iov, dest) {
            ([data], None) if ancillary.is_empty() => msg::send(self.fd.as_fd(), data),
            _ => {
                let dest_addr = dest.map(|a| self.sockaddr(a, "sendmsg")).transpose()?;
                msg::sendmsg(self.fd.as_fd(), iov, ancillary, dest_addr.as_ref())
            }
        };
        self.finish_send(first, iov, ancillary, dest)
    }

    /// Finish a send whose first attempt ran: an `EMSGSIZE` grows `SO_SNDBUF` and sends
    /// again; any other error gets the target's address and what the errno alone does not
    /// say. The send is never simply repeated: the kernel reports some errors only once (a
    /// vanished peer's `ECONNREFUSED` is `ENOTCONN` next time).
    fn finish_send(
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
            Err(e) if e.errno() == Some(Errno::EMSGSIZE) && self.kind.is_udp() => Err(e),
            Err(e) if e.errno() == Some(Errno::EMSGSIZE) => {
                self.grow_send_buffer(len).and_then(|()| {
                    let dest_addr = dest.map(|a| self.sockaddr(a, "sendmsg")).transpose()?;
                    msg::sendmsg(self.fd.as_fd(), iov, ancillary, dest_addr.as_ref())
                })
            }
            other => other,
        };
        result.map_err(|e| with_target(self.explain_send_error(e, len)))
    }

    /// Add what the errno alone does not say. The `ENOBUFS` of a datagram past what the
    /// kernel can allocate is explained on Linux only, whose limit it is.
    fn explain_send_error(&self, e: Error, len: usize) -> Error {
        #[cfg(not(target_os = "linux"))]
        let _ = len;
        match e.errno() {
            Some(Errno::EMSGSIZE) if self.kind.is_udp() && e.detail().is_none() => {
                let max = udp_max_payload(self.kind);
                e.with_detail(format!(
                    "a UDP datagram of {len} bytes is larger than one can be (at most {max} bytes on this socket)"
                ))
            }
            #[cfg(target_os = "linux")]
            Some(Errno::ENOBUFS) if len > KERNEL_ALLOC_LIMIT => {
                Error::os(Errno::EMSGSIZE, "sendmsg").with_detail(format!(
                    "a datagram of {len} bytes is larger than the kernel can allocate for one \
                     unix datagram (4 MiB plus page fragments: 4263616 bytes on Linux 6.18)"
                ))
            }
            Some(Errno::ENOTCONN) if e.detail().is_none() => match &self.peer {
                Some(Address::Unnamed) => {
                    e.with_detail("the other end of the socket pair is closed (a pair cannot reconnect)")
                }
                Some(_) => e.with_detail(
                    "the peer went away and the kernel dropped the connection; call reconnect() once it is back",
                ),
                None => e,
            },
            Some(Errno::EPIPE) if e.detail().is_none() && self.kind == Kind::UnixSeqpacket => {
                e.with_detail("the peer closed the connection")
            }
            Some(Errno::ECONNREFUSED) if e.detail().is_none() && self.kind.is_udp() => e.with_detail(
                "nothing is listening at that address and port (the kernel got an ICMP port unreachable)",
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
    /// `out`'s spare room ([`RecvBatch::recv_large`]), until they run small again.
    pub fn recv_many(
        &mut self,
        max: usize,
        want_address: bool,
        out: &mut (impl PayloadSink + ?Sized),
        mut each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let mut bytes = 0;
        let mut drops = None;
        let seqpacket = self.kind == Kind::UnixSeqpacket;
        let mut eof = false;
        let got = self.recv_many_with(max, want_address, out, |r| {
            if eof {
                return; // what follows the end of a stream is the end again
            }
            if let Ok(d) = &r {
                if seqpacket && d.len == 0 {
                    eof = true;
                    return;
                }
                bytes += d.len;
                drops = d.ancillary.drops.or(drops);
            }
            each(r);
        })?;
        if let Some(count) = drops {
            self.drops = count;
        }
        self.eof = eof;
        if let Some(average) = bytes.checked_div(got) {
            self.large = average >= LARGE_DATAGRAM;
        }
        Ok(got)
    }

    /// Whether the datagrams run large: the next [`recv_many`](Self::recv_many) receives
    /// them one `recvmsg` each into the sink's spare room, so a sink that can should offer
    /// room for a few.
    pub fn receives_large(&self) -> bool {
        self.large
    }

    fn recv_many_with(
        &mut self,
        max: usize,
        want_address: bool,
        out: &mut (impl PayloadSink + ?Sized),
        each: impl FnMut(Result<Datagram>),
    ) -> Result<usize> {
        let max = max.clamp(1, batch::RECV_SLOTS);
        let batch = self
            .batch
            .get_or_insert_with(|| RecvBatch::new().map_err(|_| ()));
        match batch {
            Ok(b) if self.large => b.recv_large(self.fd.as_fd(), max, want_address, out, each),
            Ok(b) => b.recv(self.fd.as_fd(), max, want_address, out, each),
            Err(()) => msg::recvmsg_many(
                self.fd.as_fd(),
                max,
                out,
                &mut self.control,
                want_address,
                each,
            ),
        }
    }

    /// Send several datagrams with one `sendmmsg`, each with its own control data and
    /// destination (on an unconnected socket, one sendmmsg can reach many peers). Returns
    /// how many went out; fewer than given means the peer's queue filled up (retry the rest
    /// later). An error is returned only when the first one fails (`EAGAIN` included). A
    /// first datagram too big for `SO_SNDBUF` is sent alone after raising it.
    ///
    /// On a UDP socket, runs of datagrams of one size to one destination go out with GSO
    /// (`UDP_SEGMENT`): one message per run that the kernel splits into the datagrams, so a
    /// run costs the stack's per-send work once. A kernel or route that refuses GSO turns it
    /// off for this socket and the datagrams go one message each.
    pub fn send_many(&self, msgs: &[OutMessage<'_>]) -> Result<usize> {
        if let Some(first) = msgs.first() {
            self.check_not_empty_packet(first.iov, "sendmmsg")?;
        }
        // A later packet that cannot go (empty on a seqpacket socket, past UDP's limit) ends
        // the batch before it: it fails alone, next time, with its own error.
        let msgs = match msgs
            .iter()
            .skip(1)
            .position(|m| self.empty_packet(m.iov) || self.too_big_for_udp(m.iov))
        {
            Some(at) => &msgs[..=at],
            None => msgs,
        };
        if msgs.first().is_some_and(|m| self.too_big_for_udp(m.iov)) {
            return Err(self.batch_error(Error::os(Errno::EMSGSIZE, "sendmmsg"), msgs));
        }
        if self.gso.get() && msgs.len() > 1 && msgs.iter().all(|m| m.segment_size.is_none()) {
            if let Some(sent) = self.send_many_segmented(msgs) {
                return sent;
            }
        }
        match batch::sendmmsg(self.fd.as_fd(), self.kind, msgs) {
            Err(e) if e.errno() == Some(Errno::EMSGSIZE) && !self.kind.is_udp() => {
                let first = &msgs[0];
                self.send(first.iov, &first.ancillary, first.dest)
                    .map(|_| 1)
            }
            Err(e) => Err(self.batch_error(e, msgs)),
            ok => ok,
        }
    }

    /// A UDP datagram past what one can carry: refused before the batch reaches the kernel.
    fn too_big_for_udp(&self, iov: &[IoSlice<'_>]) -> bool {
        self.kind.is_udp()
            && iov.iter().map(|b| b.len()).sum::<usize>() > udp_max_payload(self.kind)
    }

    /// A seqpacket socket refuses an empty packet: its peer would read it as the end of the
    /// stream.
    fn empty_packet(&self, iov: &[IoSlice<'_>]) -> bool {
        self.kind == Kind::UnixSeqpacket && iov.iter().all(|b| b.is_empty())
    }

    fn check_not_empty_packet(&self, iov: &[IoSlice<'_>], syscall: &'static str) -> Result<()> {
        if self.empty_packet(iov) {
            return Err(Error::os(Errno::EINVAL, syscall).with_detail(
                "a SOCK_SEQPACKET packet cannot be empty: the peer would read it as the end of the stream",
            ));
        }
        Ok(())
    }

    /// [`send_many`](Self::send_many) with UDP GSO: `None` when no run has two datagrams
    /// (nothing to gain) or the kernel refused GSO (then it is off for this socket).
    fn send_many_segmented(&self, msgs: &[OutMessage<'_>]) -> Option<Result<usize>> {
        let runs = gso_runs(msgs);
        if runs.len() == msgs.len() {
            return None;
        }
        let iovs: Vec<Vec<IoSlice<'_>>> = runs
            .iter()
            .map(|r| {
                msgs[r.start..r.start + r.count]
                    .iter()
                    .flat_map(|m| m.iov.iter().copied())
                    .collect()
            })
            .collect();
        let out: Vec<OutMessage<'_>> = runs
            .iter()
            .zip(&iovs)
            .map(|(r, iov)| OutMessage {
                iov,
                ancillary: msgs[r.start].ancillary,
                dest: msgs[r.start].dest,
                segment_size: (r.count > 1).then_some(r.size),
            })
            .collect();
        match batch::sendmmsg(self.fd.as_fd(), self.kind, &out) {
            Ok(sent) => Some(Ok(runs[..sent].iter().map(|r| r.count).sum())),
            // GSO refused: no UDP_SEGMENT (a kernel before 4.18), a segment larger than the
            // route's MTU allows, or a device without checksum offload.
            Err(e)
                if runs[0].count > 1
                    && matches!(
                        e.errno(),
                        Some(Errno::EINVAL | Errno::EIO | Errno::EOPNOTSUPP | Errno::ENOPROTOOPT)
                    ) =>
            {
                self.gso.set(false);
                None
            }
            Err(e) => Some(Err(self.batch_error(e, msgs))),
        }
    }

    /// A batch's first datagram failed: the error with its target and explanation.
    fn batch_error(&self, e: Error, msgs: &[OutMessage<'_>]) -> Error {
        let target = msgs
            .first()
            .and_then(|m| m.dest)
            .or(self.peer.as_ref())
            .filter(|a| **a != Address::Unnamed);
        let len = msgs
            .first()
            .map_or(0, |m| m.iov.iter().map(|b| b.len()).sum());
        let e = self.explain_send_error(e, len);
        match target {
            Some(a) => e.with_address(a),
            None => e,
        }
    }

    /// Take the error the kernel holds for the socket, clearing it (`SO_ERROR`): on UDP the
    /// ICMP port unreachable of an earlier send (`ECONNREFUSED`), with the peer's address and
    /// what it means; `None` when there is none. See getsockopt(2).
    pub fn take_error(&self) -> Result<Option<Error>> {
        let code = nix::sys::socket::getsockopt(&self.fd, nix::sys::socket::sockopt::SocketError)
            .map_err(|e| Error::os(e, "getsockopt"))?;
        if code == 0 {
            return Ok(None);
        }
        let e = self.explain_send_error(Error::os(Errno::from_raw(code), "recvmsg"), 0);
        Ok(Some(
            match self.peer.as_ref().filter(|a| **a != Address::Unnamed) {
                Some(a) => e.with_address(a),
                None => e,
            },
        ))
    }

    /// Receive the next datagram whole, appending its bytes to `out`; `Ok(None)` if none is
    /// queued. See [`msg::recvmsg`].
    pub fn recv(&mut self, out: &mut Vec<u8>, want_address: bool) -> Result<Option<Datagram>> {
        msg::recvmsg(self.fd.as_fd(), out, &mut self.control, want_address)
    }
}
