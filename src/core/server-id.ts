/**
 * The Seattle server identifier (seed "Creating a server identifier", DECISIONS.md "Handshake"):
 * flags ‖ IP (4 or 16 bytes, network order) ‖ port (2 bytes big-endian), 7 or 19 bytes.
 * Flags bit 0 = IPv6, bit 1 = UDP, other bits 0. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * normalised to IPv4 first, so a dual-stack server and its clients agree.
 *
 * IP parsing is ip-address.ts (not node:net) because this is the sans-IO core.
 * @module
 */
import { aint } from './bytes.js';
import { isIpv4Mapped, parseIpv4, parseIpv6 } from './ip-address.js';

export const SERVER_ID_FLAG_IPV6 = 0x01;
export const SERVER_ID_FLAG_UDP = 0x02;

/** Builds the identifier of a server reached at `ip`:`port`. Throws RangeError on a bad address. */
export function serverIdentifier(ip: string, port: number, transport: 'tcp' | 'udp' = 'tcp'): Uint8Array {
  aint(port, 0, 65535, 'port');
  const address = parseIpAddress(ip);
  if (address === null) throw new RangeError(`not an IP address: ${JSON.stringify(ip)}`);
  const flags = (address.length === 16 ? SERVER_ID_FLAG_IPV6 : 0) | (transport === 'udp' ? SERVER_ID_FLAG_UDP : 0);
  const id = new Uint8Array(1 + address.length + 2);
  id[0] = flags;
  id.set(address, 1);
  id[id.length - 2] = port >>> 8;
  id[id.length - 1] = port & 0xff;
  return id;
}

/**
 * Parses a textual IPv4 or IPv6 address (brackets and a zone suffix are not accepted) into 4 or 16
 * bytes; an IPv4-mapped IPv6 address becomes its 4 IPv4 bytes. Returns null when it is not one.
 */
export function parseIpAddress(text: string): Uint8Array | null {
  if (typeof text !== 'string') return null;
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return null;
  return isIpv4Mapped(v6) ? v6.slice(12) : v6;
}
