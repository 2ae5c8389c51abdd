//! Sealed memfd payloads, as systemd-journald's native protocol passes an entry too large for
//! one datagram: the sender writes it into a memfd, seals it, and sends the descriptor
//! (`SCM_RIGHTS`) in a zero-length datagram; the receiver checks the seals and maps it.
//!
//! - [`seal_payload`] makes such a memfd from the parts of a payload.
//! - [`map_sealed`] checks a received one and maps it: a [`SealedMap`].
//!
//! A receiver needs what journald needs (`memfd_get_sealed` in systemd's
//! `src/basic/memfd-util.c`, used by `src/journal/journald-native.c`): `F_SEAL_WRITE`,
//! `F_SEAL_SHRINK` and `F_SEAL_GROW` all set. Then the bytes cannot change while they are read,
//! and the file cannot shrink under the mapping (which would make reading it `SIGBUS`).
//! `F_SEAL_SEAL` and `F_SEAL_EXEC` are not required. A sender sets all four of
//! `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`, as journald's clients do (older
//! systemd versions accepted exactly those four).
//!
//! Linux only: on macOS and FreeBSD both functions fail with
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before any syscall (FreeBSD has
//! memfds and seals, but this path is neither needed there nor tested).

use std::fmt;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use nix::sys::mman;

#[cfg(not(target_os = "linux"))]
use crate::error::Error;
use crate::error::Result;

/// The name of the memfds [`seal_payload`] creates, as `/proc/<pid>/fd` shows them
/// (`/memfd:unixgram-payload`).
pub const MEMFD_NAME: &str = "unixgram-payload";

/// A new memfd holding `parts` back to back, sealed against any change: `memfd_create`
/// (close-on-exec, `MFD_EXEC` where the kernel knows it: see `memfd`), `pwritev` until every byte
/// is written (again after `EINTR` and partial writes), then `F_ADD_SEALS` with
/// `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`. See memfd_create(2),
/// pwritev(2), fcntl(2).
///
/// Written with `pwritev`, not through a shared mapping: for 16 MiB, `pwritev` took 6.4 ms
/// and `ftruncate` + `mmap` + copy + `munmap` 11.3 ms (12 ms with `MAP_POPULATE`) on the
/// machine it was measured on, the faults of the 4096 pages costing more than the copy.
///
/// On any failure the memfd is closed and the error names the syscall (`memfd_create`,
/// `pwritev`, `fcntl`); a total size that does not fit an `off_t` is `EFBIG` before any
/// syscall. The caller owns the descriptor returned. On macOS and FreeBSD:
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
pub fn seal_payload(parts: &[&[u8]]) -> Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        linux::seal_payload(parts)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = parts;
        Err(Error::unsupported("sealed memfd payloads", "memfd_create"))
    }
}

/// Map the sealed memfd `fd` (read by a receiver; see the module documentation for what
/// "sealed" must mean), after checking, in this order:
///
/// 1. `F_GET_SEALS` includes `F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW`; else
///    [`ErrorKind::NotSealed`](crate::ErrorKind::NotSealed) (code
///    `ERR_UNIXGRAM_MEMFD_NOT_SEALED`) with the seals found. A descriptor that cannot carry
///    seals (a pipe, a socket, a regular file outside memfd/tmpfs/hugetlbfs) is refused with
///    the same kind, `seals: None`, and a message naming what it is: a receiver has no more
///    reason to trust it than an unsealed memfd.
/// 2. `fstat`: a regular file whose size is at most `max_len`; else
///    [`ErrorKind::PayloadTooLarge`](crate::ErrorKind::PayloadTooLarge) (code
///    `ERR_UNIXGRAM_PAYLOAD_TOO_LARGE`). The size is read only once the seals are known to
///    be there, so it cannot change before the mapping is made.
/// 3. `mmap` of the whole size, `MAP_PRIVATE`. A size of 0 gives an empty map without
///    `mmap`.
///
/// The mapping is `PROT_READ | PROT_WRITE` though nothing writes to the file through it: a
/// private mapping is copy-on-write, so a write (a JS program may write to the Buffer over it)
/// changes only this process's copy of that page, where `PROT_READ` alone would turn it into
/// `SIGSEGV`. `F_SEAL_WRITE` forbids shared writable mappings only. Reading costs the same
/// either way.
///
/// `fd` is not closed (the caller owns it), and may be closed as soon as this returns: the
/// mapping stays valid. Other errors keep their errno (`EBADF` from `fcntl` for a closed or
/// `O_PATH` descriptor, `EACCES` from `mmap` for a write-only one). On macOS and FreeBSD:
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported). See fcntl(2), fstat(2), mmap(2).
pub fn map_sealed(fd: BorrowedFd<'_>, max_len: usize) -> Result<SealedMap> {
    #[cfg(target_os = "linux")]
    {
        linux::map_sealed(fd, max_len)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (fd, max_len);
        Err(Error::unsupported("sealed memfd payloads", "fcntl"))
    }
}

