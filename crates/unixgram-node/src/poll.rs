//! The watcher: a libuv poll handle on the socket's fd, on the loop of the JS thread that
//! created the socket, and the one JS call per wakeup that hands over a batch.
//!
//! See the crate docs for the lifecycle invariants. In short: a [`Shared`] is owned by the
//! JS object (`NativeSocket`) and, while a poll handle exists, by the handle too (released
//! in the close callback). Nothing holds a `RefCell` borrow across a call into JS, so JS may
//! close the socket, or change what is watched, from inside the callback.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

use napi::{sys, Env, Result};
use unixgram_core::batch::RECV_SLOTS;
use unixgram_core::{Address, Credentials, Error as CoreError, Received, UnixDatagram};

use crate::error;
use crate::fdset;
use crate::js;
use crate::uv;

/// At most this many datagrams per wakeup, so one busy socket cannot starve the loop.
const BATCH_MAX_DATAGRAMS: usize = 64;
/// Stop draining once a batch holds this many bytes (one larger datagram is still whole).
const BATCH_MAX_BYTES: usize = 1 << 20;

/// Batches whose payloads total at most this many bytes are copied into the socket's pool
/// (no allocation, no finalizer); bigger ones are handed over as they are, without a copy.
const POOL_COPY_MAX: usize = 16 << 10;
/// Size of each pool ArrayBuffer. A pool is only ever appended to; when a batch does not fit
/// a new one is started, and the old one lives on as long as JS holds views into it.
const POOL_SIZE: usize = 128 << 10;
/// Capacity of the metadata array, in u32s: `[count, base]`, then `[len, flags]` per entry
/// (the drain budget, plus an error entry).
const META_CAP: usize = 2 + 2 * (BATCH_MAX_DATAGRAMS + 2);

/// Per-entry flags in the batch metadata. An entry has an extras object iff one of the
/// low three bits is set (`flags & 7 != 0`); descriptors alone need none.
const ENTRY_ERROR: u32 = 1;
const ENTRY_ADDRESS: u32 = 2;
/// Credentials arrived (`SCM_CREDENTIALS`).
const ENTRY_ANCILLARY: u32 = 4;
/// Descriptors arrived: their count is in bits 8 and up (at most 253, so bits 8..15), and
/// they are the next that many of the batch's fd set.
const ENTRY_FDS: u32 = 8;
const ENTRY_FDS_SHIFT: u32 = 8;
/// The flags that come with an extras object.
const ENTRY_EXTRA_MASK: u32 = ENTRY_ERROR | ENTRY_ADDRESS | ENTRY_ANCILLARY;

pub type Shared = Rc<RefCell<Inner>>;

/// The socket and everything that watches it.
pub struct Inner {
    /// `None` once closed.
    pub sock: Option<UnixDatagram>,
    /// Report each datagram's sender address (unconnected receivers need it).
    pub want_address: bool,
    env: sys::napi_env,
    handle: *mut uv::PollHandle,
    interest: c_int,
    callback: sys::napi_ref,
    strong: bool,
    async_ctx: sys::napi_async_context,
    hook: bool,
    /// The `RefCell` this lives in, as registered with the env cleanup hook.
    hook_arg: *mut c_void,
    /// Memory shared with JS for delivering batches.
    area: BatchArea,
    /// The watch state last applied, as in the control word `CONTROL_APPLIED`.
    applied: u32,
}

/// Where batches are written for JS (see `batch_to_js`): the current payload pool, an
/// ArrayBuffer appended to and never overwritten, and one `Uint32Array` of metadata reused by
/// every batch (JS reads it before the callback returns).
struct BatchArea {
    pool: sys::napi_ref,
    pool_ptr: *mut u8,
    pool_used: usize,
    meta: sys::napi_ref,
    meta_ptr: *mut u32,
    /// The control words shared with JS (see [`control_to_js`]); null until JS asks.
    control: sys::napi_ref,
    control_ptr: *mut u32,
}

impl BatchArea {
    const fn new() -> Self {
        Self {
            pool: ptr::null_mut(),
            pool_ptr: ptr::null_mut(),
            pool_used: 0,
            meta: ptr::null_mut(),
            meta_ptr: ptr::null_mut(),
            control: ptr::null_mut(),
            control_ptr: ptr::null_mut(),
        }
    }
}

