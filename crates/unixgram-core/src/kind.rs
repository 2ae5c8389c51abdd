//! What kind of socket: the family and type it was made with.

use nix::sys::socket::{AddressFamily, SockType};

/// The family and type a socket was made with: what the kernel does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `AF_UNIX` / `SOCK_DGRAM`.
    UnixDatagram,
    /// `AF_UNIX` / `SOCK_SEQPACKET`: connection-oriented, message boundaries kept. A read of
    /// zero bytes is the end of the stream (the peer closed), as Go's `unixpacket` and
    /// python's `recv` read it, so an empty packet cannot be told from it.
    UnixSeqpacket,
    /// `AF_INET` / `SOCK_DGRAM`: UDP over IPv4.
    Udp4,
    /// `AF_INET6` / `SOCK_DGRAM`: UDP over IPv6.
    Udp6,
}

impl Kind {
    pub(crate) fn family(self) -> AddressFamily {
        match self {
            Self::UnixDatagram | Self::UnixSeqpacket => AddressFamily::Unix,
            Self::Udp4 => AddressFamily::Inet,
            Self::Udp6 => AddressFamily::Inet6,
        }
    }

    pub(crate) fn sock_type(self) -> SockType {
        match self {
            Self::UnixSeqpacket => SockType::SeqPacket,
            _ => SockType::Datagram,
        }
    }

    /// UDP, over either IP version.
    pub fn is_udp(self) -> bool {
        matches!(self, Self::Udp4 | Self::Udp6)
    }

    /// The UDP kind for an address of that IP version.
    pub fn udp_for(addr: &std::net::SocketAddr) -> Self {
        if addr.is_ipv4() {
            Self::Udp4
        } else {
            Self::Udp6
        }
    }
}
