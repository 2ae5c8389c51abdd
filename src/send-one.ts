/**
 * @internal The fast path of `sendPacket` on a connected socket with nothing queued ahead:
 * the datagram goes out at once by fd number; a full peer queue makes it wait in line.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { sendOnFd, sendTextOnFd, WOULD_BLOCK, type NativeSocket } from './native.js';
import type { SendLimits, Sender } from './sender.js';

/** What a send that went out at once returns: one settled promise, shared. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Send one datagram now by fd number (no class unwrap), a text serializer's text straight
 * into the send. A full queue waits in line, as bytes; any other failure is finished by
 * `sendFailed`, which grows SO_SNDBUF for a big datagram or throws the error with its address.
 * Only for a call with nothing queued ahead in `sender`.
 * @param fd - the socket's descriptor
 * @param sock - the socket, for finishing a failed send and for the queued retry
 * @param sender - the client's send queue
 * @param payload - the datagram's bytes, or the text to send as UTF-8
 * @param limits - what may end its wait for room, if it has to wait
 * @returns a promise that resolves once the datagram is queued in the kernel
 */
export function sendOne(fd: number, sock: NativeSocket, sender: Sender, payload: Buffer | string, limits?: SendLimits): Promise<void> {
  let sent = typeof payload === 'string' ? sendTextOnFd(fd, payload) : sendOnFd(fd, payload);
  if (sent >= 0) return RESOLVED;
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (sent !== WOULD_BLOCK) {
    try {
      sent = sock.sendFailed(-sent, bytes);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  if (sent >= 0) return RESOLVED;
  return sender.enqueue(() => sock.send(bytes, null), limits);
}