/// Index of the control word that is 1 while the batch callback (and the microtasks it
/// queued) runs.
const CONTROL_IN_CALLBACK: usize = 0;
/// Index of a watch request JS leaves for the end of the callback: state bits plus
/// [`REQUEST_PENDING`].
const CONTROL_REQUEST: usize = 1;
/// Index of the watch state last applied: events (bits 0–1), keep-alive (bit 2), strong
/// (bit 3).
const CONTROL_APPLIED: usize = 2;
const CONTROL_WORDS: usize = 3;
const STATE_KEEP_ALIVE: u32 = 4;
const STATE_STRONG: u32 = 8;
const REQUEST_PENDING: u32 = 16;

impl Inner {
    /// Record the applied watch state, here and in the control words.
    fn set_applied(&mut self, state: u32) {
        self.applied = state;
        self.set_control(CONTROL_APPLIED, state);
    }

    /// Write control word `i`, if JS has the control words.
    fn set_control(&self, i: usize, value: u32) {
        if !self.area.control_ptr.is_null() && i < CONTROL_WORDS {
            // SAFETY: control_ptr points to CONTROL_WORDS u32s of an ArrayBuffer this socket
            // references strongly until close() nulls the pointer; same thread as JS.
            unsafe { self.area.control_ptr.add(i).write(value) };
        }
    }

    /// Read control word `i` (0 if JS never asked for them).
    fn control(&self, i: usize) -> u32 {
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
            want_address: false,
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
        drop(self.sock.take());
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
    }

    pub fn is_closed(&self) -> bool {
        self.sock.is_none()
    }
}

/// Set the JS function called with each batch (`(slab, meta, extras, writable, fds)`), and the
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

/// Watch `events` (`uv::READABLE` / `uv::WRITABLE`, 0 = nothing). `keep_alive` decides
/// whether the active handle holds the process open. `strong` decides whether the JS
/// callback is held strongly (a socket with work pending, a waiting receive or send, cannot
/// be collected) or weakly (a socket that only prefetches can be dropped by its user, and is
/// then garbage-collected and closed).
pub(crate) fn watch(
    shared: &Shared,
    events: c_int,
    keep_alive: bool,
    strong: bool,
) -> std::result::Result<(), CoreError> {
    let mut inner = shared.borrow_mut();
    let fd = match &inner.sock {
        Some(s) => std::os::fd::AsRawFd::as_raw_fd(s),
        None => return Ok(()),
    };
    let state = events as u32
        | if keep_alive { STATE_KEEP_ALIVE } else { 0 }
        | if strong { STATE_STRONG } else { 0 };
    if inner.handle.is_null() {
        if events == 0 {
            inner.set_applied(state);
            return Ok(());
        }
        let mut lp = ptr::null_mut();
        // SAFETY: env is live; we are on its JS thread.
        unsafe { sys::napi_get_uv_event_loop(inner.env, &mut lp) };
        let data = Box::into_raw(Box::new(Rc::clone(shared))).cast::<c_void>();
        // SAFETY: on the loop's thread; the fd stays open until close() stops the handle.
        match unsafe { uv::poll_new(lp.cast(), fd, data) } {
            Ok(h) => inner.handle = h,
            Err(rc) => {
                // SAFETY: the handle was not created, so the Box is still ours.
                drop(unsafe { Box::from_raw(data.cast::<Shared>()) });
                return Err(CoreError::os(
                    nix::errno::Errno::from_raw(-rc),
                    "uv_poll_init",
                ));
            }
        }
    }
    if events != inner.interest {
        // SAFETY: a live handle of this thread.
        let rc = unsafe {
            if events == 0 {
                uv::stop(inner.handle);
                0
            } else {
                uv::start(inner.handle, events, on_poll)
            }
        };
        if rc != 0 {
            return Err(CoreError::os(
                nix::errno::Errno::from_raw(-rc),
                "uv_poll_start",
            ));
        }
        inner.interest = events;
    }
    // SAFETY: a live handle of this thread.
    unsafe { uv::set_ref(inner.handle, keep_alive) };
    let want_strong = strong;
    if want_strong != inner.strong && !inner.callback.is_null() {
        // SAFETY: a live reference of this env.
        unsafe {
            if want_strong {
                sys::napi_reference_ref(inner.env, inner.callback, ptr::null_mut());
            } else {
                sys::napi_reference_unref(inner.env, inner.callback, ptr::null_mut());
            }
        }
        inner.strong = want_strong;
    }
    inner.set_applied(state);
    Ok(())
}

