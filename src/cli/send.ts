/**
 * @internal `unixgram send`: one datagram per argument or per stdin line.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { formatAddress } from '../address.js';
import { SocketAncillary } from '../ancillary.js';
import { UnixDatagramClient } from '../client.js';
import { DatagramProtocol } from '../protocol.js';
import { BytesSerializer } from '../serializers/bytes.js';
import type { Io } from './listen.js';
import { SEND_HELP, UsageError, asUsage, parseAddress } from './usage.js';

/**
 * Run `unixgram send`.
 * @param args - the arguments after `send`
 * @param io - output streams
 * @param stdin - where `-` reads lines from
 * @returns the exit code
 */
export async function send(args: string[], io: Io, stdin: NodeJS.ReadableStream): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        fd: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(SEND_HELP);
    return 0;
  }
  const address = parseAddress(positionals[0]);
  const messages = positionals.slice(1);
  if (messages.length === 0) throw new UsageError("nothing to send: give one or more messages, or '-' to send each line of stdin");
  if (messages.includes('-') && messages.length > 1) throw new UsageError("'-' (stdin lines) cannot be mixed with message arguments");

  const files = values.fd ?? [];
  const fds: number[] = [];
  try {
    for (const file of files) fds.push(openSync(file, 'r'));
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }
  const client = await UnixDatagramClient.connect(address, new DatagramProtocol(new BytesSerializer())).catch((err: unknown) => {
    for (const fd of fds) closeSync(fd);
    throw withHint(err);
  });
  try {
    const to = formatAddress(address);
    const sendOne = async (text: string): Promise<void> => {
      const data = Buffer.from(text, 'utf8');
      let ancillary: SocketAncillary | undefined;
      if (fds.length > 0) {
        ancillary = new SocketAncillary();
        ancillary.addFds(fds);
      }
      await client.sendPacket(data, ancillary ? { ancillary } : undefined);
      if (values.json) io.stdout.write(`${JSON.stringify({ to, size: data.length, fdCount: fds.length })}\n`);
    };
    if (messages[0] === '-') {
      for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) await sendOne(line);
    } else {
      for (const message of messages) await sendOne(message);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
    await client.close();
  }
  return 0;
}

/** A connect error with what it usually means. */
function withHint(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOENT' ? 'nothing at that path: is the listener running?' : code === 'ECONNREFUSED' ? 'no socket is bound there' : undefined;
  if (hint) err.message = `${err.message} (${hint})`;
  return err;
}
