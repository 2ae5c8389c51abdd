//! `NativeSocket`: the JS-visible socket. Marshalling only: semantics live in the core crate,
//! policy (queues, waiting, parsing) in TypeScript, the watcher in `watcher.rs`, and sends in
//! `send.rs` (by fd, not on the class).

use std::os::fd::{AsRawFd, IntoRawFd};

use napi::bindgen_prelude::{Buffer, BufferSlice, Either, ObjectFinalize, This};
use napi::{Env, Error, JsValue, Result, Status, Unknown};
use napi_derive::napi;
use unixgram_core::{Address, Credentials, Error as CoreError, Kind, Socket};

use crate::batch::fdset;
use crate::busy_poll::{BusyPoll, BUSY_POLL_MAX_MICROS};
use crate::error;
use crate::js;
use crate::state::{Inner, Shared};
use crate::watcher;

/// The most bytes of a filesystem path a socket address holds (`sun_path` less its NUL):
/// longer paths are `ENAMETOOLONG`, never cut.
#[napi]
pub const SUN_PATH_MAX: u32 = (unixgram_core::addr::SUN_PATH_LEN - 1) as u32;

/// Socket kind: `AF_UNIX` / `SOCK_DGRAM`.
#[napi]
pub const KIND_UNIX_DGRAM: u32 = 0;
/// Socket kind: `AF_UNIX` / `SOCK_SEQPACKET`.
#[napi]
pub const KIND_UNIX_SEQPACKET: u32 = 1;
/// Socket kind: `AF_INET` / `SOCK_DGRAM` (UDP over IPv4).
#[napi]
pub const KIND_UDP4: u32 = 2;
/// Socket kind: `AF_INET6` / `SOCK_DGRAM` (UDP over IPv6).
#[napi]
pub const KIND_UDP6: u32 = 3;

fn kind_of(env: &Env, kind: Option<u32>) -> Result<Kind> {
    match kind.unwrap_or(KIND_UNIX_DGRAM) {
        KIND_UNIX_DGRAM => Ok(Kind::UnixDatagram),
        KIND_UNIX_SEQPACKET => Ok(Kind::UnixSeqpacket),
        KIND_UDP4 => Ok(Kind::Udp4),
        KIND_UDP6 => Ok(Kind::Udp6),
        _ => Err(error::throw_code(
            env.raw(),
            "ERR_OUT_OF_RANGE",
            "kind must be one of the binding's KIND_* constants",
        )),
    }
}

fn kind_number(kind: Kind) -> u32 {
    match kind {
        Kind::UnixDatagram => KIND_UNIX_DGRAM,
        Kind::UnixSeqpacket => KIND_UNIX_SEQPACKET,
        Kind::Udp4 => KIND_UDP4,
        Kind::Udp6 => KIND_UDP6,
    }
}

/// An address argument: `sun_path` bytes (Unix) or `"host:port"` (IP).
fn address_of(env: &Env, addr: Either<BufferSlice, String>) -> Result<Address> {
    match addr {
        Either::A(bytes) => Ok(Address::from_sun_path(&bytes)),
        Either::B(text) => text.parse().map(Address::Inet).map_err(|_| {
            error::throw_code(
                env.raw(),
                "ERR_INVALID_ARG_VALUE",
                &format!("{text:?} is not an IP address and port"),
            )
        }),
    }
}

/// An address as JS takes it: `sun_path` bytes, or `"host:port"` for an IP address.
fn address_to_js(addr: Address) -> Either<Buffer, String> {
    match addr {
        Address::Inet(inet) => Either::B(inet.to_string()),
        unix => Either::A(unix.to_sun_path().into()),
    }
}

