//! The arguments of the raw N-API functions registered by hand (`fast.rs`, `fdset.rs`):
//! read them without napi-rs's glue, check their types, and throw a `TypeError` for a wrong
//! one.

use std::ffi::{c_void, CStr};
use std::ptr;

use napi::sys;

/// Throw a `TypeError` and return no value.
///
/// # Safety
/// `env` must be the environment of the running callback.
pub(crate) unsafe fn type_error(env: sys::napi_env, message: &CStr) -> sys::napi_value {
    // SAFETY: per the contract; both strings are NUL-terminated statics.
    unsafe { sys::napi_throw_type_error(env, c"ERR_INVALID_ARG_TYPE".as_ptr(), message.as_ptr()) };
    ptr::null_mut()
}

/// The first `N` arguments of the running call, or `None` if fewer were given.
///
/// # Safety
/// `env` and `info` are the running callback's.
pub(crate) unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Option<[sys::napi_value; N]> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    // SAFETY: `argv` has room for `argc` handles; `this` and data are not asked for.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    (status == sys::Status::napi_ok && argc >= N).then_some(argv)
}

/// An argument as an `i32`, or `None` if it is not a number.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn int_arg(env: sys::napi_env, value: sys::napi_value) -> Option<i32> {
    let mut out = 0i32;
    // SAFETY: per the contract; a non-number makes the call fail, checked.
    (unsafe { sys::napi_get_value_int32(env, value, &mut out) } == sys::Status::napi_ok)
        .then_some(out)
}

/// The bytes of a Buffer argument, or `None` if it is not one.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it; the slice must not be
/// used after the callback returns (the Buffer keeps the bytes alive until then, and no JS
/// runs meanwhile).
pub(crate) unsafe fn buffer_arg<'a>(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Option<&'a [u8]> {
    let mut data: *mut c_void = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: per the contract; a non-Buffer makes the call fail, checked.
    if unsafe { sys::napi_get_buffer_info(env, value, &mut data, &mut len) } != sys::Status::napi_ok
    {
        return None;
    }
    Some(if len == 0 || data.is_null() {
        &[]
    } else {
        // SAFETY: N-API reports `len` bytes at `data`, alive per the contract.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    })
}
