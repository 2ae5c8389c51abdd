// unixgram UnixDatagramEndpoint echo for the round trip through a server: bound at --self,
// never connected (--listen is implied), answers every packet of iterReceivedPacketsFrom
// to the address it came from with `await endpoint.sendPacketTo(packet, address)`. The ping
// side is `unixgram-pingpong.mjs ping --autobind` (a client connected to the echo's path).
import { UnixDatagramEndpoint, DatagramProtocol, BytesSerializer } from '../../dist/index.js';
import { parseArgs, say, finish, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
if (args.role !== 'echo') throw new Error('unixgram-endpoint-pingpong.mjs: echo only (the ping is unixgram-pingpong.mjs ping --autobind)');
const endpoint = await UnixDatagramEndpoint.bind(args.self, new DatagramProtocol(new BytesSerializer()));
say('ready {}');
let count = 0;
for await (const { packet, address } of endpoint.iterReceivedPacketsFrom({ timeout: null })) {
  if (packet[0] === MARK_END) break;
  count++;
  await endpoint.sendPacketTo(packet, address);
}
finish({ count });
