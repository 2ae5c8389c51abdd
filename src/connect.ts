/**
 * @internal The socket behind {@link UnixDatagramClient.connect}: created, bound as
 * {@link ConnectOptions.localAddress} says (autobind on Linux by default), with
 * `SO_PASSCRED` if asked, and connected; closed again, and a socket file it bound removed,
 * if any step fails.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { decodeAddress, encodeAddress } from './address.js';
import type { ConnectOptions } from './client-options.js';
import type { UnixDatagramClient } from './client.js';
import { native, type NativeSocket } from './native.js';
import { bindSocketFile, unlinkSocketFile, type SocketFile } from './socket-file.js';

/** A connected socket, and the socket file it is bound to (a `localAddress` path). */
export interface Connected {
  readonly sock: NativeSocket;
  readonly file: SocketFile | undefined;
}

/**
 * A new socket connected to `remote`.
 * @param remote - the encoded peer address
 * @param options - local address, credentials (already checked to be an object)
 * @returns the connected socket, yours to close, and its socket file to unlink on close
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a bad `options.localAddress`
 * (before any socket exists); what bind or connect throw (`ENOENT`, `ECONNREFUSED`, `EACCES`,
 * `ENAMETOOLONG`, `EADDRINUSE`, …), after closing the socket and removing its file
 */
export function connectSocket(remote: Buffer, options: ConnectOptions): Connected {
  const autobind = process.platform === 'linux' ? Buffer.alloc(0) : null;
  const local = options.localAddress === undefined ? autobind : options.localAddress === null ? null : encodeAddress(options.localAddress, 'localAddress');
  const localPath = local && local.length > 0 && local[0] !== 0 ? (decodeAddress(local) as { path: string }).path : undefined;
  const sock = native.NativeSocket.create();
  let file: SocketFile | undefined;
  try {
    if (options.passCredentials) sock.setPassCredentials(true);
    if (localPath !== undefined) file = bindSocketFile(sock, localPath, {});
    else if (local) sock.bind(local);
    sock.connect(remote);
  } catch (err) {
    sock.close();
    if (file) unlinkSocketFile(file);
    throw err;
  }
  return { sock, file };
}
