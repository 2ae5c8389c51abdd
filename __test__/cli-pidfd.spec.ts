// `unixgram listen --show-pidfd`: the sender's pid as its pidfd gives it, per datagram, for a
// real python3 sender (which stays alive, so the pid printed is its own). Linux >= 6.5: on an
// older kernel the listener fails with ERR_UNIXGRAM_UNSUPPORTED, which is checked instead.
import test from 'ava';

import { DatagramProtocol, StringSerializer, UnixDatagramClient } from '../src/index.js';
import { cli, finished } from './fixtures/cli-process.js';
import { abstractName, startPeer } from './helpers.js';

/** Whether this kernel has SO_PASSPIDFD. */
function supported(): boolean {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  try {
    b.socket.setPassPidfd(true);
    return true;
  } catch {
    return false;
  } finally {
    void a.close();
    void b.close();
  }
}
const hasPidfd = supported();

test('listen --show-pidfd prints the pid the sender pidfd names, next to its credentials', async (t) => {
  const name = `@${abstractName('pidfd')}`;
  const listener = cli(t, ['listen', name, '--show-credentials', '--show-pidfd', '--count', '1']);
  if (!hasPidfd) {
    t.is(await finished(listener), 1);
    t.regex(listener.stderr, /^unixgram: setsockopt ERR_UNIXGRAM_UNSUPPORTED: the running kernel [^\n]* needs Linux 6\.5 or later\n$/);
    t.log('kernel without SO_PASSPIDFD: the listener says so (checked) and the rest is skipped');
    return;
  }
  await listener.stderrMatches(/listening on/);
  const sender = await startPeer(t, 'pidfd_sender.py', [name, 'stay', 'hi']);
  t.is(await finished(listener), 0, listener.stderr);
  const pid = sender.ready.pid as number;
  t.regex(listener.stdout, new RegExp(`^#1 from \\S+ 2 bytes "hi" pid=${pid} uid=\\d+ gid=\\d+ pidfd=${pid}\n$`));
});

test('listen --json --show-pidfd adds "pidfd": {"pid", "exited"}; --raw refuses it', async (t) => {
  const name = `@${abstractName('pidfd-json')}`;
  const raw = cli(t, ['listen', name, '--raw', '--show-pidfd']);
  t.is(await finished(raw), 2);
  t.regex(raw.stderr, /^unixgram: --raw writes payloads only: --show-fds, --show-credentials and --show-pidfd need [^\n]*\n$/);
  if (!hasPidfd) {
    t.log('kernel without SO_PASSPIDFD: the JSON part is skipped');
    return;
  }
  const listener = cli(t, ['listen', name, '--json', '--show-pidfd', '--count', '1']);
  await listener.stderrMatches(/listening on/);
  const sender = await startPeer(t, 'pidfd_sender.py', [name, 'stay', 'json']);
  t.is(await finished(listener), 0, listener.stderr);
  t.like(JSON.parse(listener.stdout), { data: 'json', fdCount: 0, pidfd: { pid: sender.ready.pid, exited: false } });
});
