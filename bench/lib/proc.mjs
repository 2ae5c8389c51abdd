// One peer process: pinned to a CPU with taskset, spoken to by lines on stdin/stdout, killed
// (SIGKILL, the whole process) when its hard timeout expires.
import { spawn } from 'node:child_process';

export class Peer {
  /**
   * @param {{ cmd: string, args: string[], cpu: number, timeoutMs: number, extraFds?: number[], name: string }} opts
   */
  constructor({ cmd, args, cpu, timeoutMs, extraFds = [], name }) {
    this.name = name;
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    this.timedOut = false;
    this.child = spawn('taskset', ['-c', String(cpu), cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe', ...extraFds],
    });
    this.child.stdin.on('error', () => {}); // a peer that died before "go"
    let buffered = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        this.#line(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => {
      if (this.stderr.length < 4000) this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => resolve({ code: null, signal: null, error: err }));
      this.child.on('close', (code, signal) => resolve({ code, signal })); // after stdout is drained
    });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.kill();
    }, timeoutMs);
    this.exited.then(() => {
      clearTimeout(this.timer);
      for (const w of this.waiters) w.resolve(null);
      this.waiters = [];
    });
  }

  #line(line) {
    const i = this.waiters.findIndex((w) => line.startsWith(w.prefix));
    if (i < 0) return void this.lines.push(line);
    const [waiter] = this.waiters.splice(i, 1);
    waiter.resolve(line.slice(waiter.prefix.length));
  }

  /** The rest of the first line starting with `prefix`, or null if the process exits first. */
  waitLine(prefix) {
    const i = this.lines.findIndex((l) => l.startsWith(prefix));
    if (i >= 0) return Promise.resolve(this.lines.splice(i, 1)[0].slice(prefix.length).trim());
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push({ prefix, resolve: (rest) => resolve(rest === null ? null : rest.trim()) }));
  }

  send(line) {
    this.child.stdin.write(line + '\n');
  }

  kill() {
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }

  /** Why it failed, in a few words: timeout, signal, exit code, last stderr line. */
  async failure() {
    const { code, signal, error } = await this.exited;
    // Not a stack frame ("    at f (file:///…/errors.js:90:17)"): the error's own line.
    const lines = this.stderr
      .trim()
      .split('\n')
      .filter((l) => l && !/^\s+at /.test(l));
    const last = lines.findLast((l) => /error|panic|abort|fatal/i.test(l)) ?? lines.at(-1) ?? '';
    if (this.timedOut) return `${this.name}: hung (killed after timeout)`;
    if (error) return `${this.name}: ${error.message}`;
    const how = signal ? `killed by ${signal}` : `exited ${code}`;
    return `${this.name}: ${how}${last ? ` (${last.slice(0, 160)})` : ''}`;
  }
}
