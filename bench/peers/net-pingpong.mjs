// Node net over a unix stream socket with 4-byte framing: round trip of one frame.
import net from 'node:net';
import { once } from 'node:events';
import { parseArgs, say, waitGo, finish, payload, pinger, MARK_END } from '../lib/peer.mjs';
import { frame, deframer } from '../lib/framing.mjs';

const args = parseArgs();
if (args.role === 'echo') {
  let count = 0;
  const server = net.createServer((conn) => {
    conn.setNoDelay?.(true);
    conn.on(
      'data',
      deframer((msg) => {
        if (msg[0] === MARK_END) return finish({ count });
        count++;
        conn.write(frame(msg));
      }),
    );
  });
  server.listen(args.self, () => say('ready {}'));
} else {
  say('bound');
  await waitGo();
  const sock = net.connect(args.peer);
  await once(sock, 'connect');
  const data = frame(payload(args.size));
  const p = pinger(
    args,
    () => sock.write(data),
    () => new Promise((resolve) => sock.end(frame(payload(args.size, MARK_END)), resolve)),
  );
  sock.on(
    'data',
    deframer(() => p.reply()),
  );
  p.start();
}
