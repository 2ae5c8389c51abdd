//! The per-socket state behind a `NativeSocket`: [`Inner`], shared as [`Shared`] by the JS
//! object and, while a poll handle exists, by the handle too (released in its close callback,
//! see `poll.rs`); the control words it shares with JS; the JS callback and async context a
//! batch is delivered in (`set_callback`); and `close`, which releases all of it.
//!
//! See the crate docs for the lifecycle invariants.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

use napi::{sys, Env, Result};
use unixgram_core::UnixDatagram;

use crate::batch_js::BatchArea;
use crate::drain::Addresses;
use crate::js;
use crate::poll::on_close;
use crate::uv;

pub type Shared = Rc<RefCell<Inner>>;

/// The socket and everything that watches it.
pub struct Inner {
    /// `None` once closed.
    pub sock: Option<UnixDatagram>,
    /// Report each datagram's sender address (unconnected receivers need it), on change.
    pub addresses: Addresses,
    /// Deliver payloads as one string when they are valid UTF-8 (see `batch_to_js`).
    pub text_payloads: bool,
    pub(crate) env: sys::napi_env,
    pub(crate) handle: *mut uv::PollHandle,
    pub(crate) interest: c_int,
    pub(crate) callback: sys::napi_ref,
    pub(crate) strong: bool,
    pub(crate) async_ctx: sys::napi_async_context,
    hook: bool,
    /// The `RefCell` this lives in, as registered with the env cleanup hook.
    hook_arg: *mut c_void,
    /// Memory shared with JS for delivering batches.
    pub(crate) area: BatchArea,
    /// The watch state last applied, as in the control word `CONTROL_APPLIED`.
    pub(crate) applied: u32,
}

/// Index of the control word that is 1 while the batch callback (and the microtasks it
/// queued) runs.
pub(crate) const CONTROL_IN_CALLBACK: usize = 0;
/// Index of a watch request JS leaves for the end of the callback: state bits plus
/// [`REQUEST_PENDING`].
pub(crate) const CONTROL_REQUEST: usize = 1;
/// Index of the watch state last applied: events (bits 0–1), keep-alive (bit 2), strong
/// (bit 3).
pub(crate) const CONTROL_APPLIED: usize = 2;
pub(crate) const CONTROL_WORDS: usize = 3;
pub(crate) const STATE_KEEP_ALIVE: u32 = 4;
pub(crate) const STATE_STRONG: u32 = 8;
pub(crate) const REQUEST_PENDING: u32 = 16;

impl Inner {
    /// Record the applied watch state, here and in the control words.
    pub(crate) fn set_applied(&mut self, state: u32) {
        self.applied = state;
        self.set_control(CONTROL_APPLIED, state);
    }

    /// Write control word `i`, if JS has the control words.
    pub(crate) fn set_control(&self, i: usize, value: u32) {
        if !self.area.control_ptr.is_null() && i < CONTROL_WORDS {
            // SAFETY: control_ptr points to CONTROL_WORDS u32s of an ArrayBuffer this socket
            // references strongly until close() nulls the pointer; same thread as JS.
            unsafe { self.area.control_ptr.add(i).write(value) };
        }
    }

    /// Read control word `i` (0 if JS never asked for them).
    pub(crate) fn control(&self, i: usize) -> u32 {
        if self.area.control_ptr.is_null() || i >= CONTROL_WORDS {
            return 0;
        }
        // SAFETY: as in set_control.
        unsafe { self.area.control_ptr.add(i).read() }
    }
}

