/**
 * @internal How `unixgram send` waits. A send held up by a receiver that does not read says
 * so on stderr and keeps waiting (nothing is dropped), unless `--timeout` ends the wait: the
 * library then withdraws the queued datagram (`sendPacket`'s `timeout`), so it is never sent
 * later. A reply is waited for up to `--timeout` too.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';

import { type SocketAncillary, type UnixDatagramClient, TimeoutError } from '../index.js';
import { CliError, type Io } from './io.js';

/** Seconds a send may wait for room in the receiver's queue before stderr says so. */
export const NOTICE_SECONDS = 1;

/** Where a send goes and how long each wait may last. */
export interface Patience {
  /** The receiver, as printed. */
  readonly to: string;
  /** Seconds each wait may last (a blocked send, a reply); `null`: no limit. */
  readonly timeout: number | null;
  readonly io: Io;
}

type Client = UnixDatagramClient<Uint8Array, Buffer>;

/**
 * Send one datagram; if it waits more than {@link NOTICE_SECONDS} for room, say so on
 * stderr (and again once it went out). After `patience.timeout` seconds of waiting it is
 * withdrawn, never sent, and the send fails.
 * @param client - the connected client
 * @param data - the datagram
 * @param ancillary - descriptors to pass with it
 * @param label - the datagram's name for messages (`message 2`)
 * @param sentBefore - how many datagrams went out before it, for the timeout message
 * @param patience - receiver, timeout, stderr
 * @throws {@link CliError} on the timeout; the send's own errors
 */
export async function sendPatiently(
  client: Client,
  data: Buffer,
  ancillary: SocketAncillary | undefined,
  label: string,
  sentBefore: number,
  patience: Patience,
): Promise<void> {
  const { to, timeout, io } = patience;
  const started = performance.now();
  let noticed = false;
  const notice = setTimeout(() => {
    noticed = true;
    const until = timeout === null ? 'Ctrl-C to give up' : `giving up after ${timeout} s`;
    io.stderr.write(`unixgram: waiting: the receiver at ${to} is not reading (its queue is full); ${label} waits to be sent (${until})\n`);
  }, NOTICE_SECONDS * 1000);
  try {
    await client.sendPacket(data, { ancillary, timeout });
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    const before = sentBefore > 0 ? ` (${sentBefore} sent before it)` : '';
    throw new CliError(
      `timed out after ${timeout} s: the receiver at ${to} is not reading (its queue is full); ${label} was not sent${before}`,
    );
  } finally {
    clearTimeout(notice);
  }
  if (noticed) io.stderr.write(`unixgram: ${label} sent after waiting ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * Wait for the next datagram from the peer, up to `patience.timeout`.
 * @param client - the connected client
 * @param ancillary - receives the reply's descriptors and credentials
 * @param label - what it replies to (`message 2`)
 * @param patience - receiver, timeout
 * @returns the reply's bytes
 * @throws {@link CliError} when no reply came in time; the receive's own errors
 */
export async function receiveReply(client: Client, ancillary: SocketAncillary, label: string, patience: Patience): Promise<Buffer> {
  try {
    return await client.recvPacket({ timeout: patience.timeout, ancillary });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ETIMEDOUT') throw err;
    throw new CliError(`no reply from ${patience.to} to ${label} within ${patience.timeout} s`);
  }
}
