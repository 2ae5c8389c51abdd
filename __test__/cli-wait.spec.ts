// How `unixgram send` waits: a send held up by a receiver that does not read says so on stderr
// and keeps waiting, nothing dropped; --timeout ends a blocked send (the datagram is then never
// sent) or a wait for a reply, with exit code 1. The receiver is a python peer whose queue is
// full before the CLI starts (it filled it itself) and that reads only when told to (SIGUSR1).
import { Buffer } from 'node:buffer';
import path from 'node:path';
import test from 'ava';

import { cli, finished } from './fixtures/cli-process.js';
import { abstractName, startPeer, tempDir } from './helpers.js';

const hexOf = (text: string): string => Buffer.from(text).toString('hex');

test('a send blocked by a full receiver says so on stderr, keeps waiting, and arrives once the receiver reads', async (t) => {
  const sock = path.join(tempDir(t), 'full.sock');
  const peer = await startPeer(t, 'datagrams.py', ['full', sock, '1']);
  t.true(peer.ready.queued > 0);
  const sender = cli(t, ['send', sock, 'patient']);
  await sender.stderrMatches(/waiting/);
  t.is(
    sender.stderr,
    `unixgram: waiting: the receiver at ${sock} is not reading (its queue is full); message 1 waits to be sent (Ctrl-C to give up)\n`,
  );
  peer.child.kill('SIGUSR1');
  t.is(await finished(sender), 0, sender.stderr);
  t.regex(sender.stderr, /\nunixgram: message 1 sent after waiting \d+\.\d s\n$/);
  t.deepEqual(await peer.nextJson(), { received: [hexOf('patient')] });
});

test('send --timeout ends a blocked send: exit 1, one line, and the datagram is never sent', async (t) => {
  const name = `@${abstractName('full')}`;
  const peer = await startPeer(t, 'datagrams.py', ['full', name, '0']);
  const sender = cli(t, ['send', name, 'never', 'nor this', '--timeout', '1.5']);
  t.is(await finished(sender), 1);
  t.is(
    sender.stderr,
    `unixgram: waiting: the receiver at ${name} is not reading (its queue is full); message 1 waits to be sent (giving up after 1.5 s)\n` +
      `unixgram: timed out after 1.5 s: the receiver at ${name} is not reading (its queue is full); message 1 was not sent\n`,
  );
  // The sender is gone: whatever it sent would be queued by now.
  peer.child.kill('SIGUSR1');
  t.deepEqual(await peer.nextJson(), { received: [] });
});

test('send --timeout with --lines says how many went out before the one that timed out', async (t) => {
  const name = `@${abstractName('full')}`;
  const peer = await startPeer(t, 'datagrams.py', ['full', name, '0', '1']); // room for one more datagram
  const sender = cli(t, ['send', name, '--lines', '--timeout', '0.2'], { stdin: 'one\ntwo\nthree\n' });
  t.is(await finished(sender), 1);
  t.is(
    sender.stderr,
    `unixgram: timed out after 0.2 s: the receiver at ${name} is not reading (its queue is full); line 2 of stdin was not sent (1 sent before it)\n`,
  );
  peer.child.kill('SIGUSR1');
  t.deepEqual(await peer.nextJson(), { received: [hexOf('one')] });
});

test('send --wait-reply --timeout: no reply in time is exit 1 with one line', async (t) => {
  const sock = path.join(tempDir(t), 'mute.sock');
  const peer = await startPeer(t, 'datagrams.py', ['record', sock, '1', 'linger']);
  const sender = cli(t, ['send', sock, 'anyone?', '--wait-reply', '--timeout', '0.2']);
  t.is(await finished(sender), 1);
  t.is(sender.stderr, `unixgram: no reply from ${sock} to message 1 within 0.2 s\n`);
  t.is(sender.stdout, '');
  t.like(await peer.nextJson(), { hex: hexOf('anyone?') });
});

test('--timeout usage errors: not a number of seconds > 0', async (t) => {
  const cases = [
    ['send', '@x', 'a', '--timeout', 'soon'],
    ['send', '@x', 'a', '--timeout', '0'],
    ['send', '@x', 'a', '--timeout=-1'],
  ];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 2, args.join(' '));
    t.regex(
      runs[i]?.stderr ?? '',
      /^unixgram: --timeout takes a number of seconds > 0, not '[^']*'; see 'unixgram --help'\n$/,
      args.join(' '),
    );
  }
});
