// The `unixgram` command line, run as a user runs it: a separate process per command
// (src/cli/main.ts under tsx; once through bin/unixgram.mjs and the build in dist/).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { AUTOBOUND, cli, finished, roundTrip } from './fixtures/cli-process.js';
import { REPO_ROOT, abstractName, tempDir } from './helpers.js';

test('listen + send over a path: one line per datagram, in order', async (t) => {
  const sock = path.join(tempDir(t), 'cli.sock');
  const { listener, sendCode, listenCode } = await roundTrip(t, [sock, '--count', '2'], [sock, 'hello', 'wide world']);
  t.is(sendCode, 0);
  t.is(listenCode, 0, listener.stderr);
  const lines = listener.stdout.trimEnd().split('\n');
  t.is(lines.length, 2);
  t.regex(lines[0] ?? '', /^#1 from @[0-9a-f]{5} 5 bytes "hello"$/);
  t.regex(lines[1] ?? '', /^#2 from @[0-9a-f]{5} 10 bytes "wide world"$/);
  t.regex(listener.stderr, new RegExp(`^unixgram: listening on ${sock} until 2 datagrams\n$`));
  t.false(existsSync(sock), 'the socket file is removed on exit');
});

test('listen --json over an abstract name: one JSON object per line', async (t) => {
  const name = `@${abstractName('cli')}`;
  const { listener, sender, listenCode } = await roundTrip(t, [name, '--json', '--count', '1'], [name, 'ünï']);
  t.is(listenCode, 0, listener.stderr);
  const record = JSON.parse(listener.stdout) as Record<string, unknown>;
  t.regex(String(record.from), AUTOBOUND);
  t.deepEqual({ ...record, from: 'x' }, { n: 1, from: 'x', size: Buffer.byteLength('ünï'), data: 'ünï', encoding: 'utf8', fdCount: 0 });
  t.is(sender.stdout, '');
});

test('send --fd /etc/hostname; listen --show-fds says what arrived (and --json on both sides)', async (t) => {
  const sock = path.join(tempDir(t), 'fds.sock');
  const { listener, sender, listenCode, sendCode } = await roundTrip(
    t,
    [sock, '--json', '--show-fds', '--count', '1'],
    [sock, 'file', '--fd', '/etc/hostname', '--json'],
  );
  t.is(sendCode, 0, sender.stderr);
  t.is(listenCode, 0, listener.stderr);
  t.deepEqual(JSON.parse(sender.stdout), { to: sock, size: 4, fdCount: 1 });
  t.like(JSON.parse(listener.stdout), { data: 'file', fdCount: 1, fds: ['/etc/hostname'] });
});

test('listen --show-credentials prints the sender pid, uid and gid', async (t) => {
  const name = `@${abstractName('creds')}`;
  const { listener, sender, listenCode } = await roundTrip(t, [name, '--show-credentials', '--count', '1'], [name, 'who']);
  t.is(listenCode, 0, listener.stderr);
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  t.regex(listener.stdout, new RegExp(`^#1 from @[0-9a-f]{5} 3 bytes "who" pid=${sender.child.pid} uid=${uid} gid=${gid}\n$`));
});

test('send --lines sends one datagram per stdin line; binary payloads print as hex', async (t) => {
  const sock = path.join(tempDir(t), 'stdin.sock');
  const { listener, listenCode, sendCode } = await roundTrip(t, [sock, '--count', '3'], [sock, '--lines'], 'one\ntwo\n\x01\x02\n');
  t.is(sendCode, 0);
  t.is(listenCode, 0, listener.stderr);
  const payloads = listener.stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/^#\d+ from @[0-9a-f]{5} \d+ bytes /, ''));
  t.deepEqual(payloads, ['"one"', '"two"', 'hex 0102']);
});

test('listen without --count stops on SIGINT with a summary, exit 0', async (t) => {
  const sock = path.join(tempDir(t), 'sigint.sock');
  const listener = cli(t, ['listen', sock]);
  await listener.stderrMatches(/listening on .* \(Ctrl-C to stop\)/);
  t.is(await finished(cli(t, ['send', sock, 'ping'])), 0);
  // The listener prints the datagram before anything else can be asked of it: wait for it.
  await listener.stdoutMatches(/"ping"/);
  listener.child.kill('SIGINT');
  t.is(await finished(listener), 0);
  t.regex(listener.stderr, /unixgram: 1 datagram, 4 bytes\n$/);
  t.false(existsSync(sock));
});

test('usage errors: exit 2 and one line, no stack trace', async (t) => {
  const cases = [['send'], ['send', '/tmp/x.sock'], ['listen', '/tmp/x.sock', '--count', 'many'], ['listen', '--bogus'], ['frobnicate']];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 2, args.join(' '));
    t.regex(runs[i]?.stderr ?? '', /^unixgram: [^\n]+; see 'unixgram --help'\n$/, args.join(' '));
  }
});

test('sending to a missing path: exit 1, one line with ENOENT', async (t) => {
  const missing = path.join(tempDir(t), 'nobody.sock');
  const run = cli(t, ['send', missing, 'x']);
  t.is(await finished(run), 1);
  t.regex(run.stderr, new RegExp(`^unixgram: connect ENOENT ${missing}[^\n]*\n$`));
});

test('--help for the tool and each command', async (t) => {
  const cases = [['--help'], ['help', 'listen'], ['send', '--help'], ['bench', '--help']];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 0, args.join(' '));
    t.regex(runs[i]?.stdout ?? '', /^Usage|\nUsage/, args.join(' '));
  }
});

test('the bin launcher runs the built CLI', async (t) => {
  t.timeout(120_000);
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build:ts'], { cwd: REPO_ROOT, stdio: 'ignore' });
  }
  const launcher = [path.join(REPO_ROOT, 'bin', 'unixgram.mjs')];
  const version = cli(t, ['--version'], { launcher });
  t.is(await finished(version), 0, version.stderr);
  t.is(version.stdout.trim(), (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  const name = `@${abstractName('bin')}`;
  const listener = cli(t, ['listen', name, '--count', '1'], { launcher });
  await listener.stderrMatches(/listening on/);
  t.is(await finished(cli(t, ['send', name, 'via bin'], { launcher })), 0);
  t.is(await finished(listener), 0);
  t.regex(listener.stdout, /^#1 from @[0-9a-f]{5} 7 bytes "via bin"\n$/);
});
