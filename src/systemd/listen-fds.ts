/**
 * Socket activation: the sockets systemd (or `systemd-socket-activate`) passed this process,
 * read as `sd_listen_fds_with_names(3)` reads them, and adopted by name.
 * @packageDocumentation
 */
import { checkOptions } from '../checks.js';
import { UnixDatagramClient } from '../client/client.js';
import { UnixDatagramEndpoint } from '../endpoint/endpoint.js';
import { codedError, ErrorCodes } from '../errors.js';
import type { LargePayloadOptions } from '../large-payloads.js';
import { setCloexec } from '../native/binding.js';
import type { DatagramProtocol } from '../protocol/protocol.js';
import type { RequestHandler } from '../server/handler.js';
import type { ServerFromFdOptions } from '../server/options.js';
import { UnixDatagramServer } from '../server/server.js';
import type { InetAddress } from '../inet/address.js';
import { UnixSeqpacketServer, type SeqpacketServerFromFdOptions } from '../seqpacket/server.js';
import { UdpEndpoint } from '../udp/endpoint.js';
import { UdpServer, type UdpServerOptions } from '../udp/server.js';
import { badEnvironment, decimal, LISTEN_VARIABLES, pidOf, unsetEnvironment, unsetOption } from './environment.js';

/** The first descriptor systemd passes (`SD_LISTEN_FDS_START`): 0, 1 and 2 are stdio. */
export const LISTEN_FDS_START = 3;

/** Options of {@link listenFds}. */
export interface ListenFdsOptions {
  /**
   * Remove `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES` (and `LISTEN_PIDFDID`) from the
   * environment once read, whatever the outcome, so that programs this process starts do not
   * take the sockets as theirs (`sd_listen_fds(1)`). A second call then finds none.
   * Default `true`.
   */
  readonly unsetEnvironment?: boolean;
}

/**
 * A descriptor the service manager passed: its number and its name, ready to be served on.
 * Each of `server()`, `endpoint()` and `client()` adopts it (checking it is an `AF_UNIX`
 * `SOCK_DGRAM` socket first), `udpServer()` and `udpEndpoint()` a UDP socket, and
 * `seqpacketServer()` an `AF_UNIX` `SOCK_SEQPACKET` one; only one of them may, once. Until then the descriptor is
 * yours: a stream socket that was passed too, for instance, can go to `net.Server`.
 */
