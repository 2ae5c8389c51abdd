// A real systemd-journald (helpers/journald.ts) receiving entries from python3 (peers/journal_sender.py):
// the native protocol in a datagram, its binary field form, a 5 MiB entry in a sealed memfd, and what
// journald does with memfds that are not sealed. The harness the largePayloads: 'memfd' tests build on.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { nativeEntry, startJournald, type Journald } from './helpers/journald.js';
import { BytesSerializer, DatagramProtocol, UnixDatagramClient } from '../src/index.js';
import { FIXTURES_DIR, LineProcess, PEERS_DIR, tempDir } from './helpers.js';

type How = 'datagram' | 'sealed-memfd' | 'unsealed-memfd' | 'noexec-memfd';
interface Sent {
  pid: number;
  uid: number;
  bytes?: number;
  seals?: number;
  error?: string;
}

const NOBODY = 65534;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;
const F_SEAL_EXEC = 0x20;
const JOURNALD_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
// journald 252: "Received file outside of allowed directories. Refusing."; later: "..., refusing."
const REFUSED = /Received file outside of allowed directories[.,] refusing/i;

/** python3 sends `entry` to journald's native socket, as `how`, as root or as `uid`. */
async function pythonSends(t: ExecutionContext, journald: Journald, how: How, entry: Buffer | Buffer[], uid?: number): Promise<Sent> {
  const file = path.join(tempDir(t), 'entry');
  fs.writeFileSync(file, Array.isArray(entry) ? Buffer.concat(entry) : entry);
  const args = [path.join(PEERS_DIR, 'journal_sender.py'), journald.socketPath, how, file];
  if (uid !== undefined) args.push(String(uid));
  const py = new LineProcess(`journal_sender.py ${how}`, 'python3', args);
  t.teardown(() => py.kill());
  const sent = await py.nextJson<Sent>();
  t.deepEqual(await py.waitExit(), { code: 0, signal: null }, py.stderr);
  return sent;
}

test('a native-protocol entry in a plain datagram is in the journal, with the fields journald adds', async (t) => {
  const journald = await startJournald(t);
  const sent = await pythonSends(t, journald, 'datagram', Buffer.from('MESSAGE=hello\nFOO=bar\n'));
  t.is(sent.bytes, 22);

  const entries = await journald.entries('FOO=bar');
  t.is(entries.length, 1);
  const entry = entries[0]!;
  t.is(entry.MESSAGE, 'hello');
  t.is(entry.FOO, 'bar');
  t.is(entry._TRANSPORT, 'journal');
  t.is(entry._PID, String(sent.pid));
  t.is(entry._UID, '0');
});

test("nativeEntry's text and binary forms: \\n and NUL come back byte-exact", async (t) => {
  t.deepEqual(
    Buffer.concat(nativeEntry({ MESSAGE: 'hi', DATA: Buffer.from('a\nb') })),
    Buffer.concat([Buffer.from('MESSAGE=hi\nDATA\n'), Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('a\nb\n')]),
  );
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const fields = {
    MESSAGE: 'binary fields',
    ALL_BYTES: every, // has \n: the binary form
    NUL_NO_NEWLINE: Buffer.from('a\0b\0'), // the text form carries a NUL as it is
    LINES: 'line one\nline two\n', // a string with \n: the binary form too
    EMPTY: '',
    UTF8: 'é ünïcødé ✓',
  };
  const chunks = nativeEntry(fields);
  t.is(chunks.length, 6, 'one chunk per field');
  t.true(chunks[2]!.equals(Buffer.from('NUL_NO_NEWLINE=a\0b\0\n')));

  const journald = await startJournald(t);
  await pythonSends(t, journald, 'datagram', chunks);
  const [entry, ...more] = await journald.entries('MESSAGE=binary fields');
  t.is(more.length, 0);
  // journalctl prints a value that is not printable UTF-8 on one line in its binary form: a Buffer.
  t.deepEqual(entry!.ALL_BYTES, every);
  t.deepEqual(entry!.NUL_NO_NEWLINE, Buffer.from('a\0b\0'));
  t.deepEqual(entry!.LINES, Buffer.from('line one\nline two\n'));
  t.is(entry!.EMPTY, '');
  t.is(entry!.UTF8, 'é ünïcødé ✓');
});

