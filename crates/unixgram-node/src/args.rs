//! The arguments of the raw N-API functions registered by hand (`send.rs`,
//! `batch/fdset.rs`) and of the `#[napi]` functions that check their own (`memfd.rs`): read
//! them without napi-rs's glue, check their types, and throw a `TypeError`
//! (`ERR_INVALID_ARG_TYPE`) for a wrong one, a `RangeError` (`ERR_OUT_OF_RANGE`) for a number
//! out of range. And the guard every raw function runs under, so that no panic crosses into JS.

use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::sys;
use unixgram_core::{Address, Credentials};

/// What a raw function returns after throwing: no value (N-API reads null as `undefined`,
/// and the pending exception is what JS sees).
pub(crate) type Thrown = sys::napi_value;

/// Run the body of a raw function; a panic (a bug) becomes a JS `Error` instead of
/// unwinding into Node, which would abort the process.
pub(crate) fn guard(env: sys::napi_env, body: impl FnOnce() -> sys::napi_value) -> sys::napi_value {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        // SAFETY: `env` is the running callback's; both strings are NUL-terminated statics.
        unsafe {
            sys::napi_throw_error(
                env,
                c"ERR_UNIXGRAM_INTERNAL".as_ptr(),
                c"unixgram: internal error in the native addon (a panic); please report it"
                    .as_ptr(),
            )
        };
        ptr::null_mut()
    })
}

/// Throw a `TypeError` with `ERR_INVALID_ARG_TYPE` and return no value.
///
/// # Safety
/// `env` must be the environment of the running callback.
pub(crate) unsafe fn type_error(env: sys::napi_env, message: &CStr) -> Thrown {
    // SAFETY: per the contract; both strings are NUL-terminated.
    unsafe { sys::napi_throw_type_error(env, c"ERR_INVALID_ARG_TYPE".as_ptr(), message.as_ptr()) };
    ptr::null_mut()
}

/// Throw a `RangeError` with `ERR_OUT_OF_RANGE` (a number of the right type, but not one
/// the function takes) and return no value.
///
/// # Safety
/// `env` must be the environment of the running callback.
pub(crate) unsafe fn range_error(env: sys::napi_env, message: &CStr) -> Thrown {
    // SAFETY: per the contract; both strings are NUL-terminated.
    unsafe { sys::napi_throw_range_error(env, c"ERR_OUT_OF_RANGE".as_ptr(), message.as_ptr()) };
    ptr::null_mut()
}

/// Throw `TypeError` `ERR_INVALID_ARG_TYPE` (`range: false`) or `RangeError`
/// `ERR_OUT_OF_RANGE` (`range: true`) with `message`, for a `#[napi]` function that checks its
/// own arguments, and return the napi-rs error that says it is thrown.
pub(crate) fn invalid(env: sys::napi_env, range: bool, message: &CStr) -> napi::Error {
    // SAFETY: `env` is the running call's.
    unsafe {
        if range {
            range_error(env, message)
        } else {
            type_error(env, message)
        }
    };
    napi::Error::new(
        napi::Status::PendingException,
        message.to_string_lossy().into_owned(),
    )
}

/// A descriptor-number argument of a `#[napi]` function, checked before any syscall: a
/// number (else `ERR_INVALID_ARG_TYPE`) that is an integer in `[0, 2**31)` (else
/// `ERR_OUT_OF_RANGE`; NaN and the infinities included). Thrown, then returned as the error.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn fd_number(env: sys::napi_env, value: sys::napi_value) -> napi::Result<i32> {
    // SAFETY: per the contract.
    let Some(fd) = (unsafe { number_arg(env, value) }) else {
        return Err(invalid(env, false, c"fd must be a number"));
    };
    if fd.fract() != 0.0 || !(0.0..=f64::from(i32::MAX)).contains(&fd) {
        return Err(invalid(
            env,
            true,
            c"fd must be an integer >= 0 and < 2**31",
        ));
    }
    Ok(fd as i32)
}

/// The first `N` arguments of the running call (`undefined` for those not given), and how
/// many were given.
///
/// # Safety
/// `env` and `info` are the running callback's.
pub(crate) unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Option<([sys::napi_value; N], usize)> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    // SAFETY: `argv` has room for `argc` handles (N-API fills the missing ones with
    // `undefined`); `this` and data are not asked for.
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
    (status == sys::Status::napi_ok).then_some((argv, argc))
}

/// Whether an argument is `undefined` or `null` (an optional argument not given).
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn absent(env: sys::napi_env, value: sys::napi_value) -> bool {
    let mut kind = sys::ValueType::napi_undefined;
    // SAFETY: per the contract.
    unsafe { sys::napi_typeof(env, value, &mut kind) };
    kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null
}

/// Whether an argument is a string.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn is_string(env: sys::napi_env, value: sys::napi_value) -> bool {
    let mut kind = sys::ValueType::napi_undefined;
    // SAFETY: per the contract.
    unsafe { sys::napi_typeof(env, value, &mut kind) };
    kind == sys::ValueType::napi_string
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

