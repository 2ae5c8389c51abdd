//! The state behind a `NativeSocket`: [`Inner`], shared as [`Shared`] by the JS object and,
//! while a poll handle exists, by the handle too (released when libuv closes it); the
//! control words it shares with JS; the per-thread registry that finds it by fd for the send
//! functions; and `close` / `release`, which let go of all of it. The crate docs state the
//! lifecycle invariants.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::{Rc, Weak};

use napi::sys;
use napi_derive::napi;
use unixgram_core::Socket;

use crate::batch::{Addresses, Area, AreaCell};
use crate::busy_poll::BusyPoll;
use crate::js;
use crate::uv;

pub(crate) type Shared = Rc<RefCell<Inner>>;

/// The socket and everything that watches it.
pub(crate) struct Inner {
    /// `None` once closed or released.
    pub(crate) sock: Option<Socket>,
    /// The descriptor the registry knows the socket by.
    fd: RawFd,
    /// Report each datagram's sender address (unconnected receivers need it), on change.
    pub(crate) addresses: Addresses,
    /// Deliver payloads as one string when they are valid UTF-8 (see `batch.rs`).
    pub(crate) text_payloads: bool,
    /// A listening socket: readable means connections wait, not datagrams.
    pub(crate) listening: bool,
    pub(crate) env: sys::napi_env,
    /// Where batches are written for JS.
    pub(crate) area: Area,
    /// What is watched, and the JS side of it.
    pub(crate) watch: Watch,
    hook: bool,
    /// The `RefCell` this lives in, as registered with the env cleanup hook.
    hook_arg: *mut c_void,
}

/// The watcher's state (the behaviour is in `watcher.rs`): the poll handle, what it watches,
/// the JS callback and its async context, and the control words shared with JS.
pub(crate) struct Watch {
    pub(crate) handle: *mut uv::PollHandle,
    pub(crate) interest: c_int,
    pub(crate) callback: sys::napi_ref,
    pub(crate) strong: bool,
    pub(crate) async_ctx: sys::napi_async_context,
    /// The watch state last applied, as in the control word [`CONTROL_APPLIED`].
    pub(crate) applied: u32,
    /// The control words' `Uint32Array` (null until JS asks for it) and its memory.
    pub(crate) control: sys::napi_ref,
    control_ptr: *mut u32,
    /// Busy polling: how long a wakeup goes on reading, with nothing arriving, while JS
    /// waits for data (see `watcher::busy_poll`).
    pub(crate) busy_poll: BusyPoll,
}

/// Control word (an index into the `Uint32Array` of `control()`): 1 while the batch callback,
/// and the microtasks it queued, run.
#[napi]
pub const CONTROL_IN_CALLBACK: u32 = 0;
/// Control word: a watch request JS leaves for the end of the callback, state bits plus
/// [`REQUEST_PENDING`]. See `watcher::control_to_js` for the protocol.
#[napi]
pub const CONTROL_REQUEST: u32 = 1;
/// Control word: the watch state last applied: events in [`STATE_EVENTS`], plus
/// [`STATE_KEEP_ALIVE`] and [`STATE_STRONG`].
#[napi]
pub const CONTROL_APPLIED: u32 = 2;
/// How many control words there are.
pub(crate) const CONTROL_WORDS: usize = 3;
/// Watch state bits: the events watched (`READABLE | WRITABLE`).
#[napi]
pub const STATE_EVENTS: u32 = 3;
/// Watch state bit: the poll handle holds the process open.
#[napi]
pub const STATE_KEEP_ALIVE: u32 = 4;
/// Watch state bit: the JS callback, and so the socket's JS side, is held strongly.
#[napi]
pub const STATE_STRONG: u32 = 8;
/// Request bit: [`CONTROL_REQUEST`] holds a request to apply.
#[napi]
pub const REQUEST_PENDING: u32 = 16;

impl Watch {
    const fn new() -> Self {
        Self {
            handle: ptr::null_mut(),
            interest: 0,
            callback: ptr::null_mut(),
            strong: false,
            async_ctx: ptr::null_mut(),
            applied: 0,
            control: ptr::null_mut(),
            control_ptr: ptr::null_mut(),
            busy_poll: BusyPoll::Off,
        }
    }

    /// Write control word `i`, if JS has the control words.
    pub(crate) fn set_control(&self, i: u32, value: u32) {
        if !self.control_ptr.is_null() && (i as usize) < CONTROL_WORDS {
            // SAFETY: control_ptr points to CONTROL_WORDS u32s of an ArrayBuffer this socket
            // references strongly until close() nulls the pointer; same thread as JS.
            unsafe { self.control_ptr.add(i as usize).write(value) };
        }
    }

    /// Read control word `i` (0 if JS never asked for them).
    pub(crate) fn control(&self, i: u32) -> u32 {
        if self.control_ptr.is_null() || (i as usize) >= CONTROL_WORDS {
            return 0;
        }
        // SAFETY: as in set_control.
        unsafe { self.control_ptr.add(i as usize).read() }
    }

    /// Keep the control words' array (`reference`) and its memory.
    pub(crate) fn set_control_words(&mut self, reference: sys::napi_ref, memory: *mut u32) {
        self.control = reference;
        self.control_ptr = memory;
        self.set_control(CONTROL_APPLIED, self.applied);
    }

