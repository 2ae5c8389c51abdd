// Helpers for the Node peer programs in bench/peers/: arguments, the stdin/stdout handshake
// with run.mjs, payloads, and the measurement window (clock + CPU between the first
// datagram and the end marker, never read per datagram).
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const MARK_DATA = 0;
export const MARK_END = 1;
/** The largest UDP/IPv4 payload. */
export const UDP_MAX = 65_507;

/** `--name value` pairs and bare `--flag`s from argv, plus `role` (the first bare word). */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = { role: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out.role ??= a;
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else out[a.slice(2)] = argv[++i];
  }
  out.size = Number(out.size ?? 64);
  out.secs = Number(out.secs ?? 1);
  out.count = out.count === undefined ? 0 : Number(out.count);
  out.fd = out.fd === undefined ? undefined : Number(out.fd);
  return out;
}

/** One line to the orchestrator. */
export function say(line) {
  process.stdout.write(line + '\n');
}

/** Wait for the orchestrator's "go {json}" line; returns the JSON (the receiver's "ready" info). */
export function waitGo() {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      const line = text.slice(0, nl);
      resolve(JSON.parse(line.slice(line.indexOf(' ') + 1) || '{}'));
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('stdin closed before "go"')));
  });
}

/** A payload of `size` bytes whose first byte is the marker. */
export function payload(size, mark = MARK_DATA) {
  const buf = Buffer.alloc(Math.max(size, 1));
  buf[0] = mark;
  return buf;
}

/** The small JSON object of the JSON rows, and its end marker. */
export const jsonObject = (seq) => ({ seq, name: 'cpu.load', value: 0.42, tags: { host: 'web-1' } });
export const JSON_END = { end: 1 };

/** Peak RSS (VmHWM) or current RSS (VmRSS) in KiB. */
export function statusKb(field = 'VmHWM') {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) : -1;
}

export const openFds = () => readdirSync('/proc/self/fd').length;

/** Clock and CPU between start() and stop(), in seconds and microseconds. */
export class Window {
  t0 = 0;
  t1 = 0;
  cpu0 = null;
  cpu1 = null;
  start() {
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
  }
  stop() {
    this.t1 = performance.now();
    this.cpu1 = process.cpuUsage(this.cpu0 ?? undefined);
  }
  get elapsed() {
    return (this.t1 - this.t0) / 1000;
  }
  get cpuUs() {
    return this.cpu1 ? this.cpu1.user + this.cpu1.system : 0;
  }
}

/** Print the result line and exit at once (some libraries keep handles open forever). */
export function finish(fields) {
  say('result ' + JSON.stringify({ ...fields, hwm_kb: statusKb('VmHWM') }));
  process.exit(0);
}

/** Percentiles of a list of round-trip times in microseconds. */
export function percentiles(samples) {
  const s = Float64Array.from(samples).sort();
  return { count: s.length, p50_us: s[s.length >> 1], p99_us: s[Math.floor(s.length * 0.99)] };
}

/** Send loop deadline check: true once `secs` have passed (or `count` were sent). */
export function budget(args) {
  const end = performance.now() + args.secs * 1000;
  return args.count ? (sent) => sent >= args.count : () => performance.now() >= end;
}

/**
 * Drive a callback-style ping loop: call `start()` once, `reply()` on every echo. After 200
 * warm-up round trips, records until the budget is spent, then `sendEnd()` and finish.
 */
export function pinger(args, sendPing, sendEnd) {
  const samples = [];
  const win = new Window();
  const done = budget(args);
  let warm = 200;
  let t = 0;
  const ping = () => {
    t = performance.now();
    sendPing();
  };
  return {
    start: ping,
    async reply() {
      const rtt = (performance.now() - t) * 1000;
      if (warm > 0) {
        if (--warm === 0) win.start();
      } else samples.push(rtt);
      if (warm > 0 || !done(samples.length)) return ping();
      win.stop();
      await sendEnd();
      finish({ ...percentiles(samples), cpu_us: win.cpuUs });
    },
  };
}

/**
 * A batch callback for unixgram's native binding (the floor rows): calls `onDatagram` with a
 * view of every datagram of a batch. The format's numbers (`META_*`) are the binding's.
 */
export const eachDatagram = (binding, onDatagram) => {
  const { META_COUNT, META_BASE, META_ENTRIES } = binding;
  return (slab, meta) => {
    if (slab === undefined) return;
    let offset = meta[META_BASE];
    for (let m = META_ENTRIES; m < META_ENTRIES + 2 * meta[META_COUNT]; m += 2) {
      onDatagram(new Uint8Array(slab, offset, meta[m]));
      offset += meta[m];
    }
  };
};

/** Receiver-side bookkeeping shared by the callback-style receivers. */
export class Counter {
  count = 0;
  truncated = 0;
  win = new Window();
  constructor(size) {
    this.size = size;
  }
  data(len) {
    if (this.count++ === 0) this.win.start();
    if (len !== this.size) this.truncated++;
  }
  end(extra = {}) {
    this.win.stop();
    finish({ count: this.count, elapsed: this.win.elapsed, cpu_us: this.win.cpuUs, truncated: this.truncated, ...extra });
  }
}

/**
 * UDP end markers: `send()` (a promise) every 2 ms until it fails with ECONNREFUSED (the
 * receiver has its marker and has closed its port) or 2 s have passed, because a full
 * receive queue drops a marker like any datagram. Returns how many were sent.
 */
export async function sendEndMarkers(send) {
  const end = performance.now() + 2000;
  let markers = 0;
  while (performance.now() < end) {
    try {
      await send();
    } catch (err) {
      if (err?.code === 'ECONNREFUSED') break;
      if (err?.code !== 'ENOBUFS' && err?.code !== 'EAGAIN') throw err;
    }
    markers++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return markers;
}

/** `module[name]`, or an error saying dist/ lacks it (an API being built; the row fails with that). */
export function exported(module, name) {
  if (module[name] === undefined) throw new Error(`dist/index.js exports no ${name} (npm run build, or the API is not there yet)`);
  return module[name];
}
