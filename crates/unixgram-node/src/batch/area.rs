//! A socket's receive area: the chunk its batches are received into (`chunk.rs`), how far
//! it is filled, the `ArrayBuffer` JS sees it through, and the metadata array every batch
//! reuses. [`ChunkSink`] is how a drain writes into it. No N-API calls here (`js.rs` makes
//! the JS values); the references are only stored.

use std::mem::MaybeUninit;
use std::ptr;

use napi::sys;
use unixgram_core::PayloadSink;

use super::chunk::{chunk_size, Chunk, LENT_CHUNK, SMALL_CHUNK};

/// Room a drain of small datagrams starts with at least (a batch of 64 × 1 KiB fits 4 of
/// them; a batch that outgrows the room moves to a new chunk whole).
const SMALL_ROOM: usize = SMALL_CHUNK / 8;
/// The chunk to move to is made once the current one has room for fewer than this many
/// drains (of `SMALL_ROOM`, or of the last drain's average datagram when larger).
const SPARE_AHEAD: usize = 4;
/// A cache line: where the lent chunk's batches start.
const LINE: usize = 64;

/// Where a socket's batches are written for JS.
pub(crate) struct Area {
    /// The chunk being filled; bytes past `used` are the socket's to write.
    pub(super) chunk: Option<Chunk>,
    pub(super) used: usize,
    /// A JS chunk made ahead (by `js.rs`) for the drain that needs a new one.
    pub(super) spare: Option<Chunk>,
    /// References to the `ArrayBuffer`s of chunks a drain moved away from, for `js.rs` to
    /// delete: the memory lives on while JS holds views into it.
    pub(super) retired: Vec<sys::napi_ref>,
    /// Average datagram size of the last drain, to size the room of the next.
    average: usize,
    /// The last drain's datagrams ran large: the chunk to make ahead is a large one.
    large: bool,
    pub(super) meta: sys::napi_ref,
    pub(super) meta_ptr: *mut u32,
    /// The lent chunk (`lend`), when it is not the current one.
    pub(super) lent: Option<Chunk>,
    /// Its address (null: the socket does not lend), and where its batches start (the first
    /// cache-line boundary in it).
    lent_ptr: *mut u8,
    lent_start: usize,
    /// A delivered batch lies in the lent chunk and JS has not given it back (`recycle`).
    lent_held: bool,
}

impl Area {
    pub(crate) const fn new() -> Self {
        Self {
            chunk: None,
            used: 0,
            spare: None,
            retired: Vec::new(),
            average: 0,
            large: false,
            meta: ptr::null_mut(),
            meta_ptr: ptr::null_mut(),
            lent: None,
            lent_ptr: ptr::null_mut(),
            lent_start: 0,
            lent_held: false,
        }
    }

    /// Receive into `chunk` (a JS chunk of [`LENT_CHUNK`] bytes) again and again, from its
    /// first cache-line boundary, whenever JS has given the last batch in it back
    /// ([`Area::recycle`]); while JS holds it, batches go to chunks of their own as
    /// before. The kernel then copies into memory that stays in cache, as a C receiver's one
    /// buffer (bench/README.md, issue 18). A second call keeps the first chunk.
    pub(crate) fn lend(&mut self, chunk: Chunk) -> Option<Chunk> {
        if !self.lent_ptr.is_null() {
            return Some(chunk);
        }
        debug_assert_eq!(chunk.cap, LENT_CHUNK);
        self.lent_ptr = chunk.ptr;
        self.lent_start = chunk.ptr.align_offset(LINE);
        self.lent = Some(chunk);
        None
    }

    /// JS let go of every payload it was given from the lent chunk: the next batch may
    /// overwrite them.
    pub(crate) fn recycle(&mut self) {
        self.lent_held = false;
    }

    fn current_is_lent(&self) -> bool {
        !self.lent_ptr.is_null() && self.chunk.as_ref().is_some_and(|c| c.ptr == self.lent_ptr)
    }

    /// Before a drain: make the lent chunk current if JS gave it back (from its start), or
    /// set it aside if JS still holds it.
    fn pick_lent(&mut self) {
        if self.lent_ptr.is_null() {
            return;
        }
        if self.lent_held {
            if self.current_is_lent() {
                self.lent = self.chunk.take();
                self.used = 0;
            }
            return;
        }
        if !self.current_is_lent() {
            let Some(lent) = self.lent.take() else {
                return;
            };
            if let Some(r) = self.chunk.replace(lent).and_then(Chunk::into_reference) {
                self.retired.push(r);
            }
        }
        self.used = self.lent_start;
    }

    /// A chunk the socket moves away from: the lent one is kept, any other retired.
    fn put_away(&mut self, old: Chunk) {
        if old.ptr == self.lent_ptr {
            self.lent = Some(old);
        } else if let Some(r) = old.into_reference() {
            self.retired.push(r);
        }
    }