/// The bytes of a sealed memfd, mapped by [`map_sealed`] and unmapped on drop. It does not
/// hold the descriptor: the mapping stays valid after the memfd is closed.
pub struct SealedMap {
    /// Start of the mapping; dangling when `len` is 0 (nothing is mapped then).
    ptr: NonNull<u8>,
    /// The payload's length.
    len: usize,
    /// What to `munmap`: `len` rounded up to the file's block size (a hugetlbfs memfd is
    /// mapped, and must be unmapped, in whole huge pages); 0 when nothing is mapped.
    map_len: usize,
}

// SAFETY: a SealedMap owns its mapping alone (no other handle to it exists), and the bytes
// behind it are sealed against change by anyone else, so moving it to another thread moves
// the only access to that memory.
unsafe impl Send for SealedMap {}
// SAFETY: `&SealedMap` only reads the bytes (`as_slice`); writing needs `&mut`.
unsafe impl Sync for SealedMap {}

impl SealedMap {
    /// The payload.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is `len` readable bytes mapped by map_sealed and alive until drop
        // (or dangling and aligned with `len` 0); the file is sealed against writing and
        // shrinking, so no one changes them or unbacks a page meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The payload, writable: a write changes this process's private copy of the page
    /// (`MAP_PRIVATE` is copy-on-write), never the memfd or what its sender sees.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and the pages are `PROT_WRITE`; `&mut self` makes this the
        // only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty (nothing is mapped then).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for SealedMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedMap").field("len", &self.len).finish()
    }
}

impl Drop for SealedMap {
    fn drop(&mut self) {
        if self.map_len == 0 {
            return;
        }
        // SAFETY: `ptr` and `map_len` are the mapping map_sealed made; this is its one owner,
        // dropped once, and no slice of it outlives `self`.
        let _ = unsafe { mman::munmap(self.ptr.cast(), self.map_len) };
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::IoSlice;
    use std::num::NonZeroUsize;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::ptr::NonNull;

    use nix::errno::Errno;
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MFdFlags};
    use nix::sys::mman::{self, MapFlags, ProtFlags};
    use nix::sys::stat::{fstat, SFlag};
    use nix::sys::uio::pwritev;

    use super::{SealedMap, MEMFD_NAME};
    use crate::error::{Error, ErrorKind, Result};
    use crate::sys;

    /// Seals a receiver needs: no write, no shrink, no growth.
    const NEEDED: libc::c_int = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;

    /// Most slices one `pwritev` takes (`UIO_MAXIOV`; more is `EINVAL`).
    const MAX_IOV: usize = libc::UIO_MAXIOV as usize;

    pub(super) fn seal_payload(parts: &[&[u8]]) -> Result<OwnedFd> {
        let total = parts
            .iter()
            .try_fold(0usize, |sum, p| sum.checked_add(p.len()))
            .and_then(|t| i64::try_from(t).ok())
            .ok_or_else(|| {
                Error::os(Errno::EFBIG, "pwritev")
                    .with_detail("the parts add up to more bytes than a file can hold")
            })?;
        let fd = memfd()?;
        let written = pwritev_all(fd.as_fd(), parts)?;
        debug_assert_eq!(written, total);
        add_seals(fd.as_fd())?;
        Ok(fd)
    }

