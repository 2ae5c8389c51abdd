#!/usr/bin/env node
// Prints each target of issue 4 with PASS / FAIL from bench/results/latest.json (or the
// file given). Never fails the process: timing is not a test. The memory row may come from
// results/partial.json (`npm run bench -- --memory`).
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BARE, BARE_RECV, COMPAT, C_SOCKETPAIR } from './lib/scenarios.mjs';
import { pairedRatio } from './lib/stats.mjs';

const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
const file = process.argv[2] ?? join(results, 'latest.json');
const rows = JSON.parse(readFileSync(file, 'utf8')).rows;
const partial = join(results, 'partial.json');
if (!rows.some((r) => r.scenario === 'memory') && existsSync(partial)) {
  rows.push(...JSON.parse(readFileSync(partial, 'utf8')).rows.filter((r) => r.scenario === 'memory'));
}

const find = (scenario, payload, library) => rows.find((r) => r.scenario === scenario && r.payload === payload && r.library === library && r.median !== null);
const best = (scenario, payload, libraries) =>
  libraries.map((l) => find(scenario, payload, l)).filter(Boolean).sort((a, b) => b.median - a.median)[0];
const x = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(2)}×`);

const checks = [];
function check(name, row, pass, detail) {
  if (!row) return checks.push(['n/a ', name, 'row missing or failed']);
  checks.push([pass ? 'PASS' : 'FAIL', name, `${row.library}: ${detail}`]);
}

let r = find('recv', '64 B', 'unixgram');
check('Receive 64 B, C → unixgram: ≥ 0.8× C', r, r?.ratio_to_c >= 0.8, x(r?.ratio_to_c));
check('Receive 64 B, C → unixgram: ≥ 2.5× unix-dgram', r, r?.ratio_to_unix_dgram >= 2.5, x(r?.ratio_to_unix_dgram));

r = best('node-node', '64 B', ['unixgram sendPacket', 'unixgram sendPackets']);
const net = find('node-node', '64 B', 'net (unix stream, framed)');
// Round by round (the rows ran interleaved), as the ratios to unix-dgram are.
const vsNet = r && net ? pairedRatio(r.values, net.values) : null;
// For context: 1.5× net in rates of C at both ends of the same socketpair (the kernel's limit
// for this setting), round by round.
const cPair = find('node-node', '64 B', C_SOCKETPAIR);
const needed =
  net && cPair ? ` (needs ${x(1.5 * pairedRatio(net.values, cPair.values))} the ${C_SOCKETPAIR} rate; unixgram ran at ${x(pairedRatio(r.values, cPair.values))})` : '';
// And the floor of any Node receiver (the binding with no API), against net in the same rounds.
const recvFloor = find('node-node', '64 B', BARE_RECV);
const floorVsNet = recvFloor && net ? `; floor of any Node receiver (${BARE_RECV}): ${x(pairedRatio(recvFloor.values, net.values))} net` : '';
check('Node → Node 64 B, unixgram: ≥ 1.5× net (unix stream, framed)', r && net ? r : null, vsNet >= 1.5, x(vsNet) + needed + floorVsNet);
check('Node → Node 64 B, unixgram: ≥ 2× unix-dgram', r, r?.ratio_to_unix_dgram >= 2, x(r?.ratio_to_unix_dgram));

r = find('send', '64 B', 'unixgram sendPackets');
check('Send 64 B, unixgram sendPackets → C: ≥ 0.9× C', r, r?.ratio_to_c >= 0.9, x(r?.ratio_to_c));
r = find('send', '64 B', 'unixgram sendPacket');
check('Send 64 B, unixgram sendPacket loop → C: ≥ 1× unix-dgram', r, r?.ratio_to_unix_dgram >= 1, x(r?.ratio_to_unix_dgram));

r = best('node-node', 'JSON obj', ['unixgram JSONSerializer', 'unixgram JSON sendPackets']);
check('Small JSON objects, Node → Node: ≥ 2× unix-dgram + JSON.parse', r, r?.ratio_to_unix_dgram >= 2, x(r?.ratio_to_unix_dgram));

r = find('rtt', '64 B', 'unixgram');
// The floor row (the binding with no API) is not an option users have: context, not a rival.
const floor = find('rtt', '64 B', BARE);
// The alternatives: not C, not the floor, not unixgram's own rows (its promise API, checked
// here, and its unix-dgram drop-in, shown beside it).
const others = rows.filter((o) => o.scenario === 'rtt' && o.median !== null && !o.library.startsWith('C') && !o.library.startsWith('unixgram') && o.library !== BARE);
const fastest = others.sort((a, b) => a.median - b.median)[0];
const compat = find('rtt', '64 B', COMPAT);
check('Round trip p50 64 B: ≤ 1.2× C with epoll', r, r?.ratio_to_c <= 1.2, `${r?.median} µs, ${x(r?.ratio_to_c)} C${floor ? `; floor of any Node peer (${BARE}): ${floor.median} µs, ${x(floor.ratio_to_c)} C` : ''}`);
check('Round trip p50 64 B: faster than every Node option', r && fastest ? r : null, r?.median < fastest?.median, `${r?.median} µs vs ${fastest?.library} ${fastest?.median} µs${compat ? `; ${COMPAT}: ${compat.median} µs` : ''}`);

r = find('fd-pass', '64 B + 1 fd', 'unixgram');
check('fd passing, 1 fd per datagram closed in JS: ≥ 0.6× C', r, r?.ratio_to_c >= 0.6, x(r?.ratio_to_c));

r = rows.find((o) => o.scenario === 'memory' && o.status === 'ok');
check(
  'Memory: 5 M datagrams grow RSS < 20 MB and leak no fd',
  r,
  r?.rss_growth_mb < 20 && r?.fd_leak === false,
  `+${r?.rss_growth_mb} MB, fds ${r?.fds_before} before → ${r?.fds_after_close} after close${r?.fd_leak ? ' (LEAK)' : ''}`,
);

for (const [verdict, name, detail] of checks) console.log(`${verdict}  ${name}  (${detail})`);
