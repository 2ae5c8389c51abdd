// unixgram UnixDatagramServer echo for the round trip through a server: listens on --self
// (bound, never connected; --listen is implied) and answers every packet to its sender
// with `await client.sendPacket(packet)`, from a per-packet handler. The ping side is
// `unixgram-pingpong.mjs ping --autobind` (a client connected to the server's path).
// --busy-poll N: the server with { busyPoll: N } (µs).
import { UnixDatagramServer, DatagramProtocol, BytesSerializer } from '../../dist/index.js';
import { parseArgs, say, finish, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
if (args.role !== 'echo') throw new Error('unixgram-server-pingpong.mjs: echo only (the ping is unixgram-pingpong.mjs ping --autobind)');
let count = 0;
await UnixDatagramServer.listen(
  args.self,
  new DatagramProtocol(new BytesSerializer()),
  async (packet, client) => {
    if (packet[0] === MARK_END) return finish({ count });
    count++;
    await client.sendPacket(packet);
  },
  {
    onError: (err) => {
      console.error('server error:', err);
      process.exit(2);
    },
    ...(args['busy-poll'] === undefined ? {} : { busyPoll: Number(args['busy-poll']) }),
  },
);
say('ready {}');