    /// A new memfd that allows sealing, close-on-exec. See memfd_create(2).
    ///
    /// `MFD_EXEC`, as dbus-broker does: under `vm.memfd_noexec = 1` the kernel would
    /// otherwise add `F_SEAL_EXEC`, and systemd-journald before 254 takes a memfd only with
    /// exactly the four seals [`seal_payload`] adds (seen with journald 252 here). A kernel
    /// before 6.3 refuses the flag (`EINVAL`): then the memfd is created without it; one that
    /// forbids executable memfds (`vm.memfd_noexec = 2`, `EACCES`) gets `MFD_NOEXEC_SEAL`.
    fn memfd() -> Result<OwnedFd> {
        let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
        let exec = MFdFlags::from_bits_retain(libc::MFD_EXEC);
        let noexec = MFdFlags::from_bits_retain(libc::MFD_NOEXEC_SEAL);
        match memfd_create(MEMFD_NAME, flags | exec) {
            Err(Errno::EINVAL) => memfd_create(MEMFD_NAME, flags),
            Err(Errno::EACCES) => memfd_create(MEMFD_NAME, flags | noexec),
            other => other,
        }
        .map_err(|e| Error::os(e, "memfd_create"))
    }

    /// Write `parts` back to back from offset 0: pwritev(2) until all is written, again after
    /// `EINTR` and after a partial write, at most [`MAX_IOV`] slices per call. Returns the
    /// bytes written.
    fn pwritev_all(fd: BorrowedFd<'_>, parts: &[&[u8]]) -> Result<i64> {
        let mut offset: i64 = 0;
        // The first part not wholly written, and how much of it is.
        let (mut index, mut done) = (0usize, 0usize);
        let mut iov: Vec<IoSlice<'_>> = Vec::with_capacity(parts.len().min(MAX_IOV));
        loop {
            while parts.get(index).is_some_and(|p| done >= p.len()) {
                index += 1;
                done = 0;
            }
            let Some(first) = parts.get(index) else {
                return Ok(offset);
            };
            iov.clear();
            iov.push(IoSlice::new(first.get(done..).unwrap_or_default()));
            iov.extend(
                parts[index + 1..]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .take(MAX_IOV - 1)
                    .map(|p| IoSlice::new(p)),
            );
            let n =
                sys::retry(|| pwritev(fd, &iov, offset)).map_err(|e| Error::os(e, "pwritev"))?;
            if n == 0 {
                return Err(Error::os(Errno::EIO, "pwritev")
                    .with_detail("pwritev wrote nothing to the memfd"));
            }
            offset += n as i64; // at most the total, checked to fit an i64
            let mut left = n;
            while let Some(p) = parts.get(index) {
                let rest = p.len() - done;
                if left < rest {
                    done += left;
                    break;
                }
                left -= rest;
                index += 1;
                done = 0;
                if left == 0 {
                    break;
                }
            }
        }
    }

    /// How many times [`add_seals`] asks for the seals while the kernel says `EBUSY`.
    pub(super) const SEAL_ATTEMPTS: u32 = 4;

    /// `F_ADD_SEALS` with `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`. See
    /// fcntl(2).
    ///
    /// `EBUSY` comes from a shared writable mapping (none is made here) and also, transiently,
    /// from a page that still holds an extra reference once the kernel has waited for it
    /// (`memfd_wait_for_pins` in `mm/memfd.c`), which a later attempt gets past. So `EBUSY`
    /// is asked again, up to [`SEAL_ATTEMPTS`] times in all.
    fn add_seals(fd: BorrowedFd<'_>) -> Result<()> {
        let seals = SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_WRITE
            | SealFlag::F_SEAL_SEAL;
        while_busy(SEAL_ATTEMPTS, || {
            fcntl(fd, FcntlArg::F_ADD_SEALS(seals)).map(drop)
        })
        .map_err(|e| Error::os(e, "fcntl"))
    }

    /// `op` again while it fails with `EBUSY`, `attempts` times in all; its last result.
    pub(super) fn while_busy(
        attempts: u32,
        mut op: impl FnMut() -> nix::Result<()>,
    ) -> nix::Result<()> {
        let mut result = op();
        for _ in 1..attempts {
            if result != Err(Errno::EBUSY) {
                break;
            }
            result = op();
        }
        result
    }

