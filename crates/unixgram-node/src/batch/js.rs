//! A drained [`Batch`] as the callback's JS values (the format is in `batch.rs`): payloads in
//! a pool ArrayBuffer (or handed over whole), the metadata in a reused `Uint32Array`, extras
//! objects, the fd set, or the payloads as one string.
//!
//! The socket's [`Area`] (its pool and metadata array) is reached through an [`AreaCell`],
//! borrowed only around memory copies: no borrow is held while N-API runs, which may collect
//! garbage and run finalizers that close other sockets.

use std::ptr;

use napi::{sys, Result};

use super::drain::{recycle, Batch, Extra, BATCH_MAX_DATAGRAMS};
use super::fdset;
use super::{META_BASE, META_COUNT, META_ENTRIES};
use crate::error;
use crate::js;

/// Batches whose payloads total at most this many bytes are copied into the socket's pool
/// (no allocation, no finalizer); bigger ones are handed over as they are, without a copy.
const POOL_COPY_MAX: usize = 16 << 10;
/// Size of each pool ArrayBuffer. A pool is only ever appended to; when a batch does not fit
/// a new one is started, and the old one lives on as long as JS holds views into it.
const POOL_SIZE: usize = 128 << 10;
/// Capacity of the metadata array, in u32s: the header, then `[len, flags]` per entry (the
/// drain budget, plus an error entry).
const META_CAP: usize = META_ENTRIES as usize + 2 * (BATCH_MAX_DATAGRAMS + 2);

/// Where a socket's batches are written for JS: the current payload pool, an ArrayBuffer
/// appended to and never overwritten (bytes already delivered stay valid under the views JS
/// made), and one metadata array reused by every batch.
pub(crate) struct Area {
    pool: sys::napi_ref,
    pool_ptr: *mut u8,
    pool_used: usize,
    meta: sys::napi_ref,
    meta_ptr: *mut u32,
}

impl Area {
    pub(crate) const fn new() -> Self {
        Self {
            pool: ptr::null_mut(),
            pool_ptr: ptr::null_mut(),
            pool_used: 0,
            meta: ptr::null_mut(),
            meta_ptr: ptr::null_mut(),
        }
    }

    /// Delete the JS references (on close); the memory lives on while JS holds views.
    pub(crate) fn release(&mut self, env: sys::napi_env) {
        let area = std::mem::replace(self, Self::new());
        js::unreference(env, area.pool);
        js::unreference(env, area.meta);
    }
}

/// Access to a socket's [`Area`], if the socket is still open.
pub(crate) trait AreaCell {
    /// Run `f` on the area; `None` if the socket is closed or its state is borrowed.
    fn with_area<R>(&self, f: impl FnOnce(&mut Area) -> R) -> Option<R>;
}

/// `[slab, meta, extras, fds, text]`: the callback's arguments but `writable`, for a batch
/// that is not empty. `text` says the socket wants text payloads.
pub(crate) fn to_js(
    cell: &impl AreaCell,
    env: sys::napi_env,
    batch: Batch,
    text: bool,
) -> Result<[sys::napi_value; 5]> {
    // The descriptors first: from here on a JS object owns them, whatever fails later.
    let fds = if batch.fds.is_empty() {
        js::undefined(env)?
    } else {
        fdset::fds_to_js(env, batch.fds)?
    };
    let extras = if batch.extras.is_empty() {
        js::undefined(env)?
    } else {
        extras_to_js(env, batch.extras)?
    };
    if let Some(units) = text
        .then(|| utf16_entries(&batch.slab, &batch.meta))
        .flatten()
    {
        // SAFETY: every entry is valid UTF-8 (checked by utf16_entries), so their
        // concatenation is too.
        let all = unsafe { std::str::from_utf8_unchecked(&batch.slab) };
        let string = js::string(env, all)?;
        recycle(batch.slab);
        let meta = meta_to_js(cell, env, 0, &units)?;
        return Ok([js::undefined(env)?, meta, extras, fds, string]);
    }
    let mut payloads = batch.slab;
    let (slab, base) = place_payloads(cell, env, &mut payloads)?;
    recycle(payloads);
    let meta = meta_to_js(cell, env, base, &batch.meta)?;
    Ok([slab, meta, extras, fds, js::undefined(env)?])
}

/// The entries `[len, flags]…` with each length in UTF-16 code units, or `None` if a
/// payload is not valid UTF-8 on its own.
fn utf16_entries(slab: &[u8], meta: &[u32]) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(meta.len());
    let mut offset = 0;
    for entry in meta.chunks_exact(2) {
        let bytes = slab.get(offset..offset + entry[0] as usize)?;
        offset += bytes.len();
        let units = if bytes.is_ascii() {
            bytes.len()
        } else {
            std::str::from_utf8(bytes).ok()?.encode_utf16().count()
        };
        out.extend_from_slice(&[units as u32, entry[1]]);
    }
    Some(out)
}

