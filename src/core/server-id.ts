/**
 * The Seattle server identifier (seed "Creating a server identifier", DECISIONS.md "Handshake"):
 * flags ‖ IP (4 or 16 bytes, network order) ‖ port (2 bytes big-endian), 7 or 19 bytes.
 * Flags bit 0 = IPv6, bit 1 = UDP, other bits 0. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * normalised to IPv4 first, so a dual-stack server and its clients agree.
 *
 * IP parsing lives here (not node:net) because this is the sans-IO core.
 * @module
 */
import { aint } from './bytes.js';

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
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) return null;
  if (!text.includes(':')) return parseIpv4(text);
  const v6 = parseIpv6(text);
  if (v6 === null) return null;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Decimal only, no leading zeros (which some parsers read as octal).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const groups: number[] = [];
  const tailGroups: number[] = [];
  if (!pushGroups(head, groups, halves.length === 1)) return null;
  if (!pushGroups(tail, tailGroups, true)) return null;
  const total = groups.length + tailGroups.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...groups, ...new Array<number>(8 - total).fill(0), ...tailGroups];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Appends 16-bit groups; the last part may be a dotted IPv4 address when `mayEndWithIpv4`. */
function pushGroups(parts: string[], into: number[], mayEndWithIpv4: boolean): boolean {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (mayEndWithIpv4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return false;
      into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return false;
    into.push(parseInt(part, 16));
  }
  return true;
}
