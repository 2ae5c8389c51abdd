//! Datagrams, addresses, errors, credentials and fd adoption on real sockets.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::unix::net::SocketAddr;

use common::{unique, TempDir};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use unixgram_core::{Address, Credentials, SendAncillary, Socket};

fn none() -> SendAncillary<'static> {
    SendAncillary::default()
}

fn send_bytes(sock: &Socket, bytes: &[u8], dest: Option<&Address>) -> unixgram_core::Result<usize> {
    sock.send(&[IoSlice::new(bytes)], &none(), dest)
}

#[test]
fn socketpair_round_trips_bytes() {
    let (a, mut b) = Socket::pair().unwrap();
    assert_eq!(send_bytes(&a, b"hello", None).unwrap(), 5);
    let mut out = Vec::new();
    let d = b.recv(&mut out, true).unwrap().unwrap();
    assert_eq!(d.len, 5);
    assert_eq!(out, b"hello");
    assert_eq!(d.address, Some(Address::Unnamed));
    assert!(d.ancillary.is_empty());
}

#[test]
fn zero_byte_datagram_is_len_0_and_empty_queue_is_none() {
    let (a, mut b) = Socket::pair().unwrap();
    let mut out = Vec::new();
    assert!(
        b.recv(&mut out, false).unwrap().is_none(),
        "nothing queued yet"
    );
    assert_eq!(a.send(&[], &none(), None).unwrap(), 0);
    let d = b
        .recv(&mut out, false)
        .unwrap()
        .expect("a 0-byte datagram is a datagram");
    assert_eq!(d.len, 0);
    assert!(out.is_empty());
    assert!(b.recv(&mut out, false).unwrap().is_none(), "queue drained");
}

#[test]
fn gather_send_makes_one_datagram() {
    let (a, mut b) = Socket::pair().unwrap();
    let parts = [
        IoSlice::new(b"ab"),
        IoSlice::new(b""),
        IoSlice::new(b"cde"),
        IoSlice::new(b"f"),
    ];
    assert_eq!(a.send(&parts, &none(), None).unwrap(), 6);
    let mut out = Vec::new();
    assert_eq!(b.recv(&mut out, false).unwrap().unwrap().len, 6);
    assert_eq!(out, b"abcdef");
    assert!(b.recv(&mut out, false).unwrap().is_none());
}

#[test]
fn recv_appends_to_the_callers_vec_with_exact_length() {
    let (a, mut b) = Socket::pair().unwrap();
    send_bytes(&a, b"hello", None).unwrap();
    send_bytes(&a, b"world!", None).unwrap();
    let mut out = b"pre:".to_vec();
    assert_eq!(b.recv(&mut out, false).unwrap().unwrap().len, 5);
    assert_eq!(b.recv(&mut out, false).unwrap().unwrap().len, 6);
    assert_eq!(out, b"pre:helloworld!");
    // Nothing queued: the Vec is left alone.
    assert!(b.recv(&mut out, false).unwrap().is_none());
    assert_eq!(out, b"pre:helloworld!");

    send_bytes(&a, &[7u8; 10], None).unwrap();
    let mut small = Vec::new();
    b.recv(&mut small, false).unwrap().unwrap();
    assert_eq!(small, [7u8; 10]);
    assert!(
        small.capacity() < 4096,
        "capacity {} for a 10-byte datagram",
        small.capacity()
    );
}

#[test]
fn path_bind_connect_and_names_agree() {
    let dir = TempDir::new("names");
    let (sp, cp) = (dir.join("server.sock"), dir.join("client.sock"));
    let (sa, ca) = (Address::path(&sp), Address::path(&cp));
    let mut server = Socket::new().unwrap();
    server.bind(&sa).unwrap();
    let mut client = Socket::new().unwrap();
    client.bind(&ca).unwrap();
    client.connect(&sa).unwrap();
    assert!(sp.exists() && cp.exists());
    assert_eq!(server.local_addr().unwrap(), sa);
    assert_eq!(client.local_addr().unwrap(), ca);
    assert_eq!(client.peer_addr().unwrap(), sa);
    assert_eq!(client.connected_to(), Some(&sa));

    send_bytes(&client, b"ping", None).unwrap();
    let mut out = Vec::new();
    let d = server.recv(&mut out, true).unwrap().unwrap();
    assert_eq!(
        (out.as_slice(), d.address),
        (&b"ping"[..], Some(ca.clone()))
    );
    // Reply to the address the datagram came from.
    send_bytes(&server, b"pong", Some(&ca)).unwrap();
    out.clear();
    client.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(out, b"pong");
}

