//! The watcher: a libuv poll handle on the socket's fd, on the loop of the JS thread that
//! created the socket, and the one JS call per wakeup that hands over a batch (`batch.rs`).
//! `readNow` drains without waiting and delivers through the same callback.
//!
//! Nothing holds a `RefCell` borrow of the state across a call into JS, so JS may close the
//! socket, or change what is watched, from inside the callback.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use napi::{sys, Env, Result};
use napi_derive::napi;
use unixgram_core::Error as CoreError;

use crate::batch::{self, drain, Batch};
use crate::js;
use crate::state::{
    Shared, CONTROL_IN_CALLBACK, CONTROL_REQUEST, CONTROL_WORDS, REQUEST_PENDING, STATE_EVENTS,
    STATE_KEEP_ALIVE, STATE_STRONG,
};
use crate::uv;

/// `watch` event bit: the socket is readable (`UV_READABLE`).
#[napi]
pub const READABLE: u32 = uv::READABLE as u32;
/// `watch` event bit: the socket is writable, once (`UV_WRITABLE`; JS asks again if its retry
/// finds the peer's queue still full).
#[napi]
pub const WRITABLE: u32 = uv::WRITABLE as u32;

/// Watch `events` (`READABLE` / `WRITABLE`, 0 = nothing). `keep_alive` decides whether the
/// active handle holds the process open. `strong` decides whether the JS callback is held
/// strongly (a socket with work pending, a waiting receive or send, cannot be collected) or
/// weakly (a socket that only prefetches can be dropped by its user, and is then
/// garbage-collected and closed).
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
    let env = inner.env;
    let watch = &mut inner.watch;
    let state = events as u32
        | if keep_alive { STATE_KEEP_ALIVE } else { 0 }
        | if strong { STATE_STRONG } else { 0 };
    if watch.handle.is_null() {
        if events == 0 {
            watch.set_applied(state);
            return Ok(());
        }
        let mut lp = ptr::null_mut();
        // SAFETY: env is live; we are on its JS thread.
        let status = unsafe { sys::napi_get_uv_event_loop(env, &mut lp) };
        if status != sys::Status::napi_ok || lp.is_null() {
            return Err(CoreError::os(
                nix::errno::Errno::EINVAL,
                "napi_get_uv_event_loop",
            ));
        }
        // SAFETY: on the loop's thread; the fd stays open until close() stops the handle,
        // and close() gives the handle to uv::close::<Shared>.
        match unsafe { uv::poll_new(lp.cast(), fd, Box::new(Rc::clone(shared))) } {
            Ok(h) => watch.handle = h,
            Err(rc) => {
                return Err(CoreError::os(
                    nix::errno::Errno::from_raw(-rc),
                    "uv_poll_init",
                ))
            }
        }
    }
    if events != watch.interest {
        // SAFETY: a live handle of this thread.
        let rc = unsafe {
            if events == 0 {
                uv::stop(watch.handle);
                0
            } else {
                uv::start(watch.handle, events, on_poll)
            }
        };
        if rc != 0 {
            return Err(CoreError::os(
                nix::errno::Errno::from_raw(-rc),
                "uv_poll_start",
            ));
        }
        watch.interest = events;
    }
    // SAFETY: a live handle of this thread.
    unsafe { uv::set_ref(watch.handle, keep_alive) };
    if strong != watch.strong && !watch.callback.is_null() {
        // SAFETY: a live reference of this env.
        unsafe {
            if strong {
                sys::napi_reference_ref(env, watch.callback, ptr::null_mut());
            } else {
                sys::napi_reference_unref(env, watch.callback, ptr::null_mut());
            }
        }
        watch.strong = strong;
    }
    watch.set_applied(state);
    Ok(())
}

/// The socket's control words, a `Uint32Array` shared with JS (created on first use),
/// indexed by `CONTROL_IN_CALLBACK`, `CONTROL_REQUEST` and `CONTROL_APPLIED`. While the batch
/// callback runs (its microtasks included) `CONTROL_IN_CALLBACK` is 1. A JS side that becomes
/// idle there leaves its new watch state in `CONTROL_REQUEST` (with `REQUEST_PENDING`)
/// instead of calling `watch`; the binding applies it when the callback returns, unless JS
/// took it back (a receive loop asks again in a microtask, so a round trip makes no native
/// call and schedules nothing for it). `CONTROL_APPLIED` is the state last applied, which JS
/// compares with what it wants.
pub(crate) fn control_to_js(shared: &Shared, env: sys::napi_env) -> Result<sys::napi_value> {
    let existing = shared
        .try_borrow()
        .ok()
        .map(|inner| inner.watch.control)
        .filter(|r| !r.is_null());
    if let Some(r) = existing {
        return js::reference_value(env, r);
    }
    let (buffer, data) = js::arraybuffer(env, CONTROL_WORDS * 4)?;
    let array = js::uint32_array(env, buffer, CONTROL_WORDS)?;
    let mut inner = shared.borrow_mut();
    if !inner.is_closed() {
        let reference = js::reference(env, array)?;
        inner.watch.set_control_words(reference, data.cast::<u32>());
    }
    Ok(array)
}

