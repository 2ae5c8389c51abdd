/**
 * @internal Where the CLI's commands read and write: the process's streams, or others.
 * @packageDocumentation
 */

/** Where a command writes; the real process streams, or test doubles. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What a command reads, for `send -` and `send --lines`. */
export type Input = NodeJS.ReadableStream & { isTTY?: boolean };

/** A runtime failure the CLI reports as one line, exit code 1 (no stack, no `code`). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/**
 * `n` and the noun, singular or plural: `1 datagram`, `2 datagrams`.
 * @param n - how many
 * @param noun - the singular
 * @returns the phrase
 */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
