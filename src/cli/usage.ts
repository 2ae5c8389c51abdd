/**
 * @internal The CLI's help texts, usage errors and argument helpers.
 * @packageDocumentation
 */
import type { UnixAddress } from '../index.js';

/** Wrong arguments: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const HELP = `unixgram: send and receive Unix-domain datagrams, for debugging local IPC

Usage:
  unixgram listen <address> [--json | --raw] [--show-fds] [--show-credentials] [--show-pidfd]
                  [--count N] [--mode OCTAL] [--reply TEXT | --echo]
  unixgram send <address> <message>... | - | --lines | --file PATH... [--hex | --base64]
                [--fd FILE]... [--json] [--wait-reply [--raw]] [--timeout SECONDS]
  unixgram notify [VARIABLE=VALUE]... [--ready] [--status TEXT] [--fd N|FILE]...
                  [--fdname NAME] [--barrier] [--timeout SECONDS]
  unixgram bench [--quick] [--seconds S] [--json]
  unixgram help [command] | --help | --version

<address> is a socket path, or @name for a Linux abstract name.

Exit codes: 0 ok, 1 runtime error (e.g. ENOENT: nothing listens there), 2 usage error.
Run 'unixgram <command> --help' for a command's options.
`;

export const LISTEN_HELP = `Usage: unixgram listen <address> [options]

Bind <address> (a path or @name) and print each datagram that arrives: sender, size,
payload (quoted text, or hex for binary), descriptors, credentials and pidfds. A stale socket file
(nothing bound to it) is replaced; a live one, or any other file, is never touched.
Stops after --count datagrams, or on Ctrl-C / SIGTERM (the socket file is removed).

Options:
  --json              one JSON object per line: {"n","from","size","data","encoding",
                      "fdCount"[,"fds"][,"credentials"][,"pidfd"]}; encoding is "utf8" or
                      "base64"; pidfd is {"pid","exited"}, or null if none came
  --raw               write each payload to stdout as it is, nothing added, for piping
                      binary data: 'unixgram listen @in --raw --count 1 > blob'. The
                      boundaries between datagrams are lost: several run together in one
                      stream (take one with --count 1, or keep them apart with --json)
  --show-fds          describe received descriptors (what /proc/self/fd/N points to);
                      they are closed either way
  --show-credentials  turn on SO_PASSCRED and print the sender's pid, uid and gid
  --show-pidfd        turn on SO_PASSPIDFD (Linux >= 6.5) and print the sender's pid as
                      its pidfd gives it: pidfd=4242, with "(exited)" once the sender has
                      exited (-1 once reaped). Unlike the pid of --show-credentials, read
                      when the datagram is, it never names a process that got the number
                      after the sender exited
  --count N           exit after N datagrams
  --mode OCTAL        permission bits of the socket file, e.g. 600 (only this user can
                      send to it) or 666 (everyone can), in place before anyone can
                      connect; sending needs write permission on the file. For paths
                      only: an abstract name has no permissions
  --reply TEXT        answer every datagram with TEXT (as UTF-8), sent to its sender
  --echo              answer every datagram with the datagram itself
  -h, --help          this text

--reply and --echo are for request/reply debugging (see send --wait-reply). A sender that
is not bound to an address cannot be answered: stderr says so and listening goes on.
unixgram send binds to an abstract name, so it can be answered.

A line 'listening on <address>' goes to stderr once bound. When stderr is a terminal and
stdout is not (output redirected), a running count is shown on stderr every second.
`;

export const SEND_HELP = `Usage: unixgram send <address> <message>... [options]
       unixgram send <address> - [options]            (the whole of stdin, one datagram)
       unixgram send <address> --lines [options]      (one datagram per line of stdin)
       unixgram send <address> --file PATH... [options]

Send datagrams to <address> (a path or @name), byte for byte: one per <message>
argument (its UTF-8 text), the whole of stdin as one ('-'; an empty stdin sends an
empty datagram), or each --file as one. The sender binds to an abstract name the kernel
picks, so a listener sees who sent it and can answer. A full receiver queue makes a send
wait, and stderr says so after a second; nothing is dropped.

Input (one source per command):
  -                  read stdin to its end and send it as one datagram
  --lines            one datagram per line of stdin (or of each --file), sent as it is
                     read: a line ends at \\n, which is not sent; anything else (a \\r,
                     invalid UTF-8) is kept; an empty line is an empty datagram
  --file PATH        send the file's bytes as one datagram; repeat for more files
  --hex              every message (argument, stdin, file or line) is hex, e.g. 00ff0a
                     or 'de ad be ef'; spaces and newlines are ignored (xxd -p output)
  --base64           every message is base64 (standard or URL-safe); whitespace ignored

Options:
  --fd FILE          open FILE read-only and pass its descriptor with every datagram
                     (SCM_RIGHTS); repeat for more files
  --json             print one JSON object per datagram sent: {"to","size","fdCount"},
                     with --wait-reply also "reply": the reply as listen --json prints it
  --wait-reply       after each datagram, wait for one datagram back and print it as
                     listen does: '#1 from <address> 4 bytes "pong"'
  --raw              with --wait-reply: write each reply's payload to stdout as it is,
                     nothing added (several replies run together)
  --timeout SECONDS  give up when a send has waited SECONDS for room in the receiver's
                     queue (that datagram is never sent) or a reply has not come within
                     SECONDS: exit code 1. Default: wait as long as it takes
  -h, --help         this text
`;

export const NOTIFY_HELP = `Usage: unixgram notify [VARIABLE=VALUE]... [options]

Tell the service manager at $NOTIFY_SOCKET about this service, as systemd-notify and
sd_notify(3) do: the assignments, one per line, as one datagram, e.g.
'unixgram notify READY=1 STATUS="Serving on /run/app.sock"'. NOTIFY_SOCKET is a path, or
@name for an abstract name, as systemd sets it for a Type=notify service.

Like systemd-notify, the datagram is sent on behalf of the process that ran this command
(its parent: the service's script), so a manager with NotifyAccess=main takes it as the
service's own: its pid goes in SCM_CREDENTIALS. Faking a pid needs root (CAP_SYS_ADMIN);
without it the datagram is sent again as this process. The parent is not used when it is
PID 1 or $MANAGERPID.

Options:
  --ready            READY=1 (first)
  --status TEXT      STATUS=TEXT (after --ready)
  --fd N|FILE        pass a descriptor with the datagram (SCM_RIGHTS) for the manager's
                     fd store, and add FDSTORE=1: a number is a descriptor this command
                     inherited ('unixgram notify --fd 3 3<file', as systemd-notify --fd=3),
                     anything else a file opened read-only; repeat for more
  --fdname NAME      FDNAME=NAME: the name the fd store keeps them under (needs --fd)
  --barrier          then wait until the manager has processed everything sent before
                     (BARRIER=1, sd_notify_barrier(3)); alone, only that
  --timeout SECONDS  how long --barrier waits in all (default 5), and a send waits for
                     room in the manager's queue (default: as long as it takes)
  -h, --help         this text

Nothing is printed on success. Exit codes: 0 sent; 1 NOTIFY_SOCKET is not set, or the send
or the barrier failed (ETIMEDOUT: the manager did not take the barrier); 2 usage error.
`;

export const BENCH_HELP = `Usage: unixgram bench [--quick] [--seconds S] [--json]

Measure unixgram on this machine in about 10 s: 64 B and 1 KiB datagrams sent with
sendPackets and received with iterReceivedPackets, then a 64 B round trip (sendPacket,
recvPacket; p50 and p99). unixgram's own API runs at both ends of a socketpair, the
receiving end in a child node process. Progress goes to stderr as it runs, the table to
stdout at the end; no file is written. To compare with C and other packages, clone the
repository and run 'npm run bench'.

Options:
  --quick      about 4 s: 1 s per measurement
  --seconds S  seconds per measurement (default 3; the whole run takes about 3 × S + 1)
  --json       print the results as one JSON object instead of the table
  -h, --help   this text
`;

/**
 * Run a `parseArgs` call, turning its errors into {@link UsageError}s.
 * @param parse - the call
 * @returns what it returns
 */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError((message.split(/\.(?:\s|$)/)[0] ?? message).trim()); // parseArgs adds long advice after the first sentence
  }
}