#[test]
#[cfg(target_os = "linux")]
fn abstract_bind_has_exact_length_and_interoperates_with_std() {
    let name = unique("x");
    let ours = Address::abstract_name(&name);
    let mut server = Socket::new().unwrap();
    server.bind(&ours).unwrap();
    assert_eq!(
        server.local_addr().unwrap(),
        ours,
        "no NUL padding in the bound name"
    );

    // std uses exact-length abstract addresses: it only reaches us if our name is exact.
    let peer_name = unique("std-peer");
    let std_sock = std::os::unix::net::UnixDatagram::bind_addr(
        &SocketAddr::from_abstract_name(peer_name.as_bytes()).unwrap(),
    )
    .unwrap();
    std_sock
        .connect_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
        .unwrap();
    std_sock.send(b"from std").unwrap();
    let mut out = Vec::new();
    let d = server.recv(&mut out, true).unwrap().unwrap();
    assert_eq!(out, b"from std");
    assert_eq!(d.address, Some(Address::abstract_name(&peer_name)));

    // And the other way round.
    send_bytes(
        &server,
        b"to std",
        Some(&Address::abstract_name(&peer_name)),
    )
    .unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = std_sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to std");
    assert_eq!(from.as_abstract_name(), Some(name.as_bytes()));
}

#[test]
#[cfg(target_os = "linux")]
fn autobind_gives_five_hex_char_abstract_name() {
    let sock = Socket::new().unwrap();
    sock.bind(&Address::Unnamed).unwrap();
    match sock.local_addr().unwrap() {
        Address::Abstract(name) => {
            assert_eq!(name.len(), 5, "{name:?}");
            assert!(name.iter().all(u8::is_ascii_hexdigit), "{name:?}");
        }
        other => panic!("expected an abstract name, got {other:?}"),
    }
}

#[test]
#[cfg(target_os = "linux")]
fn unbound_sender_is_seen_as_unnamed() {
    let addr = Address::abstract_name(unique("rx"));
    let mut rx = Socket::new().unwrap();
    rx.bind(&addr).unwrap();
    let tx = Socket::new().unwrap();
    send_bytes(&tx, b"anon", Some(&addr)).unwrap();
    let mut out = Vec::new();
    let d = rx.recv(&mut out, true).unwrap().unwrap();
    assert_eq!(d.address, Some(Address::Unnamed));
    assert_eq!(tx.local_addr().unwrap(), Address::Unnamed);
}

#[test]
fn too_long_path_is_enametoolong_and_creates_nothing() {
    let dir = TempDir::new("long");
    let long = dir.join(&"a".repeat(120));
    let sock = Socket::new().unwrap();
    let err = sock.bind(&Address::path(&long)).unwrap_err();
    assert_eq!(err.code(), "ENAMETOOLONG");
    assert_eq!(err.syscall(), "bind");
    assert!(!long.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created on disk"
    );
    // Nor was a truncated prefix bound anywhere: the socket is still unnamed.
    assert_eq!(sock.local_addr().unwrap(), Address::Unnamed);
}

#[test]
fn connect_to_missing_path_is_enoent_with_node_style_message() {
    let dir = TempDir::new("missing");
    let path = dir.join("nobody.sock");
    let mut sock = Socket::new().unwrap();
    let err = sock.connect(&Address::path(&path)).unwrap_err();
    assert_eq!(err.code(), "ENOENT");
    assert_eq!(err.syscall(), "connect");
    let prefix = format!("connect ENOENT {}: ", path.display());
    assert!(err.to_string().starts_with(&prefix), "{err}");
    assert_eq!(sock.connected_to(), None);
}

