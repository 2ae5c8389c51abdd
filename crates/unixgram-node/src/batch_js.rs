//! A drained [`Batch`] as JS values: payloads in a pool ArrayBuffer (or handed over whole),
//! per-entry metadata in a reused `Uint32Array`, extras objects, and the fd set.

use std::ptr;

use napi::{sys, Result};

use crate::drain::{Batch, Extra, BATCH_MAX_DATAGRAMS};
use crate::error;
use crate::fdset;
use crate::js;
use crate::state::Shared;

/// Batches whose payloads total at most this many bytes are copied into the socket's pool
/// (no allocation, no finalizer); bigger ones are handed over as they are, without a copy.
const POOL_COPY_MAX: usize = 16 << 10;
/// Size of each pool ArrayBuffer. A pool is only ever appended to; when a batch does not fit
/// a new one is started, and the old one lives on as long as JS holds views into it.
const POOL_SIZE: usize = 128 << 10;
/// Capacity of the metadata array, in u32s: `[count, base]`, then `[len, flags]` per entry
/// (the drain budget, plus an error entry).
const META_CAP: usize = 2 + 2 * (BATCH_MAX_DATAGRAMS + 2);

/// Where batches are written for JS (see `batch_to_js`): the current payload pool, an
/// ArrayBuffer appended to and never overwritten, and one `Uint32Array` of metadata reused by
/// every batch (JS reads it before the callback returns).
pub(crate) struct BatchArea {
    pub(crate) pool: sys::napi_ref,
    pub(crate) pool_ptr: *mut u8,
    pub(crate) pool_used: usize,
    pub(crate) meta: sys::napi_ref,
    pub(crate) meta_ptr: *mut u32,
    /// The control words shared with JS (see [`crate::poll::control_to_js`]); null until JS asks.
    pub(crate) control: sys::napi_ref,
    pub(crate) control_ptr: *mut u32,
}

impl BatchArea {
    pub(crate) const fn new() -> Self {
        Self {
            pool: ptr::null_mut(),
            pool_ptr: ptr::null_mut(),
            pool_used: 0,
            meta: ptr::null_mut(),
            meta_ptr: ptr::null_mut(),
            control: ptr::null_mut(),
            control_ptr: ptr::null_mut(),
        }
    }
}

/// The JS form of a batch: `[slab: ArrayBuffer | undefined, meta: Uint32Array, extras:
/// object[] | undefined, fds: Int32Array | undefined, text: string | undefined]`.
/// `meta` is `[count, base, len0, flags0, len1, flags1, …]`: the payloads lie back to back in
/// `slab` from byte `base`. Small batches are copied into the socket's pool (one memcpy, no
/// allocation); big ones are handed over without a copy. `meta` is the socket's reusable
/// array, valid until the next batch: JS reads it at once. Extras exist only for entries with
/// `flags & 7 != 0` (an error, credentials, or a sender address that differs from the last
/// one reported, in this batch or an earlier one: see `drain::Addresses`), in entry order. The
/// descriptors of all entries are in the one `fds` set, in entry order: an entry with
/// `ENTRY_FDS` owns the next `flags >> 8` of them.
///
/// On a socket set to text payloads (its protocol reads text), with every payload valid UTF-8, the
/// payloads come instead as one string, `text`, back to back from index 0, and each entry's
/// length is in UTF-16 code units: JS slices it, with no Buffer and no decoding per
/// datagram. A batch with any other payload comes as bytes.
pub(crate) fn batch_to_js(
    shared: &Shared,
    env: sys::napi_env,
    batch: Batch,
) -> Result<[sys::napi_value; 5]> {
    let values = batch_values(shared, env, batch);
    if values.is_err() {
        // An address this batch reported may not reach JS: report the next one again.
        if let Ok(mut inner) = shared.try_borrow_mut() {
            inner.addresses.forget();
        }
    }
    values
}

fn batch_values(shared: &Shared, env: sys::napi_env, batch: Batch) -> Result<[sys::napi_value; 5]> {
    let text = shared.try_borrow().is_ok_and(|inner| inner.text_payloads);
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
        let meta = meta_to_js(shared, env, 0, &units)?;
        return Ok([js::undefined(env)?, meta, extras, fds, string]);
    }
    let (slab, base) = place_payloads(shared, env, batch.slab)?;
    let meta = meta_to_js(shared, env, base, &batch.meta)?;
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
    shared: &Shared,
    env: sys::napi_env,
    slab: Vec<u8>,
) -> Result<(sys::napi_value, usize)> {
    if slab.len() > POOL_COPY_MAX {
        return Ok((js::external_arraybuffer(env, slab)?, 0));
    }
    // Fast path: room left in the current pool. JS views cover only bytes already delivered,
    // so the bytes past `pool_used` are ours to write.
    let current = {
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return Ok((js::external_arraybuffer(env, slab)?, 0));
        };
        let area = &mut inner.area;
        if !area.pool.is_null() && POOL_SIZE - area.pool_used >= slab.len() {
            let base = area.pool_used;
            // SAFETY: [base, base + len) lies inside the pool's POOL_SIZE bytes (checked
            // above), which the strong reference keeps alive and no JS view covers yet.
            unsafe {
                ptr::copy_nonoverlapping(slab.as_ptr(), area.pool_ptr.add(base), slab.len());
            }
            area.pool_used += slab.len();
            Some((area.pool, base))
        } else {
            None
        }
    };
    if let Some((pool, base)) = current {
        return Ok((js::reference_value(env, pool)?, base));
    }
    // A new pool (no borrow is held while N-API runs).
    let (value, data) = js::arraybuffer(env, POOL_SIZE)?;
    // SAFETY: the new buffer has POOL_SIZE >= slab.len() bytes and no other user yet.
    unsafe { ptr::copy_nonoverlapping(slab.as_ptr(), data, slab.len()) };
    let Ok(mut inner) = shared.try_borrow_mut() else {
        return Ok((value, 0));
    };
    if inner.is_closed() {
        return Ok((value, 0)); // keep no reference that close() would not delete
    }
    let pool = js::reference(env, value)?;
    let old = std::mem::replace(&mut inner.area.pool, pool);
    inner.area.pool_ptr = data;
    inner.area.pool_used = slab.len();
    drop(inner);
    js::unreference(env, old);
    Ok((value, 0))
}

/// Write `[count, base, entries…]` into the socket's metadata array (made on first use).
fn meta_to_js(
    shared: &Shared,
    env: sys::napi_env,
    base: usize,
    entries: &[u32],
) -> Result<sys::napi_value> {
    let len = 2 + entries.len();
    let fill = |dst: *mut u32| {
        // SAFETY: dst points to at least `len` u32s (META_CAP, or a fresh array of len).
        let out = unsafe { std::slice::from_raw_parts_mut(dst, len) };
        out[0] = (entries.len() / 2) as u32;
        out[1] = base as u32;
        out[2..].copy_from_slice(entries);
    };
    let existing = shared
        .try_borrow()
        .ok()
        .filter(|inner| !inner.area.meta.is_null() && len <= META_CAP)
        .map(|inner| (inner.area.meta, inner.area.meta_ptr));
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
        if let Ok(mut inner) = shared.try_borrow_mut() {
            if !inner.is_closed() && inner.area.meta.is_null() {
                inner.area.meta = js::reference(env, array)?;
                inner.area.meta_ptr = data;
            }
        }
    }
    Ok(array)
}
