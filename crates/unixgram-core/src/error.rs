//! One error type for every operation: what failed (`syscall`), why (`kind`), and where
//! (`address`), so a binding can build an error in Node's shape without guessing.

use std::fmt;

use nix::errno::Errno;

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The kernel refused: the errno is kept as is.
    Os(Errno),
    /// `MSG_TRUNC`: the datagram did not fit the buffer. `size` is its real length.
    Truncated { size: usize, capacity: usize },
    /// `MSG_CTRUNC`: control data was cut; the fds that did arrive were closed.
    ControlTruncated,
    /// An adopted descriptor is not an `AF_UNIX` / `SOCK_DGRAM` socket.
    NotUnixDatagram,
    /// A Linux-only feature (abstract names, autobind, credentials, pidfds) asked for on
    /// another platform: refused before any syscall. On Linux only for a feature newer than
    /// the running kernel (pidfds need 6.5): raised after the kernel's `ENOPROTOOPT`, with a
    /// detail naming the kernel release.
    Unsupported {
        /// What was asked for, e.g. `"abstract socket addresses"`.
        feature: &'static str,
        /// The platform that lacks it: [`PLATFORM`].
        platform: &'static str,
    },
    /// A descriptor received as a sealed payload ([`crate::memfd::map_sealed`]) is not sealed
    /// against writing, shrinking and growing, so its sender could change it while it is read
    /// (or shrink it under the mapping: `SIGBUS`). Also raised for a descriptor that cannot
    /// carry seals at all (a pipe, a socket, a file outside memfd/tmpfs/hugetlbfs): the
    /// receiver refuses both for the same reason, so they share one code.
    NotSealed {
        /// What `F_GET_SEALS` reported, or `None` when the file cannot carry seals.
        seals: Option<u32>,
    },
    /// A payload is larger than the receiver accepts.
    PayloadTooLarge {
        /// Its size in bytes.
        size: u64,
        /// The most the receiver takes.
        limit: usize,
    },
}

/// The name of the platform this crate was built for, as error messages give it.
pub const PLATFORM: &str = if cfg!(target_os = "linux") {
    "Linux"
} else if cfg!(target_os = "macos") {
    "macOS"
} else if cfg!(target_os = "freebsd") {
    "FreeBSD"
} else {
    std::env::consts::OS
};

/// An error from a socket operation, with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    syscall: &'static str,
    /// The address as it prints (`/run/x.sock`, `@name`): what messages and bindings show.
    address: Option<String>,
    detail: Option<String>,
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An errno returned by `syscall`.
    pub fn os(errno: Errno, syscall: &'static str) -> Self {
        Self {
            kind: ErrorKind::Os(errno),
            syscall,
            address: None,
            detail: None,
        }
    }

    /// An error of another kind raised while doing `syscall`.
    pub fn new(kind: ErrorKind, syscall: &'static str) -> Self {
        Self {
            kind,
            syscall,
            address: None,
            detail: None,
        }
    }

    /// `feature` does not exist on this platform ([`ErrorKind::Unsupported`]), found while
    /// doing `syscall` (which was not made).
    pub fn unsupported(feature: &'static str, syscall: &'static str) -> Self {
        Self::new(
            ErrorKind::Unsupported {
                feature,
                platform: PLATFORM,
            },
            syscall,
        )
    }

    /// Attach the address the operation was about (an
    /// [`Address`](crate::addr::Address), or anything else that prints as one).
    #[must_use]
    pub fn with_address(mut self, address: &impl fmt::Display) -> Self {
        self.address = Some(address.to_string());
        self
    }

    /// Attach a sentence that says more than the errno does.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The syscall that failed, as Node names it (`"connect"`, `"sendmsg"`, ...).
    pub fn syscall(&self) -> &'static str {
        self.syscall
    }

    /// The address involved, as it prints, if any.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The extra explanation, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The errno, for OS errors.
    pub fn errno(&self) -> Option<Errno> {
        match self.kind {
            ErrorKind::Os(errno) => Some(errno),
            _ => None,
        }
    }

    /// The string code Node users match on: the errno name (`"ENOENT"`) or a
    /// library code (`"ERR_UNIXGRAM_TRUNCATED"`).
    pub fn code(&self) -> String {
        match self.kind {
            ErrorKind::Os(errno) => format!("{errno:?}"),
            ErrorKind::Truncated { .. } => "ERR_UNIXGRAM_TRUNCATED".to_owned(),
            ErrorKind::ControlTruncated => "ERR_UNIXGRAM_CONTROL_TRUNCATED".to_owned(),
            ErrorKind::NotUnixDatagram => "ERR_UNIXGRAM_NOT_UNIX_DGRAM".to_owned(),
            ErrorKind::Unsupported { .. } => "ERR_UNIXGRAM_UNSUPPORTED".to_owned(),
            ErrorKind::NotSealed { .. } => "ERR_UNIXGRAM_MEMFD_NOT_SEALED".to_owned(),
            ErrorKind::PayloadTooLarge { .. } => "ERR_UNIXGRAM_PAYLOAD_TOO_LARGE".to_owned(),
        }
    }
}