/// Credentials as JS sees them.
#[napi(object)]
pub struct JsCredentials {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl From<Credentials> for JsCredentials {
    fn from(c: Credentials) -> Self {
        Self {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        }
    }
}

/// A socket (Unix datagram or seqpacket, UDP) watched on this thread's event loop.
#[napi(custom_finalize)]
pub struct NativeSocket {
    shared: Shared,
}

impl ObjectFinalize for NativeSocket {
    /// Garbage-collected while open: release the poll handle and the fd, exactly once.
    fn finalize(self, _env: Env) -> Result<()> {
        if let Ok(mut inner) = self.shared.try_borrow_mut() {
            inner.close();
        }
        Ok(())
    }
}

fn closed(env: &Env) -> Error {
    error::throw_code(env.raw(), "ERR_UNIXGRAM_CLOSED", "the socket is closed")
}

impl NativeSocket {
    fn wrap(env: &Env, sock: Socket) -> Self {
        Self {
            shared: Inner::new(env.raw(), sock),
        }
    }

    /// Run `f` on the open socket, turning core errors into Node-style JS errors.
    fn with<T>(
        &self,
        env: &Env,
        f: impl FnOnce(&mut Socket) -> std::result::Result<T, CoreError>,
    ) -> Result<T> {
        let mut inner = self.shared.borrow_mut();
        let sock = inner.sock.as_mut().ok_or_else(|| closed(env))?;
        f(sock).map_err(|e| error::throw(env.raw(), &e))
    }

    fn check_open(&self, env: &Env) -> Result<()> {
        if self.shared.borrow().is_closed() {
            return Err(closed(env));
        }
        Ok(())
    }
}

#[napi]
impl NativeSocket {
    /// A new unbound socket of `kind` (a `KIND_*` constant; default `KIND_UNIX_DGRAM`).
    #[napi(factory, catch_unwind)]
    pub fn create(env: Env, kind: Option<u32>) -> Result<Self> {
        let kind = kind_of(&env, kind)?;
        Socket::with_kind(kind)
            .map(|s| Self::wrap(&env, s))
            .map_err(|e| error::throw(env.raw(), &e))
    }

    /// Adopt `fd` after checking it is a socket of one of `kinds` (`KIND_*` constants;
    /// default: an AF_UNIX datagram socket). On error the fd is left open and still the
    /// caller's.
    #[napi(factory, catch_unwind)]
    pub fn from_fd(env: Env, fd: i32, kinds: Option<Vec<u32>>) -> Result<Self> {
        let kinds = match kinds {
            None => vec![Kind::UnixDatagram],
            Some(list) => list
                .into_iter()
                .map(|k| kind_of(&env, Some(k)))
                .collect::<Result<Vec<_>>>()?,
        };
        if fd < 0 {
            return Err(error::throw_code(
                env.raw(),
                "ERR_OUT_OF_RANGE",
                "fd must be >= 0",
            ));
        }
        // SAFETY: the caller hands the descriptor over; on failure it is handed back
        // (into_raw_fd) without being closed.
        match unsafe { Socket::from_raw_fd_of(fd, &kinds) } {
            Ok(s) => Ok(Self::wrap(&env, s)),
            Err((e, _fd_still_open)) => Err(error::throw(env.raw(), &e)),
        }
    }

    /// The socket's kind, a `KIND_*` constant.
    #[napi(getter)]
    pub fn kind(&self, env: Env) -> Result<u32> {
        self.with(&env, |s| Ok(kind_number(s.kind())))
    }

    /// The fd number (still owned by this socket): what the send functions take.
    #[napi(getter)]
    pub fn fd(&self, env: Env) -> Result<i32> {
        self.with(&env, |s| Ok(s.as_raw_fd()))
    }

    /// A new close-on-exec descriptor for the same socket; the caller owns it.
    #[napi(catch_unwind)]
    pub fn dup_fd(&self, env: Env) -> Result<i32> {
        self.with(&env, |s| s.dup_fd().map(IntoRawFd::into_raw_fd))
    }

    /// Block this thread until a datagram is queued or `timeout_ms` passes (negative = no
    /// limit); for the synchronous API only. Returns whether one is queued.
    #[napi(catch_unwind)]
    pub fn wait_readable(&self, env: Env, timeout_ms: i32) -> Result<bool> {
        self.with(&env, |s| s.wait_readable(timeout_ms))
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.borrow().is_closed()
    }

