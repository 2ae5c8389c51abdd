/**
 * What every socket object owns and does the same way, whatever its transport and role
 * (client, endpoint): its one low-level endpoint, `socket`, `closed`, `dupFd()`,
 * `ref()`/`unref()` and close.
 * @packageDocumentation
 */
import type { Endpoint } from './lowlevel/endpoint.js';
import { Lifetime } from './lowlevel/lifetime.js';
import type { SocketFile } from './lowlevel/socket-file.js';
import type { SocketProxy } from './lowlevel/socket-proxy.js';
import type { NativeAddress } from './native/binding.js';

/**
 * The base of the clients and endpoints: the socket they own and how it is handed out,
 * kept alive and closed.
 * @typeParam A - @internal the binding's form of its addresses
 */
export abstract class SocketHandle<A extends NativeAddress = NativeAddress> {
  /** @internal The socket. */
  protected readonly _endpoint: Endpoint<A>;
  /** @internal The endpoint, a socket file this object bound, and a signal that closes it. */
  protected readonly _life: Lifetime;

  /** @internal Made by a subclass. */
  protected constructor(endpoint: Endpoint<A>, file: SocketFile | undefined) {
    this._endpoint = endpoint;
    this._life = new Lifetime(endpoint, file);
  }

  /** Low-level access: the descriptor (still owned here) and socket options. */
  get socket(): SocketProxy {
    this._life.checkOpen();
    return this._endpoint.proxy;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this._endpoint.closed;
  }

  /**
   * A new descriptor for this socket, to hand to another process (`child_process.spawn`'s
   * `stdio`, which clears close-on-exec in the child) or to send as an fd over another
   * socket. This object keeps its own descriptor and keeps working. Both share one open file
   * description, so the duplicate is non-blocking (`O_NONBLOCK`) as well: a program that
   * wants blocking calls on it turns that off (Python: `sock.setblocking(True)`), which
   * unixgram does not mind.
   * @returns a close-on-exec fd that you own and must close
   * @throws `'ERR_UNIXGRAM_CLOSED'`
   * @example
   * ```ts
   * const fd = client.dupFd();
   * spawn(process.execPath, ['child.js'], { stdio: ['inherit', 'inherit', 'inherit', fd] }); // fd 3 there
   * fs.closeSync(fd);
   * ```
   */
  dupFd(): number {
    this._life.checkOpen();
    return this._endpoint.dupFd();
  }

  /** Let the process exit even while a receive or a send waits. @returns this */
  unref(): this {
    this._endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}: a waiting receive or send keeps the process alive. @returns this */
  ref(): this {
    this._endpoint.setRef(true);
    return this;
  }

  /**
   * Close the socket. Waiting receives and sends reject with `ERR_UNIXGRAM_CLOSED`;
   * descriptors received but not handed out are closed; a socket file this object bound is
   * unlinked if it is still the one it created. Calling it again does nothing.
   */
  async close(): Promise<void> {
    this._life.end();
  }

  /** `await using socket = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
