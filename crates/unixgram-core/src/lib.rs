//! Unix-domain datagram sockets with owned control messages, for Linux.
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

#![deny(unsafe_op_in_unsafe_fn)]

pub mod addr;
pub mod batch;
pub mod cmsg;
pub mod error;
pub mod msg;
pub mod socket;

pub use addr::Address;
pub use batch::{OutMessage, RecvBatch};
pub use cmsg::{Credentials, Received, MAX_FDS_PER_MESSAGE};
pub use error::{Error, ErrorKind, Result};
pub use msg::{Datagram, SendAncillary};
pub use socket::UnixDatagram;
