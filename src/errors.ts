/**
 * Errors raised by unixgram. OS errors come from the binding in Node's `ErrnoException`
 * shape (`code` such as `'ENOENT'`, negative `errno`, `syscall`, `address`). Library errors
 * use the `ERR_UNIXGRAM_*` codes below; a code is never renamed or reused.
 * @packageDocumentation
 */

/** Every library error code, in one registry. */
export const ErrorCodes = {
  /**
   * The socket was closed: by `close()`, before or while the operation was pending. Also a
   * received pidfd (`Pidfd`) used after it was stolen or closed.
   */
  CLOSED: 'ERR_UNIXGRAM_CLOSED',
  /**
   * The peer of a connection (`SOCK_SEQPACKET`) closed it: every packet it sent before has
   * been received, and nothing more will come.
   */
  PEER_CLOSED: 'ERR_UNIXGRAM_PEER_CLOSED',
  /** A datagram did not fit the receive buffer (`MSG_TRUNC`); it was discarded. */
  TRUNCATED: 'ERR_UNIXGRAM_TRUNCATED',
  /** Control data was cut (`MSG_CTRUNC`); the datagram and its fds were discarded. */
  CONTROL_TRUNCATED: 'ERR_UNIXGRAM_CONTROL_TRUNCATED',
  /** `fromFd()` was given something other than an `AF_UNIX` `SOCK_DGRAM` socket. */
  NOT_UNIX_DGRAM: 'ERR_UNIXGRAM_NOT_UNIX_DGRAM',
  /** The serializer could not parse a datagram. */
  PARSE: 'ERR_UNIXGRAM_PARSE',
  /** A server cannot answer a sender that is not bound to an address (an unbound socket). */
  UNNAMED_PEER: 'ERR_UNIXGRAM_UNNAMED_PEER',
  /**
   * A synchronous call met pending asynchronous work on the same socket: `recvPacketSync`
   * while a `recvPacket` waits, or `sendPacketSync` while `sendPacket`s are queued.
   */
  BUSY: 'ERR_UNIXGRAM_BUSY',
  /** No prebuilt binary for this platform, or it failed to load (thrown when unixgram is imported). */
  NO_BINARY: 'ERR_UNIXGRAM_NO_BINARY',
  /**
   * A Linux-only feature (abstract or autobound addresses, credentials, pidfds) asked for on
   * macOS or FreeBSD, or pidfds (`passPidfd`, `getPeerPidfd`) on a Linux kernel older than 6.5.
   */
  UNSUPPORTED: 'ERR_UNIXGRAM_UNSUPPORTED',
  /**
   * A received memfd (`largePayloads: 'memfd'`) is not sealed against writing, shrinking and
   * growing, or is not a memfd at all: its sender could change it while it is read.
   */
  MEMFD_NOT_SEALED: 'ERR_UNIXGRAM_MEMFD_NOT_SEALED',
  /** A received memfd holds more than the receiver's `maxPayloadSize`. */
  PAYLOAD_TOO_LARGE: 'ERR_UNIXGRAM_PAYLOAD_TOO_LARGE',
  /**
   * A variable the service manager sets (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`,
   * `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`) holds a value that cannot be used; the
   * message names it and says why. Where libsystemd returns `-EINVAL` or `-ERANGE`.
   */
  BAD_ENVIRONMENT: 'ERR_UNIXGRAM_BAD_ENVIRONMENT',
  /**
   * A socket-activated descriptor (`listenFds()`) was handed to a server, endpoint or client
   * already: it has one owner, which closes it.
   */
  ALREADY_ADOPTED: 'ERR_UNIXGRAM_ALREADY_ADOPTED',
} as const;

/** A system error as Node reports it (`err.code`, `err.errno`, `err.syscall`, `err.address`). */
export interface SystemError extends Error {
  /** `'ENOENT'`, `'ECONNREFUSED'`, … or an `ERR_UNIXGRAM_*` code. */
  code: string;
  /** The negative errno, as in Node: `util.getSystemErrorName(errno) === code`. */
  errno?: number;
  /** The syscall that failed: `'connect'`, `'sendmsg'`, `'recvmsg'`, `'bind'`, … */
  syscall?: string;
  /** The socket address involved, as a string (`/run/x.sock`, `@name`). */
  address?: string;
}

/** A datagram arrived but the protocol's serializer could not parse it. */
export class DatagramProtocolParseError extends Error {
  /** Always `'ERR_UNIXGRAM_PARSE'`. */
  readonly code = ErrorCodes.PARSE;
  /** The raw bytes that failed to parse. */
  readonly datagram: Buffer;

  /**
   * @param datagram - the bytes that could not be parsed
   * @param cause - what the serializer threw
   */
  constructor(datagram: Buffer, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`could not parse a ${datagram.length}-byte datagram: ${why}`, { cause });
    this.name = 'DatagramProtocolParseError';
    this.datagram = datagram;
  }
}

/** An operation did not complete within its `timeout` (seconds). */
export class TimeoutError extends Error {
  /** Always `'ETIMEDOUT'`. */
  readonly code = 'ETIMEDOUT';
  /** The timeout that expired, in seconds. */
  readonly timeout: number;

  /**
   * @param seconds - the timeout that expired
   * @param message - what did not happen in time; default: no datagram arrived
   */
  constructor(seconds: number, message = `no datagram arrived within ${seconds} s`) {
    super(message);
    this.name = 'TimeoutError';
    this.timeout = seconds;
  }
}

/** @internal The error of a send that waited `seconds` for room in the peer's queue. */
export function sendTimedOut(seconds: number): TimeoutError {
  return new TimeoutError(seconds, `the peer's queue stayed full for ${seconds} s: the datagram was not sent`);
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortError extends Error {
  /** Always `'ABORT_ERR'`, as Node's own `AbortError`. */
  readonly code = 'ABORT_ERR';

  /** @param reason - `signal.reason` */
  constructor(reason?: unknown) {
    super('The operation was aborted', reason === undefined ? undefined : { cause: reason });
    this.name = 'AbortError';
  }
}

/** @internal A library error with a code. */
export function codedError(code: string, message: string): SystemError {
  const err = new Error(message) as SystemError;
  err.code = code;
  return err;
}

/** @internal The error for any use of a closed socket. */
export function closedError(): SystemError {
  return codedError(ErrorCodes.CLOSED, 'the socket is closed');
}

/** @internal The error of a receive after the peer of a connection closed it. */
export function peerClosedError(): SystemError {
  return codedError(ErrorCodes.PEER_CLOSED, 'the peer closed the connection');
}

/** @internal A `TypeError` with Node's `ERR_INVALID_ARG_TYPE` code. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/** @internal A `RangeError` with Node's `ERR_OUT_OF_RANGE` code. */
export function outOfRange(name: string, range: string, actual: unknown): RangeError {
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(actual)}`);
  (err as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return err;
}

/** @internal A `TypeError` with Node's `ERR_INVALID_ARG_VALUE` code. */
export function invalidArgValue(name: string, reason: string, actual: unknown): TypeError {
  const err = new TypeError(`The argument '${name}' ${reason}. Received ${describe(actual)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 37)}...` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  return `an instance of ${value.constructor?.name ?? 'Object'}`;
}
