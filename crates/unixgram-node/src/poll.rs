//! The watcher: a libuv poll handle on the socket's fd, on the loop of the JS thread that
//! created the socket, and the one JS call per wakeup that hands over a batch.
//!
//! See the crate docs for the lifecycle invariants. In short: a [`Shared`] is owned by the
//! JS object (`NativeSocket`) and, while a poll handle exists, by the handle too (released
//! in the close callback). Nothing holds a `RefCell` borrow across a call into JS, so JS may
//! close the socket, or change what is watched, from inside the callback. The state itself
//! ([`Inner`](crate::state::Inner), its control words, `close`) is in `state.rs`.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

use napi::{sys, Result};
use unixgram_core::Error as CoreError;

use crate::batch_js::batch_to_js;
use crate::drain::{drain, Batch};
use crate::js;
use crate::state::{
    Shared, CONTROL_APPLIED, CONTROL_IN_CALLBACK, CONTROL_REQUEST, CONTROL_WORDS, REQUEST_PENDING,
    STATE_KEEP_ALIVE, STATE_STRONG,
};
use crate::uv;

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
        let status = unsafe { sys::napi_get_uv_event_loop(inner.env, &mut lp) };
        if status != sys::Status::napi_ok || lp.is_null() {
            return Err(CoreError::os(
                nix::errno::Errno::EINVAL,
                "napi_get_uv_event_loop",
            ));
        }
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

/// The poll handle's close callback (given to `uv::close` by `Inner::close`): frees the
/// handle and the `Rc` it held.
pub(crate) unsafe extern "C" fn on_close(handle: *mut uv::PollHandle) {
    // SAFETY: data is the Box<Shared> set in watch(); this is the only place it is freed.
    let data = unsafe { uv::data(handle) }.cast::<Shared>();
    if !data.is_null() {
        // SAFETY: see above.
        drop(unsafe { Box::from_raw(data) });
    }
    // SAFETY: libuv is done with the handle; its memory came from poll_new.
    unsafe { uv::free(handle) };
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
            let errno = nix::errno::Errno::from_raw(-status);
            batch = Batch::error(CoreError::os(errno, "poll"));
        } else {
            if events & uv::WRITABLE != 0 && inner.interest & uv::WRITABLE != 0 {
                // One-shot: JS asks again if its retry hits EAGAIN.
                writable = true;
                let rest = inner.interest & !uv::WRITABLE;
                // SAFETY: a live handle of this thread.
                let rc = unsafe {
                    if rest == 0 {
                        uv::stop(inner.handle);
                        0
                    } else {
                        uv::start(inner.handle, rest, on_poll)
                    }
                };
                if rc < 0 {
                    // Not watched any more: say so rather than wait for a wakeup never to come.
                    let errno = nix::errno::Errno::from_raw(-rc);
                    batch = Batch::error(CoreError::os(errno, "uv_poll_start"));
                }
                inner.interest = rest;
                let applied = inner.applied & !(uv::WRITABLE as u32);
                inner.set_applied(applied);
            }
            if batch.is_empty() && events & uv::READABLE != 0 && inner.interest & uv::READABLE != 0
            {
                if let Some(sock) = inner.sock.as_mut() {
                    batch = drain(sock, &mut inner.addresses);
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
        let [slab, meta, extras, fds, text] = if batch.is_empty() {
            [undef; 5]
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
        let argv = [slab, meta, extras, flag, fds, text];
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
