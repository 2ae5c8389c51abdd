/**
 * IP addresses of UDP sockets, in the shape Node's `dgram` gives them.
 * @packageDocumentation
 */
import { isIP } from 'node:net';

import { invalidArgType, invalidArgValue } from '../errors.js';

/** Where a UDP socket is, as `dgram` reports a sender (`rinfo`, without its `size`). */
export interface InetAddress {
  /** The IP address, e.g. `'127.0.0.1'` or `'::1'` (an IPv6 scope as `'fe80::1%2'`). */
  readonly address: string;
  /** `'IPv4'` or `'IPv6'`. */
  readonly family: 'IPv4' | 'IPv6';
  /** The port, 0–65535. */
  readonly port: number;
}

/**
 * An IP address as the UDP API takes it: `{ address, port }` (the family follows from the
 * address; an {@link InetAddress} will do).
 */
export interface InetAddressLike {
  /** An IPv4 or IPv6 address (no host names: resolve them first, e.g. with `dns.lookup`). */
  readonly address: string;
  /** The port, 0–65535 (0 to bind: the kernel picks one). */
  readonly port: number;
}

/** @internal Whether an address is IPv6 (the kernel form of the socket it needs). */
export function isIPv6(address: InetAddressLike): boolean {
  return isIP(address.address.split('%')[0] as string) === 6;
}

/**
 * @internal The binding's form of an IP address, `"a.b.c.d:port"` or `"[v6]:port"`, checked.
 * @throws `ERR_INVALID_ARG_TYPE` for anything but `{ address: string, port: number }`,
 * `ERR_INVALID_ARG_VALUE` for an address that is not an IP address, `ERR_OUT_OF_RANGE`-style
 * `ERR_INVALID_ARG_VALUE` for a port outside 0–65535
 */
export function encodeInetAddress(address: InetAddressLike, name = 'address'): string {
  if (typeof address !== 'object' || address === null || typeof address.address !== 'string' || typeof address.port !== 'number') {
    throw invalidArgType(name, '{ address: string, port: number }', address);
  }
  const { port } = address;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw invalidArgValue(`${name}.port`, 'must be an integer from 0 to 65535', port);
  const [ip, scope] = address.address.split('%') as [string, string | undefined];
  const version = isIP(ip);
  if (version === 0 || (scope !== undefined && (version !== 6 || !/^\d+$/.test(scope)))) {
    throw invalidArgValue(`${name}.address`, 'must be an IPv4 or IPv6 address (a numeric IPv6 scope may follow a %)', address.address);
  }
  return version === 4 ? `${ip}:${port}` : `[${address.address}]:${port}`;
}

/** @internal Decode the binding's `"a.b.c.d:port"` / `"[v6]:port"`. */
export function decodeInetAddress(raw: string): InetAddress {
  const colon = raw.lastIndexOf(':');
  const port = Number(raw.slice(colon + 1));
  if (raw.startsWith('[')) return { address: raw.slice(1, colon - 1), family: 'IPv6', port };
  return { address: raw.slice(0, colon), family: 'IPv4', port };
}
