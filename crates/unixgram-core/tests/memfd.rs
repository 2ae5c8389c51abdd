//! Sealed memfd payloads: what `seal_payload` makes is byte-exact and sealed against any
//! change, `map_sealed` refuses what a sender could still change (or what is too big), and a
//! memfd passed with `SCM_RIGHTS` (by us or by python3) is mapped on the other side.
//!
//! Every test here holds `SERIAL`: one of them counts the process's open descriptors, which
//! all threads share.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::io::{IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use common::{fd_count, TempDir};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::mman::{mmap, MapFlags, ProtFlags};
use nix::sys::stat::Mode;
use unixgram_core::memfd::{map_sealed, seal_payload, MEMFD_NAME};
use unixgram_core::{Address, ErrorKind, SealedMap, SendAncillary, Socket};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bytes `i % 251` (the pattern the python peers of `__test__/peers` use).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn seals(fd: BorrowedFd<'_>) -> SealFlag {
    SealFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GET_SEALS).unwrap())
}

fn needed() -> SealFlag {
    SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW
}

/// A memfd that allows sealing, holding `data`, with only `seals` added.
fn memfd_with(data: &[u8], seals: SealFlag) -> OwnedFd {
    let fd = memfd_create(c"test", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING).unwrap();
    let mut file = File::from(fd);
    file.write_all(data).unwrap();
    let fd = OwnedFd::from(file);
    if !seals.is_empty() {
        fcntl(&fd, FcntlArg::F_ADD_SEALS(seals)).unwrap();
    }
    fd
}

fn round_trip(parts: &[&[u8]]) -> SealedMap {
    let fd = seal_payload(parts).unwrap();
    let map = map_sealed(fd.as_fd(), usize::MAX).unwrap();
    drop(fd);
    map
}

#[test]
fn payloads_of_every_size_round_trip_byte_exact() {
    let _g = serial();
    for size in [0, 1, 4096, 5_000_000, 16 << 20] {
        let data = pattern(size);
        // Whole; and cut in three uneven parts with an empty one among them.
        let (a, rest) = data.split_at(size / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        for parts in [vec![&data[..]], vec![a, &[][..], b, c]] {
            let map = round_trip(&parts);
            assert_eq!(map.len(), size);
            assert_eq!(map.is_empty(), size == 0);
            assert!(map.as_slice() == &data[..], "{size} bytes differ");
        }
    }
}

#[test]
fn more_parts_than_one_pwritev_takes_are_all_written_in_order() {
    let _g = serial();
    // 3000 parts (UIO_MAXIOV is 1024), every fifth one empty.
    let data = pattern(3000 * 7);
    let parts: Vec<&[u8]> = data
        .chunks(7)
        .enumerate()
        .map(|(i, c)| if i % 5 == 4 { &c[..0] } else { c })
        .collect();
    let expected: Vec<u8> = parts.concat();
    assert_eq!(round_trip(&parts).as_slice(), &expected[..]);
    assert_eq!(
        round_trip(&[]).len(),
        0,
        "no parts at all is an empty payload"
    );
}

#[test]
fn the_memfd_carries_every_seal_and_is_close_on_exec() {
    let _g = serial();
    let fd = seal_payload(&[b"sealed"]).unwrap();
    let all = needed() | SealFlag::F_SEAL_SEAL;
    assert!(seals(fd.as_fd()).contains(all), "{:?}", seals(fd.as_fd()));
    let flags = fcntl(&fd, FcntlArg::F_GETFD).unwrap();
    assert_ne!(flags & libc::FD_CLOEXEC, 0);
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    assert!(
        link.to_string_lossy()
            .starts_with(&format!("/memfd:{MEMFD_NAME}")),
        "{link:?}"
    );
}

#[test]
fn the_sealed_memfd_refuses_every_change() {
    let _g = serial();
    let fd = seal_payload(&[b"fixed"]).unwrap();
    let err = nix::sys::uio::pwrite(&fd, b"X", 0).unwrap_err();
    assert_eq!(err, Errno::EPERM, "write");
    assert_eq!(
        nix::unistd::ftruncate(&fd, 1).unwrap_err(),
        Errno::EPERM,
        "shrink"
    );
    assert_eq!(
        nix::unistd::ftruncate(&fd, 100).unwrap_err(),
        Errno::EPERM,
        "grow"
    );
    // SAFETY: a new mapping aliases nothing; it is refused anyway.
    let shared = unsafe {
        mmap(
            None,
            std::num::NonZeroUsize::new(5).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            &fd,
            0,
        )
    };
    assert_eq!(shared.unwrap_err(), Errno::EPERM, "shared writable mapping");
    let err = fcntl(&fd, FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_FUTURE_WRITE)).unwrap_err();
    assert_eq!(err, Errno::EPERM, "F_SEAL_SEAL: no more seals");
    // Writes to the map land in a private copy: the memfd, and the next map, are unchanged.
    let mut map = map_sealed(fd.as_fd(), 5).unwrap();
    map.as_mut_slice()[0] = b'F';
    assert_eq!(map.as_slice(), b"Fixed");
    assert_eq!(map_sealed(fd.as_fd(), 5).unwrap().as_slice(), b"fixed");
}

