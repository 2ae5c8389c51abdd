//! The few libuv calls the binding needs, resolved against the `node` binary that loads the
//! addon (Node exports libuv's symbols; linking a second libuv would give a second loop).
//!
//! Handles are opaque: their memory is allocated with `uv_handle_size(UV_POLL)` at run
//! time, so nothing here depends on the layout of libuv's structs.

use std::ffi::{c_int, c_void};

/// Opaque `uv_loop_t`.
#[repr(C)]
pub struct Loop {
    _private: [u8; 0],
}

/// Opaque `uv_poll_t` (also used as `uv_handle_t`, its first member).
#[repr(C)]
pub struct PollHandle {
    _private: [u8; 0],
}

/// `UV_POLL` in `uv_handle_type` (stable since libuv 1.0).
const UV_POLL: c_int = 8;
/// `UV_READABLE` in `uv_poll_event`.
pub const READABLE: c_int = 1;
/// `UV_WRITABLE` in `uv_poll_event`.
pub const WRITABLE: c_int = 2;

pub type PollCb = unsafe extern "C" fn(handle: *mut PollHandle, status: c_int, events: c_int);
type CloseCb = unsafe extern "C" fn(handle: *mut PollHandle);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(lp: *mut Loop, handle: *mut PollHandle, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut PollHandle, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut PollHandle) -> c_int;
    fn uv_close(handle: *mut PollHandle, cb: CloseCb);
    fn uv_ref(handle: *mut PollHandle);
    fn uv_unref(handle: *mut PollHandle);
    fn uv_handle_set_data(handle: *mut PollHandle, data: *mut c_void);
    fn uv_handle_get_data(handle: *const PollHandle) -> *mut c_void;
}

/// Allocate and initialise a poll handle for `fd` on `lp`, owning `data` until [`close`]
/// frees both (on failure `data` is dropped at once).
///
/// # Safety
/// Must run on the thread that owns `lp`. `fd` must stay open until [`stop`] has been
/// called on the handle. The handle must eventually be given to [`close::<T>`](close), with
/// the same `T`.
pub unsafe fn poll_new<T>(
    lp: *mut Loop,
    fd: c_int,
    data: Box<T>,
) -> Result<*mut PollHandle, c_int> {
    // SAFETY: uv_handle_size is a pure query.
    let size = unsafe { uv_handle_size(UV_POLL) };
    // SAFETY: malloc of a non-zero size; checked for null below.
    let handle = unsafe { libc::calloc(1, size) }.cast::<PollHandle>();
    if handle.is_null() {
        return Err(-libc::ENOMEM);
    }
    // SAFETY: `handle` points to `size` zeroed bytes, as uv_poll_init requires.
    let rc = unsafe { uv_poll_init(lp, handle, fd) };
    if rc != 0 {
        // SAFETY: init failed, so libuv never registered the handle: plain free is right.
        unsafe { libc::free(handle.cast()) };
        return Err(rc);
    }
    // SAFETY: handle is initialised; the Box is taken back by close_and_free.
    unsafe { uv_handle_set_data(handle, Box::into_raw(data).cast()) };
    Ok(handle)
}

/// Watch `events` (replacing the previous mask).
///
/// # Safety
/// `handle` is a live handle from [`poll_new`] on this thread.
pub unsafe fn start(handle: *mut PollHandle, events: c_int, cb: PollCb) -> c_int {
    // SAFETY: per the contract.
    unsafe { uv_poll_start(handle, events, cb) }
}

/// Stop watching; the descriptor is removed from epoll at once, so it may be closed next.
///
/// # Safety
/// `handle` is a live handle from [`poll_new`] on this thread.
pub unsafe fn stop(handle: *mut PollHandle) {
    // SAFETY: per the contract.
    unsafe { uv_poll_stop(handle) };
}

/// Close the handle: on a later loop turn libuv is done with it, and its memory and the
/// `data` it owns are freed.
///
/// # Safety
/// `handle` is a live handle from [`poll_new::<T>`](poll_new), not closed before.
pub unsafe fn close<T>(handle: *mut PollHandle) {
    // SAFETY: per the contract.
    unsafe { uv_close(handle, close_and_free::<T>) };
}

/// The close callback of a handle made by [`poll_new::<T>`](poll_new).
unsafe extern "C" fn close_and_free<T>(handle: *mut PollHandle) {
    // SAFETY: data is the Box<T> set in poll_new; libuv calls this once, after which nothing
    // uses the handle, so both are freed exactly once, here.
    unsafe {
        let data = uv_handle_get_data(handle).cast::<T>();
        if !data.is_null() {
            drop(Box::from_raw(data));
        }
        libc::free(handle.cast());
    }
}

/// Whether the handle keeps the loop alive while active.
///
/// # Safety
/// `handle` is a live handle from [`poll_new`] on this thread.
pub unsafe fn set_ref(handle: *mut PollHandle, on: bool) {
    // SAFETY: per the contract.
    unsafe {
        if on {
            uv_ref(handle)
        } else {
            uv_unref(handle)
        }
    }
}

/// The `data` given to [`poll_new::<T>`](poll_new).
///
/// # Safety
/// `handle` is a handle from [`poll_new::<T>`](poll_new) whose close callback has not run.
pub unsafe fn data<'a, T>(handle: *const PollHandle) -> &'a T {
    // SAFETY: per the contract, the Box<T> is alive until close_and_free.
    unsafe { &*uv_handle_get_data(handle).cast::<T>() }
}
