//! Draining a readable socket into one [`Batch`]: what a wakeup read, before it becomes JS
//! values (`js.rs`). No N-API here.

use std::os::fd::OwnedFd;

use unixgram_core::batch::RECV_SLOTS;
use unixgram_core::{Address, Credentials, Error as CoreError, Received, Socket};

use super::area::Area;
use super::{
    ENTRY_ADDRESS, ENTRY_CREDENTIALS, ENTRY_END, ENTRY_ERROR, ENTRY_EXTRA_MASK, ENTRY_FDS,
    ENTRY_FDS_SHIFT, ENTRY_PIDFD, ENTRY_SENDER, ENTRY_SENDER_SHIFT, SENDER_SLOTS,
};

/// At most this many datagrams per wakeup, so one busy socket cannot starve the loop.
pub(crate) const BATCH_MAX_DATAGRAMS: usize = 64;
/// Stop draining once a batch holds this many bytes (one larger datagram is still whole).
const BATCH_MAX_BYTES: usize = 1 << 20;

/// What one drain read: where its payloads lie, back to back, in the socket's current
/// chunk (`area.rs`), per entry its length and flags, the extras of flagged entries, and the
/// descriptors of every entry (its `SCM_RIGHTS` ones, then its pidfd), in entry order.
#[derive(Default)]
pub struct Batch {
    /// Offset of the first payload in the chunk, and the bytes of all of them.
    pub(crate) base: usize,
    pub(crate) bytes: usize,
    /// `[len, flags]` per entry.
    pub(crate) meta: Vec<u32>,
    pub(crate) extras: Vec<Extra>,
    pub(crate) fds: Vec<OwnedFd>,
}

/// What an entry with `flags & ENTRY_EXTRA_MASK != 0` carries besides its payload.
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) address: Option<Address>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) error: Option<CoreError>,
}

impl Extra {
    pub(crate) fn error(e: CoreError) -> Self {
        Self {
            error: Some(e),
            ..Self::default()
        }
    }
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// How many entries it holds (datagrams, and errors in their place).
    pub fn len(&self) -> usize {
        self.meta.len() / 2
    }

    /// A batch of one error entry (a failed poll).
    pub fn error(e: CoreError) -> Self {
        let mut batch = Self::default();
        batch.meta.extend_from_slice(&[0, ENTRY_ERROR]);
        batch.extras.push(Extra::error(e));
        batch
    }
}

/// Whether batches report sender addresses, and the senders JS remembers by slot (see
/// `ENTRY_ADDRESS` and `ENTRY_SENDER`): a steady peer costs nothing per datagram, and a
/// return to one of the last `SENDER_SLOTS` senders costs no extras object and no address.
#[derive(Default)]
pub struct Addresses {
    wanted: bool,
    /// The slot of the sender last reported: the sender of an entry with neither flag.
    last: Option<usize>,
    /// The senders reported, by slot, as JS remembers them.
    slots: Vec<Address>,
    /// The slot a new sender takes once every slot is used (the oldest first).
    next: usize,
}

impl Addresses {
    /// Report addresses from now on (or stop). Set it before the first read: JS starts with
    /// no address, and a socket that stops wanting them leaves JS with the last one.
    pub fn set_wanted(&mut self, on: bool) {
        self.wanted = on;
        self.forget();
    }

    /// A batch did not reach JS: every sender is reported again, as new.
    pub fn forget(&mut self) {
        self.last = None;
        self.slots.clear();
        self.next = 0;
    }

    /// The flags that report `address` as the next entry's sender, and the address when JS
    /// does not remember it (the entry then carries it in its extras object).
    fn report(&mut self, address: Address) -> (u32, Option<Address>) {
        if self.last.is_some_and(|last| self.slots[last] == address) {
            return (0, None);
        }
        let slot_bits = |slot: usize| (slot as u32) << ENTRY_SENDER_SHIFT;
        if let Some(slot) = self.slots.iter().position(|a| *a == address) {
            self.last = Some(slot);
            return (ENTRY_SENDER | slot_bits(slot), None);
        }
        let slot = if self.slots.len() < SENDER_SLOTS {
            self.slots.push(address.clone());
            self.slots.len() - 1
        } else {
            let slot = self.next;
            self.next = (slot + 1) % SENDER_SLOTS;
            self.slots[slot] = address.clone();
            slot
        };
        self.last = Some(slot);
        (ENTRY_ADDRESS | slot_bits(slot), Some(address))
    }
}

