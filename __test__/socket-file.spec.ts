// Socket files done safely: stale-file removal only for dead sockets, mode in place before anyone can
// connect (checked with a second uid), unlink on close only of our own inode, long paths.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DatagramProtocol, StringSerializer, UnixDatagramClient, UnixDatagramServer } from '../src/index.js';
import { autoClose, FIXTURES_DIR, LineProcess, startPeer, tempDir } from './helpers.js';

const strings = () => new DatagramProtocol(new StringSerializer());
const echo = {
  async *handle(client: import('../src/index.js').UnixDatagramServerClient<string>) {
    const request: string = yield;
    await client.sendPacket(request);
  },
};
const listen = (address: string, options = {}) => UnixDatagramServer.listen(address, strings(), echo, options);

/** A socket file nobody is bound to any more: python binds it and exits. */
function deadSocket(file: string): void {
  execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])', file]);
}

async function roundTrip(t: import('ava').ExecutionContext, file: string): Promise<void> {
  const client = autoClose(t, await UnixDatagramClient.connect(file, strings()));
  await client.sendPacket('ping');
  t.is(await client.recvPacket({ timeout: 20 }), 'ping');
}

const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
/** A python3 that `nobody` can run (a pyenv shim under /root is not one), or undefined. */
const nobodyPython = (() => {
  if (process.getuid?.() !== 0) return undefined;
  for (const candidate of ['/usr/bin/python3', '/usr/local/bin/python3', 'python3']) {
    try {
      execFileSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), candidate, '-c', 'pass'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not there, or not runnable by nobody
    }
  }
  return undefined;
})();
/** Inline so that nobody needs no access to the repository: connect and send, print the errno name or null. */
const CONNECT_PY = `
import errno, json, os, socket, sys
print(json.dumps({"ready": True, "uid": os.getuid()}), flush=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(sys.argv[1]); s.send(b"hello from another uid"); error = None
except OSError as e:
    error = errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps({"error": error}), flush=True)
`;

test('removeStale removes a dead socket file and serves there; without it listen says EADDRINUSE and why', async (t) => {
  const file = path.join(tempDir(t), 'stale.sock');
  deadSocket(file);
  const err = await t.throwsAsync(listen(file), { code: 'EADDRINUSE' });
  t.like(err, { syscall: 'bind', address: file, errno: -98 });
  t.regex(err.message, /^bind EADDRINUSE .*: a socket file exists \(pass removeStale: true/);
  t.true(fs.lstatSync(file).isSocket(), 'left in place');
  autoClose(t, await listen(file, { removeStale: true }));
  await roundTrip(t, file);
});

test("removeStale never touches a live server's socket", async (t) => {
  const file = path.join(tempDir(t), 'live.sock');
  await startPeer(t, 'echo_server.py', [file]);
  const before = fs.lstatSync(file);
  const err = await t.throwsAsync(listen(file, { removeStale: true }), { code: 'EADDRINUSE' });
  t.like(err, { syscall: 'bind', address: file, errno: -98 });
  t.regex(err.message, /a server is listening on it/);
  t.is(fs.lstatSync(file).ino, before.ino);
  const client = autoClose(t, await UnixDatagramClient.connect(file, strings()));
  await client.sendPacket('still the python server');
  t.is(await client.recvPacket({ timeout: 20 }), 'still the python server');
});

test('removeStale never touches a regular file, a directory or a symlink', async (t) => {
  const dir = tempDir(t);
  const regular = path.join(dir, 'regular');
  fs.writeFileSync(regular, 'precious');
  const directory = path.join(dir, 'directory');
  fs.mkdirSync(directory);
  const target = path.join(dir, 'dead.sock');
  deadSocket(target);
  const link = path.join(dir, 'link.sock');
  fs.symlinkSync(target, link);
  for (const [file, why] of [
    [regular, /is a regular file; it is never removed/],
    [directory, /is a directory/],
    [link, /is a symbolic link/],
  ] as const) {
    const err = await t.throwsAsync(listen(file, { removeStale: true }), { code: 'EADDRINUSE' });
    t.like(err, { syscall: 'bind', address: file });
    t.regex(err.message, why);
  }
  t.is(fs.readFileSync(regular, 'utf8'), 'precious');
  t.true(fs.statSync(directory).isDirectory());
  t.is(fs.readlinkSync(link), target);
  t.true(fs.lstatSync(target).isSocket(), "not even the symlink's target is removed");
  t.deepEqual(fs.readdirSync(dir).sort(), ['dead.sock', 'directory', 'link.sock', 'regular'], 'no private directory left behind');
});

test('mode is on the socket file when it appears, and no private directory is left', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'private.sock');
  autoClose(t, await listen(file, { mode: 0o600 }));
  t.is(fs.statSync(file).mode & 0o7777, 0o600);
  t.deepEqual(fs.readdirSync(dir), ['private.sock']);
  await roundTrip(t, file);
});

