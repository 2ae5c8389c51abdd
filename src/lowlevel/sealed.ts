/**
 * @internal Payloads in sealed memfds (`largePayloads: 'memfd'`, `../large-payloads.ts`):
 * the send that falls back to one when the kernel refuses a datagram as too big, and the
 * receive that turns such a datagram back into its payload.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { closeSync } from 'node:fs';

import type { ReceivedFds } from '../ancillary/received-fds.js';
import type { SystemError } from '../errors.js';
import { mapSealedPayload, sealPayload, type NativeDatagram } from '../native/binding.js';

const EMPTY = Buffer.alloc(0);

/**
 * One datagram's send attempts: `plain()` until the kernel refuses the datagram as too big
 * (`EMSGSIZE`), then the same bytes sealed in a memfd, sent by `sealed(memfd)` as the one
 * descriptor of a zero-length datagram, retried with the same memfd while the peer's queue
 * is full. {@link SealedSend.release} closes the memfd once the send settled.
 */
export class SealedSend {
  readonly #data: NativeDatagram;
  readonly #plain: () => number;
  readonly #sealed: (memfd: number, empty: Buffer) => number;
  #memfd = -1;

  /**
   * @param data - the datagram
   * @param plain - its send as it is
   * @param sealed - the send of a zero-length datagram carrying `memfd`
   */
  constructor(data: NativeDatagram, plain: () => number, sealed: (memfd: number, empty: Buffer) => number) {
    this.#data = data;
    this.#plain = plain;
    this.#sealed = sealed;
  }

  /** One attempt: the bytes sent (or datagrams), or `WOULD_BLOCK`; throws what the send throws. */
  readonly attempt = (): number => {
    if (this.#memfd < 0) {
      try {
        return this.#plain();
      } catch (err) {
        if ((err as SystemError).code !== 'EMSGSIZE') throw err;
        this.#memfd = sealPayload(chunksOf(this.#data));
      }
    }
    return this.#sealed(this.#memfd, EMPTY);
  };

  /** Close the memfd, if one was made (the kernel holds its own reference to a sent one). */
  readonly release = (): void => {
    if (this.#memfd >= 0) closeSync(this.#memfd);
    this.#memfd = -1;
  };

  /**
   * `promise`, with the memfd released once it settles.
   * @param promise - the send's promise
   * @returns the same promise
   */
  releasing(promise: Promise<void>): Promise<void> {
    promise.then(this.release, this.release);
    return promise;
  }
}

/** The chunks of a datagram, for `sealPayload`. */
function chunksOf(data: NativeDatagram): Buffer[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  return Array.isArray(data) ? data : [data];
}

/**
 * A received datagram that is a sealed memfd (zero bytes, exactly one descriptor), as its
 * payload; the descriptor is closed whatever happens.
 * @param fds - the datagram's descriptors
 * @param maxPayloadSize - the most it may hold
 * @returns the payload, a Buffer over the mapping
 * @throws `ERR_UNIXGRAM_MEMFD_NOT_SEALED`, `ERR_UNIXGRAM_PAYLOAD_TOO_LARGE`, or the errno of
 * the syscall that failed
 */
export function unsealPayload(fds: ReceivedFds, maxPayloadSize: number): Buffer {
  try {
    return mapSealedPayload(fds.get(0), maxPayloadSize);
  } finally {
    fds.close();
  }
}
