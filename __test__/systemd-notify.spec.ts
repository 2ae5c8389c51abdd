// sd_notify from this process: notify(), notifyBarrier() and the watchdog against a service
// manager's notification socket that is not ours (peers/notify_receiver.py: python's socket,
// SO_PASSCRED on), at a path and at an abstract name. The tests that set NOTIFY_SOCKET or
// WATCHDOG_* in this process are serial, and put the environment back at teardown.
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';

import {
  BytesSerializer,
  DatagramProtocol,
  notify,
  notifyBarrier,
  startWatchdog,
  UnixDatagramEndpoint,
  watchdogInterval,
  type NotifyState,
} from '../src/index.js';
import { abstractName, newFds, openFds, startNodeFixture, tempDir } from './helpers.js';
import { cleanEnv, notifyReceiver, type Notification } from './helpers/systemd.js';

const own = { pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() };

/** Set `vars` (undefined: unset) in this process's environment until the test ends. */
function withEnv(t: ExecutionContext, vars: Record<string, string | undefined>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  t.teardown(() => apply(saved));
}

/** A receiver at a fresh path, and NOTIFY_SOCKET pointing at it. */
async function manager(t: ExecutionContext, options: { abstract?: boolean; hold?: boolean } = {}) {
  const address = options.abstract ? `@${abstractName('notify')}` : path.join(tempDir(t), 'notify.sock');
  const receiver = await notifyReceiver(t, address, options.hold);
  withEnv(t, { NOTIFY_SOCKET: address });
  return { address, receiver, next: () => receiver.nextJson<Notification>() };
}

/** Send `CLOSE-FDS` to a holding receiver: it closes what it holds. */
async function closeHeld(address: string): Promise<void> {
  const endpoint = await UnixDatagramEndpoint.bind(null, new DatagramProtocol(new BytesSerializer()));
  try {
    await endpoint.sendPacketTo(Buffer.from('CLOSE-FDS'), address.startsWith('@') ? { abstract: address.slice(1) } : address);
  } finally {
    await endpoint.close();
  }
}

test.serial('notify() sends the state to a socket path byte for byte, with no fds and our own credentials', async (t) => {
  const { next } = await manager(t);
  t.true(await notify({ READY: 1, STATUS: 'Serving on /run/app.sock' }));
  t.deepEqual(await next(), {
    text: 'READY=1\nSTATUS=Serving on /run/app.sock',
    hex: Buffer.from('READY=1\nSTATUS=Serving on /run/app.sock').toString('hex'),
    fds: [],
    creds: own,
  });
  t.true(await notify('RELOADING=1\nMONOTONIC_USEC=123'));
  t.like(await next(), { text: 'RELOADING=1\nMONOTONIC_USEC=123' });
  t.is(process.env.NOTIFY_SOCKET !== undefined, true, 'kept: unsetEnvironment defaults to false');
});

test.serial('notify() reaches an abstract NOTIFY_SOCKET (@name, as systemd writes it), UTF-8 intact', async (t) => {
  const { next } = await manager(t, { abstract: true });
  t.true(await notify('STATUS=ünïcødé ✓'));
  t.deepEqual(await next(), { text: 'STATUS=ünïcødé ✓', hex: Buffer.from('STATUS=ünïcødé ✓').toString('hex'), fds: [], creds: own });
});

test.serial('FDSTORE=1 + FDNAME= with two fds: they arrive as descriptors of the same files, and stay ours', async (t) => {
  const { next } = await manager(t);
  const dir = tempDir(t);
  const files = ['alpha', 'beta'].map((text) => {
    const file = path.join(dir, `${text}.txt`);
    fs.writeFileSync(file, text);
    return file;
  });
  const fds = files.map((file) => fs.openSync(file, 'r'));
  t.teardown(() => fds.forEach((fd) => fs.closeSync(fd)));
  const before = openFds();
  t.true(await notify({ FDSTORE: 1, FDNAME: 'pair' }, { fds }));
  t.deepEqual(await next(), {
    text: 'FDSTORE=1\nFDNAME=pair',
    hex: Buffer.from('FDSTORE=1\nFDNAME=pair').toString('hex'),
    fds: [
      { link: files[0], content: 'alpha' },
      { link: files[1], content: 'beta' },
    ],
    creds: own,
  });
  t.deepEqual(newFds(before), [], 'no descriptor left behind, ours still open');
  t.is(fs.readFileSync(fds[0]!, 'utf8'), 'alpha');
});

test.serial('pid: sent on behalf of another process, its pid in SCM_CREDENTIALS; one the kernel refuses goes again as ours', async (t) => {
  const { receiver, next } = await manager(t);
  const other = receiver.child.pid!;
  t.true(await notify('MAINPID=' + other, { pid: other }));
  // Faking a pid needs CAP_SYS_ADMIN; without it libsystemd (and notify) send as themselves.
  t.like(await next(), { text: `MAINPID=${other}`, creds: { ...own, pid: process.getuid?.() === 0 ? other : process.pid } });
  const none = 4_194_304 + 1; // past Linux's PID_MAX_LIMIT: no such process (ESRCH)
  t.true(await notify('READY=1', { pid: none }));
  t.like(await next(), { text: 'READY=1', creds: own });
});

