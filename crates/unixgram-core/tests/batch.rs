#![allow(clippy::unwrap_used)]
//! recvmmsg / sendmmsg over real socketpairs.

mod common;

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd};

use unixgram_core::{Address, OutMessage, SendAncillary, Socket};

fn recv_all(sock: &mut Socket, max: usize) -> (Vec<u8>, Vec<usize>, Vec<usize>) {
    let mut out = Vec::new();
    let mut lens = Vec::new();
    let mut fds = Vec::new();
    sock.recv_many(max, false, &mut out, |r| {
        let d = r.unwrap();
        lens.push(d.len);
        fds.push(d.ancillary.fds.len());
    })
    .unwrap();
    (out, lens, fds)
}

#[test]
fn send_many_then_recv_many_keeps_order_sizes_and_per_datagram_fds() {
    let (a, mut b) = Socket::pair().unwrap();
    let pipe = nix::unistd::pipe().unwrap();
    let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; i as usize * 3]).collect();
    let iovs: Vec<[IoSlice<'_>; 1]> = payloads.iter().map(|p| [IoSlice::new(p)]).collect();
    let one = [pipe.0.as_raw_fd()];
    let msgs: Vec<OutMessage<'_>> = iovs
        .iter()
        .enumerate()
        .map(|(i, iov)| OutMessage {
            segment_size: None,
            iov,
            ancillary: SendAncillary {
                fds: if i % 3 == 0 { &one } else { &[] },
                credentials: None,
            },
            dest: None,
        })
        .collect();
    assert_eq!(a.send_many(&msgs).unwrap(), 10);
    let (out, lens, fds) = recv_all(&mut b, 16);
    assert_eq!(lens, (0..10).map(|i| i * 3).collect::<Vec<_>>());
    assert_eq!(out, payloads.concat());
    assert_eq!(fds, vec![1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
}

#[test]
fn recv_many_returns_zero_on_an_empty_queue_and_short_when_it_runs_dry() {
    let (a, mut b) = Socket::pair().unwrap();
    assert_eq!(recv_all(&mut b, 16).1.len(), 0);
    for i in 0..3u8 {
        a.send(&[IoSlice::new(&[i])], &SendAncillary::default(), None)
            .unwrap();
    }
    let mut out = Vec::new();
    let got = b
        .recv_many(16, false, &mut out, |r| drop(r.unwrap()))
        .unwrap();
    assert_eq!(got, 3);
    assert_eq!(out, vec![0, 1, 2]);
}

#[test]
fn recv_many_takes_large_and_small_datagrams_whole_in_one_batch() {
    let (a, mut b) = Socket::pair().unwrap();
    let big = vec![0xabu8; 1 << 20];
    // a socketpair is limited by the sender's SO_SNDBUF: room for all three in flight
    a.set_send_buffer_size(2 << 20).unwrap();
    a.send(&[IoSlice::new(b"x")], &SendAncillary::default(), None)
        .unwrap();
    a.send(&[IoSlice::new(&big)], &SendAncillary::default(), None)
        .unwrap();
    a.send(&[IoSlice::new(b"yz")], &SendAncillary::default(), None)
        .unwrap();
    let (out, lens, _) = recv_all(&mut b, 16);
    assert_eq!(lens, vec![1, 1 << 20, 2]);
    assert_eq!(&out[..1], b"x");
    assert!(out[1..1 + (1 << 20)].iter().all(|&c| c == 0xab));
    assert_eq!(&out[1 + (1 << 20)..], b"yz");
    // the slot that held the big datagram reads clean next time
    a.send(&[IoSlice::new(b"after")], &SendAncillary::default(), None)
        .unwrap();
    assert_eq!(recv_all(&mut b, 16).0, b"after");
}

#[test]
fn send_many_stops_at_a_full_queue_and_reports_how_many_went() {
    let dir = std::env::temp_dir().join(format!("ugc-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rx.sock");
    let _ = std::fs::remove_file(&path);
    let rx = Socket::new().unwrap();
    rx.bind(&unixgram_core::Address::path(&path)).unwrap();
    let mut tx = Socket::new().unwrap();
    tx.connect(&unixgram_core::Address::path(&path)).unwrap();
    let iov = [IoSlice::new(b"m")];
    let msgs = vec![
        OutMessage {
            segment_size: None,
            iov: &iov,
            ancillary: SendAncillary::default(),
            dest: None,
        };
        100
    ];
    let sent = tx.send_many(&msgs).unwrap();
    assert!(
        sent > 0 && sent < 100,
        "max_dgram_qlen caps the queue: sent {sent}"
    );
    let err = tx.send_many(&msgs).unwrap_err();
    assert_eq!(err.code(), "EAGAIN");
    assert!(rx.as_fd().as_raw_fd() >= 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_of_large_then_small_datagrams_arrive_whole_in_order_with_their_fds() {
    // Large datagrams switch the socket to one recvmsg per datagram straight into the
    // caller's buffer; small ones switch it back to recvmmsg. Either way: same results.
    let (a, mut b) = Socket::pair().unwrap();
    a.set_send_buffer_size(4 << 20).unwrap();
    let pipe = nix::unistd::pipe().unwrap();
    let fd = pipe.0.as_raw_fd();
    let payload =
        |i: usize, len: usize| -> Vec<u8> { (0..len).map(|k| (i * 7 + k) as u8).collect() };
    let mut expected_lens = Vec::new();
    let mut expected = Vec::new();
    let mut got_lens = Vec::new();
    let mut got = Vec::new();
    let mut got_fds = Vec::new();
    for round in 0..6 {
        // rounds 0-2 large (64 KiB), 3-5 small (100 B); 4 datagrams each, the second with an fd
        let len = if round < 3 { 64 << 10 } else { 100 };
        for i in 0..4 {
            let data = payload(round * 4 + i, len);
            let fds = [fd];
            let anc = SendAncillary {
                fds: if i == 1 { &fds } else { &[] },
                credentials: None,
            };
            a.send(&[IoSlice::new(&data)], &anc, None).unwrap();
            expected_lens.push(len);
            expected.extend_from_slice(&data);
        }
        let (out, lens, fds) = recv_all(&mut b, 16);
        assert_eq!(lens.len(), 4, "round {round}: one call takes the 4 queued");
        assert_eq!(fds, vec![0, 1, 0, 0], "round {round}");
        got_lens.extend(lens);
        got.extend(out);
        got_fds.extend(fds);
    }
    assert_eq!(got_lens, expected_lens);
    assert!(got == expected, "every byte, in order");
    let mut out = Vec::new();
    assert_eq!(b.recv_many(16, false, &mut out, |_| ()).unwrap(), 0);
    drop(pipe);
}

#[test]
fn one_sendmmsg_reaches_several_peers_each_datagram_to_its_own_destination() {
    let (a, b) = (
        Address::abstract_name(common::unique("a")),
        Address::abstract_name(common::unique("b")),
    );
    let mut rx_a = Socket::new().unwrap();
    rx_a.bind(&a).unwrap();
    let mut rx_b = Socket::new().unwrap();
    rx_b.bind(&b).unwrap();
    let tx = Socket::new().unwrap();
    let payloads: Vec<Vec<u8>> = (0..6).map(|i| format!("#{i}").into_bytes()).collect();
    let iovs: Vec<[IoSlice<'_>; 1]> = payloads.iter().map(|p| [IoSlice::new(p)]).collect();
    let msgs: Vec<OutMessage<'_>> = iovs
        .iter()
        .enumerate()
        .map(|(i, iov)| OutMessage {
            segment_size: None,
            iov,
            ancillary: SendAncillary::default(),
            dest: Some(if i % 2 == 0 { &a } else { &b }),
        })
        .collect();
    assert_eq!(tx.send_many(&msgs).unwrap(), 6);
    for (rx, want) in [
        (&mut rx_a, ["#0", "#2", "#4"]),
        (&mut rx_b, ["#1", "#3", "#5"]),
    ] {
        for w in want {
            let mut out = Vec::new();
            rx.recv(&mut out, false).unwrap().unwrap();
            assert_eq!(out, w.as_bytes());
        }
    }
    // A destination that cannot be sent to is refused before anything is sent.
    let too_long = Address::path("/".repeat(200));
    let bad = [
        OutMessage {
            segment_size: None,
            iov: &iovs[0],
            ancillary: SendAncillary::default(),
            dest: Some(&a),
        },
        OutMessage {
            segment_size: None,
            iov: &iovs[1],
            ancillary: SendAncillary::default(),
            dest: Some(&too_long),
        },
    ];
    assert_eq!(
        tx.send_many(&bad).unwrap_err().errno(),
        Some(nix::errno::Errno::ENAMETOOLONG)
    );
    let mut out = Vec::new();
    assert!(
        rx_a.recv(&mut out, false).unwrap().is_none(),
        "nothing went out"
    );
}
