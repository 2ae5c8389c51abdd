/**
 * @internal The other end of `unixgram bench`, a child node process: it adopts the socketpair
 * end it inherited as fd 3 and runs one role, reporting on stdout as JSON lines.
 *
 * - `sink`: count datagrams until an empty one (the end marker); report the count, the bytes
 *   and the seconds from the first datagram to the marker.
 * - `echo`: send every datagram back until an empty one.
 *
 * Run as `node bench-peer.js sink|echo` with the socket as fd 3; prints `{"ready":true}` first.
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';

import { UnixDatagramClient, DatagramProtocol, BytesSerializer } from '../index.js';

const role = process.argv[2];
const client = UnixDatagramClient.fromFd(3, new DatagramProtocol(new BytesSerializer()));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

if (role === 'sink') {
  let count = 0;
  let bytes = 0;
  let first = 0;
  for await (const packet of client.iterReceivedPackets({ timeout: null })) {
    if (packet.length === 0) break;
    if (count === 0) first = performance.now();
    count += 1;
    bytes += packet.length;
  }
  const seconds = count === 0 ? 0 : (performance.now() - first) / 1000;
  process.stdout.write(`${JSON.stringify({ count, bytes, seconds })}\n`);
} else if (role === 'echo') {
  let count = 0;
  for await (const packet of client.iterReceivedPackets({ timeout: null })) {
    if (packet.length === 0) break;
    count += 1;
    await client.sendPacket(packet);
  }
  process.stdout.write(`${JSON.stringify({ count })}\n`);
} else {
  process.stderr.write(`bench-peer: unknown role ${String(role)}\n`);
  process.exitCode = 2;
}
await client.close();
