/**
 * @internal The `unixgram` command: picks the subcommand, maps failures to exit codes and
 * one-line messages (no stack traces).
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { bench } from './bench.js';
import type { Input, Io } from './io.js';
import { listen } from './listen.js';
import { notifyCommand } from './notify.js';
import { send } from './send.js';
import { BENCH_HELP, HELP, LISTEN_HELP, NOTIFY_HELP, SEND_HELP, UsageError } from './usage.js';

/** The package root: two levels above this file, in `src/cli/` and in `dist/cli/` alike. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const COMMAND_HELP: Readonly<Record<string, string>> = { listen: LISTEN_HELP, send: SEND_HELP, notify: NOTIFY_HELP, bench: BENCH_HELP };

/**
 * Run the CLI.
 * @param argv - the arguments after the program name
 * @param io - output streams
 * @param stdin - input for `send -` and `send --lines`
 * @returns the exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function run(argv: string[], io: Io, stdin: Input): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'listen':
        return await listen(args, io);
      case 'send':
        return await send(args, io, stdin);
      case 'notify':
        return await notifyCommand(args, io);
      case 'bench':
        return await bench(args, io, ROOT);
      case 'help':
      case '--help':
      case '-h':
      case undefined: {
        const topic = command === 'help' ? args[0] : undefined;
        if (topic !== undefined && !(topic in COMMAND_HELP))
          throw new UsageError(`no help for '${topic}': the commands are listen, send, notify, bench`);
        (command === undefined ? io.stderr : io.stdout).write(topic === undefined ? HELP : (COMMAND_HELP[topic] as string));
        return command === undefined ? 2 : 0;
      }
      case '--version':
      case '-v':
        io.stdout.write(`${(JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}': the commands are listen, send, notify, bench`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`unixgram: ${err.message}; see 'unixgram --help'\n`);
      return 2;
    }
    io.stderr.write(`unixgram: ${oneLine(err)}\n`);
    return 1;
  }
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ');
}