/// Read what is queued, without blocking, up to the batch budget, into the socket's receive
/// area: `recvmmsg` calls of up to 16 datagrams (or, for datagrams that run large, one
/// `recvmsg` each straight into the chunk), stopping as soon as one comes back short (the
/// queue ran dry), so an idle queue costs no extra `EAGAIN` syscall. Large datagrams also
/// stop the drain when the chunk has no room for another: the next drain starts a new
/// chunk rather than move this batch.
pub fn drain(sock: &mut Socket, addresses: &mut Addresses, area: &mut Area) -> Batch {
    let mut batch = Batch::default();
    let Batch {
        meta,
        extras,
        fds: batch_fds,
        ..
    } = &mut batch;
    let want_address = addresses.wanted;
    let mut push = |len: usize, flags: u32| meta.extend_from_slice(&[len as u32, flags]);
    let was_eof = sock.at_eof();
    let large = sock.receives_large();
    let mut sink = area.sink(large);
    let mut taken = 0;
    while taken < BATCH_MAX_DATAGRAMS && sink.held() < BATCH_MAX_BYTES {
        let mut want = (BATCH_MAX_DATAGRAMS - taken).min(RECV_SLOTS);
        // Large datagrams are received straight into the room: ask for no more than fit.
        if large {
            match sink.fits() {
                0 if taken > 0 => break,
                fits => want = want.min(fits.max(1)),
            }
        }
        let got = sock.recv_many(want, want_address, &mut sink, |r| match r {
            Ok(d) => {
                let (mut flags, address) = match d.address {
                    Some(a) => addresses.report(a),
                    None => (0, None),
                };
                let Received {
                    fds,
                    credentials,
                    pidfd,
                    segment_size,
                    ..
                } = d.ancillary;
                if credentials.is_some() {
                    flags |= ENTRY_CREDENTIALS;
                }
                if !fds.is_empty() {
                    // At most MAX_FDS_PER_MESSAGE (253): the control buffer holds no more.
                    flags |= ENTRY_FDS | ((fds.len() as u32) << ENTRY_FDS_SHIFT);
                    batch_fds.extend(fds);
                }
                if let Some(pidfd) = pidfd {
                    // After the entry's SCM_RIGHTS descriptors (batch.rs).
                    flags |= ENTRY_PIDFD;
                    batch_fds.push(pidfd);
                }
                // UDP GRO: the kernel coalesced datagrams of one sender, `size` bytes each
                // (the last may be shorter): an entry per datagram, the first with the
                // flags, the rest sharing its address.
                match segment_size.map(usize::from) {
                    Some(size) if d.len > size => {
                        push(size, flags);
                        let mut rest = d.len - size;
                        while rest > 0 {
                            let n = rest.min(size);
                            push(n, 0);
                            rest -= n;
                        }
                    }
                    _ => push(d.len, flags),
                }
                if flags & ENTRY_EXTRA_MASK != 0 {
                    extras.push(Extra {
                        address,
                        credentials,
                        error: None,
                    });
                }
            }
            // A truncated datagram was consumed: report it in its place.
            Err(e) => {
                push(0, ENTRY_ERROR);
                extras.push(Extra::error(e));
            }
        });
        match got {
            Ok(n) => {
                taken += n;
                if n < want || sock.at_eof() {
                    break;
                }
            }
            Err(e) => {
                push(0, ENTRY_ERROR);
                extras.push(Extra::error(e));
                break;
            }
        }
    }
    if sock.at_eof() && !was_eof {
        push(0, ENTRY_END);
    }
    (batch.base, batch.bytes) = sink.finish(taken);
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: usize) -> Address {
        Address::Path(format!("/run/sender-{n}").into_bytes())
    }

    /// What `report` gives for `address`: `(flags, the slot, whether the address goes to JS)`.
    fn report(addresses: &mut Addresses, address: Address) -> (u32, u32, bool) {
        let (flags, told) = addresses.report(address);
        let kind = flags & (ENTRY_ADDRESS | ENTRY_SENDER);
        (kind, flags >> ENTRY_SENDER_SHIFT, told.is_some())
    }

    #[test]
    fn a_sender_is_told_once_then_named_by_its_slot() {
        let mut a = Addresses::default();
        assert_eq!(report(&mut a, path(0)), (ENTRY_ADDRESS, 0, true));
        assert_eq!(
            report(&mut a, path(0)),
            (0, 0, false),
            "the same sender again: no flag"
        );
        assert_eq!(report(&mut a, path(1)), (ENTRY_ADDRESS, 1, true));
        assert_eq!(
            report(&mut a, path(0)),
            (ENTRY_SENDER, 0, false),
            "a return: its slot"
        );
        assert_eq!(report(&mut a, Address::Unnamed), (ENTRY_ADDRESS, 2, true));
        assert_eq!(report(&mut a, path(1)), (ENTRY_SENDER, 1, false));
    }

    #[test]
    fn past_the_slots_the_oldest_sender_is_replaced_and_told_again() {
        let mut a = Addresses::default();
        for n in 0..SENDER_SLOTS {
            assert_eq!(report(&mut a, path(n)), (ENTRY_ADDRESS, n as u32, true));
        }
        let last = SENDER_SLOTS - 1;
        assert_eq!(report(&mut a, path(SENDER_SLOTS)), (ENTRY_ADDRESS, 0, true));
        assert_eq!(
            report(&mut a, path(0)),
            (ENTRY_ADDRESS, 1, true),
            "slot 0 was given away"
        );
        assert_eq!(
            report(&mut a, path(last)),
            (ENTRY_SENDER, last as u32, false)
        );
        assert_eq!(report(&mut a, path(SENDER_SLOTS)), (ENTRY_SENDER, 0, false));
    }

    #[test]
    fn forget_and_set_wanted_tell_every_sender_again() {
        let mut a = Addresses::default();
        report(&mut a, path(0));
        report(&mut a, path(1));
        a.forget();
        assert_eq!(report(&mut a, path(1)), (ENTRY_ADDRESS, 0, true));
        a.set_wanted(true);
        assert_eq!(report(&mut a, path(1)), (ENTRY_ADDRESS, 0, true));
    }
}
