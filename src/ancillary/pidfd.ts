/**
 * Pidfds: descriptors that refer to one process, as a sender's `SCM_PIDFD` (with
 * `passPidfd`) and a socketpair peer's `SO_PEERPIDFD` bring them. Linux >= 6.5.
 * @packageDocumentation
 */
import { checkFd } from '../checks.js';
import * as binding from '../native/binding.js';
import { pidfdGone, type ReceivedFds } from './received-fds.js';

/** The `passPidfd` option of clients, endpoints and servers. */
export interface PidfdOptions {
  /**
   * Turn on `SO_PASSPIDFD` (Linux >= 6.5) from the start: each datagram sent to the socket
   * from then on carries its sender's pidfd (`ancillary.pidfd`; a server's `client.ancillary.pidfd`,
   * closed when the handler's step for the packet ends unless stolen). Unlike the pid of
   * `passCredentials`, a pidfd cannot come to name another process once the sender exits.
   * `ERR_UNIXGRAM_UNSUPPORTED` on an older kernel, on macOS and on FreeBSD.
   */
  passPidfd?: boolean;
}

/** @internal The option names of {@link PidfdOptions}, for the option checks. */
export const PIDFD_OPTION_NAMES = ['passPidfd'] as const;

/**
 * The pid of the process a pidfd refers to, as the `Pid:` line of `/proc/self/fdinfo/<fd>`
 * says now: `> 0` its pid (in this `/proc`'s pid namespace); `0` if it has no pid here (it
 * runs in a pid namespace that is not below this one); `-1` once it has exited **and been
 * reaped**: the number may then belong to another process already. A zombie (exited, not
 * reaped) still shows its pid, which cannot be reused until it is reaped.
 * @param fd - a pidfd, e.g. one taken with {@link Pidfd.steal}; it stays yours (not closed)
 * @returns the pid, `0` or `-1`
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for something that is not a descriptor
 * number; `EBADF` if `fd` is not open (`syscall: 'fcntl'`) or not a pidfd (`'read'`);
 * `ERR_UNIXGRAM_UNSUPPORTED` on macOS and FreeBSD
 * @example
 * ```ts
 * const fd = ancillary.pidfd!.steal(); // yours now: close it with fs.closeSync
 * console.log('sender pid', pidfdPid(fd));
 * ```
 */
export function pidfdPid(fd: number): number {
  checkFd(fd);
  return binding.pidfdPid(fd);
}

/**
 * Whether the process a pidfd refers to has exited (a zombie counts). It polls the pidfd
 * with a zero timeout: it never waits, and once `true` it stays `true`.
 * @param fd - a pidfd; it stays yours (not closed)
 * @returns whether that process has exited
 * @throws as {@link pidfdPid}
 * @example
 * ```ts
 * if (pidfdExited(fd)) console.log('the sender is gone; its pid may name another process now');
 * ```
 */
export function pidfdExited(fd: number): boolean {
  checkFd(fd);
  return binding.pidfdExited(fd);
}

/**
 * A pidfd that came with a datagram (`SCM_PIDFD`, with `passPidfd: true`), or the peer's
 * (`socket.getPeerPidfd()`): a descriptor that refers to one process for as long as it is
 * open, unlike a pid number, which names whichever process has it now.
 *
 * It is owned like received descriptors are: here until {@link steal} hands it over (then
 * it is yours to close), closed by {@link close}, by closing the `SocketAncillary` it
 * came in, by a server when the handler's step for the packet ends, or, as a last resort,
 * when garbage-collected.
 *
 * The race-free way to use a sender's pid: read {@link pid}, use it (e.g. read
 * `/proc/<pid>/…`), then check {@link exited}: if `false`, the pid named the sender all along.
 *
 * @example
 * ```ts
 * const ancillary = new SocketAncillary();
 * await client.recvPacket({ ancillary });
 * const pidfd = ancillary.pidfd; // with passPidfd: true
 * if (pidfd) {
 *   const { pid } = pidfd;
 *   const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8');
 *   if (!pidfd.exited()) console.log('sent by', pid, comm.trim());
 * }
 * ancillary.close(); // closes the pidfd too
 * ```
 */
export class Pidfd {
  readonly #owner: ReceivedFds;

  /** @internal Made by the `SocketAncillary` or socket that owns the descriptor. */
  constructor(owner: ReceivedFds) {
    this.#owner = owner;
  }

  /** The descriptor, while it is held here (do not close it: {@link steal} it); `-1` once stolen or closed. */
  get fd(): number {
    return this.#owner.pidfd();
  }

  /**
   * The pid of the process, read now (see {@link pidfdPid}): `> 0` its pid, `0` if it has
   * none in this pid namespace, `-1` once it has exited and been reaped.
   * @throws `ERR_UNIXGRAM_CLOSED` once stolen or closed
   */
  get pid(): number {
    return binding.pidfdPid(this.#held());
  }

  /**
   * Whether the process has exited (a zombie counts); never waits.
   * @returns whether it has exited
   * @throws `ERR_UNIXGRAM_CLOSED` once stolen or closed
   */
  exited(): boolean {
    return binding.pidfdExited(this.#held());
  }

  /**
   * Take the descriptor: you must close it (`fs.closeSync`). {@link pidfdPid} and
   * {@link pidfdExited} ask it what this object does.
   * @returns the descriptor number
   * @throws `ERR_UNIXGRAM_CLOSED` if it was stolen or closed already
   */
  steal(): number {
    return this.#owner.stealPidfd();
  }

  /** Close the descriptor, unless stolen. Idempotent. */
  close(): void {
    this.#owner.closePidfd();
  }

  /** `using pidfd = socket.getPeerPidfd()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  #held(): number {
    const fd = this.#owner.pidfd();
    if (fd < 0) throw pidfdGone(true);
    return fd;
  }
}

/** An `SCM_PIDFD` message, as `SocketAncillary.messages()` yields it: the senders' pidfds. */
export class SCMPidfd {
  /** One per datagram received with one, still owned by the `SocketAncillary`. */
  readonly pidfds: readonly Pidfd[];

  /** @internal Made by `SocketAncillary.messages()`. */
  constructor(pidfds: readonly Pidfd[]) {
    this.pidfds = Object.freeze([...pidfds]);
  }
}