/// Set the JS function called with each batch, and the async context it runs in (the one
/// current now, as Node's own handles do).
pub(crate) fn set_callback(shared: &Shared, env: &Env, func: sys::napi_value) -> Result<()> {
    let mut inner = shared.borrow_mut();
    let raw = env.raw();
    let watch = &mut inner.watch;
    if !watch.callback.is_null() {
        // SAFETY: created on this env, deleted once.
        unsafe { sys::napi_delete_reference(raw, watch.callback) };
        watch.callback = ptr::null_mut();
    }
    let mut r = ptr::null_mut();
    js::check(
        // SAFETY: func is a live value of this env; refcount 0 = weak until watching.
        unsafe { sys::napi_create_reference(raw, func, 0, &mut r) },
        "create_reference",
    )?;
    watch.callback = r;
    watch.strong = false;
    if watch.interest != 0 {
        // SAFETY: r is a live reference.
        unsafe { sys::napi_reference_ref(raw, r, ptr::null_mut()) };
        watch.strong = true;
    }
    if watch.async_ctx.is_null() {
        let name = js::string(raw, "UNIXGRAM_SOCKET")?;
        let mut ctx = ptr::null_mut();
        js::check(
            // SAFETY: a null resource makes Node create one; name is a string of this env.
            unsafe { sys::napi_async_init(raw, ptr::null_mut(), name, &mut ctx) },
            "async_init",
        )?;
        watch.async_ctx = ctx;
    }
    Ok(())
}

unsafe extern "C" fn on_poll(handle: *mut uv::PollHandle, status: c_int, events: c_int) {
    // A panic must never unwind into libuv: it would abort the process.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the handle was made by poll_new::<Shared> and is not closed yet (a closed
        // handle gets no callbacks).
        let shared: Shared = Rc::clone(unsafe { uv::data::<Shared>(handle) });
        handle_event(&shared, status, events);
    }));
}

fn handle_event(shared: &Shared, status: c_int, events: c_int) {
    let (env, batch, writable) = {
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return;
        };
        let inner = &mut *inner;
        if inner.is_closed() || inner.watch.callback.is_null() {
            return;
        }
        let mut batch = Batch::default();
        let mut writable = false;
        let mut connections = false;
        if status < 0 {
            // libuv reports POLLERR as UV_EBADF and stops the handle. On a UDP socket that is
            // the socket's pending error (an ICMP port unreachable): report that error, which
            // reading SO_ERROR clears, and watch again, so one refused send does not end
            // receiving.
            let pending = inner
                .sock
                .as_ref()
                .and_then(|s| s.take_error().ok().flatten());
            batch =
                Batch::error(pending.clone().unwrap_or_else(|| {
                    CoreError::os(nix::errno::Errno::from_raw(-status), "poll")
                }));
            if pending.is_some() && inner.watch.interest != 0 {
                // SAFETY: a live handle of this thread.
                let rc = unsafe { uv::start(inner.watch.handle, inner.watch.interest, on_poll) };
                if rc < 0 {
                    batch = Batch::error(CoreError::os(
                        nix::errno::Errno::from_raw(-rc),
                        "uv_poll_start",
                    ));
                }
            }
        } else {
            let watch = &mut inner.watch;
            if events & uv::WRITABLE != 0 && watch.interest & uv::WRITABLE != 0 {
                // One-shot: JS asks again if its retry hits EAGAIN.
                writable = true;
                let rest = watch.interest & !uv::WRITABLE;
                // SAFETY: a live handle of this thread.
                let rc = unsafe {
                    if rest == 0 {
                        uv::stop(watch.handle);
                        0
                    } else {
                        uv::start(watch.handle, rest, on_poll)
                    }
                };
                if rc < 0 {
                    // Not watched any more: say so rather than wait for a wakeup never to come.
                    let errno = nix::errno::Errno::from_raw(-rc);
                    batch = Batch::error(CoreError::os(errno, "uv_poll_start"));
                }
                watch.interest = rest;
                let applied = watch.applied & !WRITABLE;
                watch.set_applied(applied);
            }
            if batch.is_empty()
                && events & uv::READABLE != 0
                && inner.watch.interest & uv::READABLE != 0
            {
                if inner.listening {
                    connections = true;
                } else if let Some(sock) = inner.sock.as_mut() {
                    batch = drain(sock, &mut inner.addresses, &mut inner.area);
                    if sock.at_eof() {
                        stop_reading(inner);
                    }
                    if !batch.is_empty() {
                        inner.watch.busy_poll.woke(Instant::now);
                    }
                }
            }
        }
        if batch.is_empty() && !writable && !connections {
            return;
        }
        (inner.env, batch, writable)
    };
    // No borrow is held from here on: JS may do anything, including close().
    let mut read = batch.len();
    deliver(shared, env, batch, writable, Call::FromLoop);
    // A queue that held more than one datagram is being refilled while JS ran (a receiver
    // bound at a path gets at most max_dgram_qlen, 10 by default, per read): read again now
    // rather than through another trip round the loop, while JS still wants data.
    let mut rounds = 1;
    while read > 1 && rounds < WAKEUP_MAX_ROUNDS {
        let Some(batch) = drain_again(shared, false) else {
            break;
        };
        read = batch.len();
        rounds += 1;
        deliver(shared, env, batch, false, Call::FromLoop);
    }
    busy_poll(shared, env);
}