    /// Bind; an empty address autobinds. With `mode` (a path only) the socket file has
    /// those permission bits when it appears (see the core's `bind_with_mode`).
    #[napi(catch_unwind)]
    pub fn bind(
        &self,
        env: Env,
        addr: Either<BufferSlice, String>,
        mode: Option<u32>,
    ) -> Result<()> {
        let addr = address_of(&env, addr)?;
        self.with(&env, |s| match mode {
            Some(mode) => s.bind_with_mode(&addr, mode),
            None => s.bind(&addr),
        })
    }

    #[napi(catch_unwind)]
    pub fn connect(&self, env: Env, addr: Either<BufferSlice, String>) -> Result<()> {
        let addr = address_of(&env, addr)?;
        self.with(&env, |s| s.connect(&addr))
    }

    #[napi(catch_unwind)]
    pub fn reconnect(&self, env: Env) -> Result<()> {
        self.with(&env, |s| s.reconnect())
    }

    /// The local address: `sun_path` bytes (empty = unnamed, leading NUL = abstract), or
    /// `"host:port"` for an IP socket.
    #[napi(catch_unwind)]
    pub fn local_address(&self, env: Env) -> Result<Either<Buffer, String>> {
        self.with(&env, |s| s.local_addr()).map(address_to_js)
    }

    #[napi(catch_unwind)]
    pub fn peer_address(&self, env: Env) -> Result<Either<Buffer, String>> {
        self.with(&env, |s| s.peer_addr()).map(address_to_js)
    }

    /// Listen for connections (a bound seqpacket socket). From now on the callback is called
    /// with no batch when connections wait (see `batch.rs`), and `accept` takes them.
    #[napi(catch_unwind)]
    pub fn listen(&self, env: Env, backlog: i32) -> Result<()> {
        self.with(&env, |s| s.listen(backlog))?;
        self.shared.borrow_mut().listening = true;
        Ok(())
    }

    /// The next waiting connection of a listening socket, or `null` when none waits.
    #[napi(catch_unwind)]
    pub fn accept(&self, env: Env) -> Result<Option<NativeSocket>> {
        let accepted = self.with(&env, |s| s.accept())?;
        Ok(accepted.map(|s| Self::wrap(&env, s)))
    }

    /// UDP GRO on or off (`UDP_GRO`): coalesced datagrams are split into entries natively.
    #[napi(catch_unwind)]
    pub fn set_udp_gro(&self, env: Env, on: bool) -> Result<()> {
        self.with(&env, |s| s.set_udp_gro(on))
    }

    /// `SO_RXQ_OVFL` on or off: received datagrams report the drop count (`drops`).
    #[napi(catch_unwind)]
    pub fn set_report_drops(&self, env: Env, on: bool) -> Result<()> {
        self.with(&env, |s| s.set_report_drops(on))
    }

    /// Datagrams the kernel dropped at this socket for want of room, as last reported.
    #[napi(getter)]
    pub fn drops(&self, env: Env) -> Result<u32> {
        self.with(&env, |s| Ok(s.drops()))
    }

    /// Ask for a receive buffer past `net.core.rmem_max` (`SO_RCVBUFFORCE` when privileged).
    #[napi(catch_unwind)]
    pub fn raise_receive_buffer_size(&self, env: Env, size: u32) -> Result<()> {
        self.with(&env, |s| s.raise_recv_buffer_size(size as usize))
    }

    /// The function called with each batch (the format is in the binding's `batch.rs`). It
    /// is kept as a hidden property of this object, so it lives exactly as long as the socket
    /// object does; the native side refers to it weakly while idle and strongly while
    /// watching (see `watch`).
    #[napi(catch_unwind, ts_args_type = "callback: BatchCallback")]
    pub fn set_callback(&self, env: Env, this: This, callback: Unknown) -> Result<()> {
        self.check_open(&env)?;
        js::keep_alive_on(env.raw(), this.object.raw(), callback.raw())?;
        watcher::set_callback(&self.shared, &env, callback.raw())
    }

