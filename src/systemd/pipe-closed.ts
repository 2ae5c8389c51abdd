/**
 * @internal Waiting for the other end of a pipe to be closed everywhere (end of file on our
 * read end) on the event loop: libuv polls the pipe (`net.Socket({ fd })`, as Node reads a
 * piped stdin), so no thread blocks in `read` and a timeout or an abort can stop the wait
 * and close the descriptor at once.
 * @packageDocumentation
 */
import { closeSync } from 'node:fs';
import net from 'node:net';

import { AbortError } from '../errors.js';

/**
 * Resolve once every copy of the pipe's write end is closed. `readFd` is taken over: it is
 * closed when this settles, whatever the outcome. Anything written to the pipe is read and
 * dropped.
 * @param readFd - the pipe's read end
 * @param seconds - how long to wait, or `null` for no limit
 * @param signal - stops the wait
 * @param timedOut - the error to reject with when `seconds` have passed
 * @returns a promise that resolves at end of file
 */
export function untilClosed(readFd: number, seconds: number | null, signal: AbortSignal | undefined, timedOut: () => Error): Promise<void> {
  if (signal?.aborted) {
    closeSync(readFd);
    return Promise.reject(new AbortError(signal.reason));
  }
  let reader: net.Socket;
  try {
    reader = new net.Socket({ fd: readFd, readable: true, writable: false });
  } catch (err) {
    closeSync(readFd);
    return Promise.reject(err);
  }
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => finish(new AbortError(signal?.reason));
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reader.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };
    reader.on('end', () => finish());
    reader.on('error', finish);
    reader.on('data', () => {});
    if (seconds !== null) timer = setTimeout(() => finish(timedOut()), seconds * 1000);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