    /// Record the applied watch state, here and in the control words.
    pub(crate) fn set_applied(&mut self, state: u32) {
        self.applied = state;
        self.set_control(CONTROL_APPLIED, state);
    }
}

impl Inner {
    /// The state of a new socket, registered by its fd for the send functions and with the
    /// env's cleanup hooks, so that a worker (or the main thread) exiting with it open closes it.
    pub(crate) fn new(env: sys::napi_env, sock: Socket) -> Shared {
        let fd = sock.as_raw_fd();
        let shared = Rc::new(RefCell::new(Self {
            sock: Some(sock),
            fd,
            addresses: Addresses::default(),
            text_payloads: false,
            listening: false,
            env,
            area: Area::new(),
            watch: Watch::new(),
            hook: false,
            hook_arg: ptr::null_mut(),
        }));
        register(fd, &shared);
        let arg = Rc::as_ptr(&shared) as *mut c_void;
        // SAFETY: removed in release(), which runs before the RefCell can be freed (the JS
        // object's finalizer calls it, and a poll handle's Rc outlives it).
        let status = unsafe { sys::napi_add_env_cleanup_hook(env, Some(cleanup_hook), arg) };
        if status == sys::Status::napi_ok {
            let mut inner = shared.borrow_mut();
            inner.hook = true;
            inner.hook_arg = arg;
        }
        shared
    }

    /// Stop watching, close the handle, then the fd, and release the JS references.
    /// Idempotent; safe from inside the callback and from a finalizer.
    pub(crate) fn close(&mut self) {
        drop(self.release());
    }

    /// As [`close`](Self::close), but hand the socket (and so its fd) to the caller instead
    /// of closing it; `None` if it was closed already.
    pub(crate) fn release(&mut self) -> Option<Socket> {
        let watch = &mut self.watch;
        if !watch.handle.is_null() {
            // SAFETY: a live handle of this thread, made with this Shared; stop removes the fd
            // from epoll before the fd is closed (or handed back) below, and close frees it
            // (and its Rc) on a later turn.
            unsafe {
                uv::stop(watch.handle);
                uv::close::<Shared>(watch.handle);
            }
            watch.handle = ptr::null_mut();
        }
        watch.interest = 0;
        let sock = self.sock.take();
        if sock.is_some() {
            unregister(self.fd);
        }
        if !watch.callback.is_null() {
            // SAFETY: the reference was created on this env and not deleted before.
            unsafe { sys::napi_delete_reference(self.env, watch.callback) };
            watch.callback = ptr::null_mut();
        }
        if !watch.async_ctx.is_null() {
            // SAFETY: created by napi_async_init on this env, destroyed once.
            unsafe { sys::napi_async_destroy(self.env, watch.async_ctx) };
            watch.async_ctx = ptr::null_mut();
        }
        js::unreference(
            self.env,
            std::mem::replace(&mut watch.control, ptr::null_mut()),
        );
        watch.control_ptr = ptr::null_mut();
        self.area.release(self.env);
        if self.hook {
            self.hook = false;
            // SAFETY: the same (fn, arg) pair that was added.
            unsafe {
                sys::napi_remove_env_cleanup_hook(self.env, Some(cleanup_hook), self.hook_arg)
            };
        }
        sock
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.sock.is_none()
    }
}

impl AreaCell for Shared {
    fn with_area<R>(&self, f: impl FnOnce(&mut Area) -> R) -> Option<R> {
        let mut inner = self.try_borrow_mut().ok()?;
        (!inner.is_closed()).then(|| f(&mut inner.area))
    }
}

unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    // The environment (a worker, or the main thread at exit) is going away: release the
    // handle and fd now, so the loop can close. JS is not called.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: arg is the RefCell registered in Inner::new(); release() unregisters the
        // hook before it can be freed, so it is alive here.
        let cell = unsafe { &*arg.cast::<RefCell<Inner>>() };
        if let Ok(mut inner) = cell.try_borrow_mut() {
            inner.hook = false;
            inner.close();
        }
    }));
}

thread_local! {
    /// The open sockets of this JS thread (main or worker), by fd: the send functions take
    /// the fd number, as `fs.writeSync(fd, …)` does, which spares them unwrapping a class.
    static SOCKETS: RefCell<Vec<Weak<RefCell<Inner>>>> = const { RefCell::new(Vec::new()) };
}

fn register(fd: RawFd, shared: &Shared) {
    let Ok(at) = usize::try_from(fd) else { return };
    SOCKETS.with_borrow_mut(|sockets| {
        if sockets.len() <= at {
            sockets.resize_with(at + 1, Weak::new);
        }
        sockets[at] = Rc::downgrade(shared);
    });
}

fn unregister(fd: RawFd) {
    let Ok(at) = usize::try_from(fd) else { return };
    SOCKETS.with_borrow_mut(|sockets| {
        if let Some(slot) = sockets.get_mut(at) {
            *slot = Weak::new();
        }
    });
}

/// The open socket of this thread with descriptor `fd`, if any.
pub(crate) fn find(fd: RawFd) -> Option<Shared> {
    let at = usize::try_from(fd).ok()?;
    SOCKETS.with_borrow(|sockets| sockets.get(at).and_then(Weak::upgrade))
}
