// Socket file permissions from the command line: `listen --mode`, and what `send` and `listen`
// say when the kernel refuses them (EACCES): which file or directory, its mode and owner, who we are. The tests run as root; the refused sender runs as uid 65534
// (nobody) through setpriv, against sockets in a temp directory others may traverse.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
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
  t.is(
    refused.stderr,
    `unixgram: connect EACCES ${sock}: Permission denied (the socket file is mode 0600, owned by uid 0 gid 0; ` +
      `you are uid ${NOBODY} gid ${NOBODY}: sending needs write permission on it)\n`,
  );
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

asRoot('EACCES on the way to the socket: the hint names the directory that cannot be searched', async (t) => {
  const outer = openDir(t);
  const closed = path.join(outer, 'closed');
  mkdirSync(closed, { mode: 0o700 });
  const sock = path.join(closed, 'hidden.sock');
  const listener = cli(t, ['listen', sock, '--mode', '666', '--count', '1']);
  await listener.stderrMatches(/listening on/);
  const refused = cli(t, ['send', sock, 'x'], { uid: NOBODY });
  t.is(await finished(refused), 1);
  t.is(
    refused.stderr,
    `unixgram: connect EACCES ${sock}: Permission denied (the directory ${closed} is mode 0700, owned by uid 0 gid 0; ` +
      `you are uid ${NOBODY} gid ${NOBODY}: reaching the socket needs search (x) permission on every directory on the way)\n`,
  );
  t.is(await finished(cli(t, ['send', sock, 'done'])), 0);
  t.is(await finished(listener), 0);
});

asRoot('listen where the user may not create files: EACCES with the mode and owner of the directory', async (t) => {
  const dir = openDir(t);
  const sock = path.join(dir, 'nope.sock');
  for (const args of [[], ['--mode', '600']]) {
    const listener = cli(t, ['listen', sock, ...args], { uid: NOBODY });
    t.is(await finished(listener), 1, args.join(' '));
    t.regex(
      listener.stderr,
      new RegExp(
        `^unixgram: bind EACCES ${sock}: [^\n]*\\(the directory ${dir} is mode 0711, owned by uid 0 gid 0; ` +
          `you are uid ${NOBODY} gid ${NOBODY}: creating a socket file needs write permission on the directory\\)\n$`,
      ),
      args.join(' '),
    );
  }
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