/// Node's `ErrnoException` format: `"<syscall> <CODE> <address>"`, then the detail.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.syscall, self.code())?;
        if let Some(address) = &self.address {
            write!(f, " {address}")?;
        }
        match (&self.detail, &self.kind) {
            (Some(detail), _) => write!(f, ": {detail}"),
            (None, ErrorKind::Os(errno)) => write!(f, ": {}", errno.desc()),
            (None, ErrorKind::Truncated { size, capacity }) => write!(
                f,
                ": a datagram of {size} bytes did not fit the {capacity}-byte buffer and was discarded"
            ),
            (None, ErrorKind::ControlTruncated) => write!(
                f,
                ": control data was truncated (MSG_CTRUNC); the datagram was discarded and the file descriptors that arrived with it were closed"
            ),
            (None, ErrorKind::NotUnixDatagram) => {
                write!(f, ": the descriptor is not an AF_UNIX SOCK_DGRAM socket")
            }
            (None, ErrorKind::Unsupported { feature, platform }) => {
                write!(f, ": {platform} does not support {feature} (Linux only)")
            }
            (None, ErrorKind::NotSealed { seals: Some(seals) }) => write!(
                f,
                ": the memfd is not sealed against {}; its sender could change it while it is read",
                missing_seals(*seals)
            ),
            (None, ErrorKind::NotSealed { seals: None }) => write!(
                f,
                ": the descriptor cannot be sealed (it is not a memfd); its sender could change it while it is read"
            ),
            (None, ErrorKind::PayloadTooLarge { size, limit }) => write!(
                f,
                ": a payload of {size} bytes is larger than the limit of {limit} bytes (raise maxPayloadSize to accept it)"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `F_SEAL_WRITE`, `F_SEAL_SHRINK`, `F_SEAL_GROW` as Linux numbers them (fcntl(2)): the seals
/// a payload needs, named as a message says what is missing.
const NEEDED_SEALS: [(u32, &str); 3] = [
    (0x0008, "writing"),
    (0x0002, "shrinking"),
    (0x0004, "growing"),
];

/// The needed seals absent from `seals`, as words: `"writing"`, `"writing and growing"`,
/// `"writing, shrinking and growing"`.
fn missing_seals(seals: u32) -> String {
    let missing: Vec<&str> = NEEDED_SEALS
        .iter()
        .filter(|(bit, _)| seals & bit == 0)
        .map(|&(_, word)| word)
        .collect();
    match missing.as_slice() {
        [] => "writing".to_owned(), // not reached: map_sealed only raises it when one is absent
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn message_follows_node_errno_exception() {
        let err = Error::os(Errno::ENOENT, "connect").with_address(&"/run/x.sock");
        assert_eq!(err.code(), "ENOENT");
        assert_eq!(
            err.to_string(),
            "connect ENOENT /run/x.sock: No such file or directory"
        );
    }

    #[test]
    fn library_codes_are_stable() {
        let err = Error::new(
            ErrorKind::Truncated {
                size: 10,
                capacity: 4,
            },
            "recvmsg",
        );
        assert_eq!(err.code(), "ERR_UNIXGRAM_TRUNCATED");
        assert!(err.to_string().contains("10 bytes"));
        assert_eq!(err.errno(), None);
    }

    #[test]
    fn not_sealed_names_the_missing_seals() {
        let err = Error::new(ErrorKind::NotSealed { seals: Some(0) }, "fcntl");
        assert_eq!(err.code(), "ERR_UNIXGRAM_MEMFD_NOT_SEALED");
        assert_eq!(
            err.to_string(),
            "fcntl ERR_UNIXGRAM_MEMFD_NOT_SEALED: the memfd is not sealed against writing, shrinking and growing; its sender could change it while it is read"
        );
        // F_SEAL_SHRINK | F_SEAL_GROW present, F_SEAL_WRITE missing.
        let err = Error::new(ErrorKind::NotSealed { seals: Some(0x6) }, "fcntl");
        assert!(
            err.to_string().contains("not sealed against writing;"),
            "{err}"
        );
        // Only F_SEAL_SHRINK present.
        assert_eq!(missing_seals(0x2), "writing and growing");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn needed_seals_are_linux_numbers() {
        let bits: Vec<u32> = NEEDED_SEALS.iter().map(|&(bit, _)| bit).collect();
        let linux = [libc::F_SEAL_WRITE, libc::F_SEAL_SHRINK, libc::F_SEAL_GROW];
        assert_eq!(bits, linux.map(|b| b as u32));
    }

    #[test]
    fn payload_too_large_names_size_limit_and_option() {
        let err = Error::new(
            ErrorKind::PayloadTooLarge {
                size: 5000,
                limit: 4096,
            },
            "fstat",
        );
        assert_eq!(err.code(), "ERR_UNIXGRAM_PAYLOAD_TOO_LARGE");
        assert_eq!(err.errno(), None);
        assert_eq!(
            err.to_string(),
            "fstat ERR_UNIXGRAM_PAYLOAD_TOO_LARGE: a payload of 5000 bytes is larger than the limit of 4096 bytes (raise maxPayloadSize to accept it)"
        );
    }

    #[test]
    fn unsupported_names_the_feature_and_the_platform() {
        let err = Error::unsupported("abstract socket addresses", "bind").with_address(&"@svc");
        assert_eq!(err.code(), "ERR_UNIXGRAM_UNSUPPORTED");
        assert_eq!(err.errno(), None);
        assert_eq!(
            err.to_string(),
            format!(
                "bind ERR_UNIXGRAM_UNSUPPORTED @svc: {PLATFORM} does not support abstract socket addresses (Linux only)"
            )
        );
    }
}
