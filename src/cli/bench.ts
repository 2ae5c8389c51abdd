/**
 * @internal `unixgram bench`: the repository's benchmark, short.
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Io } from './io.js';
import { BENCH_HELP, UsageError } from './usage.js';

/**
 * Run `unixgram bench`: `node bench/run.mjs --quick` from the package root when it is there
 * (a clone of the repository), else say where the benchmark lives.
 * @param args - the arguments after `bench`
 * @param io - output streams
 * @param root - the package root
 * @returns the exit code (the benchmark's own)
 */
export async function bench(args: string[], io: Io, root: string): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(BENCH_HELP);
    return 0;
  }
  if (args.length > 0) throw new UsageError(`bench takes no arguments, got: ${args.join(' ')}`);
  const script = join(root, 'bench', 'run.mjs');
  if (!existsSync(script)) {
    io.stdout.write('The benchmark lives in unixgram\'s source repository, not in the installed package:\n' + 'clone it, then `npm ci && npm run bench` (or `node bench/run.mjs --quick`).\n');
    return 0;
  }
  io.stderr.write('unixgram: running node bench/run.mjs --quick (about a minute; the table is printed at the end)\n');
  const child = spawn(process.execPath, [script, '--quick'], { cwd: root, stdio: 'inherit' });
  return new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