/// The socket's control words, a `Uint32Array` of 3 shared with JS (created on first use):
/// `[inCallback, request, applied]`. While the batch callback runs (its microtasks
/// included) word 0 is 1. A JS side that becomes idle there leaves its new watch state in
/// word 1 (with bit 16 set) instead of calling `watch`; the binding applies it when the
/// callback returns, unless JS took it back (a receive loop asks again in a microtask, so a
/// round trip makes no native call and schedules nothing for it). Word 2 is the state last
/// applied, which JS compares with what it wants.
pub(crate) fn control_to_js(shared: &Shared, env: sys::napi_env) -> Result<sys::napi_value> {
    let existing = shared
        .try_borrow()
        .ok()
        .map(|inner| inner.area.control)
        .filter(|r| !r.is_null());
    if let Some(r) = existing {
        return js::reference_value(env, r);
    }
    let (buffer, data) = js::arraybuffer(env, CONTROL_WORDS * 4)?;
    let array = js::uint32_array(env, buffer, CONTROL_WORDS)?;
    let mut inner = shared.borrow_mut();
    if !inner.is_closed() {
        inner.area.control = js::reference(env, array)?;
        inner.area.control_ptr = data.cast::<u32>();
        let applied = inner.applied;
        inner.set_control(CONTROL_APPLIED, applied);
    }
    Ok(array)
}

/// What one drain read: the payloads back to back, per entry its length and flags, the
/// extras of flagged entries, and the descriptors of every entry, in entry order.
#[derive(Default)]
pub struct Batch {
    slab: Vec<u8>,
    /// `[len, flags]` per entry.
    meta: Vec<u32>,
    extras: Vec<Extra>,
    fds: Vec<OwnedFd>,
}

/// What an entry with `flags & ENTRY_EXTRA_MASK != 0` carries besides its payload.
#[derive(Default)]
struct Extra {
    address: Option<Address>,
    credentials: Option<Credentials>,
    error: Option<CoreError>,
}

impl Extra {
    fn error(e: CoreError) -> Self {
        Self {
            error: Some(e),
            ..Self::default()
        }
    }
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    fn push(&mut self, len: usize, flags: u32) {
        self.meta.extend_from_slice(&[len as u32, flags]);
    }
}

/// Read what is queued, without blocking, up to the batch budget: `recvmmsg` calls of up
/// to 16 datagrams, stopping as soon as one comes back short (the queue ran dry), so an
/// idle queue costs no extra `EAGAIN` syscall.
pub fn drain(sock: &mut UnixDatagram, want_address: bool) -> Batch {
    let mut batch = Batch::default();
    let Batch {
        slab,
        meta,
        extras,
        fds: batch_fds,
    } = &mut batch;
    let mut last_address: Option<Address> = None;
    let mut push = |len: usize, flags: u32| meta.extend_from_slice(&[len as u32, flags]);
    let mut taken = 0;
    while taken < BATCH_MAX_DATAGRAMS && slab.len() < BATCH_MAX_BYTES {
        let want = (BATCH_MAX_DATAGRAMS - taken).min(RECV_SLOTS);
        let got = sock.recv_many(want, want_address, slab, |r| match r {
            Ok(d) => {
                let mut flags = 0;
                let address = d.address.filter(|a| Some(a) != last_address.as_ref());
                if let Some(a) = &address {
                    flags |= ENTRY_ADDRESS;
                    last_address = Some(a.clone());
                }
                let Received {
                    fds,
                    credentials,
                    pidfd,
                } = d.ancillary;
                drop(pidfd); // not exposed yet: owned, so closed here
                if credentials.is_some() {
                    flags |= ENTRY_ANCILLARY;
                }
                if !fds.is_empty() {
                    // At most MAX_FDS_PER_MESSAGE (253): the control buffer holds no more.
                    flags |= ENTRY_FDS | ((fds.len() as u32) << ENTRY_FDS_SHIFT);
                    batch_fds.extend(fds);
                }
                push(d.len, flags);
                if flags & ENTRY_EXTRA_MASK != 0 {
                    extras.push(Extra {
                        address,
                        credentials,
                        error: None,
                    });
                }
            }
            // A truncated datagram was consumed: report it in its place.
            Err(e) => {
                push(0, ENTRY_ERROR);
                extras.push(Extra::error(e));
            }
        });
        match got {
            Ok(n) => {
                taken += n;
                if n < want {
                    break;
                }
            }
            Err(e) => {
                push(0, ENTRY_ERROR);
                extras.push(Extra::error(e));
                break;
            }
        }
    }
    batch
}

