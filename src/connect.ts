/**
 * @internal The socket behind {@link UnixDatagramClient.connect}: created, bound as
 * {@link ConnectOptions.localAddress} says (autobind on Linux by default), with
 * `SO_PASSCRED` if asked, and connected; closed again if any step fails.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { encodeAddress } from './address.js';
import type { ConnectOptions } from './client-options.js';
import type { UnixDatagramClient } from './client.js';
import { native, type NativeSocket } from './native.js';

/**
 * A new socket connected to `remote`.
 * @param remote - the encoded peer address
 * @param options - local address, credentials (already checked to be an object)
 * @returns the connected socket, yours to close
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a bad `options.localAddress`
 * (before any socket exists); what bind or connect throw (`ENOENT`, `ECONNREFUSED`, `EACCES`,
 * `ENAMETOOLONG`, …), after closing the socket
 */
export function connectSocket(remote: Buffer, options: ConnectOptions): NativeSocket {
  const autobind = process.platform === 'linux' ? Buffer.alloc(0) : null;
  const local = options.localAddress === undefined ? autobind : options.localAddress === null ? null : encodeAddress(options.localAddress, 'localAddress');
  const sock = native.NativeSocket.create();
  try {
    if (options.passCredentials) sock.setPassCredentials(true);
    if (local) sock.bind(local);
    sock.connect(remote);
  } catch (err) {
    sock.close();
    throw err;
  }
  return sock;
}
