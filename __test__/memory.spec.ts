// Memory of a receiver of log-sized datagrams stays bounded: 1 000 000 datagrams of 64 KiB
// (64 GiB through the kernel) into an endpoint bound at a path, RSS sampled every 50 000.
// A bound, not a timing: how fast it runs does not matter, how much it keeps does.
import test from 'ava';
import path from 'node:path';

import { startNodeFixture, tempDir } from './helpers.js';

const COUNT = 1_000_000;
const EVERY = 50_000;

test('RSS of a 64 KiB receiver is flat over 1 M datagrams (received chunks are reclaimed)', async (t) => {
  t.timeout(300_000);
  const addr = path.join(tempDir(t), 'rx.sock');
  const rx = startNodeFixture(t, 'rss-receiver.ts', [addr, String(COUNT), String(EVERY)]);
  t.deepEqual(await rx.nextJson(), { ready: true });
  const tx = startNodeFixture(t, 'flood-sender.ts', [addr, String(COUNT), String(64 << 10)]);
  const [result, sent] = await Promise.all([
    rx.nextJson<{ count: number; bad: number; samples: number[]; hwm: number }>(280_000),
    tx.nextJson(280_000),
  ]).catch((err: unknown) => {
    throw new Error(`receiver ${JSON.stringify(rx.lines)}: ${rx.stderr}\nsender: ${tx.stderr}`, { cause: err });
  });
  t.deepEqual(sent, { sent: COUNT });
  t.is(result.count, COUNT);
  t.is(result.bad, 0, 'every datagram whole and in order');
  // Bounded, not flat to the megabyte: the highest RSS of the second half of the run (V8
  // and the allocator settle at a level that varies with the Node version and the load)
  // may exceed the highest of the first half (after 100 000) by at most 32 MB.
  const half = result.samples.length / 2;
  const first = Math.max(...result.samples.slice(2, half));
  const second = Math.max(...result.samples.slice(half));
  t.log(`RSS MB every ${EVERY}: ${result.samples.join(' ')}; peak ${result.hwm}`);
  t.true(second - first <= 32, `RSS rose from at most ${first} MB in the first half to ${second} MB in the second`);
  t.true(result.hwm <= 256, `peak RSS ${result.hwm} MB`);
});