/// The JS form of a batch: `[slab: ArrayBuffer, meta: Uint32Array, extras: object[] |
/// undefined, fds: Int32Array | undefined]`.
/// `meta` is `[count, base, len0, flags0, len1, flags1, …]`: the payloads lie back to back in
/// `slab` from byte `base`. Small batches are copied into the socket's pool (one memcpy, no
/// allocation); big ones are handed over without a copy. `meta` is the socket's reusable
/// array, valid until the next batch: JS reads it at once. Extras exist only for entries with
/// `flags & 7 != 0` (an address change, credentials or an error), in entry order. The
/// descriptors of all entries are in the one `fds` set, in entry order: an entry with
/// `ENTRY_FDS` owns the next `flags >> 8` of them.
pub(crate) fn batch_to_js(
    shared: &Shared,
    env: sys::napi_env,
    batch: Batch,
) -> Result<[sys::napi_value; 4]> {
    // The descriptors first: from here on a JS object owns them, whatever fails later.
    let fds = if batch.fds.is_empty() {
        js::undefined(env)?
    } else {
        fdset::fds_to_js(env, batch.fds)?
    };
    let extras = if batch.extras.is_empty() {
        js::undefined(env)?
    } else {
        extras_to_js(env, batch.extras)?
    };
    let (slab, base) = place_payloads(shared, env, batch.slab)?;
    let meta = meta_to_js(shared, env, base, &batch.meta)?;
    Ok([slab, meta, extras, fds])
}

fn extras_to_js(env: sys::napi_env, batch_extras: Vec<Extra>) -> Result<sys::napi_value> {
    let extras = js::array(env, batch_extras.len())?;
    for (i, extra) in batch_extras.into_iter().enumerate() {
        let obj = js::object(env)?;
        if let Some(a) = &extra.address {
            js::set(env, obj, "address", js::buffer_copy(env, &a.to_sun_path())?)?;
        }
        if let Some(e) = &extra.error {
            js::set(env, obj, "error", error::to_js(env, e)?)?;
        }
        if let Some(c) = extra.credentials {
            let cred = js::object(env)?;
            js::set(env, cred, "pid", js::int(env, c.pid.into())?)?;
            js::set(env, cred, "uid", js::int(env, c.uid.into())?)?;
            js::set(env, cred, "gid", js::int(env, c.gid.into())?)?;
            js::set(env, obj, "credentials", cred)?;
        }
        js::set_index(env, extras, i as u32, obj)?;
    }
    Ok(extras)
}

/// Put the payloads where JS can see them: `(ArrayBuffer, offset of the first byte)`.
fn place_payloads(
    shared: &Shared,
    env: sys::napi_env,
    slab: Vec<u8>,
) -> Result<(sys::napi_value, usize)> {
    if slab.len() > POOL_COPY_MAX {
        return Ok((js::external_arraybuffer(env, slab)?, 0));
    }
    // Fast path: room left in the current pool. JS views cover only bytes already delivered,
    // so the bytes past `pool_used` are ours to write.
    let current = {
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return Ok((js::external_arraybuffer(env, slab)?, 0));
        };
        let area = &mut inner.area;
        if !area.pool.is_null() && POOL_SIZE - area.pool_used >= slab.len() {
            let base = area.pool_used;
            // SAFETY: [base, base + len) lies inside the pool's POOL_SIZE bytes (checked
            // above), which the strong reference keeps alive and no JS view covers yet.
            unsafe {
                ptr::copy_nonoverlapping(slab.as_ptr(), area.pool_ptr.add(base), slab.len());
            }
            area.pool_used += slab.len();
            Some((area.pool, base))
        } else {
            None
        }
    };
    if let Some((pool, base)) = current {
        return Ok((js::reference_value(env, pool)?, base));
    }
    // A new pool (no borrow is held while N-API runs).
    let (value, data) = js::arraybuffer(env, POOL_SIZE)?;
    // SAFETY: the new buffer has POOL_SIZE >= slab.len() bytes and no other user yet.
    unsafe { ptr::copy_nonoverlapping(slab.as_ptr(), data, slab.len()) };
    let Ok(mut inner) = shared.try_borrow_mut() else {
        return Ok((value, 0));
    };
    if inner.is_closed() {
        return Ok((value, 0)); // keep no reference that close() would not delete
    }
    let pool = js::reference(env, value)?;
    let old = std::mem::replace(&mut inner.area.pool, pool);
    inner.area.pool_ptr = data;
    inner.area.pool_used = slab.len();
    drop(inner);
    js::unreference(env, old);
    Ok((value, 0))
}