/// Read again within a wakeup: what is queued now, if the socket is still read (and, with
/// `waited`, only while JS waits for data: the watch is strong). `None`: nothing to read,
/// or not to be read now.
fn drain_again(shared: &Shared, waited: bool) -> Option<Batch> {
    let mut inner = shared.try_borrow_mut().ok()?;
    let inner = &mut *inner;
    if !reads_on(inner, waited) {
        return None;
    }
    let sock = inner.sock.as_mut()?;
    let batch = drain(sock, &mut inner.addresses, &mut inner.area);
    if sock.at_eof() {
        stop_reading(inner);
    }
    (!batch.is_empty()).then_some(batch)
}

/// Busy polling (`setBusyPoll`, `busy_poll.rs`): instead of going back to the loop to sleep
/// in `epoll_wait`, go on reading while JS waits for data, until nothing has arrived for the
/// socket's window or the wakeup has lasted [`BUSY_POLL_WAKEUP_MAX`]. A request/reply peer
/// answering within the window is read without a sleep and a wakeup on either side; the cost
/// is a core spent spinning, and the loop's other work waiting, for up to that long. An
/// adaptive window spins only while JS awaits a reply to what it sent; then it learns when
/// JS began to wait.
fn busy_poll(shared: &Shared, env: sys::napi_env) {
    let Some(mut window) = shared
        .try_borrow()
        .ok()
        .and_then(|inner| inner.watch.busy_poll.window())
    else {
        return;
    };
    let start = Instant::now();
    let mut last = start;
    while !window.is_zero() {
        match drain_again(shared, true) {
            Some(batch) => {
                deliver(shared, env, batch, false, Call::FromLoop);
                last = Instant::now();
                // JS sent nothing back: no reply is awaited, so an adaptive window is gone.
                window = match shared
                    .try_borrow()
                    .ok()
                    .and_then(|i| i.watch.busy_poll.window())
                {
                    Some(window) => window,
                    None => break,
                };
            }
            None => std::hint::spin_loop(),
        }
        let now = Instant::now();
        if now.duration_since(last) >= window || now.duration_since(start) >= BUSY_POLL_WAKEUP_MAX {
            break;
        }
        // Closed, or nobody waits any more: stop spinning.
        if !shared
            .try_borrow()
            .is_ok_and(|inner| reads_on(&inner, true))
        {
            break;
        }
    }
    if let Ok(mut inner) = shared.try_borrow_mut() {
        let waiting = reads_on(&inner, true);
        inner.watch.busy_poll.sleeping(last, waiting);
    }
}

/// Whether a wakeup reads on: the socket is open and read, and, with `waited`, JS waits for
/// data (the watch is strong).
fn reads_on(inner: &crate::state::Inner, waited: bool) -> bool {
    !inner.is_closed()
        && inner.watch.interest & uv::READABLE != 0
        && (!waited || inner.watch.strong)
}

/// The longest a busy-polling wakeup lasts before the loop gets its turn (timers, other
/// sockets), however many datagrams keep arriving.
const BUSY_POLL_WAKEUP_MAX: Duration = Duration::from_millis(1);

/// A seqpacket stream ended: stop watching for reading (the socket would stay readable for
/// ever), and say so in the applied watch state JS reads.
fn stop_reading(inner: &mut crate::state::Inner) {
    let watch = &mut inner.watch;
    let rest = watch.interest & !uv::READABLE;
    // SAFETY: a live handle of this thread.
    unsafe {
        if rest == 0 {
            uv::stop(watch.handle);
        } else {
            uv::start(watch.handle, rest, on_poll);
        }
    }
    watch.interest = rest;
    let applied = watch.applied & !READABLE;
    watch.set_applied(applied);
}

/// At most this many reads (each up to `BATCH_MAX_DATAGRAMS`) per wakeup, so one busy
/// socket cannot starve the loop's other work.
const WAKEUP_MAX_ROUNDS: usize = 4;

