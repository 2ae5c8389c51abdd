//! A batch: what one wakeup (or one `readNow`) read from a socket, handed to JS in **one**
//! call of the socket's callback. This is the one description of the format; its numbers
//! are exported to JS (`ENTRY_*`, `META_*`), which reads them from the binding.
//!
//! The callback is called as `(slab, meta, extras, fds, text, writable)`:
//! - `slab`: an ArrayBuffer holding the payloads back to back (`undefined` when `text` holds
//!   them, or when only `writable` is reported).
//! - `meta`: a `Uint32Array` reused by every batch of the socket (read it before the callback
//!   returns): `meta[META_COUNT]` entries, whose payloads start at byte `meta[META_BASE]` of
//!   `slab`; from index `META_ENTRIES` on, `[len, flags]` per entry, in arrival order.
//! - `flags` of an entry: `ENTRY_ERROR` (the datagram was discarded, e.g. truncated: its
//!   extras object holds the error), `ENTRY_ADDRESS` (a sender not reported before, or no
//!   longer remembered: its extras object holds the address, and JS remembers it in the
//!   sender slot `(flags & ENTRY_SENDER_MASK) >>> ENTRY_SENDER_SHIFT`), `ENTRY_SENDER` (a
//!   sender other than the last entry's, reported before: the one in that slot, with no
//!   extras object); an entry with neither came from the same sender as the entry before it,
//!   in this batch or an earlier one. The binding remembers the last `SENDER_SLOTS` senders,
//!   so senders taking turns cost no extras object and no address per datagram.
//!   `ENTRY_CREDENTIALS` (`SCM_CREDENTIALS` arrived), `ENTRY_FDS`
//!   (descriptors arrived; their count is `flags >>> ENTRY_FDS_SHIFT`, at most 253),
//!   `ENTRY_PIDFD` (`SCM_PIDFD` arrived: the sender's pidfd is one more descriptor of the fd
//!   set, right after the entry's `ENTRY_FDS` ones, and not part of their count),
//!   `ENTRY_END` (a seqpacket stream ended: the last entry, with no payload). Datagrams a
//!   UDP socket received coalesced (GRO) are an entry each, in order.
//! - `extras`: one object per entry with `flags & ENTRY_EXTRA_MASK`, in entry order:
//!   `{ address?: Buffer, credentials?: { pid, uid, gid }, error?: Error }` (`undefined`
//!   when no entry has one). A Unix address is `sun_path` bytes: empty for an unnamed
//!   sender, a leading NUL for an abstract name; an IP address is a string,
//!   `"a.b.c.d:port"` or `"[v6]:port"`.
//! - `fds`: **one** `Int32Array`, the fd set, holding the descriptors of every entry in entry
//!   order: an entry with `ENTRY_FDS` owns the next count of them, then, with `ENTRY_PIDFD`,
//!   the next one (so an entry owns `count + (ENTRY_PIDFD ? 1 : 0)`). JS steals one by reading
//!   it and writing `-1` (no native call) and closes a range with `closeFdRange`; what is
//!   still `>= 0` when the array's memory is garbage-collected is closed then (`fdset.rs`),
//!   so a received fd has exactly one owner from the moment it exists.
//! - `text`: on a socket set to text payloads (`setTextPayloads`), a batch whose payloads are
//!   all valid UTF-8 comes as this one string instead of `slab`, each length in UTF-16 code
//!   units: JS slices it, with no Buffer and no decoding per datagram.
//! - `writable`: the writable wakeup JS asked for (one-shot) came.
//!
//! A listening socket (`listen`) is called with no batch (`slab` … `text` all `undefined`,
//! `writable` false) when connections wait: JS takes them with `accept`.
//!
//! There is no thread, no per-datagram JS call and no per-datagram native object. The slab
//! is the socket's current receive chunk (`chunk.rs`), which the payloads were received or
//! copied into: a chunk is reused across batches until full, and recycled once JS lets go.

mod area;
mod chunk;
mod drain;
pub(crate) mod fdset;
mod js;

use napi_derive::napi;

pub(crate) use area::Area;
pub(crate) use drain::{drain, Addresses, Batch};
pub(crate) use js::{lend, to_js, AreaCell};

/// Index in `meta` of the number of entries.
#[napi]
pub const META_COUNT: u32 = 0;
/// Index in `meta` of the byte offset in `slab` where the first payload starts.
#[napi]
pub const META_BASE: u32 = 1;
/// Index in `meta` of the first entry's `len`; each entry is `[len, flags]`.
#[napi]
pub const META_ENTRIES: u32 = 2;
/// Entry flag: the datagram was discarded; the entry's extras object holds the error.
#[napi]
pub const ENTRY_ERROR: u32 = 1;
/// Entry flag: a sender JS is not told of yet: its address is in the extras object, its slot
/// in the flags (`ENTRY_SENDER_MASK`).
#[napi]
pub const ENTRY_ADDRESS: u32 = 2;
/// Entry flag: `SCM_CREDENTIALS` arrived; in the extras object.
#[napi]
pub const ENTRY_CREDENTIALS: u32 = 4;
/// Entry flag: descriptors arrived, the next `flags >>> ENTRY_FDS_SHIFT` of the fd set.
#[napi]
pub const ENTRY_FDS: u32 = 8;
/// Entry flag: `SCM_PIDFD` arrived; the sender's pidfd is the fd set's next descriptor after
/// the entry's `ENTRY_FDS` ones.
#[napi]
pub const ENTRY_PIDFD: u32 = 16;
/// Entry flag: the stream ended (a seqpacket peer closed; `len` 0): nothing follows, and the
/// socket is no longer watched for reading.
#[napi]
pub const ENTRY_END: u32 = 32;
/// Entry flag: the sender is the one JS remembers in the entry's sender slot.
#[napi]
pub const ENTRY_SENDER: u32 = 64;
/// Where an entry's sender slot (with `ENTRY_ADDRESS` or `ENTRY_SENDER`) starts in its flags.
#[napi]
pub const ENTRY_SENDER_SHIFT: u32 = 8;
/// The bits of an entry's flags that hold its sender slot.
#[napi]
pub const ENTRY_SENDER_MASK: u32 = 0xff << ENTRY_SENDER_SHIFT;
/// How many senders the binding remembers by slot (JS keeps one `Peer` per slot).
pub(crate) const SENDER_SLOTS: usize = 64;
const _: () = assert!(SENDER_SLOTS <= (ENTRY_SENDER_MASK >> ENTRY_SENDER_SHIFT) as usize + 1);
/// Where an entry's descriptor count starts in its flags (above the sender slot).
#[napi]
pub const ENTRY_FDS_SHIFT: u32 = 16;
/// The flags that come with an extras object.
#[napi]
pub const ENTRY_EXTRA_MASK: u32 = ENTRY_ERROR | ENTRY_ADDRESS | ENTRY_CREDENTIALS;
