//! Small raw N-API helpers for code that runs outside a napi-rs call (the poll callback):
//! there is no napi-rs `CallContext` there, only the `napi_env` kept at creation.

use std::ffi::{c_char, c_void};
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

pub(crate) fn boolean(env: sys::napi_env, v: bool) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: as above.
        unsafe { sys::napi_get_boolean(env, v, &mut out) },
        "get_boolean",
    )?;
    Ok(out)
}

pub(crate) fn global(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: as above.
        unsafe { sys::napi_get_global(env, &mut out) },
        "get_global",
    )?;
    Ok(out)
}

/// Whether a JS exception is pending (thrown by JS the binding called).
pub(crate) fn exception_pending(env: sys::napi_env) -> bool {
    let mut pending = false;
    // SAFETY: as above.
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    pending
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

pub(crate) fn null(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: as above.
        unsafe { sys::napi_get_null(env, &mut out) },
        "get_null",
    )?;
    Ok(out)
}

/// A Buffer holding a copy of `bytes` (for small metadata).
pub(crate) fn buffer_copy(env: sys::napi_env, bytes: &[u8]) -> Result<sys::napi_value> {
    let slice = BufferSlice::copy_from(&Env::from_raw(env), bytes)?;
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

/// A new zero-filled ArrayBuffer of `len` bytes on the JS heap, and its data pointer (stable
/// for the buffer's life: V8 never moves a backing store).
pub(crate) fn arraybuffer(env: sys::napi_env, len: usize) -> Result<(sys::napi_value, *mut u8)> {
    let mut out = ptr::null_mut();
    let mut data = ptr::null_mut();
    check(
        // SAFETY: env is live; data receives the backing store's address.
        unsafe { sys::napi_create_arraybuffer(env, len, &mut data, &mut out) },
        "create_arraybuffer",
    )?;
    Ok((out, data.cast::<u8>()))
}

/// An ArrayBuffer over memory of the binding's, without copying it; freed when JS
/// collects it.
pub(crate) fn external_arraybuffer(
    env: sys::napi_env,
    data: Box<[std::mem::MaybeUninit<u8>]>,
) -> Result<sys::napi_value> {
    type Memory = Box<[std::mem::MaybeUninit<u8>]>;
    unsafe extern "C" fn free(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
        // SAFETY: hint is the Box<Memory> leaked below, finalized exactly once.
        drop(unsafe { Box::from_raw(hint.cast::<Memory>()) });
    }
    let mut boxed: Box<Memory> = Box::new(data);
    let (ptr_, len) = (boxed.as_mut_ptr(), boxed.len());
    let hint = Box::into_raw(boxed);
    // SAFETY: the bytes stay valid (and unmoved: the slice's heap memory) until free runs,
    // which releases exactly the Box leaked above.
    unsafe { external_arraybuffer_with(env, ptr_.cast(), len, free, hint.cast()) }
}

/// A Node Buffer of `len` bytes, uninitialised as `Buffer.allocUnsafe`'s (allocated by
/// Node, so V8 counts it as young memory), as its ArrayBuffer and the address of its bytes.
pub(crate) fn buffer_uninit(env: sys::napi_env, len: usize) -> Result<(sys::napi_value, *mut u8)> {
    let mut buffer = ptr::null_mut();
    let mut data = ptr::null_mut();
    check(
        // SAFETY: env is live; data receives the Buffer's address.
        unsafe { sys::napi_create_buffer(env, len, &mut data, &mut buffer) },
        "create_buffer",
    )?;
    let mut kind = 0;
    let (mut length, mut offset) = (0, 0);
    let mut arraybuffer = ptr::null_mut();
    check(
        // SAFETY: buffer is a typed array of this env; every out pointer is valid.
        unsafe {
            sys::napi_get_typedarray_info(
                env,
                buffer,
                &mut kind,
                &mut length,
                ptr::null_mut(),
                &mut arraybuffer,
                &mut offset,
            )
        },
        "get_typedarray_info",
    )?;
    if offset != 0 || length != len {
        // Not the whole of its ArrayBuffer (Node does not pool native Buffers): refuse.
        return Err(napi::Error::new(
            napi::Status::GenericFailure,
            "a native Buffer shares its ArrayBuffer",
        ));
    }
    Ok((arraybuffer, data.cast::<u8>()))
}

/// An ArrayBuffer over `len` bytes at `data`, released by `finalize(env, data, hint)` when
/// JS collects it or its environment is torn down. If the ArrayBuffer cannot be created,
/// `finalize` runs at once: either way it runs exactly once.
///
/// # Safety
/// `data` must stay valid and unmoved for `len` bytes until `finalize` runs, and `finalize`
/// must release it given `data` and `hint`.
pub(crate) unsafe fn external_arraybuffer_with(
    env: sys::napi_env,
    data: *mut c_void,
    len: usize,
    finalize: unsafe extern "C" fn(sys::napi_env, *mut c_void, *mut c_void),
    hint: *mut c_void,
) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: per the contract.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(env, data, len, Some(finalize), hint, &mut out)
    };
    if status != sys::Status::napi_ok {
        // SAFETY: not handed over, so still ours to release, once.
        unsafe { finalize(env, data, hint) };
    }
    check(status, "create_external_arraybuffer")?;
    Ok(out)
}