#[test]
fn an_unsealed_or_partly_sealed_memfd_is_refused() {
    let _g = serial();
    let cases = [
        (SealFlag::empty(), "writing, shrinking and growing"),
        (SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW, "writing"),
        (SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK, "growing"),
        (SealFlag::F_SEAL_SEAL, "writing, shrinking and growing"),
        (
            SealFlag::F_SEAL_FUTURE_WRITE | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW,
            "writing",
        ),
    ];
    for (added, missing) in cases {
        let fd = memfd_with(b"changeable", added);
        let err = map_sealed(fd.as_fd(), 1 << 20).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::NotSealed {
                seals: Some(added.bits() as u32)
            }
        );
        assert_eq!(err.code(), "ERR_UNIXGRAM_MEMFD_NOT_SEALED");
        assert_eq!(err.syscall(), "fcntl");
        assert_eq!(err.errno(), None);
        assert_eq!(
            err.to_string(),
            format!("fcntl ERR_UNIXGRAM_MEMFD_NOT_SEALED: the memfd is not sealed against {missing}; its sender could change it while it is read")
        );
    }
    // Without F_SEAL_SEAL the three needed seals are enough, as for journald.
    let fd = memfd_with(b"enough", needed());
    assert_eq!(map_sealed(fd.as_fd(), 6).unwrap().as_slice(), b"enough");
    // A memfd made without MFD_ALLOW_SEALING starts with F_SEAL_SEAL alone.
    let fd = memfd_create(c"test", MFdFlags::MFD_CLOEXEC).unwrap();
    let err = map_sealed(fd.as_fd(), 6).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::NotSealed {
            seals: Some(libc::F_SEAL_SEAL as u32)
        }
    );
}

#[test]
fn a_payload_over_the_limit_is_refused_with_its_size_and_the_limit() {
    let _g = serial();
    let fd = seal_payload(&[&pattern(4097)]).unwrap();
    let err = map_sealed(fd.as_fd(), 4096).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::PayloadTooLarge {
            size: 4097,
            limit: 4096
        }
    );
    assert_eq!(err.code(), "ERR_UNIXGRAM_PAYLOAD_TOO_LARGE");
    assert_eq!(
        err.to_string(),
        "fstat ERR_UNIXGRAM_PAYLOAD_TOO_LARGE: a payload of 4097 bytes is larger than the limit of 4096 bytes (raise maxPayloadSize to accept it)"
    );
    assert_eq!(
        map_sealed(fd.as_fd(), 4097).unwrap().len(),
        4097,
        "at the limit"
    );
    let empty = seal_payload(&[]).unwrap();
    assert!(map_sealed(empty.as_fd(), 0).unwrap().is_empty(), "0 fits 0");
}

