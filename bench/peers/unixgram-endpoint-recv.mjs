// unixgram UnixDatagramEndpoint receiver: bound at --self, never connected (the deployed
// setting; --listen is implied), counts packets until the end marker.
// --mode iter (for await over iterReceivedPacketsFrom, the default) | recv (await
// recvPacketFrom in a loop). --fds: each datagram carries descriptors, closed with the
// packet's `ancillary.close()` (the library closes them). --rcvbuf N: set SO_RCVBUF first
// (bench/README.md: it does not lift the 10-datagram queue). --memfd: bind with
// { largePayloads: 'memfd', maxPayloadSize: --max-payload N }: a payload that came as a
// sealed memfd is mapped back into the packet. --reuse: bind with { reuseReceiveBuffer: true }.
// --udp (issue 20): a UdpEndpoint bound at 127.0.0.1 (an ephemeral port, sent in the ready
// line), never connected; --rcvbuf N is then its receiveBufferSize option, and the ready line
// and the result say what the kernel gave, the result also the kernel's drop count
// (`socket.drops`, SO_RXQ_OVFL).
import * as unixgram from '../../dist/index.js';
import { parseArgs, say, finish, Window, exported, MARK_END } from '../lib/peer.mjs';

const { UnixDatagramEndpoint, DatagramProtocol, BytesSerializer } = unixgram;
const args = parseArgs();
const mode = args.mode ?? 'iter';
const protocol = new DatagramProtocol(new BytesSerializer());
const options = args.memfd ? { largePayloads: 'memfd', maxPayloadSize: Number(args['max-payload'] ?? 64 << 20) } : {};
if (args.reuse) options.reuseReceiveBuffer = true;
let endpoint;
const ready = {};
if (args.udp) {
  if (args.rcvbuf !== undefined) options.receiveBufferSize = Number(args.rcvbuf);
  endpoint = await exported(unixgram, 'UdpEndpoint').bind({ address: '127.0.0.1', port: 0 }, protocol, options);
  ready.port = endpoint.getLocalName().port;
  ready.rcvbuf = endpoint.socket.getReceiveBufferSize?.();
} else {
  endpoint = await UnixDatagramEndpoint.bind(args.self, protocol, options);
  if (args.rcvbuf !== undefined) endpoint.socket.setReceiveBufferSize(Number(args.rcvbuf));
}
say(`ready ${JSON.stringify(ready)}`);
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
const udp = args.udp ? { rcvbuf: ready.rcvbuf, drops: endpoint.socket.drops } : {};
await endpoint.close();
finish({ count, elapsed: win.elapsed, cpu_us: win.cpuUs, truncated, fds_closed: fdsClosed, ...udp });
