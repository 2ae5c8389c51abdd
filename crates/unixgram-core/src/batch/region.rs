//! The receive area of a [`RecvBatch`](super::RecvBatch): one anonymous private mapping in
//! which only the pages a datagram touches become resident, and whose pages are given back
//! after a large datagram (the per-platform flags are at [`Region::new`] and
//! [`Region::release`]). Not built on macOS, which needs no receive area.

use std::num::NonZeroUsize;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{self, MapFlags, MmapAdvise, ProtFlags};

use crate::error::{Error, Result};

/// An anonymous private mapping, unmapped on drop.
pub(super) struct Region {
    ptr: NonNull<libc::c_void>,
    len: usize,
}

impl Region {
    /// `MAP_NORESERVE` and no huge pages on Linux; a plain private mapping on FreeBSD, which
    /// neither reserves swap for it nor promotes a partly touched superpage. See mmap(2).
    pub(super) fn new(len: usize) -> Result<Self> {
        let size = NonZeroUsize::new(len).ok_or_else(|| Error::os(Errno::EINVAL, "mmap"))?;
        #[cfg(target_os = "linux")]
        let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE;
        #[cfg(not(target_os = "linux"))]
        let flags = MapFlags::MAP_PRIVATE;
        // SAFETY: a fresh anonymous mapping aliases nothing.
        let ptr = unsafe {
            mman::mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }
        .map_err(|e| Error::os(e, "mmap"))?;
        // Huge pages would make every touched slot cost 2 MiB of memory. Advisory only.
        #[cfg(target_os = "linux")]
        // SAFETY: the range is the mapping just created.
        let _ = unsafe { mman::madvise(ptr, len, MmapAdvise::MADV_NOHUGEPAGE) };
        Ok(Self { ptr, len })
    }

    pub(super) fn at(&self, offset: usize) -> *mut u8 {
        debug_assert!(offset < self.len);
        // SAFETY: offset is inside the mapping.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset) }
    }

    /// Give the pages of `[offset, offset + len)` back to the kernel: `MADV_DONTNEED` on
    /// Linux (they read as zero next), `MADV_FREE` on FreeBSD (where `MADV_DONTNEED` only
    /// lowers their priority). Either way the next datagram overwrites what it uses.
    pub(super) fn release(&self, offset: usize, len: usize) {
        #[cfg(target_os = "linux")]
        let advice = MmapAdvise::MADV_DONTNEED;
        #[cfg(not(target_os = "linux"))]
        let advice = MmapAdvise::MADV_FREE;
        let page = 4096;
        let start = offset.div_ceil(page) * page;
        let end = (offset + len).div_ceil(page) * page;
        if end > start && end <= self.len {
            if let Some(p) = NonNull::new(self.at(start).cast::<libc::c_void>()) {
                // SAFETY: page-aligned range inside the mapping; no reference into it is live.
                let _ = unsafe { mman::madvise(p, end - start, advice) };
            }
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by Region::new and nothing points into it now.
        let _ = unsafe { mman::munmap(self.ptr, self.len) };
    }
}