#[test]
fn closed_peer_gives_econnrefused_then_enotconn_and_reconnect_recovers() {
    let dir = TempDir::new("restart");
    let path = dir.join("server.sock");
    let addr = Address::path(&path);
    let server = Socket::new().unwrap();
    server.bind(&addr).unwrap();
    let mut client = Socket::new().unwrap();
    client.connect(&addr).unwrap();
    drop(server);

    let first = send_bytes(&client, b"1", None).unwrap_err();
    assert_eq!(first.code(), "ECONNREFUSED");
    assert_eq!(first.address(), Some(addr.to_string().as_str()));
    let second = send_bytes(&client, b"2", None).unwrap_err();
    assert_eq!(second.code(), "ENOTCONN");
    assert!(second.to_string().contains("reconnect"), "{second}");

    std::fs::remove_file(&path).unwrap();
    let mut server = Socket::new().unwrap();
    server.bind(&addr).unwrap();
    client.reconnect().unwrap();
    send_bytes(&client, b"3", None).unwrap();
    let mut out = Vec::new();
    server.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(out, b"3");
}

#[test]
#[cfg(target_os = "linux")]
fn pass_credentials_reports_own_pid_uid_gid() {
    let (a, mut b) = Socket::pair().unwrap();
    b.set_pass_credentials(true).unwrap();
    assert!(b.pass_credentials().unwrap());
    let me = Credentials::current();
    let mut out = Vec::new();

    send_bytes(&a, b"implicit", None).unwrap();
    let d = b.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(d.ancillary.credentials, Some(me));

    let explicit = SendAncillary {
        fds: &[],
        credentials: Some(me),
    };
    a.send(&[IoSlice::new(b"explicit")], &explicit, None)
        .unwrap();
    let d = b.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(d.ancillary.credentials, Some(me));
    assert_eq!(out, b"implicitexplicit");
}

#[test]
#[cfg(target_os = "linux")]
fn peer_credentials_only_on_socketpairs() {
    let (a, _b) = Socket::pair().unwrap();
    assert_eq!(a.peer_credentials().unwrap(), Some(Credentials::current()));

    let addr = Address::abstract_name(unique("peercred"));
    let server = Socket::new().unwrap();
    server.bind(&addr).unwrap();
    let mut client = Socket::new().unwrap();
    client.connect(&addr).unwrap();
    assert_eq!(client.peer_credentials().unwrap(), None);
}

#[test]
#[cfg(not(target_os = "linux"))]
fn linux_only_features_are_refused_with_err_unixgram_unsupported() {
    let sock = Socket::new().unwrap();
    for err in [
        sock.bind(&Address::abstract_name(unique("abs")))
            .unwrap_err(),
        sock.bind(&Address::Unnamed).unwrap_err(),
        sock.set_pass_credentials(true).unwrap_err(),
        sock.peer_credentials().unwrap_err(),
    ] {
        assert_eq!(err.code(), "ERR_UNIXGRAM_UNSUPPORTED", "{err}");
        assert_eq!(err.errno(), None);
    }
    assert!(!sock.pass_credentials().unwrap());
    sock.set_pass_credentials(false).unwrap();

    let (a, _b) = Socket::pair().unwrap();
    let with_credentials = SendAncillary {
        fds: &[],
        credentials: Some(Credentials::current()),
    };
    let err = a
        .send(&[IoSlice::new(b"x")], &with_credentials, None)
        .unwrap_err();
    assert_eq!(err.code(), "ERR_UNIXGRAM_UNSUPPORTED");
    assert!(err.to_string().contains("SCM_CREDENTIALS"), "{err}");
}

