//! Unix socket addresses: filesystem paths, Linux abstract names and unnamed sockets.
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
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::sys::socket::UnixAddr;

use crate::error::{Error, Result};

/// Capacity of `sockaddr_un::sun_path`: 108 bytes on Linux.
#[cfg(target_os = "linux")]
pub const SUN_PATH_LEN: usize = 108;

/// Capacity of `sockaddr_un::sun_path`: 104 bytes on macOS and FreeBSD.
#[cfg(not(target_os = "linux"))]
pub const SUN_PATH_LEN: usize = 104;

/// Where a Unix socket is (or is not) bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
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
            Self::Unnamed => Vec::new(),
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
        };
        made.map_err(|errno| Error::os(errno, syscall).with_address(self))
    }

    /// The kernel form. macOS and FreeBSD have no abstract namespace: an abstract address
    /// is [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), and an unnamed one
    /// (which names no socket) is `EINVAL`, as Linux answers a `connect`/`sendmsg` to it.
    /// (Binding to `Unnamed`, autobind, is refused earlier by `UnixDatagram::bind`.)
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
/// `(unnamed)`. Non-printable bytes are escaped.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => write!(f, "{}", p.escape_ascii()),
            Self::Abstract(name) => write!(f, "@{}", name.escape_ascii()),
            Self::Unnamed => f.write_str("(unnamed)"),
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
    fn display_escapes() {
        assert_eq!(Address::abstract_name(b"a\x01").to_string(), "@a\\x01");
        assert_eq!(Address::Unnamed.to_string(), "(unnamed)");
    }
}
