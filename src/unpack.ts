/**
 * @internal A received datagram to a packet, for the client's receive calls: parse it, and
 * hand the descriptors and credentials that came with it to the caller's
 * {@link SocketAncillary}, or close the descriptors nobody takes.
 * @packageDocumentation
 */
import type { SocketAncillary } from './ancillary.js';
import type { DatagramProtocol } from './protocol.js';
import type { RawDatagram } from './receiver.js';

/**
 * The packet in `raw`; its descriptors go to `ancillary`, or are closed (also when it
 * carries an error or fails to parse).
 * @param protocol - the client's protocol
 * @param raw - the datagram as received
 * @param ancillary - the caller's ancillary data sink, if any
 * @returns the parsed packet
 * @throws the error `raw` carries (`ERR_UNIXGRAM_TRUNCATED`, `ERR_UNIXGRAM_CLOSED`, …);
 * {@link DatagramProtocolParseError}
 */
export function unpackDatagram<ReceivedPacket>(protocol: DatagramProtocol<unknown, ReceivedPacket>, raw: RawDatagram, ancillary: SocketAncillary | undefined): ReceivedPacket {
  if (raw.error) {
    raw.fds?.close();
    throw raw.error;
  }
  let packet: ReceivedPacket;
  try {
    packet = protocol._buildPacket(raw.data);
  } catch (err) {
    raw.fds?.close();
    throw err;
  }
  if (ancillary) ancillary._receive(raw.fds, raw.credentials);
  else raw.fds?.close();
  return packet;
}
