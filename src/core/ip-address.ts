/**
 * IP address literals as bytes and back, for every layer: the handshake's server identifier
 * (server-id.ts), the PT's addresses (src/pt/lines.ts) and the capture tools (src/tools/pcap.ts).
 * Plain string work, no node:net, because the sans-IO core needs it too.
 * @module
 */

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses a dotted-quad IPv4 literal strictly: four decimal parts 0..255, no leading zeros (which
 * some resolvers read as octal), nothing else. Returns the 4 bytes or undefined.
 */
export function parseIpv4(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!IPV4_PART.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses an IPv6 literal (RFC 4291 §2.2 text forms: eight groups, one `::`, an embedded dotted
 * quad at the end). Brackets and zone identifiers (`%eth0`) are not accepted. Returns 16 bytes or
 * undefined.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const items = half.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!HEX_GROUP.test(item)) return undefined;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  if (head === undefined) return undefined;
  let groups: number[];
  if (halves.length === 1) {
    if (head.length !== 8) return undefined;
    groups = head;
  } else {
    const tail = groupsOf(halves[1]!);
    if (tail === undefined) return undefined;
    // An embedded IPv4 may only end the address, so it cannot sit before the '::'.
    if (halves[0]!.includes('.')) return undefined;
    // '::' stands for at least one zero group (RFC 4291 §2.2 item 2).
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/**
 * Formats 4 or 16 network-order bytes as text: dotted quad, or RFC 5952 IPv6 (lowercase, no
 * leading zeros, the first longest run of two or more zero groups as `::`, IPv4-mapped addresses
 * as `::ffff:a.b.c.d`).
 */
export function formatIpAddress(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`bytes must be 4 or 16 bytes, got ${bytes.length}`);
  if (isIpv4Mapped(bytes)) return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** True for `::ffff:0:0/96`, the form dual-stack sockets give IPv4 peers. */
export function isIpv4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}
