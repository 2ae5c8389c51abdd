/**
 * unixgram: Unix-domain datagram sockets for Node.js, with file descriptor passing,
 * credentials, whole-datagram receives and backpressure.
 * @packageDocumentation
 */
export { UnixDatagramClient } from './client/client.js';
export type { ConnectOptions, FromFdOptions, SendOptions, SendManyOptions, RecvOptions, IterOptions } from './client/options.js';
export type { SyncRecvOptions, SyncSendOptions } from './client/sync.js';
export { SocketHandle } from './handle.js';
export { ConnectedClient } from './client/connected.js';
export { UnconnectedEndpoint } from './endpoint/unconnected.js';
export { UnixDatagramEndpoint } from './endpoint/endpoint.js';
export { UdpClient } from './udp/client.js';
export { UdpEndpoint } from './udp/endpoint.js';
export { UdpServer } from './udp/server.js';
export { UnixSeqpacketClient } from './seqpacket/client.js';
export type { SeqpacketConnectOptions, SeqpacketPairOptions } from './seqpacket/client.js';
export { UnixSeqpacketServer } from './seqpacket/server.js';
export type { SeqpacketServerFromFdOptions, SeqpacketServerOptions } from './seqpacket/server.js';
export type { UdpServerClient, UdpServerOptions } from './udp/server.js';
export { DatagramServer } from './server/base.js';
export type { UdpBindOptions, UdpConnectOptions, UdpFromFdOptions, UdpSocketOptions } from './udp/options.js';
export type { InetAddress, InetAddressLike } from './inet/address.js';
export type {
  BindAddress,
  BindOptions,
  EndpointFromFdOptions,
  PacketTo,
  ReceivedFrom,
  RecvFromOptions,
  SendManyToOptions,
  SendToOptions,
} from './endpoint/options.js';
export { SocketProxy } from './lowlevel/socket-proxy.js';
export { DatagramProtocol } from './protocol/protocol.js';
export type { DatagramBytes, Serializer } from './protocol/protocol.js';
export { JSONSerializer } from './protocol/serializers/json.js';
export { StringSerializer } from './protocol/serializers/string.js';
export { BytesSerializer } from './protocol/serializers/bytes.js';
export { MessagePackSerializer } from './protocol/serializers/msgpack.js';
export { CBORSerializer } from './protocol/serializers/cbor.js';
export { CompressedSerializer } from './protocol/serializers/compressed.js';
export type { CompressionOptions } from './protocol/serializers/compressed.js';
export { SocketAncillary, SCMRights, SCMCredentials, MAX_FDS_PER_DATAGRAM } from './ancillary/ancillary.js';
export type { Credentials } from './ancillary/ancillary.js';
export { Pidfd, SCMPidfd, pidfdPid, pidfdExited } from './ancillary/pidfd.js';
export type { PidfdOptions } from './ancillary/pidfd.js';
export { DEFAULT_MAX_PAYLOAD_SIZE } from './large-payloads.js';
export type { LargePayloadOptions } from './large-payloads.js';
export type { ReceiveBufferOptions } from './reuse-buffer.js';
export { BUSY_POLL_ADAPTIVE_MICROS, BUSY_POLL_MAX_MICROS, type BusyPoll, type BusyPollOptions } from './busy-poll.js';
export { formatAddress } from './address.js';
export type { UnixAddress, AddressLike } from './address.js';
export { DatagramProtocolParseError, TimeoutError, AbortError, ErrorCodes } from './errors.js';
export type { SystemError } from './errors.js';
export { UnixDatagramServer, MAX_QUEUED_PER_CLIENT } from './server/server.js';
export type { ServeOptions, ServerFromFdOptions, ServerOptions } from './server/options.js';
export { UnixDatagramServerClient } from './server/client.js';
export type { ServerSendOptions } from './server/client.js';
export type { ConversationHandler, PacketHandler, RequestHandler, RecvParams } from './server/handler.js';
export { listenFds, LISTEN_FDS_START } from './systemd/listen-fds.js';
export type { ListenFd, ListenFdsOptions } from './systemd/listen-fds.js';
export { notify, notifyBarrier } from './systemd/notify.js';
export type { NotifyBarrierOptions, NotifyOptions, NotifyState } from './systemd/notify.js';
export { startWatchdog, watchdogInterval } from './systemd/watchdog.js';
export type { Watchdog, WatchdogIntervalOptions, WatchdogOptions } from './systemd/watchdog.js';
