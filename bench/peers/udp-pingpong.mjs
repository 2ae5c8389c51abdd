// Node dgram UDP loopback round trip: "echo" answers each datagram to its source.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { parseArgs, say, waitGo, finish, payload, pinger, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const sock = dgram.createSocket('udp4');
sock.bind(0, '127.0.0.1');
await once(sock, 'listening');
if (args.role === 'echo') {
  let count = 0;
  sock.on('message', (buf, rinfo) => {
    if (buf[0] === MARK_END) return finish({ count });
    count++;
    sock.send(buf, rinfo.port, rinfo.address);
  });
  say('ready ' + JSON.stringify({ port: sock.address().port }));
} else {
  say('bound');
  const { port } = await waitGo();
  sock.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const data = payload(args.size);
  const p = pinger(
    args,
    () => sock.send(data),
    () => sock.send(payload(args.size, MARK_END)),
  );
  sock.on('message', () => p.reply());
  p.start();
}
