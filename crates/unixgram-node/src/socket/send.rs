//! `NativeSocket`'s send methods: `send`, `sendFailed` (finishing a failed fast-path send),
//! `sendMsg` (gathered, with fds and credentials) and `sendMany` (`sendmmsg`). The fast paths
//! that take an fd number instead of the class are in `fast.rs`.

use std::io::IoSlice;

use napi::bindgen_prelude::BufferSlice;
use napi::{Env, Result};
use napi_derive::napi;
use unixgram_core::{Credentials, Error as CoreError, OutMessage, SendAncillary};

use super::{address, JsCredentials, NativeSocket};

/// Returned by the send methods when the receiver's queue is full (`-EAGAIN`): the caller
/// waits (writable event or timer) and retries; nothing was sent.
pub const WOULD_BLOCK: i32 = -libc::EAGAIN;

/// Control data for one datagram of `sendMany`.
#[napi(object)]
pub struct JsSendAncillary {
    pub fds: Option<Vec<i32>>,
    pub credentials: Option<JsCredentials>,
}

/// Map a send result: bytes sent, or [`WOULD_BLOCK`].
fn sent(r: std::result::Result<usize, CoreError>) -> std::result::Result<i32, CoreError> {
    match r {
        Ok(n) => Ok(n as i32),
        Err(e) if e.errno() == Some(nix::errno::Errno::EAGAIN) => Ok(WOULD_BLOCK),
        Err(e) => Err(e),
    }
}

#[napi]
impl NativeSocket {
    /// Send one datagram; returns bytes sent or `-EAGAIN` (-11) when the peer's queue is
    /// full. Other failures throw.
    #[napi(catch_unwind)]
    pub fn send(&self, env: Env, data: BufferSlice, dest: Option<BufferSlice>) -> Result<i32> {
        let dest = dest.map(|d| address(&d));
        self.with(&env, |s| {
            sent(s.send(
                &[IoSlice::new(&data)],
                &SendAncillary::default(),
                dest.as_ref(),
            ))
        })
    }

    /// The fast path's `sendOnFd(fd, data)` on this socket failed with `errno` (not
    /// `EAGAIN`): finish that send as `send` would, without repeating it. Returns bytes
    /// sent (an `EMSGSIZE` grew `SO_SNDBUF` and the datagram went out) or `-EAGAIN`;
    /// otherwise throws the error with the peer's address.
    #[napi(catch_unwind)]
    pub fn send_failed(&self, env: Env, errno: i32, data: BufferSlice) -> Result<i32> {
        let first = Err(CoreError::os(nix::errno::Errno::from_raw(errno), "send"));
        self.with(&env, |s| {
            sent(s.complete_send(
                first,
                &[IoSlice::new(&data)],
                &SendAncillary::default(),
                None,
            ))
        })
    }

    /// Send one datagram gathered from `chunks`, with optional fds and credentials.
    #[napi(catch_unwind)]
    pub fn send_msg(
        &self,
        env: Env,
        chunks: Vec<BufferSlice>,
        fds: Option<Vec<i32>>,
        credentials: Option<JsCredentials>,
        dest: Option<BufferSlice>,
    ) -> Result<i32> {
        let dest = dest.map(|d| address(&d));
        let iov: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
        let fds = fds.unwrap_or_default();
        let anc = SendAncillary {
            fds: &fds,
            credentials: credentials.as_ref().map(Credentials::from),
        };
        self.with(&env, |s| sent(s.send(&iov, &anc, dest.as_ref())))
    }

    /// Send many datagrams with `sendmmsg` (1024 per syscall), each with its own optional
    /// control data. Returns how many went out (fewer than given: the peer's queue is full,
    /// retry the rest), or `-EAGAIN` if none could. Other failures of the first throw.
    #[napi(catch_unwind)]
    pub fn send_many(
        &self,
        env: Env,
        datas: Vec<BufferSlice>,
        ancillary: Option<Vec<Option<JsSendAncillary>>>,
        dest: Option<BufferSlice>,
    ) -> Result<i32> {
        let dest = dest.map(|d| address(&d));
        let iovs: Vec<[IoSlice<'_>; 1]> = datas.iter().map(|d| [IoSlice::new(d)]).collect();
        let fds: Vec<Vec<i32>> = match &ancillary {
            Some(list) => list
                .iter()
                .map(|a| a.as_ref().and_then(|a| a.fds.clone()).unwrap_or_default())
                .collect(),
            None => Vec::new(),
        };
        let msgs: Vec<OutMessage<'_>> = iovs
            .iter()
            .enumerate()
            .map(|(i, iov)| {
                let anc = ancillary
                    .as_ref()
                    .and_then(|l| l.get(i))
                    .and_then(Option::as_ref);
                OutMessage {
                    iov,
                    ancillary: SendAncillary {
                        fds: fds.get(i).map_or(&[][..], Vec::as_slice),
                        credentials: anc
                            .and_then(|a| a.credentials.as_ref())
                            .map(Credentials::from),
                    },
                }
            })
            .collect();
        self.with(&env, |s| sent(s.send_many(&msgs, dest.as_ref())))
    }
}