export interface ListenFd {
  /** The descriptor: 3 for the first socket, 4 for the next, … */
  readonly fd: number;
  /**
   * Its name: the socket unit's `FileDescriptorName=` (by default the unit's name, e.g.
   * `app.socket`), `FDNAME=` of a descriptor from the fd store, `--fdname=` of
   * `systemd-socket-activate`; `'unknown'` when `LISTEN_FDNAMES` is not set, as libsystemd
   * says. Several descriptors may share a name.
   */
  readonly name: string;
  /** Whether `server()`, `endpoint()` or `client()` adopted it. */
  readonly adopted: boolean;
  /**
   * Serve on it: {@link UnixDatagramServer.fromFd}. The server owns the socket from now on;
   * closing it never unlinks the socket file (systemd made it).
   * @param protocol - how packets are encoded
   * @param handler - as for {@link UnixDatagramServer.listen}
   * @param options - credentials, error hook, a signal that closes the server
   * @returns the serving server
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (the message names the fd and its name) if it is
   *   not an `AF_UNIX` `SOCK_DGRAM` socket, the descriptor then left open and yours;
   *   `ERR_UNIXGRAM_ALREADY_ADOPTED`; what `fromFd` throws for bad arguments
   */
  server<S, R>(
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options?: ServerFromFdOptions<NoInfer<S>>,
  ): UnixDatagramServer<S, R>;
  /**
   * Receive from anyone and answer anyone on it: {@link UnixDatagramEndpoint.fromFd}.
   * @param protocol - how packets are encoded
   * @param options - `largePayloads`, `maxPayloadSize`
   * @returns the endpoint, which owns the socket from now on
   * @throws as {@link ListenFd.server}
   */
  endpoint<S, R>(protocol: DatagramProtocol<S, R>, options?: LargePayloadOptions): UnixDatagramEndpoint<S, R>;
  /**
   * Use it as a connected client, e.g. a connected socket kept in the fd store (`FDSTORE=1`)
   * across a restart: {@link UnixDatagramClient.fromFd}.
   * @param protocol - how packets are encoded
   * @param options - `largePayloads`, `maxPayloadSize`
   * @returns the client, which owns the socket from now on
   * @throws as {@link ListenFd.server}
   */
  client<S, R>(protocol: DatagramProtocol<S, R>, options?: LargePayloadOptions): UnixDatagramClient<S, R>;
  /**
   * Serve UDP on it (a socket unit's `ListenDatagram=` with an address and port, or
   * `systemd-socket-activate --datagram -l 127.0.0.1:5353`): {@link UdpServer.fromFd}.
   * @param protocol - how packets are encoded
   * @param handler - as for {@link UdpServer.listen}
   * @param options - error hook, a signal that closes the server
   * @returns the serving server, which owns the socket from now on
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (naming the fd and its name) if it is not a UDP
   *   socket, the descriptor then left open and yours; `ERR_UNIXGRAM_ALREADY_ADOPTED`
   */
  udpServer<S, R>(
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R, InetAddress>>,
    options?: Omit<UdpServerOptions<NoInfer<S>>, 'receiveBufferSize'>,
  ): UdpServer<S, R>;
  /**
   * Receive from anyone and answer anyone over UDP on it: {@link UdpEndpoint.fromFd}.
   * @param protocol - how packets are encoded
   * @returns the endpoint, which owns the socket from now on
   * @throws as {@link ListenFd.udpServer}
   */
  udpEndpoint<S, R>(protocol: DatagramProtocol<S, R>): UdpEndpoint<S, R>;
  /**
   * Serve `SOCK_SEQPACKET` connections on it (a socket unit's `ListenSequentialPacket=`, or
   * `systemd-socket-activate --seqpacket`): {@link UnixSeqpacketServer.fromFd}.
   * @param protocol - how packets are encoded
   * @param handler - as for {@link UnixSeqpacketServer.listen}
   * @param options - backlog, credentials, error hook, a signal that closes the server
   * @returns the serving server, which owns the socket from now on
   * @throws as {@link ListenFd.udpServer}, for a socket that is not `AF_UNIX` `SOCK_SEQPACKET`
   */
  seqpacketServer<S, R>(
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options?: SeqpacketServerFromFdOptions<NoInfer<S>>,
  ): UnixSeqpacketServer<S, R>;
}

/**
 * The descriptors the service manager passed this process (socket activation), as
 * `sd_listen_fds_with_names(3)` gives them: none unless `LISTEN_PID` is this process's pid;
 * then `LISTEN_FDS` of them from fd 3 on, each made close-on-exec, named from
 * `LISTEN_FDNAMES` (colon-separated) or `'unknown'`. The environment is cleared afterwards
 * unless `unsetEnvironment: false`. Nothing is adopted yet: pick the sockets by name and call
 * `server()`, `endpoint()` or `client()` on them.
 *
 * Like libsystemd, it does not check what the descriptors are (`server()` and the others
 * do), and takes only decimal numbers (libsystemd's `strtol` also reads `0x10` and `010`,
 * which systemd never writes). `LISTEN_PIDFDID` (systemd 256) is not compared: libsystemd too
 * skips it where the kernel has no pidfd inode ids.
 * @param options - `unsetEnvironment` (default `true`)
 * @returns the descriptors, in order (empty when none were passed to this process)
 * @throws `ERR_UNIXGRAM_BAD_ENVIRONMENT` when `LISTEN_PID` or `LISTEN_FDS` is not a decimal
 *   number (`LISTEN_FDS` of at least 1), or `LISTEN_FDNAMES` has a different count of names;
 *   `EBADF` (`syscall` `'fcntl'`) when one of the descriptors is not open;
 *   `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad options
 * @example
 * ```ts
 * // app.socket: [Socket] ListenDatagram=/run/app.sock  FileDescriptorName=requests
 * const requests = listenFds().find((s) => s.name === 'requests');
 * if (!requests) throw new Error('start me from app.socket');
 * const server = requests.server(new DatagramProtocol(new JSONSerializer()), async (request, client) => {
 *   await client.sendPacket({ ok: true });
 * });
 * await server.serveForever();
 * ```
 */