/// Write `[count, base, entries…]` into the socket's metadata array (made on first use).
fn meta_to_js(
    shared: &Shared,
    env: sys::napi_env,
    base: usize,
    entries: &[u32],
) -> Result<sys::napi_value> {
    let len = 2 + entries.len();
    let fill = |dst: *mut u32| {
        // SAFETY: dst points to at least `len` u32s (META_CAP, or a fresh array of len).
        let out = unsafe { std::slice::from_raw_parts_mut(dst, len) };
        out[0] = (entries.len() / 2) as u32;
        out[1] = base as u32;
        out[2..].copy_from_slice(entries);
    };
    let existing = shared
        .try_borrow()
        .ok()
        .filter(|inner| !inner.area.meta.is_null() && len <= META_CAP)
        .map(|inner| (inner.area.meta, inner.area.meta_ptr));
    if let Some((meta, meta_ptr)) = existing {
        fill(meta_ptr);
        return js::reference_value(env, meta);
    }
    let cap = len.max(META_CAP);
    let (buffer, data) = js::arraybuffer(env, cap * 4)?;
    let array = js::uint32_array(env, buffer, cap)?;
    let data = data.cast::<u32>();
    fill(data);
    if len <= META_CAP {
        if let Ok(mut inner) = shared.try_borrow_mut() {
            if !inner.is_closed() && inner.area.meta.is_null() {
                inner.area.meta = js::reference(env, array)?;
                inner.area.meta_ptr = data;
            }
        }
    }
    Ok(array)
}

unsafe extern "C" fn on_close(handle: *mut uv::PollHandle) {
    // SAFETY: data is the Box<Shared> set in watch(); this is the only place it is freed.
    let data = unsafe { uv::data(handle) }.cast::<Shared>();
    if !data.is_null() {
        // SAFETY: see above.
        drop(unsafe { Box::from_raw(data) });
    }
    // SAFETY: libuv is done with the handle; its memory came from poll_new.
    unsafe { uv::free(handle) };
}

unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    // The environment (a worker, or the main thread at exit) is going away: release the
    // handle and fd now, so the loop can close. JS is not called.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: arg is the RefCell registered in watch(); close() unregisters the hook
        // before it can be freed, so it is alive here.
        let cell = unsafe { &*arg.cast::<RefCell<Inner>>() };
        if let Ok(mut inner) = cell.try_borrow_mut() {
            inner.hook = false;
            inner.close();
        }
    }));
}

unsafe extern "C" fn on_poll(handle: *mut uv::PollHandle, status: c_int, events: c_int) {
    // A panic must never unwind into libuv: it would abort the process.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: data is the Box<Shared> set in watch(), alive until on_close.
        let shared: Shared = Rc::clone(unsafe { &*uv::data(handle).cast::<Shared>() });
        handle_event(&shared, status, events);
    }));
}

