/**
 * @internal `unixgram listen`: bind an address, print what arrives, answer it if asked.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { parseArgs } from 'node:util';

import {
  formatAddress,
  DatagramProtocol,
  BytesSerializer,
  UnixDatagramServer,
  type Pidfd,
  type UnixDatagramServerClient,
} from '../index.js';
import { describeFd, formatJson, formatLine, type Received, type SenderPidfd } from './format.js';
import { bindHint } from './hints.js';
import { plural, type Io } from './io.js';
import { LISTEN_HELP, UsageError, asUsage, octalMode, parseAddress, positiveInteger } from './usage.js';

/**
 * Run `unixgram listen`.
 * @param args - the arguments after `listen`
 * @param io - output streams
 * @returns the exit code
 */
export async function listen(args: string[], io: Io): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        raw: { type: 'boolean' },
        'show-fds': { type: 'boolean' },
        'show-credentials': { type: 'boolean' },
        'show-pidfd': { type: 'boolean' },
        count: { type: 'string' },
        mode: { type: 'string' },
        reply: { type: 'string' },
        echo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(LISTEN_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`listen takes one <address>, got ${positionals.length}: ${positionals.join(' ')}`);
  const address = parseAddress(positionals[0]);
  const limit = positiveInteger('count', values.count);
  const mode = octalMode('mode', values.mode);
  if (mode !== undefined && !('path' in address))
    throw new UsageError('--mode applies to socket files only (an abstract name has no permissions)');
  const showFds = values['show-fds'] === true;
  const showCredentials = values['show-credentials'] === true;
  const showPidfd = values['show-pidfd'] === true;
  if (values.raw && values.json) throw new UsageError('--raw and --json exclude each other');
  if (values.raw && (showFds || showCredentials || showPidfd))
    throw new UsageError('--raw writes payloads only: --show-fds, --show-credentials and --show-pidfd need the line or --json output');
  if (values.echo && values.reply !== undefined) throw new UsageError('--reply and --echo exclude each other');
  const fixed = values.reply === undefined ? undefined : Buffer.from(values.reply, 'utf8');
  const answer = values.echo ? (packet: Buffer) => packet : fixed && (() => fixed);
  const print = values.raw ? undefined : values.json ? formatJson : formatLine;

  let n = 0;
  let bytes = 0;
  let finishing = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const report = (message: string): boolean => io.stderr.write(`unixgram: ${message}\n`);
  const handler = async (packet: Buffer, client: UnixDatagramServerClient<Uint8Array>): Promise<void> => {
    if (limit !== undefined && n >= limit) return; // the rest of a batch that arrived with the last one
    n += 1;
    const k = n;
    bytes += packet.length;
    if (print === undefined) {
      io.stdout.write(packet);
    } else {
      const fds = showFds ? [...client.ancillary.iterFds()].map(describeFd) : undefined;
      const received: Received = {
        n: k,
        from: client.address,
        data: packet,
        fdCount: client.ancillary.fdCount,
        fds,
        credentials: showCredentials ? client.credentials : undefined,
        pidfd: showPidfd ? senderPidfd(client.ancillary.pidfd) : undefined,
      };
      io.stdout.write(`${print(received)}\n`);
    }
    if (answer) {
      if (!client.canReply) {
        report(`#${k}: cannot answer: the sender is not bound to an address (an unbound socket can send but cannot be answered)`);
      } else {
        await client.sendPacket(answer(packet)).catch((err: unknown) => {
          if (!finishing) report(`#${k}: answer to ${formatAddress(client.address)} failed: ${oneLine(err)}`);
        });
      }
    }
    if (k === limit) {
      finishing = true;
      finish();
    }
  }; // descriptors not stolen are closed by the server when the handler returns

  const server = await UnixDatagramServer.listen(address, new DatagramProtocol(new BytesSerializer()), handler, {
    removeStale: true,
    passCredentials: showCredentials,
    passPidfd: showPidfd,
    ...(mode === undefined ? {} : { mode }),
    onError: (err, client) => report(`${client ? `from ${formatAddress(client.address)}: ` : ''}${oneLine(err)}`),
  }).catch((err: unknown) => {
    throw bindHint(err, address);
  });
  const extras = [
    mode === undefined ? '' : ` (mode ${mode.toString(8).padStart(4, '0')})`,
    values.echo ? ', echoing each datagram back' : fixed ? `, answering each datagram with ${JSON.stringify(values.reply)}` : '',
    limit === undefined ? ' (Ctrl-C to stop)' : ` until ${plural(limit, 'datagram')}`,
  ];
  report(`listening on ${formatAddress(address)}${extras.join('')}`);

  const onSignal = (): void => {
    finishing = true;
    finish();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress =
    limit === undefined && io.stderr.isTTY === true && io.stdout.isTTY !== true ? showProgress(io, () => [n, bytes]) : undefined;
  try {
    await finished;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server.close();
  }
  if (limit === undefined) report(`${plural(n, 'datagram')}, ${bytes} bytes`);
  return 0;
}

/**
 * What a sender's pidfd says now: its pid, read first, then whether it has exited (so a pid
 * shown without "exited" was the sender's). The server closes the pidfd after the handler.
 * @param pidfd - the packet's pidfd, if one came
 * @returns its pid and state, or null
 */
function senderPidfd(pidfd: Pidfd | undefined): SenderPidfd | null {
  if (pidfd === undefined) return null;
  const pid = pidfd.pid;
  return { pid, exited: pidfd.exited() };
}

/** An error's message on one line. */
function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

/** A count on stderr, rewritten every second. */
function showProgress(io: Io, read: () => [number, number]): { stop(): void } {
  const timer = setInterval(() => {
    const [count, bytes] = read();
    io.stderr.write(`\r\x1b[K${count} datagrams, ${bytes} bytes`);
  }, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      io.stderr.write('\r\x1b[K');
    },
  };
}