    /// The control words shared with JS (`CONTROL_*`; see the binding's `watcher.rs`).
    #[napi(catch_unwind, ts_return_type = "Uint32Array")]
    pub fn control(&self, env: Env) -> Result<Unknown<'_>> {
        self.check_open(&env)?;
        let raw = env.raw();
        let value = watcher::control_to_js(&self.shared, raw)?;
        // SAFETY: value is a live value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
    }

    /// Report each datagram's sender address in batches (`ENTRY_ADDRESS`). Set before
    /// reading.
    #[napi]
    pub fn set_want_address(&self, on: bool) {
        self.shared.borrow_mut().addresses.set_wanted(on);
    }

    /// Deliver a batch whose payloads are all valid UTF-8 as one string (the callback's
    /// `text`), for a protocol that reads text.
    #[napi]
    pub fn set_text_payloads(&self, on: bool) {
        self.shared.borrow_mut().text_payloads = on;
    }

    /// Receive into one lent chunk, reused whenever JS gives it back with `recycle` (see the
    /// binding's `batch/area.rs`): a payload from it is valid until then. Idempotent.
    #[napi(catch_unwind)]
    pub fn lend_receive_buffer(&self, env: Env) -> Result<()> {
        self.check_open(&env)?;
        crate::batch::lend(&self.shared, env.raw())
    }

    /// Busy polling: a wakeup goes on reading for up to `micros` µs with nothing arriving
    /// while JS waits for data (0: off, the default). With `adaptive`, `micros` is the
    /// longest window, the window itself is learnt from how long JS waited after earlier
    /// wakeups, and it spins only after the socket sent, while a reply is awaited
    /// (`busy_poll.rs`). At most `BUSY_POLL_MAX_MICROS`.
    #[napi(catch_unwind)]
    pub fn set_busy_poll(&self, env: Env, micros: u32, adaptive: bool) -> Result<()> {
        self.check_open(&env)?;
        if micros > BUSY_POLL_MAX_MICROS {
            return Err(crate::error::throw_code(
                env.raw(),
                "ERR_OUT_OF_RANGE",
                &format!("the busy-poll window must be at most {BUSY_POLL_MAX_MICROS} µs. Received {micros}"),
            ));
        }
        self.shared.borrow_mut().watch.busy_poll = BusyPoll::new(micros, adaptive);
        Ok(())
    }

    /// JS holds no payload from the lent chunk any more: the next batch may overwrite it.
    #[napi]
    pub fn recycle(&self) {
        if let Ok(mut inner) = self.shared.try_borrow_mut() {
            inner.area.recycle();
        }
    }

    /// What to watch: `READABLE`, `WRITABLE` (one-shot); `keep_alive` holds the process open
    /// while watching; `strong` (default: whether anything is watched) holds the JS
    /// callback, and so the socket's JS side, alive.
    #[napi(catch_unwind)]
    pub fn watch(
        &self,
        env: Env,
        events: u32,
        keep_alive: bool,
        strong: Option<bool>,
    ) -> Result<()> {
        let events = (events & crate::state::STATE_EVENTS) as i32;
        watcher::watch(
            &self.shared,
            events,
            keep_alive,
            strong.unwrap_or(events != 0),
        )
        .map_err(|e| error::throw(env.raw(), &e))
    }

    /// Drain what is queued now, without waiting, and deliver it through the callback before
    /// returning. Returns whether anything was read.
    #[napi(catch_unwind)]
    pub fn read_now(&self, env: Env) -> Result<bool> {
        self.check_open(&env)?;
        let read =
            watcher::read_now(&self.shared, env.raw()).map_err(|e| error::throw(env.raw(), &e))?;
        if js::exception_pending(env.raw()) {
            return Err(Error::new(
                Status::PendingException,
                "the batch callback threw",
            ));
        }
        Ok(read)
    }

