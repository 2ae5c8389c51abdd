//! Received descriptors, owned by the memory of a JS `Int32Array` until JS steals them.
//!
//! The descriptors of all datagrams of one batch go to JS as **one** `Int32Array` (the
//! "fd set"), in entry order; JS carves it into per-datagram ranges by the counts in the
//! batch metadata. An entry `>= 0` is a descriptor the set still owns; `-1` is one that left
//! it. JS takes one by reading the number and writing `-1` (`steal`: no native call), and
//! closes one by writing `-1` and then calling `closeFd`. The array's memory is an external
//! ArrayBuffer allocated here: when it is garbage-collected (or its environment is torn
//! down, e.g. a worker exits), [`close_rest`] closes every entry still `>= 0`. So every
//! received fd has exactly one owner, and none can leak.
//!
//! Before, the set was a napi-rs class, and each `steal` was an N-API method call (class
//! unwrap and type-tag check): a measurable share of the per-datagram cost of fd passing.

use std::ffi::c_void;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::ptr;

use napi::{sys, Result};

use crate::js;

/// Marks an entry that left the set (stolen or closed).
const GONE: i32 = -1;

/// The JS form of `fds`: an `Int32Array` over memory that owns them. `fds` is not empty.
pub(crate) fn fds_to_js(env: sys::napi_env, fds: Vec<OwnedFd>) -> Result<sys::napi_value> {
    let numbers: Box<[i32]> = fds.into_iter().map(IntoRawFd::into_raw_fd).collect();
    let len = numbers.len();
    let data = Box::into_raw(numbers).cast::<i32>();
    let mut buffer = ptr::null_mut();
    // SAFETY: `data` points to `len` i32s that stay valid and unmoved until `close_rest`
    // frees them; `len` rides along as the hint.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env,
            data.cast::<c_void>(),
            len * size_of::<i32>(),
            Some(close_rest),
            len as *mut c_void,
            &mut buffer,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: not handed over: still ours, so close them all now.
        unsafe { close_rest(env, data.cast::<c_void>(), len as *mut c_void) };
        js::check(status, "create_external_arraybuffer")?;
    }
    // From here the ArrayBuffer owns the descriptors, whatever fails below.
    let mut array = ptr::null_mut();
    js::check(
        // SAFETY: `buffer` is a live ArrayBuffer of `len * 4` bytes; offset 0 is aligned.
        unsafe {
            sys::napi_create_typedarray(
                env,
                sys::TypedarrayType::int32_array,
                len,
                buffer,
                0,
                &mut array,
            )
        },
        "create_typedarray",
    )?;
    Ok(array)
}

/// Finalizer of the fd set's memory: close every descriptor still in it, then free it.
///
/// # Safety
/// `data` and `hint` are the pointer and length given to `napi_create_external_arraybuffer`
/// by [`fds_to_js`], and this runs once for them (N-API calls it on the JS thread when the
/// ArrayBuffer is collected or its environment is torn down; nothing can touch the memory
/// then).
unsafe extern "C" fn close_rest(_env: sys::napi_env, data: *mut c_void, hint: *mut c_void) {
    let len = hint as usize;
    // SAFETY: per the contract, this is the Box<[i32]> leaked in fds_to_js.
    let numbers = unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(data.cast::<i32>(), len)) };
    for &fd in numbers.iter().filter(|&&fd| fd != GONE && fd >= 0) {
        // SAFETY: an entry >= 0 is a descriptor the set still owns (JS writes -1 before it
        // takes or closes one), so it is closed exactly once, here.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}
