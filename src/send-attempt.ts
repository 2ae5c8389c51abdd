/**
 * @internal One packet's send attempt, for every path that is not `sendPacket`'s fast one:
 * a client's queued and synchronous sends, and a server's replies.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';
import { SocketAncillary } from './ancillary.js';
import { invalidArgType } from './errors.js';
import type { NativeSocket } from './native.js';
import type { DatagramProtocol } from './protocol.js';
import { toBuffer } from './send-many.js';

/**
 * Check the ancillary option and serialize the packet (before any syscall), and return the
 * native call that sends them: `send`, or `sendMsg` with descriptors and/or credentials.
 * The attempt carries what `ancillary` holds now, whenever it runs.
 * @param sock - the socket
 * @param protocol - how the packet is serialized
 * @param packet - the packet
 * @param ancillary - `options.ancillary` (checked here: JS callers can pass anything)
 * @param dest - the destination's `sun_path` bytes, or null on a connected socket
 * @returns the attempt: bytes sent, or WOULD_BLOCK when the peer's queue is full
 * @throws TypeError for an ancillary that is not a {@link SocketAncillary}; what the serializer throws
 */
export function sendAttempt<S>(sock: NativeSocket, protocol: DatagramProtocol<S, unknown>, packet: S, ancillary: SocketAncillary | undefined, dest: Buffer | null): () => number {
  if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType('options.ancillary', 'a SocketAncillary', ancillary);
  const data = toBuffer(protocol.makeDatagram(packet));
  const extra = ancillary?._toSend() ?? null;
  if (extra === null) return () => sock.send(data, dest);
  const { fds, credentials } = extra;
  return () => sock.sendMsg([data], fds, credentials, dest);
}
