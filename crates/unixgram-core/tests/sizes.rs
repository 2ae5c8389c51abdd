//! Large datagrams: the send buffer grows on demand, and the hard ceiling is a clear error.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::IoSlice;

use common::TempDir;
use unixgram_core::{Address, SendAncillary, Socket};

#[test]
fn one_megabyte_datagram_raises_sndbuf_and_arrives_whole() {
    let (a, mut b) = Socket::pair().unwrap();
    let len = 1 << 20;
    assert!(
        a.max_datagram_size().unwrap() < len,
        "the default sndbuf is smaller"
    );
    let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        a.send(&[IoSlice::new(&payload)], &SendAncillary::default(), None)
            .unwrap(),
        len
    );
    assert!(
        a.max_datagram_size().unwrap() >= len,
        "send raised SO_SNDBUF itself"
    );
    let mut out = Vec::new();
    let d = b.recv(&mut out, false).unwrap().unwrap();
    assert_eq!(d.len, len);
    assert!(out == payload, "payload differs");
    assert!(b.recv(&mut out, false).unwrap().is_none());
}

#[test]
fn eight_megabyte_datagram_is_emsgsize_naming_the_limit() {
    let (a, mut b) = Socket::pair().unwrap();
    let payload = vec![0x5a_u8; 8 << 20];
    let err = a
        .send(&[IoSlice::new(&payload)], &SendAncillary::default(), None)
        .unwrap_err();
    assert_eq!(err.code(), "EMSGSIZE");
    assert_eq!(err.syscall(), "sendmsg");
    let msg = err.to_string();
    assert!(msg.starts_with("sendmsg EMSGSIZE"), "{msg}");
    assert!(
        msg.contains(&(8usize << 20).to_string()),
        "names the size: {msg}"
    );
    // The limit is a byte count other than the datagram's own size.
    let numbers: Vec<u64> = msg
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .filter(|&n: &u64| n > 1 << 20 && n != 8 << 20)
        .collect();
    assert!(!numbers.is_empty(), "names a limit: {msg}");
    assert!(
        b.recv(&mut Vec::new(), false).unwrap().is_none(),
        "nothing was sent"
    );
}

#[test]
fn too_big_for_the_system_names_the_peer_it_was_for() {
    let dir = TempDir::new("big-addr");
    let addr = Address::path(dir.join("server.sock"));
    let server = Socket::new().unwrap();
    server.bind(&addr).unwrap();
    let mut connected = Socket::new().unwrap();
    connected.connect(&addr).unwrap();
    let unconnected = Socket::new().unwrap();
    let payload = vec![0x5a_u8; 8 << 20];
    for (sock, dest) in [(&connected, None), (&unconnected, Some(&addr))] {
        let err = sock
            .send(&[IoSlice::new(&payload)], &SendAncillary::default(), dest)
            .unwrap_err();
        assert_eq!(err.code(), "EMSGSIZE");
        assert_eq!(err.address(), Some(addr.to_string().as_str()), "{err}");
    }
}