    pub(super) fn map_sealed(fd: BorrowedFd<'_>, max_len: usize) -> Result<SealedMap> {
        let seals = match fcntl(fd, FcntlArg::F_GET_SEALS) {
            Ok(seals) => seals,
            // Not a file that can carry seals: say what it is.
            Err(Errno::EINVAL) => return Err(cannot_be_sealed(fd)),
            Err(e) => return Err(Error::os(e, "fcntl")),
        };
        if seals & NEEDED != NEEDED {
            return Err(not_sealed(Some(seals), "fcntl"));
        }
        let st = fstat(fd).map_err(|e| Error::os(e, "fstat"))?;
        if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
            // Not reached for a file that answered F_GET_SEALS; kept so that nothing else is
            // ever mapped.
            return Err(cannot_be_sealed(fd));
        }
        let size = u64::try_from(st.st_size).map_err(|_| {
            Error::os(Errno::EOVERFLOW, "fstat").with_detail("the memfd reports a negative size")
        })?;
        let len = match usize::try_from(size) {
            Ok(len) if len <= max_len => len,
            _ => {
                return Err(Error::new(
                    ErrorKind::PayloadTooLarge {
                        size,
                        limit: max_len,
                    },
                    "fstat",
                ))
            }
        };
        let Some(length) = NonZeroUsize::new(len) else {
            return Ok(SealedMap {
                ptr: NonNull::dangling(),
                len: 0,
                map_len: 0,
            });
        };
        // SAFETY: a new mapping at an address the kernel picks aliases nothing of ours. The
        // file is sealed against shrinking (seals are never removed), so every page of
        // `len` stays backed while it is mapped: reading it cannot SIGBUS.
        let ptr = unsafe {
            mman::mmap(
                None,
                length,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
                fd,
                0,
            )
        }
        .map_err(|e| Error::os(e, "mmap"))?;
        // tmpfs reports the page size, hugetlbfs its huge page size: the unit of the mapping.
        let block = usize::try_from(st.st_blksize)
            .ok()
            .filter(|b| b.is_power_of_two())
            .unwrap_or(1);
        Ok(SealedMap {
            ptr: ptr.cast(),
            len,
            map_len: len.checked_next_multiple_of(block).unwrap_or(len),
        })
    }

    fn not_sealed(seals: Option<libc::c_int>, syscall: &'static str) -> Error {
        Error::new(
            ErrorKind::NotSealed {
                seals: seals.map(|s| s as u32),
            },
            syscall,
        )
    }

    /// The error for a descriptor that cannot carry seals, naming what it is (one more
    /// `fstat`; if even that fails, the plain message).
    fn cannot_be_sealed(fd: BorrowedFd<'_>) -> Error {
        let err = not_sealed(None, "fcntl");
        let Ok(st) = fstat(fd) else {
            return err;
        };
        let what = match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFIFO => "a pipe (FIFO)",
            SFlag::S_IFSOCK => "a socket",
            SFlag::S_IFDIR => "a directory",
            SFlag::S_IFCHR => "a character device",
            SFlag::S_IFBLK => "a block device",
            SFlag::S_IFREG => {
                "a regular file that cannot be sealed (not on memfd, tmpfs or hugetlbfs)"
            }
            _ => "not a regular file",
        };
        err.with_detail(format!(
            "the descriptor is {what}, not a sealed memfd; its sender could change it while it is read"
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::cell::Cell;

    use nix::errno::Errno;

    use super::linux::{while_busy, SEAL_ATTEMPTS};

    /// `while_busy` over an op that fails with `errno` for its first `fails` calls: its
    /// result and how many times it called the op.
    fn run(errno: Errno, fails: u32) -> (nix::Result<()>, u32) {
        let calls = Cell::new(0);
        let result = while_busy(SEAL_ATTEMPTS, || {
            calls.set(calls.get() + 1);
            if calls.get() <= fails {
                Err(errno)
            } else {
                Ok(())
            }
        });
        (result, calls.get())
    }

    #[test]
    fn busy_is_asked_again_until_it_passes() {
        assert_eq!(run(Errno::EBUSY, 2), (Ok(()), 3));
    }

    #[test]
    fn busy_every_time_gives_busy_after_the_last_attempt() {
        assert_eq!(
            run(Errno::EBUSY, u32::MAX),
            (Err(Errno::EBUSY), SEAL_ATTEMPTS)
        );
    }

    #[test]
    fn other_errors_are_not_asked_again() {
        assert_eq!(run(Errno::EPERM, u32::MAX), (Err(Errno::EPERM), 1));
    }
}
