// Type-level test, checked by `tsc` (types.spec.ts): the handler forms users write inline get
// their parameter types from the protocol, without annotations. A regression is a tsc error
// here (TS7006 "implicitly has an 'any' type"), or an unused @ts-expect-error.
import {
  DatagramProtocol,
  JSONSerializer,
  SocketAncillary,
  StringSerializer,
  UnixDatagramClient,
  UnixDatagramServer,
  type Pidfd,
  type SCMCredentials,
  type SCMPidfd,
  type SCMRights,
  type UnixDatagramServerClient,
} from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <A, B>(_: Equal<A, B>): void => {};

declare const path: string;
const strings = new DatagramProtocol(new StringSerializer());
const json = new DatagramProtocol(new JSONSerializer<{ reply: number }, { n: number }>());

export async function inline(): Promise<void> {
  // A packet handler: (packet, client), one or no parameters.
  await UnixDatagramServer.listen(path, strings, async (packet, client) => {
    expectType<typeof packet, string>(true);
    expectType<typeof client, UnixDatagramServerClient<string>>(true);
    await client.sendPacket(packet.toUpperCase());
  });
  await UnixDatagramServer.listen(path, json, async (request, client) => {
    expectType<typeof request, { n: number }>(true);
    await client.sendPacket({ reply: request.n + 1 });
    // @ts-expect-error the reply type comes from the protocol
    await client.sendPacket({ n: 1 });
  });
  await UnixDatagramServer.listen(path, strings, (line) => {
    expectType<typeof line, string>(true);
  });
  await UnixDatagramServer.listen(path, strings, () => {}, { mode: 0o600, removeStale: true, signal: AbortSignal.timeout(1) });

  // A conversation handler: an object with an async generator `handle`.
  await UnixDatagramServer.listen(path, json, {
    async *handle(client) {
      expectType<typeof client, UnixDatagramServerClient<{ reply: number }>>(true);
      const first = yield;
      expectType<typeof first, { n: number }>(true);
      const next = yield { timeout: 5 };
      await client.sendPacket({ reply: first.n + next.n });
    },
  });

  // @ts-expect-error a handler's packet type must match the protocol's
  await UnixDatagramServer.listen(path, strings, (packet: number) => void packet);
  // @ts-expect-error an unknown option is a type error too (and ERR_INVALID_ARG_VALUE at run time)
  await UnixDatagramServer.listen(path, strings, () => {}, { umask: 0 });

  // Clients: for await, options with signal and timeout.
  const client = await UnixDatagramClient.connect(path, strings, { signal: AbortSignal.timeout(1000) });
  for await (const packet of client) expectType<typeof packet, string>(true);
  await client.sendPacket('x', { timeout: 1, signal: AbortSignal.timeout(10) });
  await client.sendPackets(['x'], { timeout: 1 });
  // @ts-expect-error misspelt option
  await client.recvPacket({ timout: 1 });

  // A sink bound at a path: the endpoint's bind options, bare packets of the protocol's type.
  const sink = await UnixDatagramClient.bind(path, strings, { mode: 0o660, removeStale: true, passCredentials: true });
  expectType<typeof sink, UnixDatagramClient<string, string>>(true);
  for await (const packet of sink.iterReceivedPackets({ timeout: null })) expectType<typeof packet, string>(true);
  // @ts-expect-error a sink connects to nobody: connect's localAddress is no bind option
  await UnixDatagramClient.bind(path, strings, { localAddress: null });

  // pidfds: the option everywhere passCredentials is, and on the adopters; what a receive gives.
  const withPidfd = await UnixDatagramClient.connect(path, strings, { passPidfd: true, passCredentials: true });
  UnixDatagramClient.fromFd(3, strings, { passPidfd: true });
  UnixDatagramClient.socketpair(strings, { passPidfd: true });
  await UnixDatagramServer.listen(
    path,
    strings,
    (_packet, sender) => {
      expectType<typeof sender.ancillary.pidfd, Pidfd | undefined>(true);
    },
    { passPidfd: true },
  );
  const ancillary = new SocketAncillary();
  await withPidfd.recvPacket({ ancillary });
  expectType<typeof ancillary.pidfd, Pidfd | undefined>(true);
  expectType<typeof ancillary.pidfds, readonly Pidfd[]>(true);
  for (const message of ancillary.messages()) expectType<typeof message, SCMRights | SCMCredentials | SCMPidfd>(true);
  const peer = withPidfd.socket.getPeerPidfd();
  expectType<typeof peer, Pidfd | null>(true);
  if (peer) expectType<[number, boolean, number], [typeof peer.pid, ReturnType<typeof peer.exited>, ReturnType<typeof peer.steal>]>(true);
  // @ts-expect-error pid is read-only: it is what the kernel says now
  if (peer) peer.pid = 1;
}
