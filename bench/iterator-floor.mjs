// What V8 alone charges per datagram for the receive API's shape, with no socket and no
// binding: `for await` over an async iterator whose packets are already queued, each step
// making a Buffer view of a shared ArrayBuffer, a `{ packet, address, ancillary }` object,
// an iterator result and a resolved promise. bench/README.md compares it with the C
// receiver's whole cost per datagram. usage: node bench/iterator-floor.mjs [--steps N]
import { performance } from 'node:perf_hooks';
import { parseArgs } from './lib/peer.mjs';

const args = parseArgs();
const steps = Number(args.steps ?? 5_000_000);
const SIZE = 64;
const slab = new ArrayBuffer(SIZE * 256);
const DONE = Object.freeze({ done: true, value: undefined });

/** An iterator of `steps` queued packets: `shape` is 'bare' (a number), 'buffer' or 'object'. */
function queued(shape) {
  let i = 0;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (i++ >= steps) return Promise.resolve(DONE);
      const offset = (i & 255) * SIZE;
      if (shape === 'bare') return Promise.resolve({ done: false, value: offset });
      const packet = Buffer.from(slab, offset, SIZE);
      const value = shape === 'buffer' ? packet : { packet, address: null, ancillary: undefined };
      return Promise.resolve({ done: false, value });
    },
  };
}

const rows = [];
for (let round = 0; round < 3; round++) {
  for (const shape of ['bare', 'buffer', 'object']) {
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    for await (const v of queued(shape)) bytes += shape === 'bare' ? 1 : shape === 'buffer' ? v.length : v.packet.length;
    const cpu = process.cpuUsage(cpu0);
    if (bytes === 0) throw new Error('nothing was iterated');
    rows.push({ round, shape, ns: ((cpu.user + cpu.system) * 1000) / steps });
  }
}
const t0 = performance.now();
let sum = 0;
for (let i = 0; i < steps; i++) sum += Buffer.from(slab, (i & 255) * SIZE, SIZE).length;
const syncNs = ((performance.now() - t0) * 1e6) / steps;
for (const shape of ['bare', 'buffer', 'object']) {
  const ns = rows.filter((r) => r.shape === shape).map((r) => r.ns.toFixed(0));
  console.log(`for await, ${shape.padEnd(6)}: ${ns.join(' / ')} ns of CPU per step (3 rounds)`);
}
console.log(`Buffer.from(slab, offset, ${SIZE}) alone, sync loop: ${syncNs.toFixed(0)} ns (${sum > 0 ? 'ok' : 'empty'})`);
