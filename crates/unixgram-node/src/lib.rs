//! The napi-rs binding of `unixgram-core`: marshalling and the event-loop watcher, nothing
//! else. Socket semantics live in the core crate; queues, waiting and parsing in TypeScript.
//! Every number JS and Rust share (batch flags, control words, `WOULD_BLOCK`, limits) is a
//! `#[napi] pub const` here, which TypeScript imports: none is typed twice.
//!
//! # Layers
//! From the bottom: `uv` (libuv's poll handle), `js` and `args` (raw N-API helpers) and
//! `error` (every JS error); `batch` (what one read drained, and its JS form); `busy_poll`
//! (how long a wakeup spins, needing nothing); `state` (one
//! socket's state, and the registry that finds it by fd); `watcher` (the poll handle's
//! callback and the one JS call per batch); `socket` (the `NativeSocket` class) and `send`
//! (the send functions, by fd); `memfd` (sealed memfd payloads, by fd) and `pidfd` (what a
//! pidfd says of its process, by fd), which need only `args`, `error` and `js`; `fd` (pipes
//! and the close-on-exec flag, by fd), which needs only `error`. Each uses only the ones
//! before it.
//!
//! # Lifecycle invariants
//! - The poll handle is created on first `watch()`, with memory from
//!   `uv_handle_size(UV_POLL)` (never a struct layout), and holds an `Rc` of the socket
//!   state, released when libuv has closed it.
//! - `close()` (explicit, from a finalizer, or from the env cleanup hook) does, in order:
//!   `uv_poll_stop` (the fd leaves epoll), `uv_close` (memory freed later), close the fd and
//!   take it out of the registry, delete the JS references, destroy the async context, remove
//!   the cleanup hook. `release()` does the same but hands the fd back open. Both are
//!   idempotent and safe from inside the callback: no `RefCell` borrow is held while JS runs.
//! - While something is watched, the JS callback is referenced strongly (a socket with a
//!   pending receive is not collected); otherwise weakly, so an abandoned socket is
//!   garbage-collected and its finalizer closes it.
//! - The handle is `uv_ref`'d only when JS asks (`keep_alive`), as Node's own sockets behave.
//! - The JS call from the loop goes through `napi_make_callback` in the socket's async
//!   context (captured at `setCallback`), so `AsyncLocalStorage` and microtasks behave as with
//!   Node's `dgram`. An exception it leaves pending is cleared and raised with
//!   `napi_fatal_exception` (`uncaughtException`), never left to poison later N-API calls.
//! - Every socket registers a cleanup hook with its environment (main thread or worker)
//!   when created, so a worker that exits with sockets open closes them and its loop can close.
//! - Received descriptors (`SCM_RIGHTS`, a sender's `SCM_PIDFD`, and the peer's pidfd from
//!   `getPeerPidfd`) are owned by one JS object from the moment they reach JS (the fd set,
//!   `batch/fdset.rs`), and closed when it is collected.
//! - A mapped memfd payload (`mapSealedPayload`) is owned by the memory of its Buffer and
//!   unmapped when that is collected; the memfd's descriptor stays the caller's.
//! - No panic crosses into libuv or JS: callbacks and raw functions run under
//!   `catch_unwind`, and `#[napi]` methods are `catch_unwind`.

#![deny(unsafe_op_in_unsafe_fn)]

// napi-derive registers `#[napi]` items (their constants included) outside `cfg(test)` only,
// so the unit-test build sees some of them as unused.
mod args;
#[cfg_attr(test, allow(dead_code))]
mod batch;
mod busy_poll;
mod error;
#[cfg_attr(test, allow(dead_code))]
mod fd;
mod js;
#[cfg_attr(test, allow(dead_code))]
mod memfd;
#[cfg_attr(test, allow(dead_code))]
mod pidfd;
#[cfg_attr(test, allow(dead_code))]
mod send;
#[cfg_attr(test, allow(dead_code))]
mod socket;
#[cfg_attr(test, allow(dead_code))]
mod state;
mod uv;
#[cfg_attr(test, allow(dead_code))]
mod watcher;

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::{sys, Object};
use napi::JsValue;
use napi_derive::napi;

pub use socket::{current_credentials, socketpair, NativeSocket};

/// The functions registered by hand, with their JS names (declared for TypeScript in
/// `index-header.d.ts`, which the build puts at the top of the generated `index.d.ts`).
const RAW_FUNCTIONS: [(&CStr, sys::napi_callback); 3] = [
    (c"send", Some(send::send)),
    (c"sendMany", Some(send::send_many)),
    (c"closeFdRange", Some(batch::fdset::close_fd_range)),
];

/// Register the raw functions on the module's exports.
#[napi(module_exports)]
pub fn register_raw_functions(exports: Object) -> napi::Result<()> {
    let env = exports.value().env;
    for (name, callback) in RAW_FUNCTIONS {
        let mut func = ptr::null_mut();
        // SAFETY: `env` is the module's environment during its initialisation; `name` is a
        // NUL-terminated static string, and `callback` has the N-API callback signature.
        let status = unsafe {
            sys::napi_create_function(
                env,
                name.as_ptr(),
                name.count_bytes() as isize,
                callback,
                ptr::null_mut(),
                &mut func,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("napi_create_function failed"));
        }
        // SAFETY: as above; `exports` and `func` are live handles of this scope.
        let status =
            unsafe { sys::napi_set_named_property(env, exports.raw(), name.as_ptr(), func) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("napi_set_named_property failed"));
        }
    }
    Ok(())
}
