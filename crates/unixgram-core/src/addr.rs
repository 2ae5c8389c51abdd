//! Socket addresses: for Unix sockets filesystem paths, Linux abstract names and unnamed
//! sockets; for UDP an IPv4 or IPv6 address and port.
//!
//! Abstract names are passed to the kernel with their exact length
//! (`offsetof(sun_path) + 1 + name.len()`), never padded to 108 bytes, so peers written in
//! C, Go, Python or systemd see the same name. A path that does not fit `sun_path` is an
//! `ENAMETOOLONG` error, never cut.
//!
//! Abstract names and autobind exist on Linux only. On macOS and FreeBSD an abstract
//! address is refused with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before
//! any syscall, and `sun_path` holds 104 bytes instead of 108.

use std::ffi::OsStr;
use std::fmt;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::sys::socket::{SockaddrLike, SockaddrStorage, UnixAddr};

use crate::error::{Error, Result};
use crate::kind::Kind;

/// Capacity of `sockaddr_un::sun_path`: 108 bytes on Linux.
#[cfg(target_os = "linux")]
pub const SUN_PATH_LEN: usize = 108;

/// Capacity of `sockaddr_un::sun_path`: 104 bytes on macOS and FreeBSD.
#[cfg(not(target_os = "linux"))]
pub const SUN_PATH_LEN: usize = 104;

/// Where a socket is (or is not) bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address and port (UDP sockets).
    Inet(SocketAddr),
    /// A filesystem path (raw bytes, no NUL).
    Path(Vec<u8>),
    /// A Linux abstract name, without the leading NUL; may hold any byte.
    Abstract(Vec<u8>),
    /// No name. As a bind target it means "autobind" (the kernel picks an abstract name).
    Unnamed,
}

impl Address {
    /// A filesystem address.
    pub fn path(path: impl AsRef<OsStr>) -> Self {
        Self::Path(path.as_ref().as_bytes().to_vec())
    }

    /// An abstract address (no leading NUL).
    pub fn abstract_name(name: impl AsRef<[u8]>) -> Self {
        Self::Abstract(name.as_ref().to_vec())
    }

    /// Decode the `sun_path` convention: empty = unnamed, leading NUL = abstract, else a path.
    pub fn from_sun_path(bytes: &[u8]) -> Self {
        match bytes.split_first() {
            None => Self::Unnamed,
            Some((0, name)) => Self::Abstract(name.to_vec()),
            Some(_) => Self::Path(bytes.to_vec()),
        }
    }

    /// The `sun_path` convention, the inverse of [`Address::from_sun_path`].
    pub fn to_sun_path(&self) -> Vec<u8> {
        match self {
            Self::Path(p) => p.clone(),
            Self::Abstract(name) => {
                let mut v = Vec::with_capacity(name.len() + 1);
                v.push(0);
                v.extend_from_slice(name);
                v
            }
            Self::Unnamed | Self::Inet(_) => Vec::new(),
        }
    }

    /// Check the address fits `sun_path`, with the errno the kernel would give.
    pub fn validate(&self, syscall: &'static str) -> Result<()> {
        let err = |errno, detail: String| Err(Error::os(errno, syscall).with_detail(detail));
        match self {
            Self::Path(p) if p.is_empty() => err(Errno::EINVAL, "the path is empty".into()),
            Self::Path(p) if p.contains(&0) => {
                err(Errno::EINVAL, "the path contains a NUL byte".into())
            }
            Self::Path(p) if p.len() >= SUN_PATH_LEN => err(
                Errno::ENAMETOOLONG,
                format!(
                    "the path is {} bytes; a Unix socket path holds at most {} bytes",
                    p.len(),
                    SUN_PATH_LEN - 1
                ),
            ),
            Self::Abstract(n) if n.len() >= SUN_PATH_LEN => err(
                Errno::ENAMETOOLONG,
                format!(
                    "the abstract name is {} bytes; at most {} fit",
                    n.len(),
                    SUN_PATH_LEN - 1
                ),
            ),
            _ => Ok(()),
        }
    }