fn extras_to_js(env: sys::napi_env, batch_extras: Vec<Extra>) -> Result<sys::napi_value> {
    let extras = js::array(env, batch_extras.len())?;
    for (i, extra) in batch_extras.into_iter().enumerate() {
        let obj = js::object(env)?;
        if let Some(a) = &extra.address {
            js::set(env, obj, "address", js::buffer_copy(env, &a.to_sun_path())?)?;
        }
        if let Some(e) = &extra.error {
            js::set(env, obj, "error", error::to_js(env, e)?)?;
        }
        if let Some(c) = extra.credentials {
            let cred = js::object(env)?;
            js::set(env, cred, "pid", js::int(env, c.pid.into())?)?;
            js::set(env, cred, "uid", js::int(env, c.uid.into())?)?;
            js::set(env, cred, "gid", js::int(env, c.gid.into())?)?;
            js::set(env, obj, "credentials", cred)?;
        }
        js::set_index(env, extras, i as u32, obj)?;
    }
    Ok(extras)
}

/// Put the payloads where JS can see them: `(ArrayBuffer, offset of the first byte)`.
fn place_payloads(
    cell: &impl AreaCell,
    env: sys::napi_env,
    slab: &mut Vec<u8>,
) -> Result<(sys::napi_value, usize)> {
    if slab.len() > POOL_COPY_MAX {
        return Ok((js::external_arraybuffer(env, std::mem::take(slab))?, 0));
    }
    // Room left in the current pool: JS views cover only bytes already delivered, so the
    // bytes past `pool_used` are ours to write.
    let current = cell.with_area(|area| {
        if area.pool.is_null() || POOL_SIZE - area.pool_used < slab.len() {
            return None;
        }
        let base = area.pool_used;
        // SAFETY: [base, base + len) lies inside the pool's POOL_SIZE bytes (checked above),
        // which the strong reference keeps alive and no JS view covers yet.
        unsafe { ptr::copy_nonoverlapping(slab.as_ptr(), area.pool_ptr.add(base), slab.len()) };
        area.pool_used += slab.len();
        Some((area.pool, base))
    });
    if let Some((pool, base)) = current.flatten() {
        return Ok((js::reference_value(env, pool)?, base));
    }
    // A new pool (no borrow is held while N-API runs).
    let (value, data) = js::arraybuffer(env, POOL_SIZE)?;
    // SAFETY: the new buffer has POOL_SIZE >= slab.len() bytes and no other user yet.
    unsafe { ptr::copy_nonoverlapping(slab.as_ptr(), data, slab.len()) };
    let pool = js::reference(env, value)?;
    let old = cell.with_area(|area| {
        area.pool_ptr = data;
        area.pool_used = slab.len();
        std::mem::replace(&mut area.pool, pool)
    });
    // A closed socket keeps no reference that its close would not delete.
    js::unreference(env, old.unwrap_or(pool));
    Ok((value, 0))
}

/// Write the header and `entries` into the socket's metadata array (made on first use).
fn meta_to_js(
    cell: &impl AreaCell,
    env: sys::napi_env,
    base: usize,
    entries: &[u32],
) -> Result<sys::napi_value> {
    let len = META_ENTRIES as usize + entries.len();
    let fill = |dst: *mut u32| {
        // SAFETY: dst points to at least `len` u32s (META_CAP, or a fresh array of len).
        let out = unsafe { std::slice::from_raw_parts_mut(dst, len) };
        out[META_COUNT as usize] = (entries.len() / 2) as u32;
        out[META_BASE as usize] = base as u32;
        out[META_ENTRIES as usize..].copy_from_slice(entries);
    };
    let existing = cell
        .with_area(|area| {
            (!area.meta.is_null() && len <= META_CAP).then_some((area.meta, area.meta_ptr))
        })
        .flatten();
    if let Some((meta, meta_ptr)) = existing {
        fill(meta_ptr);
        return js::reference_value(env, meta);
    }
    let cap = len.max(META_CAP);
    let (buffer, data) = js::arraybuffer(env, cap * 4)?;
    let array = js::uint32_array(env, buffer, cap)?;
    let data = data.cast::<u32>();
    fill(data);
    if len <= META_CAP {
        let reference = js::reference(env, array)?;
        let kept = cell.with_area(|area| {
            if !area.meta.is_null() {
                return false;
            }
            area.meta = reference;
            area.meta_ptr = data;
            true
        });
        if kept != Some(true) {
            js::unreference(env, reference);
        }
    }
    Ok(array)
}