fn assert_rejected(fd: OwnedFd) -> OwnedFd {
    let raw = fd.as_raw_fd();
    let (err, back) = Socket::from_fd(fd).unwrap_err();
    assert_eq!(err.code(), "ERR_UNIXGRAM_NOT_UNIX_DGRAM");
    assert_eq!(back.as_raw_fd(), raw, "the same descriptor is handed back");
    assert!(fcntl(back.as_fd(), FcntlArg::F_GETFD).is_ok(), "still open");
    back
}

#[test]
fn from_fd_rejects_a_pipe_and_hands_it_back_open() {
    let (r, w) = nix::unistd::pipe().unwrap();
    let r = assert_rejected(r);
    nix::unistd::write(&w, b"ok").unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(nix::unistd::read(&r, &mut buf).unwrap(), 2);
    assert_eq!(&buf, b"ok");
}

#[test]
fn from_fd_rejects_a_tcp_socket_and_hands_it_back_open() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let back = assert_rejected(OwnedFd::from(listener));
    let listener = std::net::TcpListener::from(back);
    assert_eq!(listener.local_addr().unwrap().port(), port);
}

#[test]
fn from_fd_rejects_a_udp_socket_and_hands_it_back_open() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = udp.local_addr().unwrap();
    let back = assert_rejected(OwnedFd::from(udp));
    let udp = std::net::UdpSocket::from(back);
    assert_eq!(udp.local_addr().unwrap(), local);
}

#[test]
fn from_fd_adopts_unix_dgram_as_nonblocking_cloexec() {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    let fl = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL).unwrap());
    assert!(!fl.contains(OFlag::O_NONBLOCK));
    let mut sock = Socket::from_fd(fd).map_err(|(e, _)| e).unwrap();
    let fl = OFlag::from_bits_retain(fcntl(sock.as_fd(), FcntlArg::F_GETFL).unwrap());
    assert!(fl.contains(OFlag::O_NONBLOCK));
    let fdfl = FdFlag::from_bits_retain(fcntl(sock.as_fd(), FcntlArg::F_GETFD).unwrap());
    assert!(fdfl.contains(FdFlag::FD_CLOEXEC));
    // Non-blocking in practice: an empty queue answers at once.
    assert!(sock.recv(&mut Vec::new(), false).unwrap().is_none());
}

#[test]
#[cfg(target_os = "linux")]
fn full_queue_gives_eagain_and_draining_one_makes_room() {
    let addr = Address::abstract_name(unique("qlen"));
    let mut rx = Socket::new().unwrap();
    rx.bind(&addr).unwrap();
    let tx = Socket::new().unwrap();
    let mut sent = 0;
    let err = loop {
        match send_bytes(&tx, b"q", Some(&addr)) {
            Ok(_) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 12, "no EAGAIN after {sent} sends");
    };
    assert_eq!(err.code(), "EAGAIN");
    assert_eq!(err.address(), Some(addr.to_string().as_str()));
    // The kernel lets max_dgram_qlen + 1 datagrams queue (`queue_len > limit`).
    let qlen: usize = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(sent, qlen + 1);
    let mut out = Vec::new();
    rx.recv(&mut out, false).unwrap().unwrap();
    send_bytes(&tx, b"q", Some(&addr)).unwrap();
    let mut received = 1;
    while rx.recv(&mut out, false).unwrap().is_some() {
        received += 1;
    }
    assert_eq!(received, sent + 1);
}

#[test]
fn dup_fd_is_the_same_socket_close_on_exec_and_never_stdio() {
    let (a, mut b) = Socket::pair().unwrap();
    let dup = a.dup_fd().unwrap();
    assert!(dup.as_raw_fd() > 2);
    assert_ne!(dup.as_raw_fd(), a.as_fd().as_raw_fd());
    let flags = FdFlag::from_bits_retain(fcntl(&dup, FcntlArg::F_GETFD).unwrap());
    assert!(flags.contains(FdFlag::FD_CLOEXEC));
    let via_dup = Socket::from_fd(dup).map_err(|(e, _)| e).unwrap();
    assert_eq!(send_bytes(&via_dup, b"dup", None).unwrap(), 3);
    let mut out = Vec::new();
    assert_eq!(b.recv(&mut out, false).unwrap().unwrap().len, 3);
    assert_eq!(out, b"dup");
}

