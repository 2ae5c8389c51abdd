// unixgram UnixDatagramEndpoint receiver: bound at --self, never connected (the deployed
// setting; --listen is implied), counts packets until the end marker.
// --mode iter (for await over iterReceivedPacketsFrom, the default) | recv (await
// recvPacketFrom in a loop). --fds: each datagram carries descriptors, closed with the
// packet's `ancillary.close()` (the library closes them). --rcvbuf N: set SO_RCVBUF first
// (bench/README.md: it does not lift the 10-datagram queue). --memfd: bind with
// { largePayloads: 'memfd', maxPayloadSize: --max-payload N }: a payload that came as a
// sealed memfd is mapped back into the packet.
import { UnixDatagramEndpoint, DatagramProtocol, BytesSerializer } from '../../dist/index.js';
import { parseArgs, say, finish, Window, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const mode = args.mode ?? 'iter';
const options = args.memfd ? { largePayloads: 'memfd', maxPayloadSize: Number(args['max-payload'] ?? 64 << 20) } : {};
const endpoint = await UnixDatagramEndpoint.bind(args.self, new DatagramProtocol(new BytesSerializer()), options);
if (args.rcvbuf !== undefined) endpoint.socket.setReceiveBufferSize(Number(args.rcvbuf));
say('ready {}');
const win = new Window();
let count = 0;
let truncated = 0;
let fdsClosed = 0;

// Called for every data packet; the hot loops below stay tiny.
function onPacket(packet, ancillary) {
  if (count === 0) win.start();
  count++;
  if (packet.length !== args.size) truncated++;
  if (ancillary !== undefined) {
    fdsClosed += ancillary.fdCount;
    ancillary.close();
  }
}

if (mode === 'iter') {
  for await (const { packet, ancillary } of endpoint.iterReceivedPacketsFrom({ timeout: null })) {
    if (packet[0] === MARK_END) break;
    onPacket(packet, ancillary);
  }
} else if (mode === 'recv') {
  for (;;) {
    const { packet, ancillary } = await endpoint.recvPacketFrom();
    if (packet[0] === MARK_END) break;
    onPacket(packet, ancillary);
  }
} else {
  throw new Error(`unknown --mode ${mode}`);
}
win.stop();
await endpoint.close();
finish({ count, elapsed: win.elapsed, cpu_us: win.cpuUs, truncated, fds_closed: fdsClosed });
