/**
 * @internal `serveForever()`: what every server does while it serves.
 * @packageDocumentation
 */
import { checkOptions, checkSignalType } from '../checks.js';
import { AbortError } from '../errors.js';
import { SERVER_OPTION_NAMES, type ServeOptions } from './options.js';

/** What `serveForever` needs of its server. */
export interface Served {
  readonly closed: boolean;
  close(): Promise<void>;
}

/**
 * Wait while `server` serves: until `done` (its close has finished), or until
 * `options.signal` aborts, which closes it and then rejects with an `AbortError`.
 * @param options - the caller's options, checked here
 * @param server - the server
 * @param done - settles once its close has finished
 * @returns the promise `serveForever` returns
 */
export function serveForever(options: ServeOptions | undefined, server: Served, done: Promise<void>): Promise<void> {
  let signal: AbortSignal | undefined;
  try {
    checkOptions(options, SERVER_OPTION_NAMES.serve);
    signal = checkSignalType(options?.signal);
  } catch (err) {
    return Promise.reject(err);
  }
  if (signal === undefined || server.closed) return done;
  const abort = signal;
  if (abort.aborted) return server.close().then(() => Promise.reject(new AbortError(abort.reason)));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => void server.close().then(() => reject(new AbortError(abort.reason)));
    abort.addEventListener('abort', onAbort, { once: true });
    void done.then(() => {
      abort.removeEventListener('abort', onAbort);
      if (!abort.aborted) resolve();
    });
  });
}