/**
 * The address as typed: `@name` is an abstract name, anything else a path.
 * @param text - the argument
 * @returns the address
 */
export function parseAddress(text: string | undefined): UnixAddress {
  if (text === undefined || text === '') throw new UsageError('missing <address> (a socket path, or @name for an abstract name)');
  if (text.startsWith('@')) {
    if (text.length === 1) throw new UsageError("'@' needs a name after it (@name is an abstract name)");
    return { abstract: text.slice(1) };
  }
  return { path: text };
}

/**
 * A positive integer option.
 * @param name - the option, for the message
 * @param value - what was given
 * @returns the number, or `undefined` if not given
 */
export function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${name} takes a whole number >= 1, not '${value}'`);
  return n;
}

/**
 * A positive number of seconds, e.g. `--timeout 2.5`.
 * @param name - the option, for the message
 * @param value - what was given
 * @returns the seconds, or `null` if not given
 */
export function seconds(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} takes a number of seconds > 0, not '${value}'`);
  return n;
}

/**
 * Permission bits in octal: `600`, `0600` or `0o600`.
 * @param name - the option, for the message
 * @param value - what was given
 * @returns the bits, or `undefined` if not given
 */
export function octalMode(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const digits = /^(?:0o)?([0-7]{1,4})$/i.exec(value)?.[1];
  if (digits === undefined) throw new UsageError(`--${name} takes permission bits in octal (e.g. 600, 0660), not '${value}'`);
  return parseInt(digits, 8);
}
