// `unixgram send` and `listen --raw` keep bytes as they are: the whole of stdin as one datagram
// (`-`), one per line only with --lines, --file, --hex and --base64; checked against a python
// peer at the other end, with random binary data that holds newlines and invalid UTF-8.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { cli, finished } from './fixtures/cli-process.js';
import { abstractName, startPeer, tempDir, type PythonPeer } from './helpers.js';

/** Random bytes that surely hold a newline, a CR LF, a NUL and invalid UTF-8 (a lone 0xff, a cut sequence). */
function binary(size: number): Buffer {
  return Buffer.concat([randomBytes(size), Buffer.from([0x0a, 0x0d, 0x0a, 0x00, 0xff, 0xc3, 0x28, 0xe2, 0x82]), randomBytes(size)]);
}

/** What a python `record` peer received: each datagram's bytes, in order. */
async function recorded(peer: PythonPeer, count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(Buffer.from((await peer.nextJson<{ hex: string }>()).hex, 'hex'));
  return out;
}

test('send - sends the whole of stdin as one datagram, byte for byte', async (t) => {
  const sock = path.join(tempDir(t), 'whole.sock');
  const peer = await startPeer(t, 'datagrams.py', ['record', sock, '1']);
  const data = binary(20);
  const sender = cli(t, ['send', sock, '-'], { stdin: data });
  t.is(await finished(sender), 0, sender.stderr);
  t.deepEqual(await recorded(peer, 1), [data]);
  await peer.waitExit();
  t.deepEqual(peer.lines.length, 2, 'nothing else arrived');
});

test('listen --raw writes each payload to stdout unchanged, with nothing between them', async (t) => {
  const name = `@${abstractName('raw')}`;
  const listener = cli(t, ['listen', name, '--raw', '--count', '2']);
  await listener.stderrMatches(/listening on/);
  const [a, b] = [binary(500), binary(3)];
  const peer = await startPeer(t, 'datagrams.py', ['send', name, 'bound', a.toString('hex'), b.toString('hex')]);
  t.is(await finished(listener), 0, listener.stderr);
  t.deepEqual(listener.stdoutBytes, Buffer.concat([a, b]));
  await peer.waitExit();
});

test('send - into listen --raw: what comes out is what went in', async (t) => {
  const sock = path.join(tempDir(t), 'pipe.sock');
  const listener = cli(t, ['listen', sock, '--raw', '--count', '1']);
  await listener.stderrMatches(/listening on/);
  const data = binary(40_000);
  t.is(await finished(cli(t, ['send', sock, '-'], { stdin: data })), 0);
  t.is(await finished(listener), 0, listener.stderr);
  t.true(listener.stdoutBytes.equals(data));
});

test('send --lines: one datagram per line of stdin, the bytes of each line kept (a CR too), an empty line an empty datagram', async (t) => {
  const sock = path.join(tempDir(t), 'lines.sock');
  const lines = [
    Buffer.from('first'),
    Buffer.from([0xff, 0x00, 0xc3]),
    Buffer.from('crlf\r'),
    Buffer.alloc(0),
    Buffer.from('last, no newline'),
  ];
  const peer = await startPeer(t, 'datagrams.py', ['record', sock, String(lines.length)]);
  const stdin = Buffer.concat(lines.flatMap((line, i) => (i < lines.length - 1 ? [line, Buffer.from('\n')] : [line])));
  const sender = cli(t, ['send', sock, '--lines'], { stdin });
  t.is(await finished(sender), 0, sender.stderr);
  t.deepEqual(await recorded(peer, lines.length), lines);
});

test('send - --lines is the same as --lines', async (t) => {
  const name = `@${abstractName('lines')}`;
  const peer = await startPeer(t, 'datagrams.py', ['record', name, '2']);
  t.is(await finished(cli(t, ['send', name, '-', '--lines'], { stdin: 'one\ntwo\n' })), 0);
  t.deepEqual(await recorded(peer, 2), [Buffer.from('one'), Buffer.from('two')]);
});

test('send --file sends each file as one datagram, byte for byte', async (t) => {
  const dir = tempDir(t);
  const sock = path.join(dir, 'file.sock');
  const [a, b] = [binary(1000), binary(7)];
  writeFileSync(path.join(dir, 'a.bin'), a);
  writeFileSync(path.join(dir, 'b.bin'), b);
  const peer = await startPeer(t, 'datagrams.py', ['record', sock, '2']);
  const sender = cli(t, ['send', sock, '--file', path.join(dir, 'a.bin'), '--file', path.join(dir, 'b.bin')]);
  t.is(await finished(sender), 0, sender.stderr);
  t.deepEqual(await recorded(peer, 2), [a, b]);
});