fn handle_event(shared: &Shared, status: c_int, events: c_int) {
    let (env, callback, ctx, batch, writable) = {
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return;
        };
        let inner = &mut *inner;
        if inner.is_closed() || inner.callback.is_null() {
            return;
        }
        let mut batch = Batch::default();
        let mut writable = false;
        if status < 0 {
            batch.push(0, ENTRY_ERROR);
            batch.extras.push(Extra::error(CoreError::os(
                nix::errno::Errno::from_raw(-status),
                "poll",
            )));
        } else {
            if events & uv::WRITABLE != 0 && inner.interest & uv::WRITABLE != 0 {
                // One-shot: JS asks again if its retry hits EAGAIN.
                writable = true;
                let rest = inner.interest & !uv::WRITABLE;
                // SAFETY: a live handle of this thread.
                unsafe {
                    if rest == 0 {
                        uv::stop(inner.handle);
                    } else {
                        uv::start(inner.handle, rest, on_poll);
                    }
                }
                inner.interest = rest;
                let applied = inner.applied & !(uv::WRITABLE as u32);
                inner.set_applied(applied);
            }
            if events & uv::READABLE != 0 && inner.interest & uv::READABLE != 0 {
                let want_address = inner.want_address;
                if let Some(sock) = inner.sock.as_mut() {
                    batch = drain(sock, want_address);
                }
            }
        }
        if batch.is_empty() && !writable {
            return;
        }
        (inner.env, inner.callback, inner.async_ctx, batch, writable)
    };
    // No borrow is held from here on: JS may do anything, including close().
    deliver(shared, env, callback, ctx, batch, writable);
}

/// The callback returned (its microtasks ran inside `napi_make_callback`): apply the watch
/// state JS left in the control words, if any. Such a request only becomes idle with the same
/// events (it drops keep-alive and the strong reference), which cannot fail.
fn apply_deferred_watch(shared: &Shared) {
    let request = {
        let Ok(inner) = shared.try_borrow() else {
            return;
        };
        inner.set_control(CONTROL_IN_CALLBACK, 0);
        let request = inner.control(CONTROL_REQUEST);
        if request & REQUEST_PENDING == 0 || inner.is_closed() {
            return;
        }
        inner.set_control(CONTROL_REQUEST, 0);
        request
    };
    let _ = watch(
        shared,
        (request & 3) as c_int,
        request & STATE_KEEP_ALIVE != 0,
        request & STATE_STRONG != 0,
    );
}

/// Call the JS callback once, inside a handle scope and the socket's async context, and
/// never leave an exception pending (that would make every later N-API call fail).
fn deliver(
    shared: &Shared,
    env: sys::napi_env,
    callback: sys::napi_ref,
    ctx: sys::napi_async_context,
    batch: Batch,
    writable: bool,
) {
    let mut scope = ptr::null_mut();
    // SAFETY: on the JS thread of env, outside any other N-API call.
    if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
        return;
    }
    let run = || -> Result<()> {
        let mut func = ptr::null_mut();
        js::check(
            // SAFETY: callback is a live reference of this env.
            unsafe { sys::napi_get_reference_value(env, callback, &mut func) },
            "get_reference_value",
        )?;
        if func.is_null() {
            return Ok(()); // the JS side was collected; its finalizer closes the socket
        }
        let undef = js::undefined(env)?;
        let [slab, meta, extras, fds] = if batch.is_empty() {
            [undef, undef, undef, undef]
        } else {
            batch_to_js(shared, env, batch)?
        };
        let mut flag = ptr::null_mut();
        js::check(
            // SAFETY: env is live.
            unsafe { sys::napi_get_boolean(env, writable, &mut flag) },
            "get_boolean",
        )?;
        let mut global = ptr::null_mut();
        js::check(
            // SAFETY: env is live.
            unsafe { sys::napi_get_global(env, &mut global) },
            "get_global",
        )?;
        let argv = [slab, meta, extras, flag, fds];
        let mut result = ptr::null_mut();
        // SAFETY: all values belong to this env and scope; ctx is from napi_async_init.
        unsafe {
            sys::napi_make_callback(
                env,
                ctx,
                global,
                func,
                argv.len(),
                argv.as_ptr(),
                &mut result,
            )
        };
        Ok(())
    };
    if let Ok(inner) = shared.try_borrow() {
        inner.set_control(CONTROL_IN_CALLBACK, 1);
    }
    let _ = run();
    apply_deferred_watch(shared);
    let mut pending = false;
    // SAFETY: env is live.
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    if pending {
        let mut exc = ptr::null_mut();
        // SAFETY: an exception is pending; clearing it and raising it as uncaught is what
        // Node does for an exception thrown by an event listener.
        unsafe {
            sys::napi_get_and_clear_last_exception(env, &mut exc);
            sys::napi_fatal_exception(env, exc);
        }
    }
    // SAFETY: the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
}
