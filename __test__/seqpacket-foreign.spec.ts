// Seqpacket against peers written by others: socat (`type=5` is SOCK_SEQPACKET) and a Go
// program on the standard library's "unixpacket" network (peers/go-seqpacket, built here).
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DatagramProtocol, StringSerializer, UnixSeqpacketClient, UnixSeqpacketServer } from '../src/index.js';
import { autoClose, LineProcess, PEERS_DIR, tempDir } from './helpers.js';

const strings = () => new DatagramProtocol(new StringSerializer());
const GO_SOURCE = path.join(PEERS_DIR, 'go-seqpacket');

/** A promise with its resolve function outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Yields to the event loop until `cond()` holds; fails after `guardMs` (a failure guard, not synchronisation). */
async function until(cond: () => boolean, what: string, guardMs = 20_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${guardMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Runs socat with `-d -d` and resolves once its stderr says it listens; killed at teardown. */
function socat(t: import('ava').ExecutionContext, args: string[], input?: string) {
  const child = spawn('socat', ['-d', '-d', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const listening = deferred();
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (/listening on/.test(stderr)) listening.resolve();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (input !== undefined) child.stdin.end(input);
  return {
    listening: listening.promise,
    /** socat's exit code and stdout once it has exited. */
    done: exited.then((code) => ({ code, stdout, stderr })),
  };
}

let goBinary: Promise<string> | undefined;
/** Builds peers/go-seqpacket once per run into a temp dir (the standard library only: nothing to download). */
function buildGoPeer(): Promise<string> {
  goBinary ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-go-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, 'go-seqpacket');
    await promisify(execFile)('go', ['build', '-o', out, '.'], {
      cwd: GO_SOURCE,
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    });
    return out;
  })();
  return goBinary;
}

test('a packet socat sends reaches our server as one packet, and socat closing ends the conversation', async (t) => {
  const sockPath = path.join(tempDir(t), 'socat-in.sock');
  const got: string[] = [];
  const finished = deferred();
  const server = autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, strings(), {
      async *handle() {
        try {
          for (;;) got.push(yield);
        } finally {
          finished.resolve();
        }
      },
    }),
  );
  const run = socat(t, ['-u', 'STDIN', `UNIX-CONNECT:${sockPath},type=5`], 'hello from socat ✓\n');
  const { code, stderr } = await run.done;
  t.is(code, 0, stderr);
  await finished.promise;
  t.deepEqual(got, ['hello from socat ✓\n']);
  await until(() => server.connections === 0, 'back to 0 connections');
});

test("our client's packets reach socat's stdout, and our close ends socat", async (t) => {
  const sockPath = path.join(tempDir(t), 'socat-out.sock');
  const run = socat(t, ['-u', `UNIX-LISTEN:${sockPath},type=5`, 'STDOUT']);
  await run.listening;
  const client = await UnixSeqpacketClient.connect(sockPath, strings());
  await client.sendPacket('first packet\n');
  await client.sendPacket('second ✓\n');
  await client.close();
  const { code, stdout, stderr } = await run.done;
  t.is(code, 0, stderr);
  t.is(stdout, 'first packet\nsecond ✓\n');
});

test('a Go unixpacket client exchanges packets with our server, and its close ends our conversation', async (t) => {
  t.timeout(180_000); // the first build of the Go peer compiles part of the standard library
  const binary = await buildGoPeer();
  const sockPath = path.join(tempDir(t), 'go-client.sock');
  const got: string[] = [];
  const thrown: unknown[] = [];
  const finished = deferred();
  const server = autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, strings(), {
      async *handle(client) {
        let n = 0;
        try {
          for (;;) {
            const packet = yield;
            got.push(packet);
            await client.sendPacket(`reply ${++n} to ${packet}`);
          }
        } catch (err) {
          thrown.push(err);
        } finally {
          finished.resolve();
        }
      },
    }),
  );
  const go = new LineProcess('go-seqpacket client', binary, ['client', sockPath, '4']);
  t.teardown(() => go.kill());
  t.like(await go.nextJson(), { ready: true });
  t.deepEqual(await go.nextJson(), { replies: [0, 1, 2, 3].map((i) => `reply ${i + 1} to go-${i}`) });
  t.like(await go.waitExit(), { code: 0 });
  await finished.promise;
  t.deepEqual(got, ['go-0', 'go-1', 'go-2', 'go-3']);
  t.deepEqual(thrown, []);
  await until(() => server.connections === 0, 'back to 0 connections');
});

test('a Go unixpacket server answers our client; its close ends our iteration after its last packets', async (t) => {
  t.timeout(180_000);
  const binary = await buildGoPeer();
  const sockPath = path.join(tempDir(t), 'go-server.sock');
  const go = new LineProcess('go-seqpacket server', binary, ['server', sockPath, '2']);
  t.teardown(() => go.kill());
  t.like(await go.nextJson(), { ready: true });
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
  await client.sendPacket('ping');
  t.is(await client.recvPacket({ timeout: 20 }), 'go:ping');
  await client.sendPacket('last');
  const rest: string[] = [];
  for await (const packet of client) rest.push(packet);
  t.deepEqual(rest, ['go:last', 'bye-0', 'bye-1']);
  t.true(client.ended);
  await t.throwsAsync(client.recvPacket({ timeout: 20 }), { code: 'ERR_UNIXGRAM_PEER_CLOSED' });
  t.deepEqual(await go.nextJson(), { received: ['ping', 'last'] });
  t.like(await go.waitExit(), { code: 0 });
});
