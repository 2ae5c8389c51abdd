//! Receive chunks: the memory a socket's datagrams are received into, shown to JS as one
//! `ArrayBuffer` per chunk.
//!
//! A chunk is JS memory: an `ArrayBuffer` that Node allocates (uninitialised, as for
//! `Buffer.allocUnsafe`), made ahead of time while the binding is in a JS call (`js.rs`),
//! and held by a strong reference while the socket writes into it. V8 counts such memory
//! against its young generation, so a stream of chunks that die young is reclaimed by cheap
//! scavenges, and freed memory is reused by the allocator; memory the binding allocated
//! itself and handed to JS as an external buffer is only reclaimed by full mark-compact
//! collections, which at 64 KiB per datagram cost more than the receive (bench/README.md).
//! Only when no such chunk is ready (the first batch, or a batch larger than the chunk made
//! ahead) does a drain write into memory of its own, handed to JS as an external buffer.
//!
//! The ownership rule: the socket writes a chunk only past the bytes it has delivered,
//! which no JS view covers; JS views of delivered payloads keep the `ArrayBuffer` alive
//! after the socket moved on. Bytes no payload covers are unspecified (as
//! `Buffer.allocUnsafe`'s).

use std::mem::MaybeUninit;

use napi::sys;

/// The chunk size of a socket whose datagrams are small: a batch of them is copied in from
/// the receive area, and one payload kept by JS keeps at most this much alive.
pub(crate) const SMALL_CHUNK: usize = 128 << 10;
/// The chunk size of a socket whose datagrams run large (they are received straight into
/// the chunk): 32 datagrams of 64 KiB.
pub(crate) const LARGE_CHUNK: usize = 2 << 20;

/// The size of a socket's lent chunk (`Area::lend`): 8 datagrams of 64 KiB.
pub(crate) const LENT_CHUNK: usize = 512 << 10;
/// The size of the buffer a socket with `reuseReceiveBuffer` receives into (`LENT_CHUNK`),
/// for JS.
#[napi_derive::napi]
pub const LENT_CHUNK_SIZE: u32 = LENT_CHUNK as u32;

/// The size of a chunk for at least `min` bytes.
pub(crate) fn chunk_size(min: usize, large: bool) -> usize {
    if min <= SMALL_CHUNK && !large {
        SMALL_CHUNK
    } else if min <= LARGE_CHUNK {
        LARGE_CHUNK
    } else {
        min.next_multiple_of(64 << 10)
    }
}

/// Who owns a chunk's memory.
pub(crate) enum Memory {
    /// An `ArrayBuffer`, held by this strong reference while the socket uses it.
    Js(sys::napi_ref),
    /// The binding's, not shown to JS yet; `js.rs` hands it over as an external buffer.
    Owned(Box<[MaybeUninit<u8>]>),
}

/// Memory a socket receives into.
pub(crate) struct Chunk {
    pub(crate) ptr: *mut u8,
    pub(crate) cap: usize,
    pub(crate) memory: Memory,
}

impl Chunk {
    /// A chunk of the binding's own memory.
    pub(crate) fn owned(cap: usize) -> Self {
        let mut v: Vec<MaybeUninit<u8>> = Vec::with_capacity(cap);
        // SAFETY: MaybeUninit elements need no initialisation.
        unsafe { v.set_len(cap) };
        let mut v = v.into_boxed_slice();
        Self {
            ptr: v.as_mut_ptr().cast(),
            cap,
            memory: Memory::Owned(v),
        }
    }

    /// A chunk of JS memory: `cap` bytes at `ptr`, of the `ArrayBuffer` held by `buffer`.
    pub(crate) fn js(buffer: sys::napi_ref, ptr: *mut u8, cap: usize) -> Self {
        Self {
            ptr,
            cap,
            memory: Memory::Js(buffer),
        }
    }

    /// The reference to delete once the socket moves on (none for memory JS never saw,
    /// which is freed with the chunk).
    pub(crate) fn into_reference(self) -> Option<sys::napi_ref> {
        match self.memory {
            Memory::Js(r) => Some(r),
            Memory::Owned(_) => None,
        }
    }
}
