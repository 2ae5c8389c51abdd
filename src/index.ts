/**
 * unixgram: Unix-domain datagram sockets for Node.js, with file descriptor passing,
 * credentials, whole-datagram receives and backpressure.
 * @packageDocumentation
 */
export { UnixDatagramClient } from './client.js';
export type { ConnectOptions, SendOptions, SendManyOptions, RecvOptions, IterOptions } from './client.js';
export { SocketProxy } from './socket-proxy.js';
export { DatagramProtocol } from './protocol.js';
export type { Serializer } from './protocol.js';
export { JSONSerializer } from './serializers/json.js';
export { StringSerializer } from './serializers/string.js';
export { BytesSerializer } from './serializers/bytes.js';
export { SocketAncillary, SCMRights, SCMCredentials, MAX_FDS_PER_DATAGRAM } from './ancillary.js';
export type { Credentials } from './ancillary.js';
export { formatAddress } from './address.js';
export type { UnixAddress, AddressLike } from './address.js';
export { DatagramProtocolParseError, TimeoutError, AbortError, ErrorCodes } from './errors.js';
export type { SystemError } from './errors.js';
export { MessagePackSerializer } from './serializers/msgpack.js';
export { CBORSerializer } from './serializers/cbor.js';
export { CompressedSerializer } from './serializers/compressed.js';
export type { CompressionOptions } from './serializers/compressed.js';
export type { SyncRecvOptions, SyncSendOptions } from './sync.js';
export { UnixDatagramServer, MAX_QUEUED_PER_CLIENT } from './server.js';
export type { ServerOptions } from './server.js';
export { UnixDatagramServerClient } from './server-client.js';
export type { ServerSendOptions } from './server-client.js';
export type { ConversationHandler, PacketHandler, RequestHandler, RecvParams } from './server-handler.js';