/// A Node `Buffer` over the whole of `arraybuffer`, sharing its memory (no copy):
/// `Buffer.from(arraybuffer)`, called through the global `Buffer`. (N-API has no call for
/// this before `node_api_create_buffer_from_arraybuffer`, Node 22.12.)
pub(crate) fn buffer_over(
    env: sys::napi_env,
    arraybuffer: sys::napi_value,
) -> Result<sys::napi_value> {
    let buffer_class = named(env, global(env)?, c"Buffer")?;
    let from = named(env, buffer_class, c"from")?;
    let mut out = ptr::null_mut();
    check(
        // SAFETY: env is live; `from` is a function of this env, called with `Buffer` as
        // `this` and one live argument.
        unsafe { sys::napi_call_function(env, buffer_class, from, 1, &arraybuffer, &mut out) },
        "call_function",
    )?;
    Ok(out)
}

/// Property `name` of `object`.
fn named(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &std::ffi::CStr,
) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: env is live; object is a live value of it; name is NUL-terminated.
        unsafe { sys::napi_get_named_property(env, object, name.as_ptr(), &mut out) },
        "get_named_property",
    )?;
    Ok(out)
}

/// A `Uint32Array` of `len` elements over `buffer` from byte 0.
pub(crate) fn uint32_array(
    env: sys::napi_env,
    buffer: sys::napi_value,
    len: usize,
) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: buffer is an ArrayBuffer of this env holding at least 4 * len bytes.
        unsafe {
            sys::napi_create_typedarray(
                env,
                sys::TypedarrayType::uint32_array,
                len,
                buffer,
                0,
                &mut out,
            )
        },
        "create_typedarray",
    )?;
    Ok(out)
}

/// A strong reference to `value` (count 1); delete it with `unreference`.
pub(crate) fn reference(env: sys::napi_env, value: sys::napi_value) -> Result<sys::napi_ref> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: value is a live value of this env.
        unsafe { sys::napi_create_reference(env, value, 1, &mut out) },
        "create_reference",
    )?;
    Ok(out)
}

/// The value behind a strong reference.
pub(crate) fn reference_value(env: sys::napi_env, r: sys::napi_ref) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        // SAFETY: r is a live reference of this env.
        unsafe { sys::napi_get_reference_value(env, r, &mut out) },
        "get_reference_value",
    )?;
    Ok(out)
}

/// Delete a reference made by `reference` (null: nothing).
pub(crate) fn unreference(env: sys::napi_env, r: sys::napi_ref) {
    if !r.is_null() {
        // SAFETY: a live reference of this env, deleted once (callers null it after).
        unsafe { sys::napi_delete_reference(env, r) };
    }
}
