/**
 * Builds small pcap and pcapng files in memory for the capture-tool tests (no fixture files are
 * committed). Written from the pcap and pcapng drafts, independently of src/tools/pcap.ts, so that
 * a misreading in the reader is not mirrored here.
 */

import type { TcpFlow } from '../../src/tools/flows.js';
export interface Addr {
  ip: string;
  port: number;
}

export interface SegmentSpec {
  src: Addr;
  dst: Addr;
  seq: number;
  ack?: number;
  /** TCP flags byte; default ACK|PSH. */
  flags?: number;
  payload?: Uint8Array | string;
  /** TCP options bytes (a multiple of 4). */
  options?: Uint8Array;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

const enc = new TextEncoder();
export const bytesOf = (p: Uint8Array | string | undefined): Uint8Array => (p === undefined ? new Uint8Array(0) : typeof p === 'string' ? enc.encode(p) : p);

/** Address bytes for dotted IPv4 or IPv6 text (with `::`). */
export function ipBytes(text: string): Uint8Array {
  if (!text.includes(':')) return Uint8Array.from(text.split('.').map(Number));
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function tcpHeader(s: SegmentSpec): Uint8Array {
  const options = s.options ?? new Uint8Array(0);
  const payload = bytesOf(s.payload);
  const out = new Uint8Array(20 + options.length + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, s.src.port);
  v.setUint16(2, s.dst.port);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, (s.ack ?? 0) >>> 0);
  out[12] = ((20 + options.length) / 4) << 4;
  out[13] = s.flags ?? ACK | PSH;
  v.setUint16(14, 65535);
  out.set(options, 20);
  out.set(payload, 20 + options.length);
  return out;
}

/** An IPv4 packet carrying the segment (checksums left zero: readers must not insist on them). */
export function ipv4Packet(s: SegmentSpec, extra: { protocol?: number; fragment?: number; totalLength?: number } = {}): Uint8Array {
  const tcp = tcpHeader(s);
  const out = new Uint8Array(20 + tcp.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, extra.totalLength ?? out.length);
  v.setUint16(6, extra.fragment ?? 0x4000); // DF
  out[8] = 64;
  out[9] = extra.protocol ?? 6;
  out.set(ipBytes(s.src.ip), 12);
  out.set(ipBytes(s.dst.ip), 16);
  out.set(tcp, 20);
  return out;
}

/** An IPv6 packet carrying the segment, optionally behind extension headers (each 8 bytes). */
export function ipv6Packet(s: SegmentSpec, extensions: number[] = []): Uint8Array {
  const tcp = tcpHeader(s);
  const ext = new Uint8Array(extensions.length * 8);
  extensions.forEach((type, i) => {
    // header i says what follows it: the next extension or TCP
    ext[i * 8] = i + 1 < extensions.length ? extensions[i + 1]! : 6;
    ext[i * 8 + 1] = type === 44 ? 0 : 0; // fragment: reserved; others: length 0 = 8 bytes
  });
  const out = new Uint8Array(40 + ext.length + tcp.length);
  const v = new DataView(out.buffer);
  out[0] = 0x60;
  v.setUint16(4, ext.length + tcp.length);
  out[6] = extensions.length > 0 ? extensions[0]! : 6;
  out[7] = 64;
  out.set(ipBytes(s.src.ip), 8);
  out.set(ipBytes(s.dst.ip), 24);
  out.set(ext, 40);
  out.set(tcp, 40 + ext.length);
  return out;
}

export function ipPacket(s: SegmentSpec): Uint8Array {
  return s.src.ip.includes(':') ? ipv6Packet(s) : ipv4Packet(s);
}

export const LINK = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276 } as const;

