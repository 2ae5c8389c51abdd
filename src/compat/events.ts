/**
 * The drop-in's events and callbacks: what a `Socket` emits, with which arguments, and
 * the shapes of `'message'` listeners and `send` callbacks.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import type { SystemError } from '../errors.js';
import type { RemoteInfo } from './rinfo.js';

/** `send` / `sendto` callbacks: called once the datagram is in the kernel, or with why not. */
export type SendCallback = (error?: SystemError | null) => void;

/** Listener of `'message'`. */
export type MessageListener = (message: Buffer, rinfo: RemoteInfo) => void;

/** The events a drop-in `Socket` emits and their arguments. */
export interface SocketEvents {
  /** A datagram arrived (its own `Buffer`). */
  message: [message: Buffer, rinfo: RemoteInfo];
  /** `bind()` succeeded. */
  listening: [];
  /** `connect()` succeeded. */
  connect: [];
  /** An operation failed (`code`, `errno`, `syscall`, `address`). */
  error: [error: SystemError];
  /** A send found the peer's queue full; the buffer is queued and will be sent (do not resend it). */
  congestion: [buf: Buffer];
  /** Every queued send went out after a `'congestion'`. */
  writable: [];
}