impl Inner {
    /// The state of a new socket, registered with the env's cleanup hooks so that a worker
    /// (or the main thread) exiting with it open closes it.
    pub fn new(env: sys::napi_env, sock: UnixDatagram) -> Shared {
        let shared = Rc::new(RefCell::new(Self {
            sock: Some(sock),
            addresses: Addresses::default(),
            text_payloads: false,
            env,
            handle: ptr::null_mut(),
            interest: 0,
            callback: ptr::null_mut(),
            strong: false,
            async_ctx: ptr::null_mut(),
            hook: false,
            hook_arg: ptr::null_mut(),
            area: BatchArea::new(),
            applied: 0,
        }));
        let arg = Rc::as_ptr(&shared) as *mut c_void;
        // SAFETY: removed in close(), which runs before the RefCell can be freed (the JS
        // object's finalizer calls it, and a poll handle's Rc outlives close()).
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
    pub fn close(&mut self) {
        drop(self.release());
    }

    /// As [`close`](Self::close), but hand the socket (and so its fd) to the caller instead
    /// of closing it; `None` if it was closed already.
    pub fn release(&mut self) -> Option<UnixDatagram> {
        if !self.handle.is_null() {
            // SAFETY: a live handle of this thread; stop removes the fd from epoll before
            // the fd is closed below, and close frees it (and its Rc) on a later turn.
            unsafe {
                uv::stop(self.handle);
                uv::close(self.handle, on_close);
            }
            self.handle = ptr::null_mut();
        }
        self.interest = 0;
        let sock = self.sock.take();
        if !self.callback.is_null() {
            // SAFETY: the reference was created on this env and not deleted before.
            unsafe { sys::napi_delete_reference(self.env, self.callback) };
            self.callback = ptr::null_mut();
        }
        if !self.async_ctx.is_null() {
            // SAFETY: created by napi_async_init on this env, destroyed once.
            unsafe { sys::napi_async_destroy(self.env, self.async_ctx) };
            self.async_ctx = ptr::null_mut();
        }
        let area = std::mem::replace(&mut self.area, BatchArea::new());
        js::unreference(self.env, area.pool);
        js::unreference(self.env, area.meta);
        js::unreference(self.env, area.control);
        if self.hook {
            self.hook = false;
            // SAFETY: the same (fn, arg) pair that was added.
            unsafe {
                sys::napi_remove_env_cleanup_hook(self.env, Some(cleanup_hook), self.hook_arg)
            };
        }
        sock
    }

    pub fn is_closed(&self) -> bool {
        self.sock.is_none()
    }
}

/// Set the JS function called with each batch (`(slab, meta, extras, writable, fds, text)`), and the
/// async context it runs in (the one current now, as Node's own handles do).
pub(crate) fn set_callback(shared: &Shared, env: &Env, func: sys::napi_value) -> Result<()> {
    let mut inner = shared.borrow_mut();
    let raw = env.raw();
    if !inner.callback.is_null() {
        // SAFETY: created on this env, deleted once.
        unsafe { sys::napi_delete_reference(raw, inner.callback) };
        inner.callback = ptr::null_mut();
    }
    let mut r = ptr::null_mut();
    js::check(
        // SAFETY: func is a live value of this env; refcount 0 = weak until watching.
        unsafe { sys::napi_create_reference(raw, func, 0, &mut r) },
        "create_reference",
    )?;
    inner.callback = r;
    inner.strong = false;
    if inner.interest != 0 {
        // SAFETY: r is a live reference.
        unsafe { sys::napi_reference_ref(raw, r, ptr::null_mut()) };
        inner.strong = true;
    }
    if inner.async_ctx.is_null() {
        let name = js::string(raw, "UNIXGRAM_SOCKET")?;
        let mut ctx = ptr::null_mut();
        js::check(
            // SAFETY: a null resource makes Node create one; name is a string of this env.
            unsafe { sys::napi_async_init(raw, ptr::null_mut(), name, &mut ctx) },
            "async_init",
        )?;
        inner.async_ctx = ctx;
    }
    Ok(())
}

unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    // The environment (a worker, or the main thread at exit) is going away: release the
    // handle and fd now, so the loop can close. JS is not called.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: arg is the RefCell registered in Inner::new(); close() unregisters the hook
        // before it can be freed, so it is alive here.
        let cell = unsafe { &*arg.cast::<RefCell<Inner>>() };
        if let Ok(mut inner) = cell.try_borrow_mut() {
            inner.hook = false;
            inner.close();
        }
    }));
}
