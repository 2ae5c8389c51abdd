// `unixgram notify`, run as a service's script runs systemd-notify: a separate process with
// NOTIFY_SOCKET set, talking to a manager's notification socket that is not ours
// (peers/notify_receiver.py, SO_PASSCRED on).
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { BytesSerializer, DatagramProtocol, UnixDatagramEndpoint } from '../src/index.js';
import { cli, finished } from './fixtures/cli-process.js';
import { abstractName, tempDir } from './helpers.js';
import { cleanEnv, notifyReceiver, type Notification } from './helpers/systemd.js';

const root = process.getuid?.() === 0;

test('notify READY=1 STATUS=…: one datagram of the assignments, sent on behalf of its parent, nothing printed', async (t) => {
  const address = path.join(tempDir(t), 'notify.sock');
  const receiver = await notifyReceiver(t, address);
  const run = cli(t, ['notify', 'READY=1', 'STATUS=Serving on /run/app.sock'], { env: cleanEnv({ NOTIFY_SOCKET: address }) });
  t.is(await finished(run), 0, run.stderr);
  t.is(run.stdout, '');
  t.is(run.stderr, '');
  const got = await receiver.nextJson<Notification>();
  t.is(got.text, 'READY=1\nSTATUS=Serving on /run/app.sock');
  t.deepEqual(got.fds, []);
  // The parent is this test process; faking its pid needs root, else it goes as the command.
  t.is(got.creds?.pid, root ? process.pid : run.child.pid);
});

test('notify --ready --status --fd N --fd FILE --fdname: FDSTORE=1 added, both descriptors arrive', async (t) => {
  const address = `@${abstractName('cli-notify')}`;
  const receiver = await notifyReceiver(t, address);
  const dir = tempDir(t);
  const [inherited, named] = ['inherited', 'named'].map((text) => {
    const file = path.join(dir, text);
    fs.writeFileSync(file, text);
    return file;
  }) as [string, string];
  const fd = fs.openSync(inherited, 'r');
  t.teardown(() => fs.closeSync(fd));
  const run = cli(t, ['notify', '--ready', '--status', 'storing', '--fd', '3', '--fd', named, '--fdname', 'store', 'X_CUSTOM=1'], {
    env: cleanEnv({ NOTIFY_SOCKET: address }),
    extraFds: [fd], // the command's fd 3
  });
  t.is(await finished(run), 0, run.stderr);
  t.like(await receiver.nextJson<Notification>(), {
    text: 'READY=1\nSTATUS=storing\nFDSTORE=1\nFDNAME=store\nX_CUSTOM=1',
    fds: [
      { link: inherited, content: 'inherited' },
      { link: named, content: 'named' },
    ],
  });
});

test('notify --barrier returns once the manager has closed the pipe of BARRIER=1, not before', async (t) => {
  const address = path.join(tempDir(t), 'notify.sock');
  const receiver = await notifyReceiver(t, address, true);
  const run = cli(t, ['notify', 'READY=1', '--barrier'], { env: cleanEnv({ NOTIFY_SOCKET: address }) });
  t.like(await receiver.nextJson<Notification>(), { text: 'READY=1' });
  const barrier = await receiver.nextJson<Notification>();
  t.is(barrier.text, 'BARRIER=1');
  t.regex(barrier.fds[0]?.link ?? '', /^pipe:/);
  t.is(run.child.exitCode, null, 'still waiting: the receiver holds the write end');
  const endpoint = await UnixDatagramEndpoint.bind(null, new DatagramProtocol(new BytesSerializer()));
  await endpoint.sendPacketTo(Buffer.from('CLOSE-FDS'), address);
  await endpoint.close();
  t.is(await finished(run), 0, run.stderr);
});

test('notify --barrier --timeout 0.2 against a manager that keeps the pipe: exit 1, ETIMEDOUT said in one line', async (t) => {
  const address = path.join(tempDir(t), 'notify.sock');
  await notifyReceiver(t, address, true);
  const run = cli(t, ['notify', '--barrier', '--timeout', '0.2'], { env: cleanEnv({ NOTIFY_SOCKET: address }) });
  t.is(await finished(run), 1);
  t.is(
    run.stderr,
    `unixgram: BARRIER=1: the service manager at ${address} did not close the barrier's pipe within 0.2 s: it has not processed the notifications sent before\n`,
  );
});

test('notify without NOTIFY_SOCKET: exit 1, and it says there is no manager to tell', async (t) => {
  const run = cli(t, ['notify', 'READY=1'], { env: cleanEnv() });
  t.is(await finished(run), 1);
  t.regex(run.stderr, /^unixgram: NOTIFY_SOCKET is not set: no service manager listens for notifications/);
});

test('notify usage errors exit 2 before anything is sent; a --fd number that is not open exits 1', async (t) => {
  const env = cleanEnv({ NOTIFY_SOCKET: `@${abstractName('nobody')}` });
  for (const [args, message] of [
    [['notify'], /nothing to send/],
    [['notify', 'READY'], /'READY' is not an assignment VARIABLE=VALUE/],
    [['notify', '=1'], /'=1' is not an assignment/],
    [['notify', '--fdname', 'x', 'FDSTORE=1'], /--fdname names the descriptors of --fd/],
    [['notify', '--timeout', 'soon', 'READY=1'], /--timeout takes a number of seconds/],
    [['notify', '--pid', '1', 'READY=1'], /Unknown option '--pid'/],
  ] as const) {
    const run = cli(t, [...args], { env });
    t.is(await finished(run), 2, `${args.join(' ')}: ${run.stderr}`);
    t.regex(run.stderr, message);
    t.regex(run.stderr, /see 'unixgram --help'\n$/);
  }
  const closed = cli(t, ['notify', '--fd', '97', 'FDSTORE=1'], { env });
  t.is(await finished(closed), 1);
  t.is(closed.stderr, 'unixgram: --fd 97: not an open descriptor of this process\n');
});

test('notify --help and help notify print its usage', async (t) => {
  for (const args of [
    ['notify', '--help'],
    ['help', 'notify'],
  ]) {
    const run = cli(t, args);
    t.is(await finished(run), 0);
    t.regex(run.stdout, /^Usage: unixgram notify \[VARIABLE=VALUE\]\.\.\. \[options\]/);
    t.regex(run.stdout, /--barrier/);
  }
  const top = cli(t, ['--help']);
  t.is(await finished(top), 0);
  t.regex(top.stdout, /unixgram notify \[VARIABLE=VALUE\]/);
});