export function listenFds(options: ListenFdsOptions = {}): ListenFd[] {
  checkOptions(options, ['unsetEnvironment']);
  const unset = unsetOption(options.unsetEnvironment, true);
  const { LISTEN_PID: pid, LISTEN_FDS: count, LISTEN_FDNAMES: names } = process.env;
  try {
    if (pid === undefined || pidOf('LISTEN_PID', pid) !== process.pid || count === undefined) return [];
    const n = decimal('LISTEN_FDS', count, 1);
    for (let fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n; fd++) {
      try {
        setCloexec(fd);
      } catch (err) {
        throw withContext(err, `LISTEN_FDS=${count}: fd ${fd}`);
      }
    }
    const list = names === undefined ? Array.from({ length: n }, () => 'unknown') : names.split(':');
    if (list.length !== n) {
      throw badEnvironment(
        'LISTEN_FDNAMES',
        names ?? '',
        `has ${list.length} ${list.length === 1 ? 'name' : 'names'} for LISTEN_FDS=${count}`,
      );
    }
    return list.map((name, i) => new PassedFd(LISTEN_FDS_START + i, name));
  } finally {
    if (unset) unsetEnvironment(LISTEN_VARIABLES);
  }
}

/** One passed descriptor; adopted at most once. */
class PassedFd implements ListenFd {
  readonly fd: number;
  readonly name: string;
  #adopted = false;

  constructor(fd: number, name: string) {
    this.fd = fd;
    this.name = name;
  }

  get adopted(): boolean {
    return this.#adopted;
  }

  server<S, R>(
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options?: ServerFromFdOptions<NoInfer<S>>,
  ): UnixDatagramServer<S, R> {
    return this.#adopt(() => UnixDatagramServer.fromFd(this.fd, protocol, handler, options));
  }

  endpoint<S, R>(protocol: DatagramProtocol<S, R>, options?: LargePayloadOptions): UnixDatagramEndpoint<S, R> {
    return this.#adopt(() => UnixDatagramEndpoint.fromFd(this.fd, protocol, options));
  }

  client<S, R>(protocol: DatagramProtocol<S, R>, options?: LargePayloadOptions): UnixDatagramClient<S, R> {
    return this.#adopt(() => UnixDatagramClient.fromFd(this.fd, protocol, options));
  }

  udpServer<S, R>(
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R, InetAddress>>,
    options?: Omit<UdpServerOptions<NoInfer<S>>, 'receiveBufferSize'>,
  ): UdpServer<S, R> {
    return this.#adopt(() => UdpServer.fromFd(this.fd, protocol, handler, options));
  }

  udpEndpoint<S, R>(protocol: DatagramProtocol<S, R>): UdpEndpoint<S, R> {
    return this.#adopt(() => UdpEndpoint.fromFd(this.fd, protocol));
  }

  seqpacketServer<S, R>(
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options?: SeqpacketServerFromFdOptions<NoInfer<S>>,
  ): UnixSeqpacketServer<S, R> {
    return this.#adopt(() => UnixSeqpacketServer.fromFd(this.fd, protocol, handler, options));
  }

  #adopt<T>(make: () => T): T {
    const which = `socket-activated fd ${this.fd} named ${JSON.stringify(this.name)}`;
    if (this.#adopted) throw codedError(ErrorCodes.ALREADY_ADOPTED, `${which} was adopted already: it has one owner`);
    let made: T;
    try {
      made = make();
    } catch (err) {
      throw withContext(err, which);
    }
    this.#adopted = true;
    return made;
  }
}

/**
 * Put `what` in front of the message of an error about a descriptor (not of one about the
 * other arguments, whose message names them already).
 * @param err - what was thrown
 * @param what - e.g. `socket-activated fd 3 named "app.socket"`
 * @returns the same error
 */
function withContext(err: unknown, what: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && !code.startsWith('ERR_INVALID_ARG') && code !== 'ERR_OUT_OF_RANGE') {
    err.message = `${what}: ${err.message}`;
  }
  return err;
}
