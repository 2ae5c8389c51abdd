/**
 * The `reuseReceiveBuffer` option of clients and endpoints: receive into one buffer that
 * stays in cache, as a C receiver does, instead of fresh memory per datagram.
 * @packageDocumentation
 */
import { invalidArgType } from './errors.js';

/**
 * Receive every datagram into one buffer the library reuses.
 *
 * By default each received payload is memory of its own, which you may keep as long as
 * you like. With `reuseReceiveBuffer: true`, the payloads are received into one 512 KiB
 * buffer (starting on a cache line), reused as soon as you ask for the next packet and
 * none is queued: a packet's bytes (the Buffer `BytesSerializer` gives, and anything a
 * serializer returns that shares them) are valid only until then. Copy what you keep
 * (`Buffer.from(packet)`). While you still hold the buffer (packets are queued, or you have
 * not asked again), datagrams go to fresh memory as without the option, so nothing is lost
 * or overwritten early.
 *
 * For large datagrams the kernel's copy into memory that stays in cache is most of the
 * cost: 64 KiB datagrams are received at close to C's rate with it (bench/README.md). A
 * serializer that decodes the bytes at once (JSON, text) can use it without copying.
 */
export interface ReceiveBufferOptions {
  /** Receive into one reused buffer; a packet's bytes are valid until your next receive. Default `false`. */
  reuseReceiveBuffer?: boolean;
}

/** The option names of {@link ReceiveBufferOptions}, for the option checks. */
export const RECEIVE_BUFFER_OPTION_NAMES = ['reuseReceiveBuffer'] as const;

/**
 * @internal The option, checked.
 * @param options - what the caller passed
 * @returns whether to reuse the receive buffer
 * @throws `ERR_INVALID_ARG_TYPE` if it is not a boolean
 */
export function reuseReceiveBufferOf(options: ReceiveBufferOptions): boolean {
  const { reuseReceiveBuffer } = options;
  if (reuseReceiveBuffer !== undefined && typeof reuseReceiveBuffer !== 'boolean') {
    throw invalidArgType('options.reuseReceiveBuffer', 'a boolean', reuseReceiveBuffer);
  }
  return reuseReceiveBuffer === true;
}
