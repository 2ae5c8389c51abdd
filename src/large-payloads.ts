/**
 * The `largePayloads` option of clients, endpoints and servers: payloads of any size,
 * through a sealed memfd when they do not fit a datagram.
 * @packageDocumentation
 */
import { outOfRange, invalidArgValue } from './errors.js';

/** The default {@link LargePayloadOptions.maxPayloadSize}: 64 MiB. */
export const DEFAULT_MAX_PAYLOAD_SIZE = 64 << 20;

/**
 * Payloads larger than the socket can send, as systemd-journald's native protocol sends
 * them: in a sealed memfd.
 *
 * With `largePayloads: 'memfd'`, a packet the kernel refuses as too big for a datagram
 * (`EMSGSIZE`: past `SO_SNDBUF`, which unixgram raises as far as the system lets it, or past
 * the 4 MiB the kernel allocates for one datagram) is written into a `memfd`, sealed
 * (`F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`), and sent as the only
 * descriptor of a zero-length datagram; the memfd is closed once it is in the kernel. A
 * receiver with the option turns such a datagram back into its payload: mapped read-only,
 * refused unless sealed (its sender could change it while it is read:
 * `ERR_UNIXGRAM_MEMFD_NOT_SEALED`) or if larger than `maxPayloadSize`
 * (`ERR_UNIXGRAM_PAYLOAD_TOO_LARGE`); either refusal is the error of that one receive, and
 * the descriptor is closed. The payload is a Buffer over the mapping, unmapped when
 * collected. The wire format is journald's, so a client with the option can send a 5 MB
 * entry to `/run/systemd/journal/socket`.
 *
 * A packet sent with its own ancillary data is never sealed (the receiver could not tell
 * its descriptors from the memfd): it fails with `EMSGSIZE` as without the option. Linux
 * only: elsewhere the fallback fails with `ERR_UNIXGRAM_UNSUPPORTED`.
 */
export interface LargePayloadOptions {
  /** `'memfd'`: send what does not fit a datagram as a sealed memfd, and receive those. */
  largePayloads?: 'memfd';
  /** The largest payload a sealed memfd may carry to this socket, in bytes. Default 64 MiB. */
  maxPayloadSize?: number;
}

/** The option names of {@link LargePayloadOptions}, for the option checks. */
export const LARGE_PAYLOAD_OPTION_NAMES = ['largePayloads', 'maxPayloadSize'] as const;

/**
 * @internal The options, checked: the most a received memfd may hold, or undefined when
 * the option is off.
 * @param options - what the caller passed
 * @returns `{ maxPayloadSize }` with `largePayloads: 'memfd'`, else undefined
 */
export function largePayloadsOf(options: LargePayloadOptions): { readonly maxPayloadSize: number } | undefined {
  const { largePayloads, maxPayloadSize } = options;
  if (largePayloads !== undefined && largePayloads !== 'memfd') {
    throw invalidArgValue('options.largePayloads', "must be 'memfd' (or left out)", largePayloads);
  }
  if (maxPayloadSize !== undefined && (!Number.isSafeInteger(maxPayloadSize) || maxPayloadSize < 0)) {
    throw outOfRange('options.maxPayloadSize', 'a whole number of bytes, 0 or more', maxPayloadSize);
  }
  if (largePayloads === undefined) {
    if (maxPayloadSize !== undefined) {
      throw invalidArgValue('options.maxPayloadSize', "is used only with largePayloads: 'memfd'", maxPayloadSize);
    }
    return undefined;
  }
  return { maxPayloadSize: maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE };
}
