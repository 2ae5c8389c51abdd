//! Unix-domain datagram sockets with owned control messages, for Linux (also built for
//! macOS and FreeBSD, with the differences below).
//!
//! This crate knows nothing of Node. What it guarantees:
//! - every socket is created `SOCK_NONBLOCK | SOCK_CLOEXEC`;
//! - every received descriptor (`SCM_RIGHTS`, `SCM_PIDFD`) is an [`OwnedFd`](std::os::fd::OwnedFd)
//!   from the moment it is read out of the control buffer, arrives close-on-exec, and is
//!   closed if the datagram is rejected;
//! - a datagram is received whole, whatever its size; `MSG_TRUNC` and `MSG_CTRUNC` are
//!   errors, never silent;
//! - abstract names have their exact length, and a path that does not fit is an error;
//! - every failure is an [`Error`] with the errno, the syscall and the address.
//!
//! # Platforms
//! Linux is the platform this crate is tested on; macOS (`x86_64`/`aarch64-apple-darwin`)
//! and FreeBSD (`x86_64-unknown-freebsd`) are type-checked (`scripts/check-cross-targets.sh`)
//! and differ as follows. A Linux-only feature asked for elsewhere fails before any syscall
//! with [`ErrorKind::Unsupported`] (code `ERR_UNIXGRAM_UNSUPPORTED`, the message naming the
//! feature and the platform); nothing is silently ignored.
//!
//! | | Linux | FreeBSD | macOS |
//! |---|---|---|---|
//! | non-blocking, close-on-exec socket | `SOCK_NONBLOCK \| SOCK_CLOEXEC` | same | `fcntl` right after `socket`, plus `SO_NOSIGPIPE` |
//! | no `SIGPIPE` on send | `MSG_NOSIGNAL` | `MSG_NOSIGNAL` | `SO_NOSIGPIPE` |
//! | received fds close-on-exec | `MSG_CMSG_CLOEXEC` | `MSG_CMSG_CLOEXEC` | `FD_CLOEXEC` set on each fd right after `recvmsg` |
//! | size of the next datagram | `MSG_PEEK \| MSG_TRUNC` | same (FreeBSD >= 13.2) | `SO_NREAD` |
//! | abstract addresses, autobind | yes | unsupported | unsupported |
//! | `sun_path` capacity | 108 | 104 | 104 |
//! | credentials (`SCM_CREDENTIALS` sent, `SO_PASSCRED`, `SO_PEERCRED`) | yes | unsupported | unsupported |
//! | pidfds (`SO_PASSPIDFD` / `SCM_PIDFD`, `SO_PEERPIDFD`, [`pidfd`]) | Linux >= 6.5, else unsupported | unsupported | unsupported |
//! | batches | `recvmmsg` / `sendmmsg` | libc's `recvmmsg` / `sendmmsg` | a loop of `recvmsg` / `sendmsg` |
//! | receive area | `mmap` `MAP_NORESERVE`, `MADV_NOHUGEPAGE`, `MADV_DONTNEED` | `mmap`, `MADV_FREE` | none |
//! | raising `SO_SNDBUF` for a big datagram | `SO_SNDBUF`, then `SO_SNDBUFFORCE` | `SO_SNDBUF` | `SO_SNDBUF` |
//! | adopted fd is `AF_UNIX` | `SO_DOMAIN` | `SO_DOMAIN` | `getsockname` family |
//! | close-on-exec pipe ([`fd::pipe`]) | `pipe2(O_CLOEXEC)` | same | `fcntl` right after `pipe` |
//! | sealed memfd payloads ([`memfd`]) | `memfd_create`, `F_ADD_SEALS`, `mmap` | unsupported | unsupported |
//!
//! Turning `SO_PASSCRED` or `SO_PASSPIDFD` *off* succeeds everywhere, and
//! [`Socket::pass_credentials`] / [`Socket::pass_pidfd`] answer `false` where they
//! do not exist (`SO_PASSPIDFD` on a Linux kernel older than 6.5, too); FreeBSD's
//! `SCM_CREDS` / `LOCAL_PEERCRED` are not used (their semantics differ, and they cannot be
//! run-tested here).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod addr;
pub mod batch;
pub mod cmsg;
pub mod error;
pub mod fd;
pub mod kind;
pub mod memfd;
pub mod msg;
pub mod pidfd;
pub mod sink;
pub mod socket;
mod sys;

pub use addr::Address;
pub use batch::{OutMessage, RecvBatch};
pub use cmsg::{Credentials, Received, MAX_FDS_PER_MESSAGE};
pub use error::{Error, ErrorKind, Result};
pub use memfd::SealedMap;
pub use msg::{Datagram, SendAncillary};
pub use sink::PayloadSink;
pub use socket::{Kind, Socket};
