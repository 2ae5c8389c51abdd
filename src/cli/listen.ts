/**
 * @internal `unixgram listen`: bind an address and print what arrives.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';

import { formatAddress } from '../address.js';
import { DatagramProtocol } from '../protocol.js';
import { BytesSerializer } from '../serializers/bytes.js';
import { UnixDatagramServer } from '../server.js';
import type { UnixDatagramServerClient } from '../server-client.js';
import { describeFd, formatJson, formatLine } from './format.js';
import { LISTEN_HELP, UsageError, asUsage, parseAddress, positiveInteger } from './usage.js';

/** Where the command writes; the real process streams, or test doubles. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

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
        'show-fds': { type: 'boolean' },
        'show-credentials': { type: 'boolean' },
        count: { type: 'string' },
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
  const showFds = values['show-fds'] === true;
  const showCredentials = values['show-credentials'] === true;
  const print = values.json ? formatJson : formatLine;

  let n = 0;
  let bytes = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const handler = (packet: Buffer, client: UnixDatagramServerClient<Uint8Array>): void => {
    if (limit !== undefined && n >= limit) return; // the rest of a batch that arrived with the last one
    n += 1;
    bytes += packet.length;
    const fds = showFds ? [...client.ancillary.iterFds()].map(describeFd) : undefined;
    io.stdout.write(`${print({ n, from: client.address, data: packet, fdCount: client.ancillary.fdCount, fds, credentials: showCredentials ? client.credentials : undefined })}\n`);
    if (n === limit) finish();
  }; // descriptors not stolen are closed by the server when the handler returns

  const server = await UnixDatagramServer.listen(address, new DatagramProtocol(new BytesSerializer()), handler, {
    removeStale: true,
    passCredentials: showCredentials,
    onError: (err, client) => io.stderr.write(`unixgram: ${client ? `from ${formatAddress(client.address)}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`),
  });
  io.stderr.write(`unixgram: listening on ${formatAddress(address)}${limit === undefined ? ' (Ctrl-C to stop)' : ` until ${limit} datagram${limit === 1 ? '' : 's'}`}\n`);

  const onSignal = (): void => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = limit === undefined && io.stderr.isTTY === true && io.stdout.isTTY !== true ? showProgress(io, () => [n, bytes]) : undefined;
  try {
    await finished;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server.close();
  }
  if (limit === undefined) io.stderr.write(`unixgram: ${n} datagram${n === 1 ? '' : 's'}, ${bytes} bytes\n`);
  return 0;
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
