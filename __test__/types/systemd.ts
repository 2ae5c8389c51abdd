// Type-level test, checked by `tsc` (types.spec.ts): the systemd helpers. A socket-activated
// fd's server() infers its handler's types from the protocol as UnixDatagramServer.listen
// does; notify() takes text or an object of strings and numbers, nothing else.
import {
  DatagramProtocol,
  JSONSerializer,
  listenFds,
  notify,
  notifyBarrier,
  startWatchdog,
  StringSerializer,
  watchdogInterval,
  type ListenFd,
  type UnixDatagramClient,
  type UnixDatagramEndpoint,
  type UnixDatagramServer,
  type UnixDatagramServerClient,
  type Watchdog,
} from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <A, B>(_: Equal<A, B>): void => {};

const strings = new DatagramProtocol(new StringSerializer());
const json = new DatagramProtocol(new JSONSerializer<{ reply: number }, { n: number }>());

export async function systemd(): Promise<void> {
  const sockets = listenFds({ unsetEnvironment: false });
  expectType<typeof sockets, ListenFd[]>(true);
  const requests = sockets.find((s) => s.name === 'requests');
  if (!requests) return;
  const server = requests.server(json, async (request, client) => {
    expectType<typeof request, { n: number }>(true);
    expectType<typeof client, UnixDatagramServerClient<{ reply: number }>>(true);
    await client.sendPacket({ reply: request.n });
    // @ts-expect-error the reply type comes from the protocol
    await client.sendPacket({ n: 1 });
  });
  expectType<typeof server, UnixDatagramServer<{ reply: number }, { n: number }>>(true);
  expectType<ReturnType<typeof requests.endpoint<string, string>>, UnixDatagramEndpoint<string, string>>(true);
  expectType<ReturnType<typeof requests.client<string, string>>, UnixDatagramClient<string, string>>(true);
  requests.server(strings, (line) => expectType<typeof line, string>(true), { passCredentials: true });
  // @ts-expect-error fromFd's options: no mode for a socket someone else bound
  requests.server(strings, () => {}, { mode: 0o600 });
  // @ts-expect-error read-only
  requests.fd = 4;

  expectType<Awaited<ReturnType<typeof notify>>, boolean>(true);
  await notify('READY=1');
  await notify({ READY: 1, STATUS: 'Serving', MAINPID: process.pid }, { fds: [3], pid: 1, timeout: 1, signal: AbortSignal.timeout(1) });
  // @ts-expect-error values are strings or numbers
  await notify({ READY: true });
  // @ts-expect-error misspelt option
  await notify('READY=1', { fd: [3] });
  expectType<Awaited<ReturnType<typeof notifyBarrier>>, boolean>(true);
  await notifyBarrier({ timeout: null });

  expectType<ReturnType<typeof watchdogInterval>, number | undefined>(true);
  const watchdog = startWatchdog({ onError: (err) => void err });
  expectType<typeof watchdog, Watchdog | undefined>(true);
  using _ = watchdog;
}