    /// Close: stop watching, close the poll handle, then the fd. Idempotent.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        if let Ok(mut inner) = self.shared.try_borrow_mut() {
            inner.close();
        }
    }

    /// Close this object but not its descriptor: stop watching and hand the fd back, open,
    /// to the caller (who adopted it with `fromFd` and keeps owning it). Returns the fd, or
    /// -1 if the socket was already closed.
    #[napi(catch_unwind)]
    pub fn release(&self) -> i32 {
        match self.shared.try_borrow_mut() {
            Ok(mut inner) => inner
                .release()
                .map_or(-1, |s| std::os::fd::OwnedFd::from(s).into_raw_fd()),
            Err(_) => -1,
        }
    }

    #[napi(catch_unwind)]
    pub fn get_send_buffer_size(&self, env: Env) -> Result<u32> {
        self.with(&env, |s| s.send_buffer_size()).map(|n| n as u32)
    }

    #[napi(catch_unwind)]
    pub fn set_send_buffer_size(&self, env: Env, size: u32) -> Result<()> {
        self.with(&env, |s| s.set_send_buffer_size(size as usize))
    }

    #[napi(catch_unwind)]
    pub fn get_receive_buffer_size(&self, env: Env) -> Result<u32> {
        self.with(&env, |s| s.recv_buffer_size()).map(|n| n as u32)
    }

    #[napi(catch_unwind)]
    pub fn set_receive_buffer_size(&self, env: Env, size: u32) -> Result<()> {
        self.with(&env, |s| s.set_recv_buffer_size(size as usize))
    }

    #[napi(catch_unwind)]
    pub fn get_pass_credentials(&self, env: Env) -> Result<bool> {
        self.with(&env, |s| s.pass_credentials())
    }

    #[napi(catch_unwind)]
    pub fn set_pass_credentials(&self, env: Env, on: bool) -> Result<()> {
        self.with(&env, |s| s.set_pass_credentials(on))
    }

    #[napi(catch_unwind)]
    pub fn get_peer_credentials(&self, env: Env) -> Result<Option<JsCredentials>> {
        self.with(&env, |s| s.peer_credentials())
            .map(|c| c.map(JsCredentials::from))
    }

    /// Whether `SO_PASSPIDFD` is on (`false` where it does not exist).
    #[napi(catch_unwind)]
    pub fn get_pass_pidfd(&self, env: Env) -> Result<bool> {
        self.with(&env, |s| s.pass_pidfd())
    }

    /// Turn `SO_PASSPIDFD` on or off: each datagram then carries its sender's pidfd
    /// (`ENTRY_PIDFD` in its batch). `ERR_UNIXGRAM_UNSUPPORTED` before Linux 6.5 and off Linux.
    #[napi(catch_unwind)]
    pub fn set_pass_pidfd(&self, env: Env, on: bool) -> Result<()> {
        self.with(&env, |s| s.set_pass_pidfd(on))
    }

    /// `SO_PEERPIDFD`: the peer process's pidfd as a fd set of one (an `Int32Array` that owns
    /// it, closed when collected unless JS takes it: `batch/fdset.rs`), or `null` when the
    /// socket has no peer process (anything but a socketpair).
    #[napi(catch_unwind, ts_return_type = "Int32Array | null")]
    pub fn get_peer_pidfd(&self, env: Env) -> Result<Unknown<'_>> {
        let fd = self.with(&env, |s| s.peer_pidfd())?;
        let raw = env.raw();
        let value = match fd {
            Some(fd) => fdset::fds_to_js(raw, vec![fd])?,
            None => js::null(raw)?,
        };
        // SAFETY: value is a live value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
    }

    #[napi(catch_unwind)]
    pub fn max_datagram_size(&self, env: Env) -> Result<u32> {
        self.with(&env, |s| s.max_datagram_size()).map(|n| n as u32)
    }
}

/// Two connected sockets.
#[napi(catch_unwind)]
pub fn socketpair(env: Env, kind: Option<u32>) -> Result<Vec<NativeSocket>> {
    let kind = kind_of(&env, kind)?;
    let (a, b) = Socket::pair_of(kind).map_err(|e| error::throw(env.raw(), &e))?;
    Ok(vec![
        NativeSocket::wrap(&env, a),
        NativeSocket::wrap(&env, b),
    ])
}

/// This process's pid, uid and gid, as `SCM_CREDENTIALS` defaults to.
#[napi]
pub fn current_credentials() -> JsCredentials {
    Credentials::current().into()
}