test.serial('NOTIFY_SOCKET unset: notify() and notifyBarrier() resolve false and send nothing', async (t) => {
  withEnv(t, { NOTIFY_SOCKET: undefined });
  const before = openFds();
  t.false(await notify('READY=1'));
  t.false(await notifyBarrier());
  t.deepEqual(newFds(before), []);
});

test.serial('nobody at NOTIFY_SOCKET: the send error in Node shape; unsetEnvironment removes it even then', async (t) => {
  const missing = path.join(tempDir(t), 'gone.sock');
  withEnv(t, { NOTIFY_SOCKET: missing });
  const err = await t.throwsAsync(notify('READY=1', { unsetEnvironment: true }), { code: 'ENOENT' });
  t.like(err, { errno: -2, syscall: 'sendmsg', address: missing });
  t.true(err?.message.startsWith(`sendmsg ENOENT ${missing}`), err?.message);
  t.is(process.env.NOTIFY_SOCKET, undefined);
  t.false(await notify('READY=1'), 'later notifications go nowhere');
});

test.serial('NOTIFY_SOCKET that is neither an absolute path nor @name is ERR_UNIXGRAM_BAD_ENVIRONMENT', async (t) => {
  for (const value of ['vsock:2:1234', 'relative.sock', '@', '/', '']) {
    withEnv(t, { NOTIFY_SOCKET: value });
    const err = await t.throwsAsync(notify('READY=1'), { code: 'ERR_UNIXGRAM_BAD_ENVIRONMENT' });
    t.is(
      err?.message,
      `NOTIFY_SOCKET=${JSON.stringify(value)} is neither an absolute path nor '@' and an abstract name (AF_VSOCK addresses, 'vsock:CID:PORT', are not supported)`,
    );
  }
});

test.serial('BARRIER=1 completes once the receiver closes the pipe it got, not before', async (t) => {
  const { address, receiver, next } = await manager(t, { hold: true });
  const before = openFds();
  let settled = false;
  const barrier = notifyBarrier({ timeout: null }).finally(() => (settled = true));
  const got = await next();
  t.like(got, { text: 'BARRIER=1', creds: own });
  t.is(got.fds.length, 1);
  t.regex(got.fds[0]!.link, /^pipe:\[\d+\]$/);
  await new Promise((resolve) => setImmediate(resolve));
  t.false(settled, 'the receiver holds the write end: no end of file yet');
  await closeHeld(address);
  t.deepEqual(await receiver.nextJson(), { closedFds: 1 });
  t.true(await barrier);
  t.deepEqual(newFds(before), [], 'both ends of the pipe are closed');
});

test.serial('BARRIER=1 times out with a TimeoutError naming the manager when the receiver keeps the pipe', async (t) => {
  const { address, next } = await manager(t, { hold: true });
  const before = openFds();
  const err = await t.throwsAsync(notifyBarrier({ timeout: 0.2 }), { code: 'ETIMEDOUT', name: 'TimeoutError' });
  t.is(
    err?.message,
    `BARRIER=1: the service manager at ${address} did not close the barrier's pipe within 0.2 s: it has not processed the notifications sent before`,
  );
  t.like(await next(), { text: 'BARRIER=1' });
  t.deepEqual(newFds(before), [], 'our read end is closed');
  const aborted = new AbortController();
  const waiting = notifyBarrier({ signal: aborted.signal, timeout: null });
  await next();
  aborted.abort();
  await t.throwsAsync(waiting, { code: 'ABORT_ERR' });
  t.deepEqual(newFds(before), []);
  await closeHeld(address);
});

test.serial('watchdogInterval() reads WATCHDOG_USEC for this process only, as sd_watchdog_enabled', (t) => {
  withEnv(t, { WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined });
  t.is(watchdogInterval(), undefined);
  withEnv(t, { WATCHDOG_USEC: '30000000' });
  t.is(watchdogInterval(), 30);
  withEnv(t, { WATCHDOG_PID: String(process.pid) });
  t.is(watchdogInterval(), 30);
  withEnv(t, { WATCHDOG_PID: '1' });
  t.is(watchdogInterval(), undefined, 'for another process');
  for (const [name, value, why] of [
    ['WATCHDOG_PID', 'me', 'is not a decimal number'],
    ['WATCHDOG_USEC', '0', 'is less than 1'],
    ['WATCHDOG_USEC', '18446744073709551615', 'is past 9007199254740991'],
  ] as const) {
    withEnv(t, { WATCHDOG_USEC: '1000', WATCHDOG_PID: undefined, [name]: value });
    t.throws(() => watchdogInterval(), { code: 'ERR_UNIXGRAM_BAD_ENVIRONMENT', message: `${name}=${JSON.stringify(value)} ${why}` });
  }
  withEnv(t, { WATCHDOG_USEC: '500000', WATCHDOG_PID: String(process.pid) });
  t.is(watchdogInterval({ unsetEnvironment: true }), 0.5);
  t.is(process.env.WATCHDOG_USEC, undefined);
  t.is(process.env.WATCHDOG_PID, undefined);
});

