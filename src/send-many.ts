/**
 * @internal The pieces of `sendPackets`: packets to datagrams (checked before any
 * syscall), and the send attempt that goes out in chunks of one `sendmmsg` each.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { SocketAncillary } from './ancillary.js';
import { invalidArgType } from './errors.js';
import { sendManyOnFd, WOULD_BLOCK, type NativeSocket } from './native.js';
import type { JsSendAncillary as NativeSendAncillary } from '../index.js';
import type { DatagramProtocol } from './protocol.js';

/** Datagrams per native call: at most the kernel's `UIO_MAXIOV`; where to start; the least. */
const SEND_MANY_MAX = 1024;
const SEND_MANY_FIRST = 64;
const SEND_MANY_MIN = 16;

/**
 * A Buffer over the same bytes (no copy), as the binding takes Buffers.
 * @param data - serialized bytes
 * @returns `data` itself if it is a Buffer, else a Buffer view of its memory
 */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** What one `sendPackets` call sends: the datagrams, and ancillary data per datagram (or none at all). */
export interface Outgoing {
  datas: Buffer[];
  extras: Array<NativeSendAncillary | null> | null;
}

/**
 * Serialize and check everything before anything is sent.
 * @param protocol - the client's protocol
 * @param packets - an iterable of packets
 * @param list - `options.ancillary`
 * @returns the datagrams and their ancillary data
 * @throws TypeError for a non-iterable or a non-SocketAncillary entry; what the serializer throws
 */
export function prepareSendMany<S>(protocol: DatagramProtocol<S, unknown>, packets: Iterable<S>, list: ReadonlyArray<SocketAncillary | undefined> | undefined): Outgoing {
  if (packets === null || typeof (packets as Iterable<S>)[Symbol.iterator] !== 'function') {
    throw invalidArgType('packets', 'an iterable of packets', packets);
  }
  const datas: Buffer[] = [];
  for (const packet of packets) datas.push(toBuffer(protocol.makeDatagram(packet)));
  if (list === undefined) return { datas, extras: null };
  const extras = datas.map((_, i) => {
    const a = list[i];
    if (a === undefined || a === null) return null;
    if (!(a instanceof SocketAncillary)) throw invalidArgType(`options.ancillary[${i}]`, 'a SocketAncillary', a);
    const send = a._toSend();
    return send && { fds: send.fds ?? undefined, credentials: send.credentials ?? undefined };
  });
  return { datas, extras };
}

/**
 * The send attempt for the client's `Sender`: each call goes on from where the last
 * one stopped, and returns how many went in all, or WOULD_BLOCK when the peer's queue
 * filled up (called again once it drains); and how many have gone out so far.
 *
 * Datagrams per native call: a full peer queue takes only a few (11 by default), and each
 * call marshals its whole chunk, so start small, grow while everything goes out, and shrink
 * to about what fitted when the queue fills.
 * @param fd - the socket's descriptor, for the fast path
 * @param sock - the socket, for ancillary data and for finishing a failed send
 * @param outgoing - from {@link prepareSendMany}
 * @returns the attempt function, and the count of datagrams sent so far
 */
export function sendManyAttempt(fd: number, sock: NativeSocket, { datas, extras }: Outgoing): { attempt: () => number; sent: () => number } {
  let offset = 0;
  let chunk = SEND_MANY_FIRST;
  const attempt = (): number => {
    while (offset < datas.length) {
      const end = Math.min(datas.length, offset + chunk);
      const asked = end - offset;
      let sent: number;
      if (extras === null) {
        // The fast path (no ancillary data): by fd number, without slicing the array. A
        // failure of the first datagram is finished by `sendFailed` (see sendOne in
        // send-one.ts).
        sent = sendManyOnFd(fd, datas, offset, end);
        if (sent < 0 && sent !== WOULD_BLOCK) sent = sock.sendFailed(-sent, datas[offset] as Buffer) === WOULD_BLOCK ? WOULD_BLOCK : 1;
      } else {
        const whole = offset === 0 && end === datas.length;
        sent = sock.sendMany(whole ? datas : datas.slice(offset, end), whole ? extras : extras.slice(offset, end), null);
      }
      if (sent === WOULD_BLOCK) return WOULD_BLOCK;
      offset += sent;
      if (sent < asked) {
        chunk = Math.max(SEND_MANY_MIN, sent * 2);
        return WOULD_BLOCK; // the peer's queue filled up
      }
      chunk = Math.min(SEND_MANY_MAX, chunk * 2);
    }
    return datas.length;
  };
  return { attempt, sent: () => offset };
}
