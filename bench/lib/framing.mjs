// 4-byte little-endian length framing for the `net` (unix stream socket) rows.

/** One frame: header + payload, built once and written many times. */
export function frame(payload) {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/** Returns a 'data' listener that calls onMessage(view) for every whole frame. */
export function deframer(onMessage) {
  let pending = null;
  return (chunk) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32LE(off);
      if (buf.length - off - 4 < len) break;
      onMessage(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    pending = off < buf.length ? buf.subarray(off) : null;
  };
}