    /// A sink for one drain's batch, starting at the end of what was delivered. `large`:
    /// the datagrams run large (received straight into the room), so the room holds at
    /// least one of the last drain's average size, in a large chunk.
    pub(crate) fn sink(&mut self, large: bool) -> ChunkSink<'_> {
        let min_room = if large {
            self.average.max(unixgram_core::socket::LARGE_DATAGRAM)
        } else {
            SMALL_ROOM
        };
        self.large = large;
        self.pick_lent();
        let mut sink = ChunkSink {
            start: self.used,
            large,
            area: self,
        };
        if sink.room() < min_room {
            sink.move_to_new_chunk(min_room);
        }
        sink
    }

    /// Make sure there is a chunk to show (a batch of errors only still comes with one).
    pub(super) fn ensure_chunk(&mut self) {
        if self.chunk.is_none() {
            self.sink(false);
        }
    }

    /// Bytes left in the current chunk.
    fn room(&self) -> usize {
        self.chunk.as_ref().map_or(0, |c| c.cap - self.used)
    }

    /// The size of the chunk the next drain will want made ahead, if it is time to make one
    /// and the one made ahead (if any) is not of that size: the spare to replace, and the
    /// size.
    pub(super) fn spare_wanted(&mut self) -> Option<(Option<Chunk>, usize)> {
        let size = chunk_size(self.average, self.large);
        match &self.spare {
            Some(s) if s.cap == size => None,
            // Not yet while the current chunk has room for a few more drains: a chunk held
            // across scavenges is promoted and then freed only by a full collection (the
            // 64 B memory check settled 18 MB higher when the spare was made at once).
            None if self.room() > SPARE_AHEAD * SMALL_ROOM.max(self.average) => None,
            _ => Some((self.spare.take(), size)),
        }
    }
}

/// One drain's batch being written at the end of the area's chunk, kept contiguous: when
/// it outgrows the chunk it moves, whole, to a new one.
pub(crate) struct ChunkSink<'a> {
    area: &'a mut Area,
    /// Where this batch starts in the current chunk.
    start: usize,
    large: bool,
}

impl ChunkSink<'_> {
    /// Bytes this batch holds so far.
    pub(crate) fn held(&self) -> usize {
        self.area.used - self.start
    }

    /// Bytes left in the chunk.
    pub(crate) fn room(&self) -> usize {
        self.area.chunk.as_ref().map_or(0, |c| c.cap) - self.area.used
    }

    /// How many more datagrams of the last drain's average size fit without moving.
    pub(crate) fn fits(&self) -> usize {
        self.room() / self.area.average.max(1)
    }

    /// The batch's place in the chunk, `(start, len)`; records its average datagram size
    /// for the next drain.
    pub(crate) fn finish(self, datagrams: usize) -> (usize, usize) {
        let len = self.held();
        if let Some(average) = len.checked_div(datagrams) {
            self.area.average = average;
        }
        if len > 0 && self.area.current_is_lent() {
            self.area.lent_held = true;
        }
        (self.start, len)
    }

    /// Continue in a new chunk with room for `need` more bytes, the batch so far copied to
    /// its start: the chunk made ahead if it is big enough, else one of the binding's own.
    /// The old chunk's `ArrayBuffer`, if JS saw it, is retired.
    fn move_to_new_chunk(&mut self, need: usize) {
        let held = self.held();
        let min = held + need;
        let chunk = match self.area.spare.take() {
            Some(spare) if spare.cap >= min => spare,
            other => {
                self.area.spare = other;
                Chunk::owned(chunk_size(min, self.large))
            }
        };
        if let Some(old) = self.area.chunk.take() {
            // SAFETY: [start, used) of the old chunk was written by this drain, the new
            // chunk has at least `held` bytes, and the two are distinct memory.
            unsafe { ptr::copy_nonoverlapping(old.ptr.add(self.start), chunk.ptr, held) };
            self.area.put_away(old);
        }
        self.area.chunk = Some(chunk);
        self.area.used = held;
        self.start = 0;
    }
}

impl PayloadSink for ChunkSink<'_> {
    fn reserve(&mut self, additional: usize) {
        if self.room() < additional {
            self.move_to_new_chunk(additional);
        }
    }

    fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        if self.area.chunk.is_none() {
            self.move_to_new_chunk(0);
        }
        let room = self.room();
        let chunk = self.area.chunk.as_ref().expect("a chunk was just made");
        // SAFETY: [used, cap) lies inside the chunk, whose memory its reference (or Vec)
        // keeps alive, and by the ownership rule of chunk.rs it is the socket's alone: no JS
        // view covers bytes not yet delivered. The slice borrows self mutably, so nothing
        // else writes it meanwhile.
        unsafe {
            std::slice::from_raw_parts_mut(
                chunk.ptr.add(self.area.used).cast::<MaybeUninit<u8>>(),
                room,
            )
        }
    }

    unsafe fn commit(&mut self, n: usize) {
        debug_assert!(n <= self.room());
        self.area.used += n;
    }

    fn append(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        let spare = self.spare();
        // SAFETY: `reserve` made `spare` at least bytes.len() long; the source is the
        // receive area or another buffer, never this chunk.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), spare.as_mut_ptr().cast(), bytes.len()) };
        self.area.used += bytes.len();
    }
}
