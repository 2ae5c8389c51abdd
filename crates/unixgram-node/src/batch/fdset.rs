//! Received descriptors, owned by the memory of a JS `Int32Array` until JS steals them.
//!
//! The descriptors of all datagrams of one batch go to JS as **one** `Int32Array` (the
//! "fd set"), in entry order; JS carves it into per-datagram ranges by the counts in the
//! batch metadata. An entry `>= 0` is a descriptor the set still owns; `-1` is one that left
//! it. JS takes one by reading the number and writing `-1` (`steal`: no native call), and
//! closes a datagram's range with one [`close_fd_range`] call. The array's memory is an
//! external ArrayBuffer allocated here: when it is garbage-collected (or its environment is
//! torn down, e.g. a worker exits), [`close_rest`] closes every entry still `>= 0`. So every
//! received fd has exactly one owner, and none can leak.

use std::ffi::c_void;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::ptr;

use napi::{sys, Result};

use crate::args::{args, guard, int_arg, type_error};
use crate::js;

/// The JS form of `fds`: an `Int32Array` over memory that owns them. `fds` is not empty.
pub(crate) fn fds_to_js(env: sys::napi_env, fds: Vec<OwnedFd>) -> Result<sys::napi_value> {
    let numbers: Box<[i32]> = fds.into_iter().map(IntoRawFd::into_raw_fd).collect();
    let len = numbers.len();
    let data = Box::into_raw(numbers).cast::<i32>();
    // SAFETY: `data` points to `len` i32s that stay valid and unmoved until `close_rest`
    // closes what is left and frees them; `len` rides along as the hint.
    let buffer = unsafe {
        js::external_arraybuffer_with(
            env,
            data.cast::<c_void>(),
            len * size_of::<i32>(),
            close_rest,
            len as *mut c_void,
        )?
    };
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
    for &fd in numbers.iter().filter(|&&fd| fd >= 0) {
        // SAFETY: an entry >= 0 is a descriptor the set still owns (JS writes -1 before it
        // takes or closes one), so it is closed exactly once, here.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

/// `closeFdRange(set: Int32Array, start: number, count: number): void`: close the entries
/// of `set[start .. start + count]` still `>= 0` and mark them `-1` (one datagram's range;
/// indices past the end are ignored). Wrong arguments throw a `TypeError`.
///
/// # Safety
/// Called by Node only, with a valid `env` and `info` for this call.
pub(crate) unsafe extern "C" fn close_fd_range(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    guard(env, || {
        // SAFETY: Node calls this with a valid `env` and `info`.
        let Some((argv, 3..)) = (unsafe { args::<3>(env, info) }) else {
            // SAFETY: `env` is this callback's.
            return unsafe {
                type_error(
                    env,
                    c"closeFdRange(set, start, count) takes three arguments",
                )
            };
        };
        // SAFETY: live handles of this callback.
        let (start, count) = unsafe { (int_arg(env, argv[1]), int_arg(env, argv[2])) };
        let (Some(start), Some(count)) = (start, count) else {
            // SAFETY: `env` is this callback's.
            return unsafe { type_error(env, c"start and count must be numbers") };
        };
        let mut kind = sys::TypedarrayType::uint8_array;
        let mut len = 0usize;
        let mut data: *mut c_void = ptr::null_mut();
        // SAFETY: a live handle; a non-typed-array makes the call fail, checked.
        let status = unsafe {
            sys::napi_get_typedarray_info(
                env,
                argv[0],
                &mut kind,
                &mut len,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if status != sys::Status::napi_ok || kind != sys::TypedarrayType::int32_array {
            // SAFETY: `env` is this callback's.
            return unsafe { type_error(env, c"set must be a batch's fd set (an Int32Array)") };
        }
        if len == 0 || data.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: N-API reports `len` i32s at `data` (an Int32Array's elements are aligned),
        // alive while the array is, which the caller holds for this call; no JS runs meanwhile.
        let entries = unsafe { std::slice::from_raw_parts_mut(data.cast::<i32>(), len) };
        let from = usize::try_from(start).unwrap_or(0).min(len);
        let to = from
            .saturating_add(usize::try_from(count).unwrap_or(0))
            .min(len);
        for entry in &mut entries[from..to] {
            let fd = std::mem::replace(entry, -1);
            if fd >= 0 {
                // SAFETY: an entry >= 0 is a descriptor the set owns; it is marked -1 above
                // first, so it is closed exactly once, here.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
        ptr::null_mut()
    })
}
