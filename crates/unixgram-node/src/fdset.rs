//! Received descriptors, owned on the Rust side until JS steals them.
//!
//! The descriptors of all datagrams of one batch live in one `FdSet`, in entry order (JS
//! carves it into per-datagram ranges by the counts in the batch metadata). A descriptor
//! leaves it only through `steal()` (the caller now owns the number) or `closeRange()`;
//! whatever is left when the JS object is garbage-collected is closed by `Drop`.
//! So no received fd can leak.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};

use napi::bindgen_prelude::{JavaScriptClassExt, ToNapiValue};
use napi::{sys, Env, Result};
use napi_derive::napi;

/// Descriptors received with one batch of datagrams, in entry order.
#[napi]
pub struct FdSet {
    fds: Vec<Option<OwnedFd>>,
}

impl FdSet {
    pub fn new(fds: Vec<OwnedFd>) -> Self {
        Self {
            fds: fds.into_iter().map(Some).collect(),
        }
    }

    /// A JS instance owning these descriptors.
    pub(crate) fn into_js(self, env: sys::napi_env) -> Result<sys::napi_value> {
        let env_ref = Env::from_raw(env);
        let instance = self.into_instance(&env_ref)?;
        // SAFETY: env is live; the instance belongs to it.
        unsafe { ToNapiValue::to_napi_value(env, instance) }
    }
}

#[napi]
impl FdSet {
    /// The descriptor at `index`, still owned by the set; -1 once stolen or closed.
    #[napi]
    pub fn get(&self, index: u32) -> i32 {
        self.fds
            .get(index as usize)
            .and_then(|f| f.as_ref())
            .map_or(-1, |f| f.as_raw_fd())
    }

    /// Hand the descriptor at `index` to the caller, who must close it; -1 if it was
    /// already stolen or closed (the JS side, which knows the datagram's range, says why).
    #[napi]
    pub fn steal(&mut self, index: u32) -> i32 {
        self.fds
            .get_mut(index as usize)
            .and_then(Option::take)
            .map_or(-1, IntoRawFd::into_raw_fd)
    }

    /// Close the descriptors at `start .. start + count` still in the set (one datagram's
    /// range). Idempotent; indices past the end are ignored.
    #[napi]
    pub fn close_range(&mut self, start: u32, count: u32) {
        let len = self.fds.len();
        let from = (start as usize).min(len);
        let to = from.saturating_add(count as usize).min(len);
        for fd in &mut self.fds[from..to] {
            drop(fd.take());
        }
    }
}
