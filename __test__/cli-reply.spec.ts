// Request/reply from the command line: `listen --reply TEXT` and `listen --echo` answer every
// datagram, `send --wait-reply` waits for one datagram back per message and prints it. Each
// side is checked against a python peer, then against the other.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test from 'ava';

import { cli, finished } from './fixtures/cli-process.js';
import { abstractName, startPeer, tempDir } from './helpers.js';

const hexOf = (text: string): string => Buffer.from(text).toString('hex');

test('listen --echo answers each datagram with itself, byte for byte', async (t) => {
  const sock = path.join(tempDir(t), 'echo.sock');
  const listener = cli(t, ['listen', sock, '--echo', '--count', '2']);
  await listener.stderrMatches(/listening on/);
  t.regex(listener.stderr, new RegExp(`^unixgram: listening on ${sock}, echoing each datagram back until 2 datagrams\n$`));
  const requests = [Buffer.concat([randomBytes(100), Buffer.from([0x0a, 0xff, 0x00])]), Buffer.alloc(0)];
  const peer = await startPeer(t, 'datagrams.py', ['ask', sock, ...requests.map((r) => r.toString('hex'))]);
  t.deepEqual(await peer.nextJson(), { reply: requests[0]?.toString('hex') });
  t.deepEqual(await peer.nextJson(), { reply: '' });
  t.is(await finished(listener), 0, listener.stderr);
  t.is(listener.stdout.trimEnd().split('\n').length, 2);
});

test('listen --reply TEXT answers with TEXT; an unbound sender cannot be answered: stderr says so and listening goes on', async (t) => {
  const name = `@${abstractName('reply')}`;
  const listener = cli(t, ['listen', name, '--reply', 'pöng', '--count', '2']);
  await listener.stderrMatches(/listening on/);
  t.regex(listener.stderr, /, answering each datagram with "pöng" until 2 datagrams\n$/);
  const unbound = await startPeer(t, 'datagrams.py', ['send', name, 'unbound', hexOf('from nowhere')]);
  await listener.stderrMatches(/cannot answer/);
  t.regex(
    listener.stderr,
    /\nunixgram: #1: cannot answer: the sender is not bound to an address \(an unbound socket can send but cannot be answered\)\n$/,
  );
  await unbound.waitExit();
  const asker = await startPeer(t, 'datagrams.py', ['ask', name, hexOf('ping')]);
  t.deepEqual(await asker.nextJson(), { reply: hexOf('pöng') });
  t.is(await finished(listener), 0, listener.stderr);
  const lines = listener.stdout.trimEnd().split('\n');
  t.deepEqual(
    lines.map((line) => line.replace(/@[0-9a-f]{5}/, '@x')),
    ['#1 from (unnamed) 12 bytes "from nowhere"', '#2 from @x 4 bytes "ping"'],
  );
});

test('send --wait-reply prints each reply as listen does (a python echo server answers)', async (t) => {
  const sock = path.join(tempDir(t), 'server.sock');
  const server = await startPeer(t, 'echo_server.py', [sock, '2']);
  const sender = cli(t, ['send', sock, 'ping', 'wide world', '--wait-reply']);
  t.is(await finished(sender), 0, sender.stderr);
  t.is(sender.stdout, `#1 from ${sock} 4 bytes "ping"\n#2 from ${sock} 10 bytes "wide world"\n`);
  t.is(sender.stderr, '');
  await server.kill();
});

test('send --wait-reply --raw writes the replies unchanged, one after the other', async (t) => {
  const name = `@${abstractName('rawreply')}`;
  const server = await startPeer(t, 'echo_server.py', [name, '2']);
  const replies = [Buffer.concat([randomBytes(64), Buffer.from('\n\r\n\xff', 'latin1')]), randomBytes(5)];
  const sender = cli(t, ['send', name, '--hex', '--wait-reply', '--raw', ...replies.map((r) => r.toString('hex'))]);
  t.is(await finished(sender), 0, sender.stderr);
  t.deepEqual(sender.stdoutBytes, Buffer.concat(replies));
  await server.kill();
});

test('send --wait-reply --json against listen --reply: one object per message, the reply in it', async (t) => {
  const sock = path.join(tempDir(t), 'json.sock');
  const listener = cli(t, ['listen', sock, '--reply', 'pong', '--count', '1']);
  await listener.stderrMatches(/listening on/);
  const sender = cli(t, ['send', sock, 'ping', '--wait-reply', '--json']);
  t.is(await finished(sender), 0, sender.stderr);
  t.deepEqual(JSON.parse(sender.stdout), {
    to: sock,
    size: 4,
    fdCount: 0,
    reply: { n: 1, from: sock, size: 4, data: 'pong', encoding: 'utf8', fdCount: 0 },
  });
  t.is(await finished(listener), 0, listener.stderr);
});

test('reply usage errors: --reply with --echo, --raw without --wait-reply, --raw with --json', async (t) => {
  const cases = [
    ['listen', '@x', '--reply', 'a', '--echo'],
    ['send', '@x', 'a', '--raw'],
    ['send', '@x', 'a', '--wait-reply', '--raw', '--json'],
  ];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 2, args.join(' '));
    t.regex(runs[i]?.stderr ?? '', /^unixgram: [^\n]+; see 'unixgram --help'\n$/, args.join(' '));
  }
});
