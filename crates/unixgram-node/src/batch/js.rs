//! A drained [`Batch`] as the callback's JS values (the format is in `batch.rs`): the chunk
//! the payloads were received into as an ArrayBuffer (`chunk.rs`), the metadata in a reused
//! `Uint32Array`, extras objects, the fd set, or the payloads as one string.
//!
//! The socket's [`Area`] is reached through an [`AreaCell`], borrowed only around memory
//! copies: no borrow is held while N-API runs, which may collect garbage and run finalizers
//! that close other sockets (this one included).

use napi::{sys, Result};
use unixgram_core::Address;

use super::area::Area;
use super::chunk::{Chunk, Memory, LENT_CHUNK};
use super::drain::{Batch, Extra, BATCH_MAX_DATAGRAMS};
use super::fdset;
use super::{META_BASE, META_COUNT, META_ENTRIES};
use crate::error;
use crate::js;

/// Capacity of the metadata array, in u32s: the header, then `[len, flags]` per entry (the
/// drain budget, plus an error entry).
const META_CAP: usize = META_ENTRIES as usize + 2 * (BATCH_MAX_DATAGRAMS + 2);

impl Area {
    /// Delete the JS references (on close); a chunk lives on while JS holds views into it.
    pub(crate) fn release(&mut self, env: sys::napi_env) {
        let area = std::mem::replace(self, Self::new());
        let chunks = [area.chunk, area.spare, area.lent].into_iter().flatten();
        for r in chunks.filter_map(Chunk::into_reference).chain(area.retired) {
            js::unreference(env, r);
        }
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
    // The chunk first, as a local value: from here on this scope keeps its memory alive,
    // whatever JS does to the socket meanwhile.
    let (slab, payloads) = chunk_to_js(cell, env, batch.base, batch.bytes)?;
    unreference_retired(cell, env);
    if let Some(units) = text.then(|| utf16_entries(payloads, &batch.meta)).flatten() {
        // SAFETY: every entry is valid UTF-8 (checked by utf16_entries), so their
        // concatenation is too.
        let all = unsafe { std::str::from_utf8_unchecked(payloads) };
        let string = js::string(env, all)?;
        // No view will cover those bytes: the next batch may reuse them.
        cell.with_area(|area| {
            if area.used == batch.base + batch.bytes {
                area.used = batch.base;
            }
        });
        let meta = meta_to_js(cell, env, 0, &units)?;
        make_spare(cell, env)?;
        return Ok([js::undefined(env)?, meta, extras, fds, string]);
    }
    let meta = meta_to_js(cell, env, batch.base, &batch.meta)?;
    make_spare(cell, env)?;
    Ok([slab, meta, extras, fds, js::undefined(env)?])
}

/// The error of a batch whose socket closed while it was being made.
fn closed() -> napi::Error {
    napi::Error::new(napi::Status::Closing, "socket closed")
}

/// Delete the references to chunks the drains moved away from.
fn unreference_retired(cell: &impl AreaCell, env: sys::napi_env) {
    let retired = cell
        .with_area(|area| std::mem::take(&mut area.retired))
        .unwrap_or_default();
    for r in retired {
        js::unreference(env, r);
    }
}

/// The ArrayBuffer over the socket's current chunk, and the batch's payloads in it
/// (`bytes` from `base`). A chunk of the binding's own memory is handed over to JS here, as
/// an external ArrayBuffer.
fn chunk_to_js<'a>(
    cell: &impl AreaCell,
    env: sys::napi_env,
    base: usize,
    bytes: usize,
) -> Result<(sys::napi_value, &'a [u8])> {
    let current = cell.with_area(|area| {
        area.ensure_chunk();
        let chunk = area.chunk.as_mut()?;
        let (ptr, cap) = (chunk.ptr, chunk.cap);
        match &mut chunk.memory {
            Memory::Js(r) => Some((ptr, cap, Ok(*r))),
            Memory::Owned(v) => Some((ptr, cap, Err(std::mem::take(v)))),
        }
    });
    let Some((ptr, cap, memory)) = current.flatten() else {
        return Err(closed());
    };
    let value = match memory {
        Ok(r) => js::reference_value(env, r)?,
        Err(own) => {
            // From here on JS owns the memory; the area keeps a reference instead (or its
            // Vec would be freed under the ArrayBuffer: it was taken out above).
            let value = js::external_arraybuffer(env, own)?;
            let reference = js::reference(env, value)?;
            let kept = cell.with_area(|area| match area.chunk.as_mut() {
                Some(c) if c.ptr == ptr => {
                    c.memory = Memory::Js(reference);
                    true
                }
                _ => false,
            });
            if kept != Some(true) {
                js::unreference(env, reference);
            }
            value
        }
    };
    debug_assert!(base + bytes <= cap);
    // SAFETY: the drain wrote [base, base + bytes) of this chunk, whose ArrayBuffer `value`
    // keeps alive for this handle scope; only a drain writes a chunk, and none runs while
    // the batch is made.
    let payloads = unsafe { std::slice::from_raw_parts(ptr.add(base), bytes) };
    Ok((value, payloads))
}

/// Make the socket's lent chunk (`Area::lend`), once.
pub(crate) fn lend(cell: &impl AreaCell, env: sys::napi_env) -> Result<()> {
    let (value, data) = js::buffer_uninit(env, LENT_CHUNK)?;
    let reference = js::reference(env, value)?;
    let refused = cell.with_area(|area| area.lend(Chunk::js(reference, data, LENT_CHUNK)));
    match refused {
        Some(None) => Ok(()),
        Some(Some(chunk)) => {
            if let Some(r) = chunk.into_reference() {
                js::unreference(env, r);
            }
            Ok(())
        }
        None => {
            js::unreference(env, reference);
            Err(closed())
        }
    }
}

/// Make the JS chunk the next drain will move to, if there is none of the size it wants
/// (one of another size is let go).
fn make_spare(cell: &impl AreaCell, env: sys::napi_env) -> Result<()> {
    let Some((old, size)) = cell.with_area(Area::spare_wanted).flatten() else {
        return Ok(());
    };
    if let Some(r) = old.and_then(Chunk::into_reference) {
        js::unreference(env, r);
    }
    let (value, data) = js::buffer_uninit(env, size)?;
    let reference = js::reference(env, value)?;
    let kept = cell.with_area(|area| {
        area.spare.is_none() && {
            area.spare = Some(Chunk::js(reference, data, size));
            true
        }
    });
    if kept != Some(true) {
        js::unreference(env, reference);
    }
    Ok(())
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

/// An address as JS takes it from the binding: `sun_path` bytes in a Buffer for a Unix
/// address, `"a.b.c.d:port"` / `"[v6]:port"` for an IP one.
pub(crate) fn address_to_js(env: sys::napi_env, address: &Address) -> Result<sys::napi_value> {
    match address {
        Address::Inet(inet) => js::string(env, &inet.to_string()),
        unix => js::buffer_copy(env, &unix.to_sun_path()),
    }
}

fn extras_to_js(env: sys::napi_env, batch_extras: Vec<Extra>) -> Result<sys::napi_value> {
    let extras = js::array(env, batch_extras.len())?;
    for (i, extra) in batch_extras.into_iter().enumerate() {
        let obj = js::object(env)?;
        if let Some(a) = &extra.address {
            js::set(env, obj, "address", address_to_js(env, a)?)?;
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