test('nativeEntry refuses field names journald would drop, and an entry with no field', (t) => {
  for (const name of ['_PID', 'message', '1ST', 'A-B', 'A=B', '', 'X'.repeat(65)]) {
    t.throws(() => nativeEntry({ [name]: 'v' }), { instanceOf: TypeError }, name);
  }
  t.is(nativeEntry({ ['X'.repeat(64)]: 'v' }).length, 1);
  t.throws(() => nativeEntry({}), { instanceOf: RangeError, message: 'a journal entry needs at least one field' });
});

// journald takes an entry of up to ENTRY_SIZE_MAX (770 MiB) with fields of up to DATA_SIZE_MAX (768 MiB),
// src/shared/journal-importer.h; bigger ones are dropped with only a debug message, and since 2026
// (systemd/systemd#40571) an unprivileged sender gets 32 MiB. A sealed memfd is mapped, not copied.
test('a 5 MiB entry too big for a datagram arrives whole through a sealed memfd in a 0-byte datagram', async (t) => {
  const journald = await startJournald(t);
  const big = randomBytes(5 * 1024 * 1024); // incompressible, with \n and NUL bytes
  const entry = nativeEntry({ MESSAGE: 'five mebibytes', BIG: big });

  // What sd_journal_sendv tries first, and why it falls back to a memfd.
  const first = await pythonSends(t, journald, 'datagram', entry);
  t.true(first.error === 'EMSGSIZE' || first.error === 'ENOBUFS', JSON.stringify(first));

  const sent = await pythonSends(t, journald, 'sealed-memfd', entry);
  t.is(sent.error, undefined);
  t.is(sent.seals, JOURNALD_SEALS);
  t.is(sent.bytes, Buffer.concat(entry).length);
  const [got, ...more] = await journald.entries('MESSAGE=five mebibytes');
  t.is(more.length, 0);
  t.true(Buffer.isBuffer(got!.BIG));
  t.is(got!.BIG!.length, big.length);
  t.true(big.equals(got!.BIG as Buffer), 'BIG is byte-exact');
  t.is(got!._TRANSPORT, 'journal');
  t.is(got!._PID, String(sent.pid));
});

test('from an unprivileged sender journald takes a sealed memfd and refuses an unsealed one, saying so', async (t) => {
  const journald = await startJournald(t);
  const unsealed = await pythonSends(t, journald, 'unsealed-memfd', nativeEntry({ MESSAGE: 'unsealed from nobody' }), NOBODY);
  t.is(unsealed.error, undefined);
  t.is(unsealed.uid, NOBODY);
  t.is(unsealed.seals, 0);
  const sealed = await pythonSends(t, journald, 'sealed-memfd', nativeEntry({ MESSAGE: 'sealed from nobody' }), NOBODY);
  t.is(sealed.seals, JOURNALD_SEALS, 'vm.memfd_noexec adds F_SEAL_EXEC to every memfd: see the F_SEAL_EXEC test');

  t.deepEqual(await journald.entries('MESSAGE=unsealed from nobody'), []);
  t.regex(journald.log(), REFUSED);
  const [entry, ...more] = await journald.entries('MESSAGE=sealed from nobody');
  t.is(more.length, 0);
  t.is(entry!._UID, String(NOBODY));
});

test('from root journald reads an unsealed memfd too: a root sender cannot tell sealed from unsealed', async (t) => {
  const journald = await startJournald(t);
  const sent = await pythonSends(t, journald, 'unsealed-memfd', nativeEntry({ MESSAGE: 'unsealed from root' }));
  t.is(sent.seals, 0);
  const [entry, ...more] = await journald.entries('MESSAGE=unsealed from root');
  t.is(more.length, 0);
  t.is(entry!._UID, '0');
  t.notRegex(journald.log(), REFUSED);
});

