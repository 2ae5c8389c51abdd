//! SCM_RIGHTS: descriptors arrive owned and close-on-exec, and none leak, even on MSG_CTRUNC.
//!
//! Every test here counts the process's open descriptors, which all threads share, so each
//! one holds `SERIAL` for its whole run.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::io::{IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use common::fd_count;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use unixgram_core::cmsg::ControlBuffer;
use unixgram_core::{msg, SendAncillary, Socket, MAX_FDS_PER_MESSAGE};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `n` pipes whose write ends already hold one distinct byte each; returns the read ends.
fn filled_pipes(n: usize) -> Vec<OwnedFd> {
    (0..n)
        .map(|i| {
            let (r, w) = nix::unistd::pipe().unwrap();
            File::from(w).write_all(&[i as u8]).unwrap();
            r
        })
        .collect()
}

fn raw(fds: &[OwnedFd]) -> Vec<RawFd> {
    fds.iter().map(AsRawFd::as_raw_fd).collect()
}

#[test]
fn max_fds_arrive_readable_cloexec_and_nothing_leaks() {
    let _g = serial();
    let baseline = fd_count();
    {
        let (a, mut b) = Socket::pair().unwrap();
        let read_ends = filled_pipes(MAX_FDS_PER_MESSAGE);
        let fds = raw(&read_ends);
        let anc = SendAncillary {
            fds: &fds,
            credentials: None,
        };
        a.send(&[IoSlice::new(b"fds")], &anc, None).unwrap();
        drop(read_ends); // the message holds its own references

        let mut out = Vec::new();
        let d = b.recv(&mut out, false).unwrap().unwrap();
        assert_eq!(out, b"fds");
        assert_eq!(d.ancillary.fds.len(), MAX_FDS_PER_MESSAGE);
        for (i, fd) in d.ancillary.fds.into_iter().enumerate() {
            let flags = FdFlag::from_bits_retain(fcntl(fd.as_fd(), FcntlArg::F_GETFD).unwrap());
            assert!(
                flags.contains(FdFlag::FD_CLOEXEC),
                "fd #{i} is not close-on-exec"
            );
            let mut content = Vec::new();
            File::from(fd).read_to_end(&mut content).unwrap(); // EOF: the write end is closed
            assert_eq!(content, [i as u8], "fd #{i} out of order");
        }
    }
    assert_eq!(fd_count(), baseline);
}

#[test]
fn one_fd_too_many_is_einval_before_any_syscall() {
    let _g = serial();
    let (a, mut b) = Socket::pair().unwrap();
    let (r, _w) = nix::unistd::pipe().unwrap();
    let fds = vec![r.as_raw_fd(); MAX_FDS_PER_MESSAGE + 1];
    let anc = SendAncillary {
        fds: &fds,
        credentials: None,
    };
    let err = a.send(&[IoSlice::new(b"x")], &anc, None).unwrap_err();
    assert_eq!(err.code(), "EINVAL");
    assert_eq!(err.syscall(), "sendmsg");
    // The kernel's EINVAL has no detail; the crate's own check explains the limit.
    assert!(err.detail().unwrap().contains("253"), "{err}");
    assert!(
        b.recv(&mut Vec::new(), false).unwrap().is_none(),
        "nothing was sent"
    );
}

/// Send `sent` fds over a socketpair and receive them into room for `room`.
fn receive_into_small_control_buffer(sent: usize, room: usize) {
    let baseline = fd_count();
    {
        let (a, b) = Socket::pair().unwrap();
        let read_ends = filled_pipes(sent);
        let fds = raw(&read_ends);
        a.send(
            &[IoSlice::new(b"many")],
            &SendAncillary {
                fds: &fds,
                credentials: None,
            },
            None,
        )
        .unwrap();
        drop(read_ends);

        let mut out = b"kept".to_vec();
        let mut control = ControlBuffer::with_fd_capacity(room);
        let err = msg::recvmsg(b.as_fd(), &mut out, &mut control, false).unwrap_err();
        assert_eq!(err.code(), "ERR_UNIXGRAM_CONTROL_TRUNCATED");
        assert_eq!(out, b"kept", "the caller's buffer is left as it was");
        let next = msg::recvmsg(b.as_fd(), &mut out, &mut control, false).unwrap();
        assert!(next.is_none(), "the truncated datagram was consumed");
    }
    assert_eq!(fd_count(), baseline, "descriptors leaked");
}

#[test]
fn ten_fds_into_room_for_two_is_control_truncated_without_leak() {
    let _g = serial();
    receive_into_small_control_buffer(10, 2);
}

#[test]
fn max_fds_into_room_for_two_is_control_truncated_without_leak() {
    let _g = serial();
    receive_into_small_control_buffer(MAX_FDS_PER_MESSAGE, 2);
}
