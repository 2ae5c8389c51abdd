/**
 * A drop-in for the `unix-dgram` 2.x package (`createSocket('unix_dgram')`, `bind`,
 * `connect`, `send`, `sendto`, `close`, events `message`, `listening`, `connect`, `error`,
 * `congestion`, `writable`) on unixgram's native layer: no node-gyp, worker-thread safe.
 *
 * Where it differs from `unix-dgram`, on purpose:
 * - **Errors carry string codes**: `err.code === 'ECONNREFUSED'`, `err.errno === -111`,
 *   `err.syscall`, `err.address` (Node's shape), not `code === errno === -111`.
 * - **No message is dropped on congestion.** A send that finds the peer's queue full is
 *   queued and sent, in order, once there is room; its callback runs then, without an
 *   error. `'congestion'` is still emitted (with the buffer, which is already queued: do
 *   not resend it) and `'writable'` once the queue has drained.
 * - **Events are emitted asynchronously** (`unix-dgram` emits `'listening'`, `'connect'`,
 *   `'error'` and calls `send` callbacks synchronously).
 * - `ref()` / `unref()` exist; `close()` twice is harmless; `rinfo.path` is `'\0name'` for
 *   an abstract sender, and `bind('\0name')` binds an abstract name with its exact length.
 * - Descriptors that arrive with a datagram (`SCM_RIGHTS`) are closed; use unixgram's own
 *   API to receive them.
 *
 * @example
 * ```ts
 * import unix from 'unixgram/compat/unix-dgram';
 * const client = unix.createSocket('unix_dgram');
 * client.on('error', console.error);
 * client.on('connect', () => client.send(Buffer.from('ping')));
 * client.connect('/tmp/server.sock');
 * ```
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';

import { encodeAddress } from '../address.js';
import { closedError, codedError, ErrorCodes, invalidArgType, type SystemError } from '../errors.js';
import { Endpoint } from '../lowlevel/endpoint.js';
import type { Peer } from '../lowlevel/receiver.js';
import type { MessageListener, SendCallback, SocketEvents } from './events.js';
import { pathOf } from './rinfo.js';
import { slice, toBuffer } from './send-args.js';

export type { MessageListener, SendCallback, SocketEvents } from './events.js';
export type { RemoteInfo } from './rinfo.js';

/**
 * A Unix datagram socket with `unix-dgram`'s API. Create it with {@link createSocket}.
 * It keeps the process alive while open, unless {@link Socket.unref}'d.
 */
export class Socket extends EventEmitter<SocketEvents> {
  /** Always `'unix_dgram'`. */
  readonly type = 'unix_dgram';
  /** Whether `connect()` succeeded. */
  connected = false;
  readonly #endpoint: Endpoint;
  #congested = false;
  /** The sender last seen, and its `rinfo.path`. */
  #peer: Peer | undefined;
  #peerPath: string | null = null;

