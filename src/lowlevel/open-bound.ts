/**
 * @internal A new socket, set up and bound, the one way every client, endpoint and server
 * that binds makes its socket: closed again (its file unlinked) if any step fails.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import type { Endpoint } from './endpoint.js';
import { Lifetime } from './lifetime.js';
import { bindSocketFile, socketFilePath, type SocketFile, type SocketFileOptions } from './socket-file.js';

/** How {@link openBound} sets up and binds the socket. */
export interface OpenBoundOptions extends SocketFileOptions {
  /** Turn on `SO_PASSCRED` before binding. */
  passCredentials?: boolean | undefined;
  /** Turn on `SO_PASSPIDFD` before binding. */
  passPidfd?: boolean | undefined;
}

/**
 * Make a socket with `create`, turn on what `options` asks for, bind it at `raw` (a path as
 * a socket file, with `mode` and `removeStale`; an abstract or autobound name as it is;
 * `null`: stay unnamed), then run `then` (a connect, or making the server on it). `mode` is
 * checked against the address before the socket exists. On any failure the socket is
 * closed, the file it bound unlinked, and the error thrown.
 * @param create - makes the socket (its kind and how it is used)
 * @param raw - `sun_path` bytes (empty: autobind), or null
 * @param options - credentials, pidfds, and the socket file's mode and stale-file policy
 * @param then - the last step
 * @returns the socket and the socket file it made, if any
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` / `ERR_INVALID_ARG_VALUE` for a bad
 * `mode` (see {@link socketFilePath}); what a step throws
 */
export function openBound(
  create: () => Endpoint,
  raw: Buffer | null,
  options: OpenBoundOptions,
  then?: (endpoint: Endpoint, file: SocketFile | undefined) => void,
): { endpoint: Endpoint; file: SocketFile | undefined } {
  const path = socketFilePath(raw, options.mode);
  const endpoint = create();
  let file: SocketFile | undefined;
  try {
    if (options.passCredentials) endpoint.passCredentials();
    if (options.passPidfd) endpoint.passPidfd();
    if (path !== undefined) file = bindSocketFile(endpoint, path, options);
    else if (raw !== null) endpoint.bind(raw);
    then?.(endpoint, file);
  } catch (err) {
    new Lifetime(endpoint, file).end();
    throw err;
  }
  return { endpoint, file };
}
