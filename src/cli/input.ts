/**
 * @internal Where `unixgram send` takes its datagrams from, byte for byte: the message
 * arguments, the whole of stdin, files, or their lines; decoded from hex or base64 if asked.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { CliError, type Input } from './io.js';
import { UsageError } from './usage.js';

/** How message text is turned into bytes: as it is (arguments as UTF-8), or decoded. */
export type Encoding = 'bytes' | 'hex' | 'base64';

/** Where the datagrams come from: one source per command. */
export type Source =
  | { readonly kind: 'arguments'; readonly messages: readonly Buffer[] }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'files'; readonly paths: readonly string[] };

/** One datagram to send, and how to name it in a message (`message 2`, `line 5 of stdin`). */
export interface Outgoing {
  readonly data: Buffer;
  readonly label: string;
}

/** Text that is not what `--hex` or `--base64` expects; says where and why. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * The bytes of one message: `data` itself, or `data` decoded from hex or base64. ASCII
 * whitespace (spaces, newlines) is ignored in hex and base64, so `de ad be ef` and the
 * lines of `xxd -p` or `base64` output decode; base64 may be standard or URL-safe.
 * @param data - the message as typed or read
 * @param encoding - how to turn it into bytes
 * @param label - what to call it in an error
 * @returns the datagram's bytes
 * @throws {@link DecodeError} if it is not valid hex or base64
 */
export function decode(data: Buffer, encoding: Encoding, label: string): Buffer {
  if (encoding === 'bytes') return data;
  const text = data.toString('latin1').replace(/[ \t\r\n\f\v]+/g, ''); // latin1: one char per byte, so any byte is seen
  if (encoding === 'hex') {
    const why = 'is not hex (pairs of 0-9, a-f)';
    if (!HEX.test(text)) throw new DecodeError(`${label} ${why}: ${firstBad(text, /[^0-9a-fA-F]/)}`);
    if (text.length % 2 === 1) throw new DecodeError(`${label} ${why}: an odd number of digits`);
    return Buffer.from(text, 'hex');
  }
  const why = 'is not base64 (A-Z a-z 0-9 and + / or - _, = padding at the end)';
  if (!BASE64.test(text)) throw new DecodeError(`${label} ${why}: ${firstBad(text.replace(/=+$/, ''), /[^A-Za-z0-9+/_-]/)}`);
  const digits = text.replace(/=+$/, '').length;
  if (digits % 4 === 1 || (text.length > digits && text.length % 4 !== 0))
    throw new DecodeError(`${label} ${why}: its length does not fit base64`);
  return Buffer.from(text, 'base64');
}

/** `"g" at position 3` for the first character matching `bad`. */
function firstBad(text: string, bad: RegExp): string {
  const at = text.search(bad);
  return `${JSON.stringify(text[at] ?? '')} at character ${at + 1} (spaces not counted)`;
}

/**
 * The message arguments as bytes (UTF-8, or decoded), checked before anything is sent.
 * @param messages - the arguments after the address
 * @param encoding - how to turn them into bytes
 * @returns the source
 * @throws {@link UsageError} for text that does not decode
 */
export function argumentSource(messages: readonly string[], encoding: Encoding): Source {
  try {
    return { kind: 'arguments', messages: messages.map((m, i) => decode(Buffer.from(m, 'utf8'), encoding, `message ${i + 1}`)) };
  } catch (err) {
    throw err instanceof DecodeError ? new UsageError(err.message) : err;
  }
}

/**
 * The datagrams of a source, in order: each argument; the whole of stdin or of each file
 * (read to its end first); or, with `lines`, each line of stdin or of each file, sent as
 * it is read (a line ends at `\n`, which is not sent; a `\r` before it is kept; an empty
 * line is an empty datagram; a last line without `\n` counts).
 * @param source - where from
 * @param options - whether to split lines, how to decode
 * @param stdin - the process's stdin
 * @returns the datagrams
 * @throws {@link CliError} for stdin or file content that does not decode, the file system's errors
 */
export async function* outgoing(
  source: Source,
  options: { readonly lines: boolean; readonly encoding: Encoding },
  stdin: Input,
): AsyncGenerator<Outgoing> {
  const { lines, encoding } = options;
  const decoded = (data: Buffer, label: string): Outgoing => {
    try {
      return { data: decode(data, encoding, label), label };
    } catch (err) {
      throw err instanceof DecodeError ? new CliError(err.message) : err;
    }
  };
  if (source.kind === 'arguments') {
    for (const [i, data] of source.messages.entries()) yield { data, label: `message ${i + 1}` };
    return;
  }
  const inputs: Array<{ name: string; open: () => AsyncIterable<Buffer | string> }> =
    source.kind === 'stdin'
      ? [{ name: 'stdin', open: () => stdin }]
      : source.paths.map((p) => ({ name: p, open: () => createReadStream(p) }));
  for (const { name, open } of inputs) {
    if (lines) {
      let n = 0;
      for await (const line of splitLines(open())) yield decoded(line, `line ${++n} of ${name}`);
    } else {
      const data = source.kind === 'stdin' ? await readAll(stdin) : await readFile(name);
      yield decoded(data, name);
    }
  }
}

/** Every byte of a stream. */
async function readAll(input: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return Buffer.concat(chunks);
}

/** The lines of a stream as bytes, without their `\n`; a last line without one counts. */
async function* splitLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const piece of input) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const part = chunk.subarray(start, end);
      yield pending.length === 0 ? part : Buffer.concat([...pending, part]);
      pending = [];
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield Buffer.concat(pending);
}
