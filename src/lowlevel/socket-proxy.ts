/**
 * Low-level access to a socket's descriptor and options (`client.socket`).
 * @packageDocumentation
 */
import type { Credentials } from '../ancillary/ancillary.js';
import { Pidfd } from '../ancillary/pidfd.js';
import { FdRange } from '../ancillary/received-fds.js';
import { outOfRange } from '../errors.js';
import type { NativeSocket } from '../native/binding.js';

function checkSize(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw outOfRange(name, 'an integer between 1 and 2147483647', n);
  return n;
}

/**
 * Low-level access to a client's socket: its descriptor and options. Every method throws
 * `ERR_UNIXGRAM_CLOSED` once the client is closed.
 * @example
 * ```ts
 * client.socket.setSendBufferSize(1 << 20);
 * console.log(client.socket.maxDatagramSize);
 * ```
 */
export class SocketProxy {
  readonly #native: NativeSocket;

  /** @internal Made by the socket's endpoint, its one owner. */
  constructor(nativeSocket: NativeSocket) {
    this.#native = nativeSocket;
  }

  /** The descriptor, still owned by the client (do not close it). */
  get fd(): number {
    return this.#native.fd;
  }

  /** `SO_SNDBUF` as the kernel reports it (twice what was set). */
  getSendBufferSize(): number {
    return this.#native.getSendBufferSize();
  }

  /**
   * Set `SO_SNDBUF` (doubled and capped at `net.core.wmem_max` by the kernel). The largest
   * datagram is this minus 32; `sendPacket` raises it by itself when a datagram needs more.
   * @param size - bytes
   */
  setSendBufferSize(size: number): void {
    this.#native.setSendBufferSize(checkSize('size', size));
  }

  /** `SO_RCVBUF`. Linux does not use it to limit unix datagram queues. */
  getReceiveBufferSize(): number {
    return this.#native.getReceiveBufferSize();
  }

  /** Set `SO_RCVBUF`. @param size - bytes */
  setReceiveBufferSize(size: number): void {
    this.#native.setReceiveBufferSize(checkSize('size', size));
  }

  /** Whether `SO_PASSCRED` is on. */
  getPassCredentials(): boolean {
    return this.#native.getPassCredentials();
  }

  /**
   * Turn `SO_PASSCRED` on or off: every datagram then carries its sender's credentials.
   * Datagrams already queued when it is turned on carry pid 0 and the overflow uid/gid.
   * @param on - on or off
   */
  setPassCredentials(on: boolean): void {
    this.#native.setPassCredentials(Boolean(on));
  }

  /**
   * `SO_PEERCRED`: the peer's credentials, as of when the connection was made. Datagram
   * sockets only have them for socketpairs; otherwise `null`.
   */
  getPeerCredentials(): Credentials | null {
    return this.#native.getPeerCredentials() ?? null;
  }

  /** Whether `SO_PASSPIDFD` is on (`false` where the kernel has no such option). */
  getPassPidfd(): boolean {
    return this.#native.getPassPidfd();
  }

  /**
   * Turn `SO_PASSPIDFD` on or off (Linux >= 6.5): every datagram sent to the socket from
   * then on carries its sender's pidfd (`ancillary.pidfd`); those already queued carry none.
   * @param on - on or off
   * @throws `ERR_UNIXGRAM_UNSUPPORTED` (turning it on) on an older kernel, macOS and FreeBSD
   */
  setPassPidfd(on: boolean): void {
    this.#native.setPassPidfd(Boolean(on));
  }

  /**
   * `SO_PEERPIDFD`: a pidfd of the peer process, as of when the connection was made, owned
   * by the returned {@link Pidfd} (close or steal it; it is closed when garbage-collected).
   * As with {@link getPeerCredentials}, datagram sockets only have a peer process on
   * socketpairs (the process that made the pair, for both ends); otherwise `null`.
   * @returns the peer's pidfd, or `null`
   * @throws `ERR_UNIXGRAM_UNSUPPORTED` on a kernel older than 6.5, macOS and FreeBSD
   */
  getPeerPidfd(): Pidfd | null {
    const set = this.#native.getPeerPidfd();
    return set === null ? null : new Pidfd(new FdRange(set, 0, 0, true));
  }

  /**
   * UDP: how many times the kernel dropped what arrived at this socket because its receive
   * buffer was full, as reported with the latest datagram received after a drop
   * (`SO_RXQ_OVFL`; 0 until then, and always 0 on a Unix socket, which never drops). The
   * kernel counts what it queues: a datagram, or, for a run of one sender's datagrams it
   * coalesced (UDP GRO, which unixgram turns on), the whole run once. So it is a lower bound
   * of the datagrams lost: exact for senders that send one datagram per message, a count of
   * runs for GSO senders.
   */
  get drops(): number {
    return this.#native.drops;
  }

  /** The largest datagram that can be sent without raising `SO_SNDBUF` (`SO_SNDBUF - 32`). */
  get maxDatagramSize(): number {
    return this.#native.maxDatagramSize();
  }
}