    /// The kernel form, with the exact address length.
    #[cfg(target_os = "linux")]
    pub(crate) fn to_unix_addr(&self, syscall: &'static str) -> Result<UnixAddr> {
        self.validate(syscall).map_err(|e| e.with_address(self))?;
        let made = match self {
            Self::Path(p) => UnixAddr::new(OsStr::from_bytes(p)),
            Self::Abstract(name) => UnixAddr::new_abstract(name),
            Self::Unnamed => Ok(UnixAddr::new_unnamed()),
            Self::Inet(_) => Err(Errno::EAFNOSUPPORT),
        };
        made.map_err(|errno| Error::os(errno, syscall).with_address(self))
    }

    /// The kernel form. macOS and FreeBSD have no abstract namespace: an abstract address
    /// is [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), and an unnamed one
    /// (which names no socket) is `EINVAL`, as Linux answers a `connect`/`sendmsg` to it.
    /// (Binding to `Unnamed`, autobind, is refused earlier by `Socket::bind`.)
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn to_unix_addr(&self, syscall: &'static str) -> Result<UnixAddr> {
        self.validate(syscall).map_err(|e| e.with_address(self))?;
        match self {
            Self::Path(p) => UnixAddr::new(OsStr::from_bytes(p))
                .map_err(|errno| Error::os(errno, syscall).with_address(self)),
            Self::Abstract(_) => {
                Err(Error::unsupported("abstract socket addresses", syscall).with_address(self))
            }
            Self::Unnamed => Err(Error::os(Errno::EINVAL, syscall)
                .with_address(self)
                .with_detail("an unnamed address names no socket")),
            Self::Inet(_) => Err(Error::os(Errno::EAFNOSUPPORT, syscall).with_address(self)),
        }
    }

    /// The kernel form of any address: a `sockaddr_un` as [`to_unix_addr`](Self::to_unix_addr)
    /// makes it, or a `sockaddr_in` / `sockaddr_in6`.
    pub(crate) fn to_sockaddr(&self, syscall: &'static str) -> Result<SockaddrStorage> {
        match self {
            Self::Inet(addr) => Ok(SockaddrStorage::from(*addr)),
            unix => unix.to_unix_addr(syscall).map(|ua| {
                // SAFETY: `ua` is a valid sockaddr_un of the length it reports.
                unsafe { SockaddrStorage::from_raw(ua.as_ptr().cast(), Some(ua.len())) }
                    .unwrap_or_else(|| unreachable!("a sockaddr_un fits sockaddr_storage"))
            }),
        }
    }

    /// The kernel form of `self` for a socket of `kind`. An address of the other family is
    /// `EAFNOSUPPORT` before any syscall (an IP address on a Unix socket, a path on a UDP
    /// one, IPv6 on an IPv4 socket); an IPv4 address on an IPv6 socket is taken in its
    /// IPv4-mapped form (`::ffff:a.b.c.d`), as the kernel reports such peers.
    pub(crate) fn to_sockaddr_for(
        &self,
        kind: Kind,
        syscall: &'static str,
    ) -> Result<SockaddrStorage> {
        let refuse = |detail: &'static str| {
            Err(Error::os(Errno::EAFNOSUPPORT, syscall)
                .with_address(self)
                .with_detail(detail))
        };
        match (kind, self) {
            (Kind::Udp6, Self::Inet(SocketAddr::V4(v4))) => {
                let mapped = SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port());
                Ok(SockaddrStorage::from(mapped))
            }
            (Kind::Udp4, Self::Inet(SocketAddr::V6(_))) => {
                refuse("an IPv4 UDP socket takes an IPv4 address")
            }
            (Kind::Udp4 | Kind::Udp6, Self::Inet(_)) => self.to_sockaddr(syscall),
            (Kind::Udp4 | Kind::Udp6, _) => refuse("a UDP socket takes an IP address and a port"),
            (Kind::UnixDatagram | Kind::UnixSeqpacket, Self::Inet(_)) => {
                refuse("a Unix socket takes a path or an abstract name")
            }
            _ => self.to_sockaddr(syscall),
        }
    }

    /// Read back a name the kernel wrote: by its family, a Unix address, an IPv4 or IPv6 one,
    /// or `Unnamed` for anything else (an empty name).
    pub(crate) fn from_storage(addr: &SockaddrStorage) -> Self {
        if let Some(ua) = addr.as_unix_addr() {
            Self::from_unix_addr(ua)
        } else if let Some(v4) = addr.as_sockaddr_in() {
            Self::Inet(SocketAddr::V4((*v4).into()))
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            Self::Inet(SocketAddr::V6((*v6).into()))
        } else {
            Self::Unnamed
        }
    }

    /// Read back what the kernel reported.
    #[cfg(target_os = "linux")]
    pub(crate) fn from_unix_addr(addr: &UnixAddr) -> Self {
        if let Some(p) = addr.path() {
            Self::Path(p.as_os_str().as_bytes().to_vec())
        } else if let Some(name) = addr.as_abstract() {
            Self::Abstract(name.to_vec())
        } else {
            Self::Unnamed
        }
    }

    /// Read back what the kernel reported: a path, or unnamed (no abstract namespace here).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn from_unix_addr(addr: &UnixAddr) -> Self {
        match addr.path() {
            Some(p) => Self::Path(p.as_os_str().as_bytes().to_vec()),
            None => Self::Unnamed,
        }
    }
}

