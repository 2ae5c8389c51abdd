//! Where received payloads go: [`PayloadSink`], memory the receive calls write datagrams
//! into back to back. A `Vec<u8>` is one; the Node binding's receive chunks (memory that
//! becomes a JS `ArrayBuffer` as it is) are another, so a large datagram is received
//! straight into the memory its reader sees.

use std::mem::MaybeUninit;

/// Memory that takes received payloads back to back.
///
/// The receive calls either receive into [`spare`](PayloadSink::spare) and then
/// [`commit`](PayloadSink::commit) what the kernel wrote there, or copy a payload in with
/// [`append`](PayloadSink::append). Either way what the sink holds grows by exactly the
/// datagram's bytes, in arrival order.
pub trait PayloadSink {
    /// Make room for at least `additional` more bytes: afterwards `spare()` is at least that
    /// long.
    fn reserve(&mut self, additional: usize);
    /// The room after the bytes held, which the next datagram may be received into (it may
    /// be empty).
    fn spare(&mut self) -> &mut [MaybeUninit<u8>];
    /// The first `n` bytes of `spare()` now hold received bytes: they join what is held.
    ///
    /// # Safety
    /// Those `n` bytes were written (initialised), and `n <= spare().len()`.
    unsafe fn commit(&mut self, n: usize);
    /// Copy `bytes` in after what is held (growing as needed). A datagram received partly
    /// into `spare()` is committed first, then its rest appended: the sink keeps the two
    /// parts contiguous.
    fn append(&mut self, bytes: &[u8]);
}

impl PayloadSink for Vec<u8> {
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional);
    }

    fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity_mut()
    }

    unsafe fn commit(&mut self, n: usize) {
        debug_assert!(n <= self.capacity() - self.len());
        // SAFETY: per the contract, the n bytes after len are initialised and in capacity.
        unsafe { self.set_len(self.len() + n) };
    }

    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}
