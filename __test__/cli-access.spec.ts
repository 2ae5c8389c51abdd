// Socket file permissions from the command line: `listen --mode`, and what `send` says when
// the kernel refuses it (EACCES). The tests run as root; the refused sender runs as uid 65534
// (nobody) through setpriv, against sockets in a temp directory others may traverse.
import { chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { cli, finished } from './fixtures/cli-process.js';
import { tempDir } from './helpers.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
/** Switching users needs root; `.ci/run` runs the suite as root. */
const asRoot = isRoot ? test : test.skip;

/** A temp dir that other users may traverse (x) but not list. */
function openDir(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  chmodSync(dir, 0o711);
  return dir;
}

asRoot('listen --mode 600: the socket file is 0600 from the start; another user cannot send to it', async (t) => {
  const sock = path.join(openDir(t), 'private.sock');
  const listener = cli(t, ['listen', sock, '--mode', '600', '--count', '1']);
  await listener.stderrMatches(/listening on/);
  t.regex(listener.stderr, new RegExp(`^unixgram: listening on ${sock} \\(mode 0600\\) until 1 datagram\n$`));
  t.is(statSync(sock).mode & 0o7777, 0o600);
  const refused = cli(t, ['send', sock, 'let me in'], { uid: NOBODY });
  t.is(await finished(refused), 1);
  t.regex(refused.stderr, new RegExp(`^unixgram: connect EACCES ${sock}: Permission denied[^\n]*\n$`));
  t.is(await finished(cli(t, ['send', sock, 'owner'])), 0);
  t.is(await finished(listener), 0, listener.stderr);
  t.regex(listener.stdout, /^#1 from @[0-9a-f]{5} 5 bytes "owner"\n$/, 'only the owner got through');
});

asRoot('listen --mode 0o666: another user can send', async (t) => {
  const sock = path.join(openDir(t), 'shared.sock');
  const listener = cli(t, ['listen', sock, '--mode', '0o666', '--count', '1', '--show-credentials']);
  await listener.stderrMatches(/listening on/);
  t.is(statSync(sock).mode & 0o7777, 0o666);
  const sender = cli(t, ['send', sock, 'hi'], { uid: NOBODY });
  t.is(await finished(sender), 0, sender.stderr);
  t.is(await finished(listener), 0, listener.stderr);
  t.regex(listener.stdout, new RegExp(`^#1 from @[0-9a-f]{5} 2 bytes "hi" pid=\\d+ uid=${NOBODY} gid=${NOBODY}\n$`));
});

test('listen --mode usage errors: not octal, or an abstract name', async (t) => {
  const cases = [
    ['listen', '/tmp/x.sock', '--mode', '8'],
    ['listen', '/tmp/x.sock', '--mode', 'rw-------'],
    ['listen', '/tmp/x.sock', '--mode', '17777'],
    ['listen', '@abstract', '--mode', '600'],
  ];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 2, args.join(' '));
    t.regex(runs[i]?.stderr ?? '', /^unixgram: --mode [^\n]+; see 'unixgram --help'\n$/, args.join(' '));
  }
});
