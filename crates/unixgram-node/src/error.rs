//! Every JS error the binding raises is built here, in Node's `ErrnoException` shape:
//! `.code` is the errno name or an `ERR_UNIXGRAM_*` code, `.errno` the negative errno (so
//! `util.getSystemErrorName(err.errno) === err.code`), `.syscall`, and `.address` when the
//! operation was about one. Returning `?` on a plain `io::Error` would give JS
//! `code: 'GenericFailure'` and lose all of that.
//!
//! Library codes come from the core's `Error::code()`, so they need no mapping here; they
//! have no `.errno`. On macOS and FreeBSD a Linux-only feature (abstract addresses,
//! autobind, `SO_PASSCRED`, `SO_PEERCRED`, sending `SCM_CREDENTIALS`, pidfds) is
//! `ERR_UNIXGRAM_UNSUPPORTED` (`ErrorKind::Unsupported`), with a message naming the feature
//! and the platform: `"bind ERR_UNIXGRAM_UNSUPPORTED @svc: macOS does not support abstract
//! socket addresses (Linux only)"`; so are `SO_PASSPIDFD` and `SO_PEERPIDFD` on a Linux
//! kernel older than 6.5, the message naming the kernel.

use std::ptr;

use napi::{sys, Error, Result, Status};
use unixgram_core::Error as CoreError;

use crate::js;

/// The JS error object for `err`.
pub(crate) fn to_js(env: sys::napi_env, err: &CoreError) -> Result<sys::napi_value> {
    let code = err.code();
    let js_code = js::string(env, &code)?;
    let msg = js::string(env, &err.to_string())?;
    let mut obj = ptr::null_mut();
    js::check(
        // SAFETY: env is live on this thread; code and msg are strings of this env.
        unsafe { sys::napi_create_error(env, js_code, msg, &mut obj) },
        "create_error",
    )?;
    if let Some(errno) = err.errno() {
        js::set(env, obj, "errno", js::int(env, -(errno as i64))?)?;
    }
    js::set(env, obj, "syscall", js::string(env, err.syscall())?)?;
    if let Some(address) = err.address() {
        js::set(env, obj, "address", js::string(env, address)?)?;
    }
    Ok(obj)
}

/// Throw `err` into JS and return the napi-rs error that says "already thrown".
pub(crate) fn throw(env: sys::napi_env, err: &CoreError) -> Error {
    match to_js(env, err) {
        Ok(obj) => {
            // SAFETY: env is live; obj is an error object of this env.
            unsafe { sys::napi_throw(env, obj) };
            Error::new(Status::PendingException, err.to_string())
        }
        Err(e) => e,
    }
}

/// A JS error with a library code for misuse, e.g. `ERR_UNIXGRAM_CLOSED`.
pub(crate) fn throw_code(env: sys::napi_env, code: &str, message: &str) -> Error {
    let build = || -> Result<sys::napi_value> {
        let mut obj = ptr::null_mut();
        let (c, m) = (js::string(env, code)?, js::string(env, message)?);
        js::check(
            // SAFETY: env is live; c and m are strings of this env.
            unsafe { sys::napi_create_error(env, c, m, &mut obj) },
            "create_error",
        )?;
        Ok(obj)
    };
    match build() {
        Ok(obj) => {
            // SAFETY: env is live; obj is an error object of this env.
            unsafe { sys::napi_throw(env, obj) };
            Error::new(Status::PendingException, message.to_owned())
        }
        Err(e) => e,
    }
}