/// Paths as they are, abstract names as `@name` (the `ss`/`netstat` convention), unnamed as
/// `(unnamed)`, IP addresses as `127.0.0.1:53` / `[::1]:53`. Non-printable bytes are escaped.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => write!(f, "{}", p.escape_ascii()),
            Self::Abstract(name) => write!(f, "@{}", name.escape_ascii()),
            Self::Unnamed => f.write_str("(unnamed)"),
            Self::Inet(addr) => write!(f, "{addr}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sun_path_convention_round_trips() {
        for addr in [
            Address::path("/tmp/a.sock"),
            Address::abstract_name(b"x\0y"),
            Address::Unnamed,
        ] {
            assert_eq!(Address::from_sun_path(&addr.to_sun_path()), addr);
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn abstract_names_have_exact_length() {
        let addr = Address::abstract_name("svc").to_unix_addr("bind").unwrap();
        assert_eq!(addr.path_len(), 4); // NUL + "svc", no padding
        assert_eq!(addr.as_abstract(), Some(&b"svc"[..]));
    }

    #[test]
    #[cfg(not(target_os = "linux"))]
    fn abstract_names_and_unnamed_targets_are_refused() {
        let err = Address::abstract_name("svc")
            .to_unix_addr("connect")
            .unwrap_err();
        assert_eq!(err.code(), "ERR_UNIXGRAM_UNSUPPORTED");
        assert_eq!(err.address(), Some("@svc"));
        let err = Address::Unnamed.to_unix_addr("sendmsg").unwrap_err();
        assert_eq!(err.code(), "EINVAL");
    }

    #[test]
    fn long_paths_are_refused_not_cut() {
        let long = "a".repeat(SUN_PATH_LEN);
        let err = Address::path(&long).to_unix_addr("bind").unwrap_err();
        assert_eq!(err.code(), "ENAMETOOLONG");
        assert!(Address::path("a".repeat(SUN_PATH_LEN - 1))
            .to_unix_addr("bind")
            .is_ok());
    }

    #[test]
    fn nul_in_path_is_invalid() {
        let err = Address::path("a\0b").validate("bind").unwrap_err();
        assert_eq!(err.code(), "EINVAL");
    }

    #[test]
    fn inet_addresses_round_trip_through_the_kernel_form() {
        for text in ["127.0.0.1:5353", "[::1]:53", "[fe80::1%2]:9"] {
            let addr = Address::Inet(text.parse().unwrap());
            let storage = addr.to_sockaddr("sendmsg").unwrap();
            assert_eq!(Address::from_storage(&storage), addr);
            assert_eq!(addr.to_string(), text);
        }
        let unix = Address::abstract_name("svc");
        assert_eq!(
            Address::from_storage(&unix.to_sockaddr("bind").unwrap()),
            unix
        );
    }

    #[test]
    fn display_escapes() {
        assert_eq!(Address::abstract_name(b"a\x01").to_string(), "@a\\x01");
        assert_eq!(Address::Unnamed.to_string(), "(unnamed)");
    }
}