/** Wraps an IP packet in the link layer of `linkType`. */
export function frame(linkType: number, ip: Uint8Array, opts: { vlan?: boolean; bigEndianFamily?: boolean; pad?: number } = {}): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  let head: Uint8Array;
  switch (linkType) {
    case LINK.ETHERNET: {
      head = new Uint8Array(opts.vlan ? 18 : 14);
      head.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
      const hv = new DataView(head.buffer);
      if (opts.vlan) {
        hv.setUint16(12, 0x8100);
        hv.setUint16(14, 42);
        hv.setUint16(16, etherType);
      } else hv.setUint16(12, etherType);
      break;
    }
    case LINK.NULL:
    case LINK.LOOP: {
      head = new Uint8Array(4);
      const family = v6 ? 30 : 2;
      new DataView(head.buffer).setUint32(0, family, linkType === LINK.LOOP || opts.bigEndianFamily === true ? false : true);
      break;
    }
    case LINK.SLL: {
      head = new Uint8Array(16);
      const hv = new DataView(head.buffer);
      hv.setUint16(2, 772); // ARPHRD_LOOPBACK
      hv.setUint16(4, 6);
      hv.setUint16(14, etherType);
      break;
    }
    case LINK.SLL2: {
      head = new Uint8Array(20);
      const hv = new DataView(head.buffer);
      hv.setUint16(0, etherType);
      hv.setUint32(4, 1); // interface index
      hv.setUint16(8, 772);
      break;
    }
    default:
      head = new Uint8Array(0);
  }
  const out = new Uint8Array(head.length + ip.length + (opts.pad ?? 0));
  out.set(head);
  out.set(ip, head.length);
  return out;
}

export interface Record {
  timeMs: number;
  data: Uint8Array;
  /** Length on the wire, when the record was cut (default data.length). */
  original?: number;
  /** pcapng: interface index (default 0). */
  iface?: number;
}

/** A pcap file: µs or ns timestamps, either byte order. */
export function pcapFile(records: Record[], opts: { linkType: number; bigEndian?: boolean; nanoseconds?: boolean; snaplen?: number; version?: number }): Uint8Array {
  const le = !opts.bigEndian;
  const total = 24 + records.reduce((s, r) => s + 16 + r.data.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, opts.version ?? 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, opts.snaplen ?? 262144, le);
  v.setUint32(20, opts.linkType, le);
  let o = 24;
  const unit = opts.nanoseconds ? 1e9 : 1e6;
  for (const r of records) {
    const units = BigInt(Math.round(r.timeMs * (unit / 1000)));
    v.setUint32(o, Number(units / BigInt(unit)), le);
    v.setUint32(o + 4, Number(units % BigInt(unit)), le);
    v.setUint32(o + 8, r.data.length, le);
    v.setUint32(o + 12, r.original ?? r.data.length, le);
    out.set(r.data, o + 16);
    o += 16 + r.data.length;
  }
  return out;
}

export interface NgInterface {
  linkType: number;
  /** if_tsresol byte (default: none, i.e. µs). */
  tsresol?: number;
  /** if_tsoffset, seconds. */
  tsoffset?: number;
  snaplen?: number;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function block(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const total = 12 + pad4(body.length);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, le);
  v.setUint32(4, total, le);
  out.set(body, 8);
  v.setUint32(total - 4, total, le);
  return out;
}

