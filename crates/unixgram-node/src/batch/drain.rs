//! Draining a readable socket into one [`Batch`]: what a wakeup read, before it becomes JS
//! values (`js.rs`). No N-API here.

use std::os::fd::OwnedFd;

use unixgram_core::batch::RECV_SLOTS;
use unixgram_core::{Address, Credentials, Error as CoreError, Received, UnixDatagram};

use super::{
    ENTRY_ADDRESS, ENTRY_CREDENTIALS, ENTRY_ERROR, ENTRY_EXTRA_MASK, ENTRY_FDS, ENTRY_FDS_SHIFT,
};

/// At most this many datagrams per wakeup, so one busy socket cannot starve the loop.
pub(crate) const BATCH_MAX_DATAGRAMS: usize = 64;
/// Stop draining once a batch holds this many bytes (one larger datagram is still whole).
const BATCH_MAX_BYTES: usize = 1 << 20;

/// The most slab capacity kept for the next drain.
const SPARE_SLAB_MAX: usize = 256 << 10;

thread_local! {
    /// A slab whose bytes were copied out (into a pool), kept for the next drain of any
    /// socket of this JS thread: no allocation per wakeup.
    static SPARE_SLAB: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Give a slab back once its bytes are copied out, for the next drain.
pub(crate) fn recycle(mut slab: Vec<u8>) {
    if slab.capacity() <= SPARE_SLAB_MAX {
        slab.clear();
        SPARE_SLAB.set(slab);
    }
}

/// What one drain read: the payloads back to back, per entry its length and flags, the
/// extras of flagged entries, and the descriptors of every entry, in entry order.
#[derive(Default)]
pub struct Batch {
    pub(crate) slab: Vec<u8>,
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

/// Whether batches report sender addresses, and the last address reported (see
/// `ENTRY_ADDRESS`): a steady peer costs no extras object, and no address Buffer, per batch.
#[derive(Default)]
pub struct Addresses {
    wanted: bool,
    last: Option<Address>,
}

impl Addresses {
    /// Report addresses from now on (or stop). Set it before the first read: JS starts with
    /// no address, and a socket that stops wanting them leaves JS with the last one.
    pub fn set_wanted(&mut self, on: bool) {
        self.wanted = on;
        self.last = None;
    }

    /// A batch did not reach JS: the next entry reports its address again.
    pub fn forget(&mut self) {
        self.last = None;
    }
}

/// Read what is queued, without blocking, up to the batch budget: `recvmmsg` calls of up
/// to 16 datagrams, stopping as soon as one comes back short (the queue ran dry), so an
/// idle queue costs no extra `EAGAIN` syscall.
pub fn drain(sock: &mut UnixDatagram, addresses: &mut Addresses) -> Batch {
    let mut batch = Batch {
        slab: SPARE_SLAB.take(),
        ..Batch::default()
    };
    let Batch {
        slab,
        meta,
        extras,
        fds: batch_fds,
    } = &mut batch;
    let want_address = addresses.wanted;
    let last_address = &mut addresses.last;
    let mut push = |len: usize, flags: u32| meta.extend_from_slice(&[len as u32, flags]);
    let mut taken = 0;
    while taken < BATCH_MAX_DATAGRAMS && slab.len() < BATCH_MAX_BYTES {
        let want = (BATCH_MAX_DATAGRAMS - taken).min(RECV_SLOTS);
        let got = sock.recv_many(want, want_address, slab, |r| match r {
            Ok(d) => {
                let mut flags = 0;
                let address = d.address.filter(|a| Some(a) != last_address.as_ref());
                if let Some(a) = &address {
                    flags |= ENTRY_ADDRESS;
                    *last_address = Some(a.clone());
                }
                let Received {
                    fds,
                    credentials,
                    pidfd,
                } = d.ancillary;
                drop(pidfd); // not exposed yet: owned, so closed here
                if credentials.is_some() {
                    flags |= ENTRY_CREDENTIALS;
                }
                if !fds.is_empty() {
                    // At most MAX_FDS_PER_MESSAGE (253): the control buffer holds no more.
                    flags |= ENTRY_FDS | ((fds.len() as u32) << ENTRY_FDS_SHIFT);
                    batch_fds.extend(fds);
                }
                push(d.len, flags);
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
                if n < want {
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
    batch
}
