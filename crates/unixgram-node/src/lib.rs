//! The napi-rs binding of `unixgram-core`: marshalling and the event-loop watcher, nothing
//! else. Socket semantics live in the core crate; queues, waiting and parsing in TypeScript.
//!
//! # How receiving works
//! Each socket that has something to wait for gets one libuv `uv_poll_t` on the event loop
//! of the JS thread that created it (`napi_get_uv_event_loop`; the `uv_*` symbols come from
//! the `node` binary, see `uv.rs`). On readable, the poll callback drains the socket without
//! blocking, up to 64 datagrams or 1 MiB, and makes **one** JS call for the whole batch:
//! `(slab, meta, extras, writable, fds, text)`. `slab` is an ArrayBuffer holding the payloads back
//! to back; `meta` is `[count, base, len, flags, …]` (payloads start at byte `base` of
//! `slab`). `flags` bits: 1 error, 2 address change, 4 credentials, 8 descriptors, with their
//! count in bits 8 and up (at most 253, so bits 8..15). `extras` holds one object per entry
//! with `flags & 7 != 0`, in entry order (`{ address?, credentials?, error? }`; `undefined`
//! when no entry has one). `fds` is **one** `Int32Array` (the fd set) holding the
//! descriptors of every entry of the batch in entry order (`undefined` when none came): JS
//! carves it into per-datagram ranges by the counts in `flags`, steals an entry by reading it
//! and writing `-1` (no native call), and closes a range with one `closeFdRange`.
//! Whatever is still `>= 0` when the array's memory is garbage-collected is closed by its
//! finalizer (see `fdset.rs`), so an fd is owned by exactly one object from the moment it
//! is received. A socket set to text payloads (`setTextPayloads`, for a protocol that reads
//! text) gets a batch whose payloads are all valid UTF-8 as one string instead, the sixth
//! argument `text`, with `slab` undefined and each length in UTF-16 code units: JS slices it,
//! with no Buffer and no decoding per datagram. `readNow()` returns the same batch as
//! `[slab, meta, extras, fds, text]`. There is no thread, no per-datagram JS call, and no
//! per-datagram native object.
//!
//! Batches of up to 16 KiB are copied (one `memcpy`) into the socket's **pool**, a 128 KiB
//! ArrayBuffer that is only ever appended to: bytes already delivered are never written
//! again, so the views JS made stay valid, and a full pool is simply replaced (the old one
//! lives while views into it do, as with Node's own Buffer pool). Bigger batches are handed
//! over without a copy as an external ArrayBuffer. `meta` is one `Uint32Array` per socket,
//! rewritten by every batch: JS reads it before the callback returns. Measured on a 64-byte
//! ping-pong, this (instead of an external Buffer plus a metadata Buffer per batch) halved
//! the CPU per round trip of a bare binding loop. When JS stops asking (no pending receive), it stops
//! the poll: datagrams then wait in the kernel queue, which is the backpressure.
//!
//! # Lifecycle invariants
//! - The poll handle is created on first `watch()`, with memory from
//!   `uv_handle_size(UV_POLL)` (never a struct layout), and holds an `Rc` of the socket
//!   state, released in its close callback.
//! - `close()` (explicit, from a finalizer, or from the env cleanup hook) does, in order:
//!   `uv_poll_stop` (the fd leaves epoll), `uv_close` (memory freed later), close the fd,
//!   delete the JS references, destroy the async context, remove the cleanup hook. It is
//!   idempotent and safe from inside the callback: no `RefCell` borrow is held while JS runs.
//! - While something is watched, the JS callback is referenced strongly (a socket with a
//!   pending receive is not collected); otherwise weakly, so an abandoned socket is
//!   garbage-collected and its finalizer closes it.
//! - The handle is `uv_ref`'d only when JS says a receive is pending and the user has not
//!   called `unref()`, as Node's own sockets behave.
//! - The JS call goes through `napi_make_callback` in the socket's async context (captured
//!   at `setCallback`), so `AsyncLocalStorage` and microtasks behave as with Node's `dgram`.
//!   An exception it leaves pending is cleared and raised with `napi_fatal_exception`
//!   (`uncaughtException`), never left to poison later N-API calls.
//! - Every socket registers a cleanup hook with its environment (main thread or worker)
//!   when created, so a worker that exits with sockets open closes them and its loop can close.
//! - No panic crosses into libuv or JS: callbacks run under `catch_unwind`, methods are
//!   `catch_unwind`.

#![deny(unsafe_op_in_unsafe_fn)]

mod batch_js;
mod drain;
mod error;
// napi-derive registers module-exports hooks outside `cfg(test)` only, so the unit-test
// build sees this module as unused.
#[cfg_attr(test, allow(dead_code))]
mod fast;
mod fdset;
mod js;
mod poll;
mod raw_args;
mod socket;
mod state;
mod uv;

pub use socket::{current_credentials, socketpair, NativeSocket};
