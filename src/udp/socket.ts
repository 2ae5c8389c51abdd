/**
 * @internal How a UDP socket is made for a client, an endpoint or a server: its kind from
 * the address family, GRO and drop counts on, the receive buffer asked for, then bound.
 * @packageDocumentation
 */
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { KIND_UDP4, KIND_UDP6 } from '../native/binding.js';

/** The binding's socket kinds a UDP `fromFd` adopts. */
export const UDP_KINDS = [KIND_UDP4, KIND_UDP6];

/**
 * A new UDP socket, set up to receive (GRO, drop counts) and bound to `local`.
 * @param options - how the owner uses it
 * @param ipv6 - an IPv6 socket (it also reaches IPv4 peers, as `::ffff:a.b.c.d`)
 * @param local - where to bind (`"host:port"`), or undefined to leave it to connect/send
 * @param receiveBufferSize - bytes of receive buffer to ask for, or undefined
 * @returns the endpoint; on any failure the socket is closed
 */
export function udpEndpoint(
  options: EndpointOptions,
  ipv6: boolean,
  local: string | undefined,
  receiveBufferSize: number | undefined,
): Endpoint<string> {
  const endpoint = Endpoint.create<string>(options, ipv6 ? KIND_UDP6 : KIND_UDP4);
  try {
    endpoint.receiveUdp();
    if (receiveBufferSize !== undefined) endpoint.raiseReceiveBuffer(receiveBufferSize);
    if (local !== undefined) endpoint.bind(local);
  } catch (err) {
    endpoint.close();
    throw err;
  }
  return endpoint;
}
