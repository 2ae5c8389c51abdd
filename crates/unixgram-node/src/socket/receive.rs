//! `NativeSocket`'s receive side: the batch callback (`setCallback`), the control words
//! shared with JS (`control`), what a batch carries (`setWantAddress`, `setTextPayloads`),
//! what the poll watches (`watch`), and a drain without waiting (`readNow`). The watcher
//! itself is in `poll.rs`, the state it drives in `state.rs`.

use napi::bindgen_prelude::This;
use napi::{Env, JsValue, Result, Unknown};
use napi_derive::napi;

use super::{closed, NativeSocket};
use crate::error;
use crate::js;
use crate::poll;
use crate::state;
use crate::{batch_js, drain};

#[napi]
impl NativeSocket {
    /// The function called with each batch: `(slab, meta, extras, writable, fds, text)`. It is kept
    /// as a hidden property of this object, so it lives exactly as long as the socket
    /// object does; the native side refers to it weakly while idle and strongly while
    /// watching (see `poll::watch`).
    #[napi(catch_unwind)]
    pub fn set_callback(&self, env: Env, this: This, callback: Unknown) -> Result<()> {
        if self.shared.borrow().is_closed() {
            return Err(closed(&env));
        }
        js::keep_alive_on(env.raw(), this.object.raw(), callback.raw())?;
        state::set_callback(&self.shared, &env, callback.raw())
    }

    /// The control words shared with JS: see `poll::control_to_js`.
    #[napi(catch_unwind, ts_return_type = "Uint32Array")]
    pub fn control(&self, env: Env) -> Result<Unknown<'_>> {
        if self.shared.borrow().is_closed() {
            return Err(closed(&env));
        }
        let raw = env.raw();
        let value = poll::control_to_js(&self.shared, raw)?;
        // SAFETY: value is a live value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
    }

    /// Report each datagram's sender address in batches: an entry carries one when it
    /// differs from the last reported (JS keeps it across batches). Set before reading.
    #[napi]
    pub fn set_want_address(&self, on: bool) {
        self.shared.borrow_mut().addresses.set_wanted(on);
    }

    /// Deliver a batch whose payloads are all valid UTF-8 as one string (the callback's
    /// `text`; lengths in UTF-16 code units), for a protocol that reads text.
    #[napi]
    pub fn set_text_payloads(&self, on: bool) {
        self.shared.borrow_mut().text_payloads = on;
    }

    /// What to watch: bit 1 readable, bit 2 writable (one-shot); `keep_alive` holds the
    /// process open while watching; `strong` (default: whether anything is watched) holds
    /// the JS callback, and so the socket's JS side, alive.
    #[napi(catch_unwind)]
    pub fn watch(
        &self,
        env: Env,
        events: u32,
        keep_alive: bool,
        strong: Option<bool>,
    ) -> Result<()> {
        let events = (events & 3) as i32;
        poll::watch(
            &self.shared,
            events,
            keep_alive,
            strong.unwrap_or(events != 0),
        )
        .map_err(|e| error::throw(env.raw(), &e))
    }

    /// Drain what is queued now, without waiting: `[slab, meta, extras, fds, text]`, the
    /// batch callback's arguments without `writable`, or `undefined` when nothing is queued.
    #[napi(catch_unwind)]
    pub fn read_now(&self, env: Env) -> Result<Unknown<'_>> {
        let batch = {
            let mut inner = self.shared.borrow_mut();
            let inner = &mut *inner;
            let sock = inner.sock.as_mut().ok_or_else(|| closed(&env))?;
            drain::drain(sock, &mut inner.addresses)
        };
        let raw = env.raw();
        let value = if batch.is_empty() {
            js::undefined(raw)?
        } else {
            let parts = batch_js::batch_to_js(&self.shared, raw, batch)?;
            let arr = js::array(raw, parts.len())?;
            for (i, v) in parts.into_iter().enumerate() {
                js::set_index(raw, arr, i as u32, v)?;
            }
            arr
        };
        // SAFETY: value is a live value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(raw, value) })
    }
}
