/**
 * The `unixgram` command line (the package's `bin`: `bin/unixgram.mjs` imports the build of
 * this file). Run `unixgram --help`.
 * @packageDocumentation
 */
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.stdin);