test('send --file with --lines sends each line of each file; with --hex each file is hex', async (t) => {
  const dir = tempDir(t);
  const [a, b, h] = ['a.txt', 'b.txt', 'h.hex'].map((name) => path.join(dir, name)) as [string, string, string];
  writeFileSync(a, 'a1\na2\n');
  writeFileSync(b, Buffer.from([0x62, 0xff, 0x0a, 0x62, 0x32]));
  writeFileSync(h, '00ff\n0a\n');
  const name = `@${abstractName('filelines')}`;
  const peer = await startPeer(t, 'datagrams.py', ['record', name, '5']);
  t.is(await finished(cli(t, ['send', name, '--lines', '--file', a, '--file', b])), 0);
  t.is(await finished(cli(t, ['send', name, '--hex', '--file', h])), 0);
  t.deepEqual(await recorded(peer, 5), [
    Buffer.from('a1'),
    Buffer.from('a2'),
    Buffer.from([0x62, 0xff]),
    Buffer.from('b2'),
    Buffer.from([0, 0xff, 0x0a]),
  ]);
});

test('send --hex and --base64 decode each argument, the whole of stdin, or each line', async (t) => {
  const data = binary(30);
  const cases: Array<{ args: string[]; stdin?: string; expect: Buffer[] }> = [
    { args: ['--hex', data.toString('hex'), 'de ad BE EF'], expect: [data, Buffer.from('deadbeef', 'hex')] },
    // '--' ends the options: base64url text may start with '-' (random data did, 1 run in ~30).
    { args: ['--base64', '--', data.toString('base64'), data.toString('base64url')], expect: [data, data] },
    // xxd -p style: the hex of one datagram over several lines
    { args: ['--hex', '-'], stdin: `${data.toString('hex').replace(/(.{20})/g, '$1\n')}\n`, expect: [data] },
    {
      args: ['--base64', '--lines'],
      stdin: `${data.toString('base64')}\n${Buffer.from('two').toString('base64')}\n`,
      expect: [data, Buffer.from('two')],
    },
    { args: ['--hex', '--lines'], stdin: '00ff\n0a0d\n', expect: [Buffer.from([0, 0xff]), Buffer.from([0x0a, 0x0d])] },
  ];
  for (const { args, stdin, expect } of cases) {
    const name = `@${abstractName('dec')}`;
    const peer = await startPeer(t, 'datagrams.py', ['record', name, String(expect.length)]);
    const sender = cli(t, ['send', name, ...args], { stdin });
    t.is(await finished(sender), 0, `${args.join(' ')}: ${sender.stderr}`);
    t.deepEqual(await recorded(peer, expect.length), expect, args.join(' '));
  }
});

test('text that is not hex or base64: exit 2 for an argument, exit 1 for stdin, one line saying where', async (t) => {
  const name = `@${abstractName('bad')}`;
  const cases: Array<{ args: string[]; stdin?: string; code: number; message: RegExp }> = [
    {
      args: ['--hex', '00', '0g'],
      code: 2,
      message: /^unixgram: message 2 is not hex \(pairs of 0-9, a-f\)[^\n]*; see 'unixgram --help'\n$/,
    },
    {
      args: ['--hex', 'abc'],
      code: 2,
      message: /^unixgram: message 1 is not hex \(pairs of 0-9, a-f\): an odd number of digits; see 'unixgram --help'\n$/,
    },
    { args: ['--base64', 'a*b='], code: 2, message: /^unixgram: message 1 is not base64[^\n]*; see 'unixgram --help'\n$/ },
    {
      args: ['--hex', '--lines'],
      stdin: '00\nzz\n',
      code: 1,
      message: /^unixgram: line 2 of stdin is not hex \(pairs of 0-9, a-f\)[^\n]*\n$/,
    },
  ];
  // A usage error is found before connecting, so the argument cases run with nothing listening at `name`; stdin's
  // second line is read after the first was sent, so that case gets a listener, started just before it (the peer's
  // 20 s guard then covers one CLI run, not all of them on a loaded machine).
  let peer: PythonPeer | undefined;
  for (const { args, stdin, code, message } of cases) {
    if (stdin !== undefined) peer = await startPeer(t, 'datagrams.py', ['record', name, '1']);
    const run = cli(t, ['send', name, ...args], { stdin });
    t.is(await finished(run), code, `${args.join(' ')}: ${run.stderr}`);
    t.regex(run.stderr, message, args.join(' '));
  }
  if (peer === undefined) throw new Error('no case reads stdin');
  t.deepEqual(await recorded(peer, 1), [Buffer.from([0])], 'the line before the bad one was sent; nothing from the usage errors');
});

test('send: input usage errors (two sources, --lines with arguments, --hex with --base64, --raw with --json or --show-fds)', async (t) => {
  const cases = [
    ['send', '@x', 'a', '-'],
    ['send', '@x', 'a', '--file', '/etc/hostname'],
    ['send', '@x', '-', '--file', '/etc/hostname'],
    ['send', '@x', 'a', '--lines'],
    ['send', '@x', '--hex', '--base64', '00'],
    ['listen', '@x', '--raw', '--json'],
    ['listen', '@x', '--raw', '--show-fds'],
  ];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 2, args.join(' '));
    t.regex(runs[i]?.stderr ?? '', /^unixgram: [^\n]+; see 'unixgram --help'\n$/, args.join(' '));
  }
});