test.serial('startWatchdog() sends WATCHDOG=1 at once and every half interval, until the signal aborts', async (t) => {
  const { next } = await manager(t);
  withEnv(t, { WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) });
  const stop = new AbortController();
  const watchdog = startWatchdog({ signal: stop.signal, onError: (err) => t.fail(String(err)) });
  t.is(watchdog?.interval, 0.1);
  for (let i = 0; i < 3; i++)
    t.deepEqual(await next(), { text: 'WATCHDOG=1', hex: Buffer.from('WATCHDOG=1').toString('hex'), fds: [], creds: own });
  stop.abort();
  watchdog?.stop(); // idempotent
  withEnv(t, { WATCHDOG_USEC: undefined });
  t.is(startWatchdog(), undefined, 'no WatchdogSec=: nothing to do');
  t.throws(() => startWatchdog({ signal: stop.signal }), { code: 'ABORT_ERR' });
});

test('the watchdog timer does not keep a process alive: one with nothing else to do exits after its first WATCHDOG=1', async (t) => {
  const address = `@${abstractName('watchdog')}`;
  const receiver = await notifyReceiver(t, address);
  const child = startNodeFixture(t, 'notify-child.ts', ['watchdog'], {
    env: cleanEnv({ NOTIFY_SOCKET: address, WATCHDOG_USEC: '60000000' }),
  });
  t.deepEqual(await child.nextJson(), { interval: 60 });
  t.like(await receiver.nextJson<Notification>(), { text: 'WATCHDOG=1', creds: { pid: child.child.pid } });
  t.is((await child.waitExit()).code, 0);
});

test('notify() checks every argument before reading NOTIFY_SOCKET', async (t) => {
  const bad: Array<[unknown, unknown, string, RegExp]> = [
    [42, undefined, 'ERR_INVALID_ARG_TYPE', /"state" argument must be a string such as 'READY=1' or an object/],
    [['READY=1'], undefined, 'ERR_INVALID_ARG_TYPE', /"state" argument/],
    ['', undefined, 'ERR_INVALID_ARG_VALUE', /'state' must not be empty/],
    [{}, undefined, 'ERR_INVALID_ARG_VALUE', /'state' must not be empty/],
    ['READY=1\0', undefined, 'ERR_INVALID_ARG_VALUE', /must not contain NUL/],
    [{ STATUS: 'two\nlines' }, undefined, 'ERR_INVALID_ARG_VALUE', /'state.STATUS' must not contain a newline/],
    [{ 'A=B': 1 }, undefined, 'ERR_INVALID_ARG_VALUE', /'state.A=B' is not a variable name/],
    [{ MAINPID: 1.5 }, undefined, 'ERR_INVALID_ARG_VALUE', /'state.MAINPID' must be an integer/],
    [{ READY: true }, undefined, 'ERR_INVALID_ARG_TYPE', /"state.READY" argument must be a string or a number/],
    ['READY=1', { fds: [-1] }, 'ERR_OUT_OF_RANGE', /"fd"/],
    ['READY=1', { fds: 3 }, 'ERR_INVALID_ARG_TYPE', /"fds" argument must be an iterable/],
    ['READY=1', { fds: Array.from({ length: 254 }, () => 0) }, 'ERR_OUT_OF_RANGE', /at most 253/],
    ['READY=1', { pid: 0 }, 'ERR_OUT_OF_RANGE', /"options.pid"/],
    ['READY=1', { pid: '1' }, 'ERR_INVALID_ARG_TYPE', /"options.pid"/],
    ['READY=1', { unsetEnvironment: 1 }, 'ERR_INVALID_ARG_TYPE', /"options.unsetEnvironment"/],
    ['READY=1', { timeout: -1 }, 'ERR_OUT_OF_RANGE', /"options.timeout"/],
    ['READY=1', { signal: 'no' }, 'ERR_INVALID_ARG_TYPE', /"options.signal"/],
    ['READY=1', { fd: [3] }, 'ERR_INVALID_ARG_VALUE', /options\.fd.*the known options are fds, pid/],
  ];
  for (const [state, options, code, message] of bad) {
    await t.throwsAsync(notify(state as NotifyState, options as object), { code, message }, JSON.stringify({ state, options }));
  }
  await t.throwsAsync(notify('READY=1', { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  await t.throwsAsync(notifyBarrier({ timeout: 'soon' } as object), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(notifyBarrier({ fds: [] } as object), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => startWatchdog({ onError: 'log' } as object), { code: 'ERR_INVALID_ARG_TYPE' });
});