  /** @internal Use {@link createSocket}. */
  constructor(listener?: MessageListener) {
    super();
    this.#endpoint = Endpoint.create({
      addresses: true,
      text: false,
      keepAlive: 'open',
      connected: () => this.connected,
      onReceived: () => this.#drain(),
      onSendsChanged: () => this.#sendsChanged(),
    });
    this.#endpoint.receiver.hold(); // read as long as the socket is open, as unix-dgram does
    if (typeof listener === 'function') this.on('message', listener);
  }

  /** The descriptor (`-1` once closed). */
  get fd(): number {
    return this.#endpoint.closed ? -1 : this.#endpoint.fd;
  }

  /**
   * Bind to `path` (or `'\0name'`, an abstract name). Emits `'listening'`, or `'error'`
   * (`EADDRINUSE`, `EACCES`, `ENOENT`, …), on a later tick. The socket file is not removed
   * by `close()`, as with `unix-dgram`.
   * @param path - where to bind
   */
  bind(path: string): void {
    this.#attempt(
      () => this.#endpoint.bind(encodeAddress(path, 'path')),
      () => this.emit('listening'),
    );
  }

  /**
   * Connect to `path`, so `send(buf, callback)` needs no address and a full peer queue is
   * signalled by the kernel. Emits `'connect'`, or `'error'` (`ENOENT`, `ECONNREFUSED`, …),
   * on a later tick.
   * @param path - the peer's path or `'\0name'`
   */
  connect(path: string): void {
    this.#attempt(
      () => {
        this.#endpoint.connect(encodeAddress(path, 'path'));
        this.connected = true;
      },
      () => this.emit('connect'),
    );
  }

  /**
   * Send `buf` over the connection (after {@link connect}). On a socket that is not
   * connected (a `connect()` that failed, or none) it fails as `send(2)` does: `ENOTCONN`,
   * through the callback or `'error'`.
   * @param buf - the datagram
   * @param callback - called once it is in the kernel, or with the error; without a
   *   callback, errors are emitted as `'error'`
   */
  send(buf: Uint8Array | string, callback?: SendCallback): void;
  /**
   * Send `buf[offset .. offset + length]` to `path` (on a connected socket: over the
   * connection, whatever `path` says).
   * @param buf - the bytes
   * @param offset - where the datagram starts in `buf`
   * @param length - its length
   * @param path - the receiver's path or `'\0name'`
   * @param callback - called once it is in the kernel, or with the error
   */
  send(buf: Uint8Array | string, offset: number, length: number, path: string, callback?: SendCallback): void;
  send(buf: Uint8Array | string, ...rest: unknown[]): void {
    const [offset, length, path, callback] =
      typeof rest[0] === 'function' || rest.length === 0 ? [undefined, undefined, undefined, rest[0]] : rest;
    if (callback !== undefined && callback !== null && typeof callback !== 'function')
      throw invalidArgType('callback', 'a function', callback);
    const data = slice(toBuffer(buf), offset, length);
    // Not connected and no path (a failed or missing connect()): sent anyway, so the caller
    // gets what send(2) says, ENOTCONN, through the callback or 'error', as from unix-dgram.
    // Clients such as hot-shots recreate their socket on that code.
    const dest = this.connected || path === undefined || path === null ? null : encodeAddress(path as string, 'path');
    this.#queueSend(data, dest, (callback ?? undefined) as SendCallback | undefined);
  }

  /**
   * `unix-dgram`'s other name for the five-argument {@link send} (its README calls it
   * `send_to`, which never existed).
   * @param buf - the bytes
   * @param offset - where the datagram starts in `buf`
   * @param length - its length
   * @param path - the receiver's path
   * @param callback - called once it is in the kernel, or with the error
   */
  sendto(buf: Uint8Array | string, offset: number, length: number, path: string, callback?: SendCallback): void {
    this.send(buf, offset, length, path, callback);
  }

  /**
   * Close the socket. Sends still queued by congestion are discarded and their callbacks
   * get `ERR_UNIXGRAM_CLOSED`. The socket file is not removed. Calling it again does nothing.
   */
  close(): void {
    this.#endpoint.close();
  }

  /** Let the process exit while this socket is open. @returns this */
  unref(): this {
    this.#endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}: the open socket keeps the process alive (the default). @returns this */
  ref(): this {
    this.#endpoint.setRef(true);
    return this;
  }

  #attempt(action: () => void, done: () => void): void {
    if (this.#endpoint.closed) throw closedError();
    try {
      action();
    } catch (err) {
      process.nextTick(() => this.emit('error', err as SystemError));
      return;
    }
    process.nextTick(done);
  }

  #queueSend(data: Buffer, dest: Buffer | null, callback: SendCallback | undefined): void {
    const endpoint = this.#endpoint;
    if (endpoint.closed) {
      // Sent after close(): an error for the callback, or an 'error' event (unlike sends
      // still queued at close(), whose callbacks alone are told).
      const err = closedError();
      process.nextTick(() => (callback ? callback(err) : this.emit('error', err)));
      return;
    }
    const wasWaiting = endpoint.sendPending;
    // The outcome a microtask later at the soonest, as from the queue: a send that went out
    // at once settles a resolved promise. A full peer queue makes it wait in line.
    endpoint.send(data, dest, null).then(
      () => callback?.(null),
      (err: SystemError) => this.#sent(callback, err),
    );
    if (!wasWaiting && endpoint.sendPending && !this.#congested) {
      this.#congested = true;
      process.nextTick(() => this.emit('congestion', data));
    }
  }

  /** A send failed: its callback gets the error, or else it is an `'error'` event (not after close). */
  #sent(callback: SendCallback | undefined, err: SystemError): void {
    if (callback) callback(err);
    else if (err.code !== ErrorCodes.CLOSED) this.emit('error', err);
  }

  #sendsChanged(): void {
    if (this.#congested && !this.#endpoint.sendPending && !this.#endpoint.closed) {
      this.#congested = false;
      // After the callbacks of what was queued (they run as promise reactions).
      setImmediate(() => this.emit('writable'));
    }
  }

  #drain(): void {
    const receiver = this.#endpoint.receiver;
    for (let raw = receiver.takeQueued(); raw && !this.#endpoint.closed; raw = receiver.takeQueued()) {
      raw.fds?.close();
      if (raw.error) {
        this.#emitOrSchedule('error', raw.error);
        continue;
      }
      const message = Buffer.from(raw.data as Buffer); // its own memory, as unix-dgram gives
      // One Peer per change of sender: its rinfo.path is made once.
      if (raw.from !== this.#peer) {
        this.#peer = raw.from;
        this.#peerPath = pathOf(raw.from?.raw as Buffer | undefined);
      }
      this.#emitOrSchedule('message', message, { size: message.length, address: {}, path: this.#peerPath });
    }
  }

  /** Emit; if a listener throws, deliver the rest of the batch on the next tick, then rethrow. */
  #emitOrSchedule<K extends keyof SocketEvents>(event: K, ...args: SocketEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SocketEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      process.nextTick(() => this.#drain());
      throw err;
    }
  }
}

/**
 * Create a socket, as `require('unix-dgram').createSocket`.
 * @param type - must be `'unix_dgram'` (`unix-dgram` hands `'udp4'`/`'udp6'` to `dgram`; use `node:dgram` for those)
 * @param listener - added as a `'message'` listener
 * @returns the socket
 * @throws `ERR_INVALID_ARG_VALUE` for any other type
 */
export function createSocket(type: 'unix_dgram', listener?: MessageListener): Socket {
  if (type !== 'unix_dgram') {
    throw Object.assign(
      codedError('ERR_INVALID_ARG_VALUE', `Unsupported socket type: ${String(type)} (only 'unix_dgram'; use node:dgram for UDP)`),
      {
        name: 'TypeError',
      },
    );
  }
  return new Socket(listener);
}

/** The module object, for `import dgram from 'unixgram/compat/unix-dgram'` (as `require('unix-dgram')` gives). */
const unixDgram: {
  /** See {@link createSocket}. */
  readonly createSocket: typeof createSocket;
  /** See {@link Socket}. */
  readonly Socket: typeof Socket;
} = { createSocket, Socket };
export default unixDgram;
