//! UDP (GSO out, GRO in, drop counts) and SOCK_SEQPACKET (listen, accept, end of stream) on
//! real sockets over loopback.
#![allow(clippy::unwrap_used)]

use std::io::IoSlice;

use unixgram_core::{Address, Kind, OutMessage, SendAncillary, Socket};

fn udp_pair() -> (Socket, Socket) {
    let any: Address = Address::Inet("127.0.0.1:0".parse().unwrap());
    let rx = Socket::with_kind(Kind::Udp4).unwrap();
    rx.bind(&any).unwrap();
    let mut tx = Socket::with_kind(Kind::Udp4).unwrap();
    tx.bind(&any).unwrap();
    tx.connect(&rx.local_addr().unwrap()).unwrap();
    (tx, rx)
}

fn recv_all(rx: &mut Socket) -> (Vec<u8>, Vec<(usize, Option<u16>)>) {
    let mut out = Vec::new();
    let mut got: Vec<(usize, Option<u16>)> = Vec::new();
    rx.wait_readable(2000).unwrap();
    while got
        .iter()
        .map(|(n, s)| s.map_or(1, |s| n.div_ceil(usize::from(s))))
        .sum::<usize>()
        < 10
    {
        let mut each = |r: unixgram_core::Result<unixgram_core::Datagram>| {
            let d = r.unwrap();
            got.push((d.len, d.ancillary.segment_size));
        };
        if rx.recv_many(16, true, &mut out, &mut each).unwrap() == 0
            && !rx.wait_readable(2000).unwrap()
        {
            break;
        }
    }
    (out, got)
}

#[test]
fn equal_datagrams_go_out_as_one_gso_message_and_come_in_coalesced_with_gro() {
    let (tx, mut rx) = udp_pair();
    rx.set_udp_gro(true).unwrap();
    let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 100]).collect();
    let iovs: Vec<[IoSlice<'_>; 1]> = payloads.iter().map(|p| [IoSlice::new(p)]).collect();
    let msgs: Vec<OutMessage<'_>> = iovs
        .iter()
        .map(|iov| OutMessage {
            iov,
            ancillary: SendAncillary::default(),
            dest: None,
            segment_size: None,
        })
        .collect();
    assert_eq!(tx.send_many(&msgs).unwrap(), 10);
    let (bytes, got) = recv_all(&mut rx);
    assert_eq!(bytes, payloads.concat());
    // One coalesced message of ten 100-byte segments (the kernel may split it, never merge
    // across senders or sizes).
    assert!(got
        .iter()
        .all(|(_, seg)| *seg == Some(100) || seg.is_none()));
    assert!(got.len() < 10, "coalesced: {got:?}");
}

#[test]
fn without_gro_each_datagram_arrives_on_its_own_and_drops_are_counted() {
    let (tx, mut rx) = udp_pair();
    rx.set_report_drops(true).unwrap();
    rx.set_recv_buffer_size(4096).unwrap();
    let payload = [7u8; 1000];
    for _ in 0..200 {
        let _ = tx.send(&[IoSlice::new(&payload)], &SendAncillary::default(), None);
    }
    let mut out = Vec::new();
    let mut lens = Vec::new();
    while rx
        .recv_many(16, false, &mut out, |r| lens.push(r.unwrap().len))
        .unwrap()
        > 0
    {}
    assert!(lens.iter().all(|n| *n == 1000));
    assert!(lens.len() < 200);
    // The count comes with the datagrams queued after the drops.
    assert_eq!(rx.drops(), 0);
    tx.send(&[IoSlice::new(&payload)], &SendAncillary::default(), None)
        .unwrap();
    rx.wait_readable(2000).unwrap();
    rx.recv_many(16, false, &mut out, |r| lens.push(r.unwrap().len))
        .unwrap();
    assert_eq!(rx.drops() as usize, 200 - (lens.len() - 1));
}

#[test]
fn a_udp_socket_refuses_unix_addresses_and_an_ipv4_one_refuses_ipv6() {
    let s = Socket::with_kind(Kind::Udp4).unwrap();
    let err = s.bind(&Address::path("/tmp/x.sock")).unwrap_err();
    assert_eq!(err.code(), "EAFNOSUPPORT");
    let mut s = s;
    let err = s
        .connect(&Address::Inet("[::1]:9".parse().unwrap()))
        .unwrap_err();
    assert_eq!(err.code(), "EAFNOSUPPORT");
}

#[test]
fn seqpacket_accepts_keeps_boundaries_and_reads_the_end_of_stream() {
    let dir = std::env::temp_dir().join(format!("ug-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = Address::path(dir.join("s.sock"));
    let listener = Socket::with_kind(Kind::UnixSeqpacket).unwrap();
    listener.bind(&path).unwrap();
    listener.listen(8).unwrap();
    assert!(listener.accept().unwrap().is_none());
    let mut client = Socket::with_kind(Kind::UnixSeqpacket).unwrap();
    client.connect(&path).unwrap();
    let mut conn = listener.accept().unwrap().unwrap();
    assert_eq!(conn.kind(), Kind::UnixSeqpacket);
    for p in [&b"one"[..], b"two!"] {
        client
            .send(&[IoSlice::new(p)], &SendAncillary::default(), None)
            .unwrap();
    }
    let err = client
        .send(&[IoSlice::new(b"")], &SendAncillary::default(), None)
        .unwrap_err();
    assert_eq!(err.code(), "EINVAL");
    drop(client);
    let mut out = Vec::new();
    let mut lens = Vec::new();
    conn.recv_many(16, false, &mut out, |r| lens.push(r.unwrap().len))
        .unwrap();
    assert_eq!(lens, [3, 4]);
    assert_eq!(out, b"onetwo!");
    assert!(conn.at_eof());
    assert_eq!(
        conn.recv_many(16, false, &mut out, |_| panic!("nothing after the end"))
            .unwrap(),
        0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