/// Drain what is queued now, without waiting, and deliver it through the callback at once
/// (within this JS call, outside the loop). Returns whether anything was read.
pub(crate) fn read_now(
    shared: &Shared,
    env: sys::napi_env,
) -> std::result::Result<bool, CoreError> {
    let batch = {
        let mut inner = shared.borrow_mut();
        let inner = &mut *inner;
        let Some(sock) = inner.sock.as_mut() else {
            return Ok(false);
        };
        let batch = drain(sock, &mut inner.addresses, &mut inner.area);
        if sock.at_eof() && inner.watch.interest & uv::READABLE != 0 {
            stop_reading(inner);
        }
        batch
    };
    if batch.is_empty() {
        return Ok(false);
    }
    deliver(shared, env, batch, false, Call::FromJs);
    Ok(true)
}

/// Who is calling the callback: the event loop (a wakeup), or JS itself (`readNow`).
#[derive(PartialEq)]
enum Call {
    FromLoop,
    FromJs,
}

/// The callback returned (its microtasks ran inside `napi_make_callback`): apply the watch
/// state JS left in the control words, if any. Such a request only becomes idle with the same
/// events (it drops keep-alive and the strong reference), which cannot fail.
fn apply_deferred_watch(shared: &Shared) {
    let request = {
        let Ok(inner) = shared.try_borrow() else {
            return;
        };
        inner.watch.set_control(CONTROL_IN_CALLBACK, 0);
        let request = inner.watch.control(CONTROL_REQUEST);
        if request & REQUEST_PENDING == 0 || inner.is_closed() {
            return;
        }
        inner.watch.set_control(CONTROL_REQUEST, 0);
        request
    };
    let _ = watch(
        shared,
        (request & STATE_EVENTS) as c_int,
        request & STATE_KEEP_ALIVE != 0,
        request & STATE_STRONG != 0,
    );
}

/// Call the JS callback once with `batch` (see `batch.rs`), inside a handle scope. From the
/// loop it runs in the socket's async context and never leaves an exception pending (that
/// would make every later N-API call fail: it is raised as `uncaughtException`, as Node does
/// for an event listener); from JS an exception propagates to the caller of `readNow`.
fn deliver(shared: &Shared, env: sys::napi_env, batch: Batch, writable: bool, call: Call) {
    let Some((callback, ctx, text)) = shared.try_borrow().ok().map(|inner| {
        (
            inner.watch.callback,
            inner.watch.async_ctx,
            inner.text_payloads,
        )
    }) else {
        return;
    };
    if callback.is_null() {
        return;
    }
    let mut scope = ptr::null_mut();
    // SAFETY: on the JS thread of env, outside any other N-API call.
    if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
        return;
    }
    let run = || -> Result<()> {
        let func = js::reference_value(env, callback)?;
        if func.is_null() {
            return Ok(()); // the JS side was collected; its finalizer closes the socket
        }
        let undef = js::undefined(env)?;
        let [slab, meta, extras, fds, text] = if batch.is_empty() {
            [undef; 5]
        } else {
            batch::to_js(shared, env, batch, text).inspect_err(|_| {
                // An address this batch reported may not reach JS: report the next one again.
                if let Ok(mut inner) = shared.try_borrow_mut() {
                    inner.addresses.forget();
                }
            })?
        };
        let argv = [slab, meta, extras, fds, text, js::boolean(env, writable)?];
        let global = js::global(env)?;
        let mut result = ptr::null_mut();
        if call == Call::FromJs {
            // SAFETY: all values belong to this env and scope.
            unsafe {
                sys::napi_call_function(env, global, func, argv.len(), argv.as_ptr(), &mut result)
            };
            return Ok(());
        }
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
    if call == Call::FromLoop {
        if let Ok(inner) = shared.try_borrow() {
            inner.watch.set_control(CONTROL_IN_CALLBACK, 1);
            inner.watch.busy_poll.delivering();
        }
    }
    let _ = run();
    let threw = js::exception_pending(env);
    if threw {
        // JS may have stopped partway through the batch, before a sender it reported.
        if let Ok(mut inner) = shared.try_borrow_mut() {
            inner.addresses.forget();
        }
    }
    if call == Call::FromLoop {
        apply_deferred_watch(shared);
        if threw {
            let mut exc = ptr::null_mut();
            // SAFETY: an exception is pending; clearing it and raising it as uncaught is what
            // Node does for an exception thrown by an event listener.
            unsafe {
                sys::napi_get_and_clear_last_exception(env, &mut exc);
                sys::napi_fatal_exception(env, exc);
            }
        }
    }
    // SAFETY: the scope opened above. A pending exception from a JS-initiated call stays
    // pending across it, for the caller.
    unsafe { sys::napi_close_handle_scope(env, scope) };
}