#[test]
fn pipes_sockets_and_plain_files_are_refused_naming_what_they_are() {
    let _g = serial();
    let (r, _w) = nix::unistd::pipe().unwrap();
    let (a, _b) = Socket::pair().unwrap();
    let dir = TempDir::new("memfd");
    let path = dir.join("file");
    std::fs::write(&path, b"plain").unwrap();
    let file = File::open(&path).unwrap();
    for (fd, what) in [
        (r.as_fd(), "a pipe (FIFO)"),
        (a.as_fd(), "a socket"),
        (file.as_fd(), "a regular file"),
    ] {
        let err = map_sealed(fd, 1 << 20).unwrap_err();
        assert_eq!(err.code(), "ERR_UNIXGRAM_MEMFD_NOT_SEALED", "{what}");
        assert_eq!(err.syscall(), "fcntl");
        match err.kind() {
            // A file on tmpfs can answer F_GET_SEALS (with F_SEAL_SEAL alone).
            ErrorKind::NotSealed { seals: Some(s) } if what == "a regular file" => {
                assert_eq!(*s, libc::F_SEAL_SEAL as u32)
            }
            ErrorKind::NotSealed { seals: None } => assert!(
                err.to_string()
                    .contains(&format!("the descriptor is {what}")),
                "{err}"
            ),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn descriptors_that_cannot_be_read_keep_their_errno() {
    let _g = serial();
    let fd = seal_payload(&[b"payload"]).unwrap();
    let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let o_path = nix::fcntl::open(
        proc_path.as_str(),
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let err = map_sealed(o_path.as_fd(), 100).unwrap_err();
    assert_eq!((err.code().as_str(), err.syscall()), ("EBADF", "fcntl"));
    let write_only = nix::fcntl::open(
        proc_path.as_str(),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let err = map_sealed(write_only.as_fd(), 100).unwrap_err();
    assert_eq!((err.code().as_str(), err.syscall()), ("EACCES", "mmap"));
}

#[test]
fn no_descriptor_leaks_on_success_or_refusal() {
    let _g = serial();
    let baseline = fd_count();
    for _ in 0..50 {
        let fd = seal_payload(&[b"a", b"bc"]).unwrap();
        let map = map_sealed(fd.as_fd(), 3).unwrap();
        assert!(map_sealed(fd.as_fd(), 2).is_err());
        drop(fd);
        assert_eq!(map.as_slice(), b"abc");
        let unsealed = memfd_with(b"x", SealFlag::empty());
        assert!(map_sealed(unsealed.as_fd(), 3).is_err());
    }
    assert_eq!(fd_count(), baseline);
}

#[test]
fn a_sealed_map_moves_to_another_thread() {
    let _g = serial();
    let map = round_trip(&[b"across"]);
    let got = std::thread::spawn(move || map.as_slice().to_vec())
        .join()
        .unwrap();
    assert_eq!(got, b"across");
}

/// Receive the one datagram queued on `b`, which must be empty and carry one descriptor.
fn recv_memfd(b: &mut Socket) -> OwnedFd {
    assert!(b.wait_readable(10_000).unwrap(), "nothing arrived");
    let mut out = Vec::new();
    let d = b.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(d.len, 0, "a zero-length datagram");
    let mut fds = d.ancillary.fds;
    assert_eq!(fds.len(), 1);
    fds.pop().unwrap()
}

#[test]
fn a_memfd_sent_with_scm_rights_in_an_empty_datagram_maps_on_the_other_side() {
    let _g = serial();
    let baseline = fd_count();
    {
        let data = pattern(5_000_000);
        let (a, mut b) = Socket::pair().unwrap();
        let fd = seal_payload(&[&data[..1000], &data[1000..]]).unwrap();
        let fds = [fd.as_raw_fd()];
        let anc = SendAncillary {
            fds: &fds,
            credentials: None,
        };
        a.send(&[IoSlice::new(b"")], &anc, None).unwrap();
        drop(fd); // the datagram holds its own reference

        let received = recv_memfd(&mut b);
        let map = map_sealed(received.as_fd(), data.len()).unwrap();
        drop(received); // the mapping outlives the descriptor
        assert!(map.as_slice() == &data[..]);
    }
    assert_eq!(fd_count(), baseline);
}

/// python3 sends `size` bytes of `pattern` in a memfd with `seals` (a Python expression over
/// the `fcntl` module), in a zero-length datagram to `path`.
fn python_sends_memfd(path: &std::path::Path, size: usize, seals: &str) {
    let script = format!(
        r#"
import fcntl, os, socket, sys
size = {size}
data = (bytes(range(251)) * (size // 251 + 1))[:size]
fd = os.memfd_create("python-peer", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
os.write(fd, data)
seals = {seals}
if seals:
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])  # Python < 3.12's send_fds ignores its address argument
socket.send_fds(s, [b""], [fd])
"#
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_sealed_memfd_from_python_maps_and_an_unsealed_one_is_refused() {
    let _g = serial();
    let dir = TempDir::new("memfd-py");
    let path = dir.join("receiver.sock");
    let mut b = Socket::new().unwrap();
    b.bind(&Address::path(&path)).unwrap();

    let size = (1 << 20) + 3;
    python_sends_memfd(
        &path,
        size,
        "fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL",
    );
    let fd = recv_memfd(&mut b);
    let map = map_sealed(fd.as_fd(), size).unwrap();
    assert!(
        map.as_slice() == &pattern(size)[..],
        "python's bytes differ"
    );

    python_sends_memfd(&path, 10, "0");
    let fd = recv_memfd(&mut b);
    let err = map_sealed(fd.as_fd(), size).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotSealed { seals: Some(0) });
}
