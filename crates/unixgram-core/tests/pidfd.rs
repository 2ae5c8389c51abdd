//! Pidfds: `SO_PASSPIDFD` / `SCM_PIDFD`, `SO_PEERPIDFD`, and what a pidfd says about its
//! process (its pid, whether it has exited), over real sockets and a real python3 sender.
//! Linux >= 6.5; on an older kernel each test checks the `ERR_UNIXGRAM_UNSUPPORTED` instead.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, IoSlice};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, Stdio};

use common::unique;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use unixgram_core::{pidfd, Address, SendAncillary, Socket};

/// Whether this kernel has `SO_PASSPIDFD`; if not, that turning it on says so clearly.
fn supported() -> bool {
    let (_a, b) = Socket::pair().unwrap();
    match b.set_pass_pidfd(true) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e.code(), "ERR_UNIXGRAM_UNSUPPORTED", "{e}");
            assert!(e.to_string().contains("needs Linux 6.5"), "{e}");
            eprintln!("skipped: {e}");
            false
        }
    }
}

fn send(sock: &Socket, bytes: &[u8]) {
    sock.send(&[IoSlice::new(bytes)], &SendAncillary::default(), None)
        .unwrap();
}

fn assert_cloexec(fd: &OwnedFd) {
    let flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
    assert!(flags.contains(FdFlag::FD_CLOEXEC));
}

#[test]
fn pass_pidfd_is_off_until_set_and_then_every_datagram_carries_our_pidfd() {
    if !supported() {
        return;
    }
    let (a, mut b) = Socket::pair().unwrap();
    assert!(!b.pass_pidfd().unwrap());
    let mut out = Vec::new();
    send(&a, b"before");
    b.set_pass_pidfd(true).unwrap();
    assert!(b.pass_pidfd().unwrap());
    send(&a, b"after");

    let before = b.recv(&mut out, false).unwrap().unwrap();
    assert!(
        before.ancillary.pidfd.is_none(),
        "queued before SO_PASSPIDFD: none"
    );
    let after = b.recv(&mut out, false).unwrap().unwrap();
    let fd = after.ancillary.pidfd.expect("an SCM_PIDFD");
    assert_cloexec(&fd);
    assert_eq!(pidfd::pid(fd.as_fd()).unwrap(), std::process::id() as i32);
    assert!(!pidfd::has_exited(fd.as_fd()).unwrap());
    assert!(after.ancillary.fds.is_empty());
    assert_eq!(out, b"beforeafter");

    b.set_pass_pidfd(false).unwrap();
    assert!(!b.pass_pidfd().unwrap());
    send(&a, b"off");
    assert!(b
        .recv(&mut out, false)
        .unwrap()
        .unwrap()
        .ancillary
        .pidfd
        .is_none());
}

#[test]
fn peer_pidfd_is_the_socketpair_maker_and_none_for_a_connected_socket() {
    if !supported() {
        return;
    }
    let (a, _b) = Socket::pair().unwrap();
    let fd = a
        .peer_pidfd()
        .unwrap()
        .expect("a socketpair has a peer process");
    assert_cloexec(&fd);
    assert_eq!(pidfd::pid(fd.as_fd()).unwrap(), std::process::id() as i32);

    let addr = Address::abstract_name(unique("peerpidfd"));
    let server = Socket::new().unwrap();
    server.bind(&addr).unwrap();
    let mut client = Socket::new().unwrap();
    client.connect(&addr).unwrap();
    assert!(client.peer_pidfd().unwrap().is_none());
    assert!(server.peer_pidfd().unwrap().is_none());
}

/// Wait (at most 20 s) until `fd` is readable: for a pidfd, until its process has exited.
fn wait_readable(fd: &OwnedFd) {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let n = poll(&mut fds, PollTimeout::from(20_000u16)).unwrap();
    assert_eq!(n, 1, "the process did not exit within 20 s");
}

#[test]
fn a_pidfd_from_python_names_it_alive_then_exited_then_reaped() {
    if !supported() {
        return;
    }
    let name = unique("pidfd-python");
    let addr = Address::abstract_name(name.clone());
    let mut receiver = Socket::new().unwrap();
    receiver.set_pass_pidfd(true).unwrap();
    receiver.bind(&addr).unwrap();

    // Sends one datagram, prints its pid, and exits when its stdin closes.
    let script = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"hello", b"\0" + sys.argv[1].encode())
print(os.getpid(), flush=True)
sys.stdin.read()
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let python_pid: i32 = line.trim().parse().unwrap();
    assert_eq!(python_pid, child.id() as i32);

    let mut out = Vec::new();
    let d = receiver.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(out, b"hello");
    let fd = d.ancillary.pidfd.expect("an SCM_PIDFD");
    assert_eq!(pidfd::pid(fd.as_fd()).unwrap(), python_pid);
    assert!(!pidfd::has_exited(fd.as_fd()).unwrap());

    // Exited, not reaped yet (a zombie): it has exited, and the number is still its own.
    drop(child.stdin.take());
    wait_readable(&fd);
    assert!(pidfd::has_exited(fd.as_fd()).unwrap());
    assert_eq!(pidfd::pid(fd.as_fd()).unwrap(), python_pid);

    // Reaped: the number is free for another process, and the pidfd says -1.
    assert!(child.wait().unwrap().success());
    assert!(pidfd::has_exited(fd.as_fd()).unwrap());
    assert_eq!(pidfd::pid(fd.as_fd()).unwrap(), -1);
}

#[test]
fn the_pidfd_helpers_refuse_a_descriptor_that_is_not_a_pidfd_with_ebadf() {
    let (r, _w) = nix::unistd::pipe().unwrap();
    for err in [
        pidfd::pid(r.as_fd()).unwrap_err(),
        pidfd::has_exited(r.as_fd()).unwrap_err(),
    ] {
        assert_eq!(err.code(), "EBADF", "{err}");
        assert_eq!(err.syscall(), "read");
        let fd = r.as_raw_fd();
        assert_eq!(
            err.to_string(),
            format!("read EBADF: descriptor {fd} is not a pidfd (/proc/self/fdinfo/{fd} has no Pid: line)")
        );
    }
}
