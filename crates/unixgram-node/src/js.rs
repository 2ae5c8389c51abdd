//! Small raw N-API helpers for code that runs outside a napi-rs call (the poll callback):
//! there is no napi-rs `CallContext` there, only the `napi_env` kept at creation.

use std::ffi::c_char;
use std::ptr;

use napi::bindgen_prelude::{BufferSlice, ToNapiValue};
use napi::{sys, Env, Error, Result, Status};

/// Turn an N-API status into a `Result`.
pub(crate) fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            format!("N-API call failed: {what}"),
        ))
    }
}

pub(crate) fn object(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: env is live on this thread (callers run on the JS thread).
        unsafe { sys::napi_create_object(env, &mut out) },
        "create_object",
    )?;
    Ok(out)
}

pub(crate) fn array(env: sys::napi_env, len: usize) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: as above.
        unsafe { sys::napi_create_array_with_length(env, len, &mut out) },
        "create_array",
    )?;
    Ok(out)
}

pub(crate) fn set(
    env: sys::napi_env,
    obj: sys::napi_value,
    name: &str,
    value: sys::napi_value,
) -> Result<()> {
    let key = string(env, name)?;
    check(
        // SAFETY: obj, key and value are live values of this env.
        unsafe { sys::napi_set_property(env, obj, key, value) },
        "set_property",
    )
}

pub(crate) fn set_index(
    env: sys::napi_env,
    arr: sys::napi_value,
    index: u32,
    value: sys::napi_value,
) -> Result<()> {
    check(
        // SAFETY: arr and value are live values of this env.
        unsafe { sys::napi_set_element(env, arr, index, value) },
        "set_element",
    )
}

pub(crate) fn int(env: sys::napi_env, v: i64) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: as above.
        unsafe { sys::napi_create_int64(env, v, &mut out) },
        "create_int64",
    )?;
    Ok(out)
}

pub(crate) fn string(env: sys::napi_env, s: &str) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: s is valid UTF-8 of the given length.
        unsafe {
            sys::napi_create_string_utf8(
                env,
                s.as_ptr().cast::<c_char>(),
                s.len() as isize,
                &mut out,
            )
        },
        "create_string",
    )?;
    Ok(out)
}

pub(crate) fn undefined(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: as above.
        unsafe { sys::napi_get_undefined(env, &mut out) },
        "get_undefined",
    )?;
    Ok(out)
}

/// A Buffer holding a copy of `bytes` (for small metadata).
pub(crate) fn buffer_copy(env: sys::napi_env, bytes: &[u8]) -> Result<sys::napi_value> {
    let slice = BufferSlice::copy_from(&Env::from_raw(env), bytes)?;
    // SAFETY: env is live; the slice's value belongs to it.
    unsafe { <&BufferSlice>::to_napi_value(env, &slice) }
}

/// A Buffer that takes over `data` without copying it.
pub(crate) fn buffer_owned(env: sys::napi_env, data: Vec<u8>) -> Result<sys::napi_value> {
    let slice = BufferSlice::from_data(&Env::from_raw(env), data)?;
    // SAFETY: env is live; the slice's value belongs to it.
    unsafe { <&BufferSlice>::to_napi_value(env, &slice) }
}

/// Keep `value` alive as long as `owner`, under a fresh symbol key (invisible to string
/// property lookups and `JSON.stringify`).
pub(crate) fn keep_alive_on(
    env: sys::napi_env,
    owner: sys::napi_value,
    value: sys::napi_value,
) -> Result<()> {
    let mut key = ptr::null_mut();
    let description = string(env, "unixgram.callback")?;
    check(
        // SAFETY: env is live; description is a string of this env.
        unsafe { sys::napi_create_symbol(env, description, &mut key) },
        "create_symbol",
    )?;
    check(
        // SAFETY: owner, key and value are live values of this env.
        unsafe { sys::napi_set_property(env, owner, key, value) },
        "set_property",
    )
}