/// A no-op signal handler, so a signal interrupts `poll` (EINTR) without ending the test.
extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
fn wait_readable_keeps_its_deadline_when_signals_interrupt_it() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    // SAFETY: a zeroed sigaction is valid (no flags, empty mask); the handler is an
    // async-signal-safe no-op, installed for SIGUSR1, which nothing else in these tests uses.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    let (a, _b) = Socket::pair().unwrap();
    // SAFETY: pthread_self has no preconditions.
    let waiter = unsafe { libc::pthread_self() };
    let waiting = Arc::new(AtomicBool::new(true));
    let signaller = {
        let waiting = Arc::clone(&waiting);
        std::thread::spawn(move || {
            // A signal every 20 ms for up to 3 s: restarting the full 200 ms after each one,
            // the wait would last as long as the signals do.
            let until = Instant::now() + Duration::from_secs(3);
            while waiting.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
                if waiting.load(Ordering::SeqCst) {
                    // SAFETY: the waiting thread is alive while `waiting` is true (it is
                    // cleared before the test thread goes on), and it handles SIGUSR1.
                    unsafe { libc::pthread_kill(waiter, libc::SIGUSR1) };
                }
            }
        })
    };
    let started = Instant::now();
    let ready = a.wait_readable(200).unwrap();
    let took = started.elapsed();
    waiting.store(false, Ordering::SeqCst);
    signaller.join().unwrap();
    assert!(!ready);
    assert!(
        took >= Duration::from_millis(200),
        "returned early: {took:?}"
    );
    assert!(
        took < Duration::from_millis(2500),
        "the signals stretched the wait: {took:?}"
    );
}

#[test]
fn closed_socketpair_end_says_so_and_does_not_suggest_reconnect() {
    let (a, b) = Socket::pair().unwrap();
    drop(b);
    let mut last = send_bytes(&a, b"1", None).unwrap_err();
    if last.code() == "ECONNREFUSED" {
        last = send_bytes(&a, b"2", None).unwrap_err();
    }
    assert_eq!(last.code(), "ENOTCONN");
    let msg = last.to_string();
    assert!(msg.contains("socket pair is closed"), "{msg}");
    assert!(!msg.contains("reconnect()"), "{msg}");
}

#[test]
fn bind_with_mode_names_the_path_itself_and_sets_exactly_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    // 0o666 needs bits a common umask (022) takes away; 0o600 and 0o640 do not.
    for mode in [0o600, 0o640, 0o666] {
        let path = dir.join(&format!("s{mode:o}"));
        let addr = Address::path(&path);
        let server = Socket::new().unwrap();
        server.bind_with_mode(&addr, mode).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{path:?}");
        // The kernel's name for the socket is the path asked for: what peers see as the
        // source of its replies, and what getsockname reports.
        assert_eq!(server.local_addr().unwrap(), addr);
        let client = Socket::new().unwrap();
        client.bind(&Address::Unnamed).unwrap();
        send_bytes(&client, b"hi", Some(&addr)).unwrap();
        let mut out = Vec::new();
        let mut server = server;
        let reply_to = server
            .recv(&mut out, true)
            .unwrap()
            .unwrap()
            .address
            .unwrap();
        send_bytes(&server, b"back", Some(&reply_to)).unwrap();
        let mut client = client;
        let from = client
            .recv(&mut out, true)
            .unwrap()
            .unwrap()
            .address
            .unwrap();
        assert_eq!(from, addr);
    }
}

#[test]
fn bind_with_mode_refuses_an_abstract_name_before_any_syscall() {
    let sock = Socket::new().unwrap();
    let err = sock
        .bind_with_mode(&Address::abstract_name(unique("mode")), 0o600)
        .unwrap_err();
    assert_eq!(err.errno(), Some(nix::errno::Errno::EINVAL));
    assert!(sock.local_addr().unwrap() == Address::Unnamed, "not bound");
}
