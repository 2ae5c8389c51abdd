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
  const [early, ...rest] = result.samples.slice(3); // after 200 000: settled
  const grown = Math.max(...rest) - (early as number);
  t.log(`RSS MB every ${EVERY}: ${result.samples.join(' ')}; peak ${result.hwm}`);
  t.true(grown <= 32, `RSS grew by ${grown} MB between 200 000 and 1 000 000 datagrams`);
  t.true(result.hwm <= 256, `peak RSS ${result.hwm} MB`);
});
