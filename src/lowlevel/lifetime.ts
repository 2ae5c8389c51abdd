/**
 * @internal What closing a client, server or endpoint undoes, in one place: its endpoint,
 * the socket file it created, and the listener on the signal that closes it.
 * @packageDocumentation
 */
import { closedError } from '../errors.js';
import type { NativeAddress } from '../native/binding.js';
import type { Endpoint } from './endpoint.js';
import { unlinkSocketFile, type SocketFile } from './socket-file.js';

/** The endpoint of a public socket object, the socket file it made, and its abort signal. */
export class Lifetime {
  readonly endpoint: Endpoint<NativeAddress>;
  readonly #file: SocketFile | undefined;
  #unlisten: (() => void) | undefined;

  /**
   * @param endpoint - the socket
   * @param file - the socket file its owner created (unlinked on close if still that inode)
   */
  constructor(endpoint: Endpoint<NativeAddress>, file: SocketFile | undefined) {
    this.endpoint = endpoint;
    this.#file = file;
  }

  /** Throw `ERR_UNIXGRAM_CLOSED` once closed. */
  checkOpen(): void {
    if (this.endpoint.closed) throw closedError();
  }

  /**
   * Call `close` when `signal` aborts (and stop listening once closed).
   * @param signal - the owner's signal
   * @param close - the owner's close
   */
  closeOn(signal: AbortSignal, close: () => unknown): void {
    const onAbort = (): void => void close();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * Stop listening to the signal, close the endpoint, unlink the socket file if it is still
   * ours. Idempotent.
   * @returns whether this call closed it (false: it was closed already)
   */
  end(): boolean {
    if (this.endpoint.closed) return false;
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.endpoint.close();
    if (this.#file) unlinkSocketFile(this.#file);
    return true;
  }
}