/// An argument as an `f64`, or `None` if it is not a number (no conversion: `'5'` is not).
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn number_arg(env: sys::napi_env, value: sys::napi_value) -> Option<f64> {
    let mut out = 0f64;
    // SAFETY: per the contract; a non-number makes the call fail, checked.
    (unsafe { sys::napi_get_value_double(env, value, &mut out) } == sys::Status::napi_ok)
        .then_some(out)
}

/// An argument as a `u32`, or `None` if it is not a number.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
unsafe fn uint_arg(env: sys::napi_env, value: sys::napi_value) -> Option<u32> {
    let mut out = 0u32;
    // SAFETY: per the contract; a non-number makes the call fail, checked.
    (unsafe { sys::napi_get_value_uint32(env, value, &mut out) } == sys::Status::napi_ok)
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

/// The Buffers `array[start..end]` (`end`: the whole array), or `None` if it is not an
/// array of Buffers.
///
/// # Safety
/// `env` is the running callback's and `array` a live handle of it; the slices must not be
/// used after the callback returns.
pub(crate) unsafe fn buffers_arg<'a>(
    env: sys::napi_env,
    array: sys::napi_value,
    start: u32,
    end: Option<u32>,
) -> Option<Vec<&'a [u8]>> {
    // SAFETY: per the contract.
    unsafe {
        let end = end.unwrap_or(array_len(env, array)?);
        (start..end)
            .map(|i| buffer_arg(env, element(env, array, i)?))
            .collect()
    }
}

/// A short string argument (at most 63 bytes of UTF-8), or `None` if it is not a string or
/// longer: enough for any IP address and port.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
unsafe fn short_string_arg(env: sys::napi_env, value: sys::napi_value) -> Option<String> {
    let mut buf = [0u8; 64];
    let mut len = 0usize;
    // SAFETY: per the contract; `buf` has room for the length passed; a non-string fails.
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), buf.len(), &mut len)
    };
    (status == sys::Status::napi_ok && len < buf.len() - 1)
        .then(|| String::from_utf8_lossy(&buf[..len]).into_owned())
}

/// An address argument as the binding takes them: a Buffer of `sun_path` bytes (a Unix
/// address), or a string `"a.b.c.d:port"` / `"[v6]:port"` (an IP address); `None` if it is
/// neither.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn address_arg(env: sys::napi_env, value: sys::napi_value) -> Option<Address> {
    // SAFETY: per the contract.
    unsafe {
        if let Some(bytes) = buffer_arg(env, value) {
            return Some(Address::from_sun_path(bytes));
        }
        if is_string(env, value) {
            return short_string_arg(env, value)?
                .parse()
                .ok()
                .map(Address::Inet);
        }
        None
    }
}

/// The length of an array argument, or `None` if it is not an array.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn array_len(env: sys::napi_env, value: sys::napi_value) -> Option<u32> {
    let mut is_array = false;
    // SAFETY: per the contract.
    unsafe { sys::napi_is_array(env, value, &mut is_array) };
    if !is_array {
        return None;
    }
    let mut length = 0u32;
    // SAFETY: an array handle of this callback.
    (unsafe { sys::napi_get_array_length(env, value, &mut length) } == sys::Status::napi_ok)
        .then_some(length)
}

/// Element `index` of an array argument.
///
/// # Safety
/// `env` is the running callback's and `array` a live array handle of it.
pub(crate) unsafe fn element(
    env: sys::napi_env,
    array: sys::napi_value,
    index: u32,
) -> Option<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: per the contract.
    (unsafe { sys::napi_get_element(env, array, index, &mut out) } == sys::Status::napi_ok)
        .then_some(out)
}

/// Property `name` of an object argument.
///
/// # Safety
/// `env` is the running callback's and `object` a live handle of it.
unsafe fn property(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &CStr,
) -> Option<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: per the contract; `name` is NUL-terminated. A non-object fails, checked.
    (unsafe { sys::napi_get_named_property(env, object, name.as_ptr(), &mut out) }
        == sys::Status::napi_ok)
        .then_some(out)
}

/// The control data to send with one datagram, as JS gives it: `undefined` / `null`, or
/// `{ fds?: number[], credentials?: { pid, uid, gid } }`.
#[derive(Default)]
pub(crate) struct Ancillary {
    pub(crate) fds: Vec<i32>,
    pub(crate) credentials: Option<Credentials>,
}

/// An ancillary argument (see [`Ancillary`]), or `None` if it is malformed.
///
/// # Safety
/// `env` is the running callback's and `value` a live handle of it.
pub(crate) unsafe fn ancillary_arg(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Option<Ancillary> {
    // SAFETY: every call below is on live handles of this callback.
    unsafe {
        if absent(env, value) {
            return Some(Ancillary::default());
        }
        let mut out = Ancillary::default();
        let fds = property(env, value, c"fds")?;
        if !absent(env, fds) {
            for i in 0..array_len(env, fds)? {
                out.fds.push(int_arg(env, element(env, fds, i)?)?);
            }
        }
        let credentials = property(env, value, c"credentials")?;
        if !absent(env, credentials) {
            out.credentials = Some(Credentials {
                pid: int_arg(env, property(env, credentials, c"pid")?)?,
                uid: uint_arg(env, property(env, credentials, c"uid")?)?,
                gid: uint_arg(env, property(env, credentials, c"gid")?)?,
            });
        }
        Some(out)
    }
}