/** Inline python: bind its own path, send to the server, answer the reply's source; print both sources. */
const REPLY_SOURCE_PY = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.settimeout(20)
s.bind(sys.argv[2])
s.sendto(b"ping", sys.argv[1])
data, source = s.recvfrom(1024)
s.sendto(b"again", source)  # answer whoever answered: ENOENT if that name is gone
again, source2 = s.recvfrom(1024)
print(json.dumps({"data": [data.decode(), again.decode()], "source": [source, source2]}), flush=True)
`;

test('with a mode, replies come from the path asked for: python answers their source, socat UNIX-SENDTO accepts them', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'moded.sock');
  autoClose(t, await listen(file, { mode: 0o666 }));
  t.is(fs.statSync(file).mode & 0o7777, 0o666);

  const py = new LineProcess('python client', 'python3', ['-c', REPLY_SOURCE_PY, file, path.join(dir, 'py.sock')]);
  t.teardown(() => py.kill());
  t.deepEqual(await py.nextJson(), { data: ['ping', 'again'], source: [file, file] });

  // socat drops a reply whose source is not its target ("wrong peer address, ignoring packet").
  const socat = spawn('socat', ['-t', '20', 'STDIO', `UNIX-SENDTO:${file},bind=${path.join(dir, 'socat.sock')}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => socat.kill('SIGKILL'));
  let out = '';
  let err = '';
  socat.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const replied = new Promise<void>((resolve, reject) => {
    socat.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('hello socat')) resolve();
    });
    socat.on('exit', () => reject(new Error(`socat exited without the reply; stdout ${JSON.stringify(out)}, stderr ${err}`)));
  });
  socat.stdin.end('hello socat\n');
  await replied;
  t.is(out, 'hello socat\n');
});

test('mode works for a path at the sun_path limit', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'x'.repeat(107 - dir.length - 1));
  t.is(Buffer.byteLength(file), 107);
  const server = autoClose(t, await listen(file, { mode: 0o640 }));
  t.is(fs.statSync(file).mode & 0o7777, 0o640);
  t.deepEqual(server.getLocalName(), { path: file });
  await roundTrip(t, file);
});

test('a path longer than sun_path is ENAMETOOLONG from the core, never cut', async (t) => {
  const file = path.join(tempDir(t), 'y'.repeat(120));
  const err = await t.throwsAsync(listen(file, { mode: 0o600 }), { code: 'ENAMETOOLONG' });
  t.like(err, { syscall: 'bind', errno: -36 });
  t.regex(err.message, /holds at most 107 bytes/);
  t.false(fs.existsSync(file));
});

test('mode 0o600 refuses another uid with EACCES; 0o666 lets it in', async (t) => {
  if (nobodyPython === undefined) return t.pass('needs root, setpriv and a python3 that nobody can run');
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o711); // nobody may traverse, not list
  const tryAs = async (file: string) => {
    const peer = new LineProcess('python as nobody', AS_NOBODY[0]!, [...AS_NOBODY.slice(1), nobodyPython, '-c', CONNECT_PY, file]);
    t.teardown(() => peer.kill());
    t.like(await peer.nextJson(), { ready: true, uid: 65534 });
    return (await peer.nextJson()).error as string | null;
  };
  const closed = path.join(dir, 'owner-only.sock');
  autoClose(t, await listen(closed, { mode: 0o600 }));
  t.is(await tryAs(closed), 'EACCES');
  const open = path.join(dir, 'everyone.sock');
  const received: string[] = [];
  autoClose(t, await UnixDatagramServer.listen(open, strings(), async (packet: string) => void received.push(packet), { mode: 0o666 }));
  t.is(await tryAs(open), null);
});

test('close() unlinks the socket file it created, but not one that replaced it', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'mine.sock');
  const first = await listen(file);
  await first.close();
  t.false(fs.existsSync(file), 'our own file is removed');

  const second = await listen(file, { mode: 0o600 });
  fs.unlinkSync(file);
  deadSocket(file); // someone else's socket now lives at the path
  const theirs = fs.lstatSync(file).ino;
  await second.close();
  t.is(fs.lstatSync(file).ino, theirs, 'the replacement is left alone');
});

test('an abstract name has no file; close() leaves the directory alone', async (t) => {
  const dir = tempDir(t);
  const name = `unixgram-sf-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const server = await listen(`\0${name}`);
  t.deepEqual(server.getLocalName(), { abstract: name });
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, strings()));
  await client.sendPacket('abstract');
  t.is(await client.recvPacket({ timeout: 20 }), 'abstract');
  await server.close();
  t.deepEqual(fs.readdirSync(dir), []);
});

test('a bad mode is refused before any socket exists, by every bind that takes one (strace)', (t) => {
  const dir = tempDir(t);
  const trace = path.join(dir, 'strace.txt');
  const fixture = path.join(FIXTURES_DIR, 'bad-mode-binds.ts');
  const out = execFileSync('strace', ['-f', '-e', 'trace=socket,write', '-o', trace, process.execPath, '--import', 'tsx', fixture, dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // Client, endpoint, datagram server, seqpacket server: out of range, then not a number.
  t.deepEqual(out.trim().split('\n'), Array(4).fill(['ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE']).flat());
  const lines = fs.readFileSync(trace, 'utf8').split('\n');
  const begin = lines.findIndex((l) => l.includes('MARK begin'));
  const end = lines.findIndex((l) => l.includes('MARK end'));
  t.true(begin >= 0 && end > begin, 'both markers traced');
  t.deepEqual(
    lines.slice(begin, end).filter((l) => /\bsocket\(AF_UNIX/.test(l)),
    [],
    'no socket created for a bad mode',
  );
  t.deepEqual(fs.readdirSync(dir), ['strace.txt'], 'no socket file either');
});
