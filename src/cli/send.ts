/**
 * @internal `unixgram send`: datagrams from the arguments, stdin or files, byte for byte;
 * optionally waiting for a reply to each.
 * @packageDocumentation
 */
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { formatAddress, SocketAncillary, UnixDatagramClient, DatagramProtocol, BytesSerializer } from '../index.js';
import { formatLine, jsonRecord, type Received } from './format.js';
import { connectHint } from './hints.js';
import { argumentSource, outgoing, type Encoding, type Source } from './input.js';
import { CliError, type Input, type Io } from './io.js';
import { receiveReply, sendPatiently, type Patience } from './patience.js';
import { SEND_HELP, UsageError, asUsage, parseAddress, seconds } from './usage.js';

/**
 * Run `unixgram send`.
 * @param args - the arguments after `send`
 * @param io - output streams
 * @param stdin - what `-` and `--lines` read
 * @returns the exit code
 */
export async function send(args: string[], io: Io, stdin: Input): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        lines: { type: 'boolean' },
        file: { type: 'string', multiple: true },
        hex: { type: 'boolean' },
        base64: { type: 'boolean' },
        fd: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        'wait-reply': { type: 'boolean' },
        raw: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(SEND_HELP);
    return 0;
  }
  const address = parseAddress(positionals[0]);
  const encoding: Encoding = values.hex ? 'hex' : values.base64 ? 'base64' : 'bytes';
  if (values.hex && values.base64) throw new UsageError('--hex and --base64 exclude each other');
  const source = pickSource(positionals.slice(1), values.file ?? [], values.lines === true, encoding);
  const waitReply = values['wait-reply'] === true;
  if (values.raw && !waitReply) throw new UsageError('--raw prints replies: it needs --wait-reply');
  if (values.raw && values.json) throw new UsageError('--raw and --json exclude each other');
  const timeout = seconds('timeout', values.timeout);
  const output = values.raw ? 'raw' : values.json ? 'json' : 'line';
  if (source.kind === 'stdin' && stdin.isTTY) {
    io.stderr.write(`unixgram: reading stdin${values.lines ? ', one datagram per line' : ' as one datagram'} (Ctrl-D to end)\n`);
  }

  const fds = openAll(values.fd ?? []);
  const client = await UnixDatagramClient.connect(address, new DatagramProtocol(new BytesSerializer())).catch((err: unknown) => {
    for (const fd of fds) closeSync(fd);
    throw connectHint(err, address);
  });
  const to = formatAddress(address);
  const patience: Patience = { to, timeout, io };
  let sent = 0;
  try {
    for await (const { data, label } of outgoing(source, { lines: values.lines === true, encoding }, stdin)) {
      let ancillary: SocketAncillary | undefined;
      if (fds.length > 0) {
        ancillary = new SocketAncillary();
        ancillary.addFds(fds);
      }
      await sendPatiently(client, data, ancillary, label, sent, patience).catch((err: unknown) => {
        throw err instanceof Error && !(err instanceof CliError) ? Object.assign(err, { message: `${label}: ${err.message}` }) : err;
      });
      sent += 1;
      const record = { to, size: data.length, fdCount: fds.length };
      if (!waitReply) {
        if (output === 'json') io.stdout.write(`${JSON.stringify(record)}\n`);
        continue;
      }
      const incoming = new SocketAncillary();
      try {
        const reply = await receiveReply(client, incoming, label, patience);
        const received: Received = {
          n: sent,
          from: client.getPeerName(),
          data: reply,
          fdCount: incoming.fdCount,
          fds: undefined,
          credentials: undefined,
          pidfd: undefined,
        };
        if (output === 'raw') io.stdout.write(reply);
        else if (output === 'json') io.stdout.write(`${JSON.stringify({ ...record, reply: jsonRecord(received) })}\n`);
        else io.stdout.write(`${formatLine(received)}\n`);
      } finally {
        incoming.close();
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
    await client.close();
  }
  return 0;
}

/** The one source of datagrams the arguments name; two at once is a usage error. */
function pickSource(messages: string[], files: string[], lines: boolean, encoding: Encoding): Source {
  const stdin = messages.length === 1 && messages[0] === '-';
  if (messages.includes('-') && !stdin) throw new UsageError("'-' (stdin) cannot be mixed with message arguments");
  if (files.length > 0 && messages.length > 0)
    throw new UsageError(`--file cannot be mixed with ${stdin ? "'-' (stdin)" : 'message arguments'}`);
  if (files.length > 0) return { kind: 'files', paths: files };
  if (stdin || (messages.length === 0 && lines)) return { kind: 'stdin' };
  if (lines) throw new UsageError('--lines splits stdin or --file input; each message argument is one datagram already');
  if (messages.length === 0)
    throw new UsageError("nothing to send: give messages, '-' to send stdin as one datagram, --lines for one per line, or --file PATH");
  return argumentSource(messages, encoding);
}

/** Open each file read-only, for `--fd`; all or none. */
function openAll(files: string[]): number[] {
  const fds: number[] = [];
  try {
    for (const file of files) fds.push(openSync(file, 'r'));
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }
  return fds;
}