test('journald before 254 counts a memfd with F_SEAL_EXEC (MFD_NOEXEC_SEAL) as not sealed', async (t) => {
  const journald = await startJournald(t);
  const sent = await pythonSends(t, journald, 'noexec-memfd', nativeEntry({ MESSAGE: 'noexec from nobody' }), NOBODY);
  if (sent.error === 'EINVAL') {
    t.log('this kernel (< 6.3) has no MFD_NOEXEC_SEAL, so no memfd carries F_SEAL_EXEC');
    t.pass();
    return;
  }
  t.is(sent.seals, JOURNALD_SEALS | F_SEAL_EXEC);
  const entries = await journald.entries('MESSAGE=noexec from nobody');
  // memfd_get_sealed() wanted exactly SHRINK|GROW|WRITE|SEAL until systemd 254 (systemd/systemd#27659).
  if (journald.version < 254) {
    t.deepEqual(entries, []);
    t.regex(journald.log(), REFUSED);
  } else {
    t.is(entries.length, 1);
  }
});

test('stop() ends journald and removes its directory; a second stop() is a no-op', async (t) => {
  const journald = await startJournald(t); // and its teardown stops it a second time
  const dir = path.resolve(journald.journalDirectory, '../../..');
  t.true(fs.statSync(journald.socketPath).isSocket());
  await journald.stop();
  t.throws(() => process.kill(journald.pid, 0), { code: 'ESRCH' });
  t.false(fs.existsSync(dir));
  await journald.stop();
  await t.throwsAsync(journald.sync(), { message: /systemd-journald was killed by SIGTERM|exited with code 0/ });
});

test('unixgram with largePayloads: a 5 MiB entry sent as Buffer chunks reaches journald whole, small ones as datagrams', async (t) => {
  const journald = await startJournald(t);
  const bytes = new DatagramProtocol(new BytesSerializer());
  const client = await UnixDatagramClient.connect(journald.socketPath, bytes, { localAddress: null, largePayloads: 'memfd' });
  t.teardown(() => client.close());
  const big = randomBytes(5 * 1024 * 1024);
  await client.sendPacket(nativeEntry({ MESSAGE: 'unixgram small', FOO: 'bar' }));
  await client.sendPacket(nativeEntry({ MESSAGE: 'unixgram five mebibytes', BIG: big }));
  const [small] = await journald.entries('MESSAGE=unixgram small');
  t.is(small?.FOO, 'bar');
  const [got, ...more] = await journald.entries('MESSAGE=unixgram five mebibytes');
  t.is(more.length, 0);
  t.true(big.equals(got!.BIG as Buffer), 'BIG is byte-exact');
  t.is(got!._PID, String(process.pid));
});

test('unixgram as an unprivileged sender: journald takes its sealed memfd (it refuses unsealed ones from such a sender)', async (t) => {
  const journald = await startJournald(t);
  const file = path.join(tempDir(t), 'entry');
  const big = randomBytes(5 * 1024 * 1024);
  fs.writeFileSync(file, Buffer.concat(nativeEntry({ MESSAGE: 'unixgram from nobody', BIG: big })));
  fs.chmodSync(path.dirname(file), 0o755);
  fs.chmodSync(file, 0o644);
  const node = new LineProcess('journal-send.ts as nobody', 'setpriv', [
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
    process.execPath,
    '--import',
    'tsx',
    path.join(FIXTURES_DIR, 'journal-send.ts'),
    journald.socketPath,
    file,
  ]);
  t.teardown(() => node.kill());
  const sent = await node.nextJson<{ sent: number; uid: number }>();
  t.is(sent.uid, NOBODY);
  const [got, ...more] = await journald.entries('MESSAGE=unixgram from nobody');
  t.is(more.length, 0, journald.log());
  t.is(got?._UID, String(NOBODY));
  t.true(big.equals(got!.BIG as Buffer), 'BIG is byte-exact');
  t.notRegex(journald.log(), REFUSED);
});