function option(code: number, value: Uint8Array, le: boolean): Uint8Array {
  const out = new Uint8Array(4 + pad4(value.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, code, le);
  v.setUint16(2, value.length, le);
  out.set(value, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Section header block (+ interface description blocks). */
export function pcapngSection(interfaces: NgInterface[], opts: { bigEndian?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, le);
  sv.setUint16(4, 1, le);
  sv.setUint16(6, 0, le);
  sv.setBigInt64(8, -1n, le);
  const parts = [block(0x0a0d0d0a, shb, le)];
  for (const i of interfaces) {
    const opts: Uint8Array[] = [];
    if (i.tsresol !== undefined) opts.push(option(9, Uint8Array.of(i.tsresol), le));
    if (i.tsoffset !== undefined) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt(i.tsoffset), le);
      opts.push(option(14, b, le));
    }
    if (opts.length > 0) opts.push(option(0, new Uint8Array(0), le));
    const head = new Uint8Array(8);
    const hv = new DataView(head.buffer);
    hv.setUint16(0, i.linkType, le);
    hv.setUint32(4, i.snaplen ?? 262144, le);
    parts.push(block(1, concat([head, ...opts]), le));
  }
  return concat(parts);
}

function unitsPerSecond(tsresol: number | undefined): bigint {
  if (tsresol === undefined) return 1_000_000n;
  return tsresol & 0x80 ? 2n ** BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
}

/** Enhanced packet blocks (or simple packet blocks, which carry no timestamp). */
export function pcapngPackets(records: Record[], interfaces: NgInterface[], opts: { bigEndian?: boolean; simple?: boolean; obsolete?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const parts: Uint8Array[] = [];
  for (const r of records) {
    const iface = interfaces[r.iface ?? 0]!;
    const data = new Uint8Array(pad4(r.data.length));
    data.set(r.data);
    if (opts.simple) {
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, r.original ?? r.data.length, le);
      parts.push(block(3, concat([head, data]), le));
      continue;
    }
    const perSecond = unitsPerSecond(iface.tsresol);
    // timeMs given with at most µs precision: (timeMs * 1000) µs, exact as an integer
    const micros = BigInt(Math.round(r.timeMs * 1000)) - BigInt(iface.tsoffset ?? 0) * 1_000_000n;
    const ts = (micros * perSecond) / 1_000_000n;
    const head = new Uint8Array(20);
    const hv = new DataView(head.buffer);
    if (opts.obsolete) {
      hv.setUint16(0, r.iface ?? 0, le);
    } else hv.setUint32(0, r.iface ?? 0, le);
    hv.setUint32(4, Number(ts >> 32n), le);
    hv.setUint32(8, Number(ts & 0xffffffffn), le);
    hv.setUint32(12, r.data.length, le);
    hv.setUint32(16, r.original ?? r.data.length, le);
    parts.push(block(opts.obsolete ? 2 : 6, concat([head, data]), le));
  }
  return concat(parts);
}

/** A whole pcapng file: one section, its interfaces, then the packets. */
export function pcapngFile(records: Record[], interfaces: NgInterface[], opts: { bigEndian?: boolean; simple?: boolean; obsolete?: boolean } = {}): Uint8Array {
  return concat([pcapngSection(interfaces, opts), pcapngPackets(records, interfaces, opts)]);
}

/** Any other block (for example a name resolution block, type 4), to be skipped by readers. */
export function pcapngBlock(type: number, body: Uint8Array, bigEndian = false): Uint8Array {
  return block(type, body, !bigEndian);
}

export { concat as concatFiles };

/** A pcap (raw IP) of the flows: handshake, data segments in time order, FIN from the client. */
export function flowsToPcap(flows: TcpFlow[]): Uint8Array {
  const records: Record[] = [];
  for (const flow of flows) {
    const c = flow.client;
    const s = flow.server;
    let cSeq = 1000;
    let sSeq = 5000;
    records.push({ timeMs: flow.startMs, data: ipPacket({ src: c, dst: s, seq: cSeq++, flags: SYN }) });
    records.push({ timeMs: flow.startMs, data: ipPacket({ src: s, dst: c, seq: sSeq++, ack: cSeq, flags: SYN | ACK }) });
    const data = [...flow.c2s.map((p) => ({ ...p, up: true })), ...flow.s2c.map((p) => ({ ...p, up: false }))].sort((a, b) => a.timeMs - b.timeMs);
    for (const p of data) {
      const [src, dst] = p.up ? [c, s] : [s, c];
      records.push({ timeMs: p.timeMs, data: ipPacket({ src, dst, seq: p.up ? cSeq : sSeq, payload: p.payload }) });
      if (p.up) cSeq += p.payload.length;
      else sSeq += p.payload.length;
    }
    records.push({ timeMs: flow.endMs, data: ipPacket({ src: c, dst: s, seq: cSeq, flags: FIN | ACK }) });
  }
  return pcapFile(records, { linkType: LINK.RAW });
}
