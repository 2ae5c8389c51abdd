/**
 * @internal The measurements of `unixgram bench`: unixgram at both ends of a socketpair, this
 * process sending, a child node process (`bench-peer.ts`) receiving or echoing.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { UnixDatagramClient, DatagramProtocol, BytesSerializer } from '../index.js';
import { CliError } from './io.js';

/** Datagrams per `sendPackets` call. */
export const BATCH = 32;
/** Round trips before the measured ones (not counted). */
const WARM_UP = 200;

/** What a throughput measurement found, at the receiver. */
export interface Throughput {
  readonly kind: 'throughput';
  /** Payload bytes per datagram. */
  readonly size: number;
  /** Datagrams received. */
  readonly datagrams: number;
  /** From the first datagram received to the end marker. */
  readonly seconds: number;
  /** Datagrams per second. */
  readonly rate: number;
  /** Payload bytes per second. */
  readonly bytesPerSecond: number;
}

/** What a round-trip measurement found, at the sender. */
export interface RoundTrip {
  readonly kind: 'round trip';
  readonly size: number;
  /** Round trips measured (after the warm-up). */
  readonly roundTrips: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

type Client = UnixDatagramClient<Uint8Array, Buffer>;

/** The peer module next to this one, in the same form (`.ts` under tsx, `.js` when built). */
const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), `bench-peer${path.extname(fileURLToPath(import.meta.url))}`);

/** A child running `role` on one end of a fresh socketpair; this process keeps the other end. */
async function withPeer<T>(
  role: 'sink' | 'echo',
  body: (client: Client, result: () => Promise<Record<string, unknown>>) => Promise<T>,
): Promise<T> {
  const [mine, theirs] = UnixDatagramClient.socketpair(new DatagramProtocol(new BytesSerializer()));
  let child: ChildProcess;
  try {
    const fd = theirs.dupFd();
    try {
      // The same loader flags (tsx in the tests), without a debugger's (its port is taken).
      const flags = process.execArgv.filter((flag) => !/^--(inspect|debug)/.test(flag));
      child = spawn(process.execPath, [...flags, PEER, role], { stdio: ['ignore', 'pipe', 'inherit', fd] });
    } finally {
      closeSync(fd);
    }
  } finally {
    await theirs.close();
  }
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => {
      const line = await lines.next();
      if (line.done) throw new CliError(`the benchmark's ${role} process ended early (exit code ${child.exitCode ?? child.signalCode})`);
      return JSON.parse(line.value) as Record<string, unknown>;
    };
    await next(); // ready
    return await body(mine, next);
  } finally {
    await mine.close();
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  }
}

/**
 * Send `size`-byte datagrams with `sendPackets` ({@link BATCH} per call) for `seconds`, to a
 * child that receives them with `iterReceivedPackets`.
 * @param size - payload bytes (at least 1: an empty datagram ends the run)
 * @param seconds - how long to send
 * @returns what the receiver counted
 * @throws {@link CliError} if it did not receive exactly what was sent
 */
export function measureThroughput(size: number, seconds: number): Promise<Throughput> {
  return withPeer('sink', async (client, result) => {
    const batch = new Array<Buffer>(BATCH).fill(Buffer.alloc(size, 0x61));
    const end = performance.now() + seconds * 1000;
    let sent = 0;
    for (; performance.now() < end; sent += BATCH) await client.sendPackets(batch);
    await client.sendPacket(Buffer.alloc(0));
    const { count, bytes, seconds: took } = (await result()) as { count: number; bytes: number; seconds: number };
    if (count !== sent || bytes !== sent * size)
      throw new CliError(`the receiver counted ${count} datagrams and ${bytes} bytes of the ${sent} datagrams of ${size} bytes sent`);
    return {
      kind: 'throughput',
      size,
      datagrams: count,
      seconds: took,
      rate: took > 0 ? count / took : 0,
      bytesPerSecond: took > 0 ? bytes / took : 0,
    };
  });
}

/**
 * Round trips of one `size`-byte datagram (`await sendPacket`, `await recvPacket`) to a child
 * that echoes with `iterReceivedPackets` and `sendPacket`, for `seconds` after a warm-up.
 * @param size - payload bytes (at least 1)
 * @param seconds - how long to measure
 * @returns the percentiles of the round-trip times
 */
export function measureRoundTrip(size: number, seconds: number): Promise<RoundTrip> {
  return withPeer('echo', async (client, result) => {
    const data = Buffer.alloc(size, 0x61);
    for (let i = 0; i < WARM_UP; i++) {
      await client.sendPacket(data);
      await client.recvPacket();
    }
    const samples: number[] = [];
    const end = performance.now() + seconds * 1000;
    for (let t = performance.now(); t < end;) {
      await client.sendPacket(data);
      await client.recvPacket();
      const now = performance.now();
      samples.push((now - t) * 1000);
      t = now;
    }
    await client.sendPacket(Buffer.alloc(0));
    await result();
    samples.sort((a, b) => a - b);
    return { kind: 'round trip', size, roundTrips: samples.length, p50Us: percentile(samples, 0.5), p99Us: percentile(samples, 0.99) };
  });
}

/** The `q` quantile of sorted samples (nearest rank). */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}
