/**
 * Capture reader for `dust model build`, `check` and `audit` (issue 6; contract in the capture
 * tools API): pcap and pcapng files in, TCP segments out. Written here rather than taken from npm
 * because no registry package fits: `pcap` binds libpcap (native build, live capture), and
 * `pcap-parser` (pcap only) and `pcap-ng-parser` (pcapng only) are stream-based single releases
 * that leave link-layer and IP decoding to the caller. The formats are small:
 *
 * - pcap (the pcap file format draft, draft-ietf-opsawg-pcap): a 24-byte file header whose magic
 *   gives the byte order and the timestamp unit (0xA1B2C3D4 µs, 0xA1B23C4D ns), then records of a
 *   16-byte header (seconds, fraction, captured length, original length) and the frame.
 * - pcapng (draft-ietf-opsawg-pcapng): blocks of type, total length, body, total length. The
 *   Section Header Block (SHB) sets the byte order; Interface Description Blocks (IDB) give each
 *   interface's link type and timestamp resolution (`if_tsresol`, `if_tsoffset`); packets come in
 *   Enhanced (EPB), Simple (SPB) or obsolete Packet Blocks (PB). Other blocks are skipped.
 *
 * Link types: Ethernet (1, with 802.1Q/802.1ad tags), raw IP (101, and 12/14 from old files),
 * IPv4 (228), IPv6 (229), Linux cooked SLL (113) and SLL2 (276), BSD loopback NULL (0, host byte
 * order) and LOOP (108, network order). IPv4 and IPv6 (with extension headers) carrying TCP are
 * decoded; everything else (ARP, UDP, ICMP, IP fragments, malformed headers) is skipped.
 *
 * A broken file is operator input, so it never crashes or hangs the reader: it throws a
 * `CaptureError` naming the file, the byte offset and what is wrong. A TCP segment whose payload
 * was cut by the capture's snap length is an error too: its length and bytes would silently skew
 * a model.
 * @module
 */
import { formatIpAddress, parseIpv4, parseIpv6 } from '../core/ip-address.js';

/** One end of a TCP connection. `ip` is text: IPv4 dotted quad, IPv6 in RFC 5952 form. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** One TCP segment as captured. */
export interface CapturedSegment {
  /** Capture timestamp in ms since the Unix epoch (fractional). */
  timeMs: number;
  src: Endpoint;
  dst: Endpoint;
  /** TCP sequence number (uint32). */
  seq: number;
  /** TCP flags byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10. */
  flags: number;
  /** The TCP payload, a view into the capture's bytes (may be empty). */
  payload: Uint8Array;
}

/** TCP flag bits (the flags byte of the TCP header, RFC 9293 §3.1). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Stable code of every capture problem. */
export const DUST_ERR_BAD_CAPTURE = 'DUST_ERR_BAD_CAPTURE';

/** A capture file that cannot be read: `<source>: offset <n>: <what is wrong>`. */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  readonly code = DUST_ERR_BAD_CAPTURE;
  constructor(
    readonly source: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${source}: offset ${offset}: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Constants

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Kuznetzov's "modified pcap" (24-byte record headers): rare, not read. */
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_PB = 0x00000002;
const PCAPNG_SPB = 0x00000003;
const PCAPNG_EPB = 0x00000006;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Block type, total length, trailing total length. */
const PCAPNG_BLOCK_OVERHEAD = 12;
const PCAPNG_OPT_ENDOFOPT = 0;
const PCAPNG_OPT_IF_TSRESOL = 9;
const PCAPNG_OPT_IF_TSOFFSET = 14;

/**
 * No sane frame is this big (loopback GSO frames stay below 256 KiB); a larger captured length
 * means a corrupt file, and refusing it early keeps a bad header from asking for gigabytes.
 */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_RAW_OLD_A = 12;
const LINKTYPE_RAW_OLD_B = 14;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;
const SUPPORTED_LINKTYPES = new Set([
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_RAW_OLD_A,
  LINKTYPE_RAW_OLD_B,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
]);
/** Names of common link types this reader does not decode, for a friendlier error. */
const LINKTYPE_NAMES: Record<number, string> = {
  105: 'IEEE 802.11',
  127: 'IEEE 802.11 radiotap',
  189: 'USB Linux',
  220: 'USB Linux mmapped',
  249: 'netlink',
};

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = [0x8100, 0x88a8, 0x9100];
/** BSD loopback address families: AF_INET everywhere, AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin. */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

const IPPROTO_TCP = 6;
const IPV6_EXTENSION_HEADERS = new Set([0, 43, 60, 135, 139, 140]);
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;

/** How often (in input bytes) progress is reported. */
const PROGRESS_STEP = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads every TCP segment of a pcap or pcapng capture, in file order.
 * @param bytes - the whole file
 * @param sourceName - the file's name, used in error messages
 * @param onProgress - called with the fraction of the file read so far (about every MiB, and 1 at the end)
 * @returns the segments; payloads are views into `bytes`
 * @throws CaptureError when the file is truncated, corrupt or of an unsupported kind
 * @example
 * const segments = readCapture(readFileSync('http.pcap'), 'http.pcap');
 */
export function readCapture(bytes: Uint8Array, sourceName: string, onProgress?: (fraction: number) => void): CapturedSegment[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (typeof sourceName !== 'string') throw new TypeError(`sourceName must be a string, got ${typeof sourceName}`);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const reader = new Reader(bytes, sourceName, onProgress);
  if (bytes.length < 4) {
    reader.fail(0, bytes.length === 0 ? 'the file is empty' : `the file is ${bytes.length} bytes, too short for a pcap or pcapng header`);
  }
  const be = reader.view.getUint32(0, false);
  if (be === PCAPNG_SHB) reader.readPcapng();
  else if ([PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(be) || [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(reader.view.getUint32(0, true))) {
    reader.readPcap();
  } else reader.fail(0, unknownMagic(bytes));
  onProgress?.(1);
  return reader.segments;
}

function unknownMagic(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return `the file is gzip-compressed (starts with ${head}); decompress it first`;
  const magic = new DataView(bytes.buffer, bytes.byteOffset, 4);
  if (magic.getUint32(0, false) === PCAP_MAGIC_MODIFIED || magic.getUint32(0, true) === PCAP_MAGIC_MODIFIED) {
    return `unsupported "modified pcap" format (magic ${head}); convert it with editcap -F pcap`;
  }
  return `not a pcap or pcapng file (starts with ${head})`;
}

/** The link type and timestamp unit of one pcap file or one pcapng interface. */
interface Interface {
  linkType: number;
  /** Timestamp units per millisecond (1000 for µs, 1e6 for ns). */
  unitsPerMs: number;
  /** Added to every timestamp (pcapng `if_tsoffset`), in ms. */
  offsetMs: number;
}

/** Where the current frame sits in the file, for error messages. */
interface FrameInfo {
  /** Offset of the record or block. */
  at: number;
  /** Bytes in the file for this frame and its length on the wire. */
  captured: number;
  original: number;
}

class Reader {
  readonly view: DataView;
  readonly segments: CapturedSegment[] = [];
  private nextProgress = PROGRESS_STEP;
  private readonly endpoints = new Map<string, Map<number, Endpoint>>();
  private readonly ipv4Text = new Map<number, string>();

  constructor(
    readonly bytes: Uint8Array,
    readonly source: string,
    private readonly onProgress: ((fraction: number) => void) | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(offset: number, reason: string): never {
    throw new CaptureError(this.source, offset, reason);
  }

  private progress(offset: number): void {
    if (this.onProgress !== undefined && offset >= this.nextProgress) {
      this.nextProgress = offset + PROGRESS_STEP;
      this.onProgress(offset / this.bytes.length);
    }
  }

  // -- pcap ------------------------------------------------------------------------------------

  readPcap(): void {
    const { bytes, view } = this;
    if (bytes.length < PCAP_FILE_HEADER) {
      this.fail(0, `the pcap file header is truncated: ${bytes.length} of ${PCAP_FILE_HEADER} bytes`);
    }
    const le = view.getUint32(0, true) === PCAP_MAGIC_US || view.getUint32(0, true) === PCAP_MAGIC_NS;
    const ns = view.getUint32(0, le) === PCAP_MAGIC_NS;
    const major = view.getUint16(4, le);
    const minor = view.getUint16(6, le);
    if (major !== 2) this.fail(4, `unsupported pcap version ${major}.${minor} (only 2.x is defined)`);
    // The top bits of the link-type field carry FCS information (pcap draft §4); the type is the low 16.
    const linkType = view.getUint32(20, le) & 0xffff;
    this.checkLinkType(linkType, 20, 'the file');
    const iface: Interface = { linkType, unitsPerMs: ns ? 1e6 : 1e3, offsetMs: 0 };

    let at = PCAP_FILE_HEADER;
    while (at < bytes.length) {
      this.progress(at);
      if (bytes.length - at < PCAP_RECORD_HEADER) {
        this.fail(at, `the packet record header is truncated: ${bytes.length - at} of ${PCAP_RECORD_HEADER} bytes (the capture was cut off)`);
      }
      const seconds = view.getUint32(at, le);
      const fraction = view.getUint32(at + 4, le);
      const captured = view.getUint32(at + 8, le);
      const original = view.getUint32(at + 12, le);
      if (captured > MAX_FRAME_BYTES) this.fail(at + 8, `implausible captured length ${captured} (the file is corrupt)`);
      const start = at + PCAP_RECORD_HEADER;
      if (bytes.length - start < captured) {
        this.fail(at, `the packet record is truncated: its header says ${captured} bytes, ${bytes.length - start} remain (the capture was cut off)`);
      }
      const timeMs = seconds * 1000 + fraction / iface.unitsPerMs;
      this.decodeFrame(iface, start, start + captured, timeMs, { at, captured, original });
      at = start + captured;
    }
  }

  // -- pcapng ----------------------------------------------------------------------------------

  readPcapng(): void {
    const { bytes, view } = this;
    let le = true;
    let interfaces: Interface[] = [];
    let lastTimeMs = 0;
    let at = 0;
    while (at < bytes.length) {
      this.progress(at);
      const remaining = bytes.length - at;
      if (remaining < 8) this.fail(at, `the block header is truncated: ${remaining} of 8 bytes (the capture was cut off)`);
      const type = view.getUint32(at, le);
      if (type === PCAPNG_SHB) {
        // A new section may switch byte order: read it from the byte-order magic first.
        if (remaining < 12) this.fail(at, `the section header block is truncated: ${remaining} of 28 bytes`);
        const bom = view.getUint32(at + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
        else if (view.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
        else this.fail(at + 8, `bad byte-order magic 0x${bom.toString(16).padStart(8, '0')} in the section header block`);
        interfaces = [];
      }
      const total = view.getUint32(at + 4, le);
      if (total < PCAPNG_BLOCK_OVERHEAD || total % 4 !== 0) {
        this.fail(at + 4, `bad block length ${total} (must be a multiple of 4, at least ${PCAPNG_BLOCK_OVERHEAD})`);
      }
      if (total > remaining) {
        this.fail(at, `the block is truncated: its header says ${total} bytes, ${remaining} remain (the capture was cut off)`);
      }
      const trailer = view.getUint32(at + total - 4, le);
      if (trailer !== total) this.fail(at + total - 4, `the block's trailing length ${trailer} differs from its leading length ${total}`);
      const body = at + 8;
      const bodyEnd = at + total - 4;

      switch (type) {
        case PCAPNG_SHB: {
          if (total < 28) this.fail(at + 4, `the section header block is ${total} bytes, at least 28 are needed`);
          const major = view.getUint16(body + 4, le);
          const minor = view.getUint16(body + 6, le);
          if (major !== 1) this.fail(body + 4, `unsupported pcapng version ${major}.${minor} (only 1.x is defined)`);
          break;
        }
        case PCAPNG_IDB: {
          if (total < 20) this.fail(at + 4, `the interface description block is ${total} bytes, at least 20 are needed`);
          interfaces.push(this.readInterface(body, bodyEnd, le));
          break;
        }
        case PCAPNG_EPB:
        case PCAPNG_PB: {
          if (total < 32) this.fail(at + 4, `the packet block is ${total} bytes, at least 32 are needed`);
          const id = type === PCAPNG_EPB ? view.getUint32(body, le) : view.getUint16(body, le);
          const iface = this.interfaceFor(interfaces, id, at);
          const high = view.getUint32(body + 4, le);
          const low = view.getUint32(body + 8, le);
          const captured = view.getUint32(body + 12, le);
          const original = view.getUint32(body + 16, le);
          const data = body + 20;
          if (captured > bodyEnd - data) {
            this.fail(body + 12, `the packet's captured length ${captured} exceeds its block (${bodyEnd - data} bytes of data)`);
          }
          // Timestamps are 64-bit counts of the interface's unit. A double holds them to within
          // a fraction of a microsecond, which is all the precision the models use.
          lastTimeMs = (high * 4294967296 + low) / iface.unitsPerMs + iface.offsetMs;
          this.decodeFrame(iface, data, data + captured, lastTimeMs, { at, captured, original });
          break;
        }
        case PCAPNG_SPB: {
          if (total < 16) this.fail(at + 4, `the simple packet block is ${total} bytes, at least 16 are needed`);
          const iface = this.interfaceFor(interfaces, 0, at);
          const original = view.getUint32(body, le);
          const data = body + 4;
          const captured = Math.min(original, bodyEnd - data);
          // An SPB has no timestamp (pcapng draft §4.4): it gets the previous packet's time.
          this.decodeFrame(iface, data, data + captured, lastTimeMs, { at, captured, original });
          break;
        }
        default:
          // Name resolution, statistics, decryption secrets, custom blocks: nothing for us.
          break;
      }
      at += total;
    }
  }

  private readInterface(body: number, bodyEnd: number, le: boolean): Interface {
    const { view } = this;
    const linkType = view.getUint16(body, le);
    let unitsPerMs = 1e3;
    let offsetMs = 0;
    let o = body + 8;
    while (o + 4 <= bodyEnd) {
      const code = view.getUint16(o, le);
      const length = view.getUint16(o + 2, le);
      const value = o + 4;
      if (code === PCAPNG_OPT_ENDOFOPT) break;
      if (value + length > bodyEnd) this.fail(o + 2, `interface option ${code} has length ${length}, past the end of its block`);
      if (code === PCAPNG_OPT_IF_TSRESOL) {
        if (length !== 1) this.fail(o + 2, `if_tsresol must be 1 byte, got ${length}`);
        const r = view.getUint8(value);
        // High bit clear: 10^-r seconds; set: 2^-(r & 0x7f) seconds (pcapng draft §4.2).
        const perSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        if (!(perSecond >= 1 && Number.isFinite(perSecond))) this.fail(value, `unsupported timestamp resolution byte 0x${r.toString(16)}`);
        unitsPerMs = perSecond / 1000;
      } else if (code === PCAPNG_OPT_IF_TSOFFSET) {
        if (length !== 8) this.fail(o + 2, `if_tsoffset must be 8 bytes, got ${length}`);
        offsetMs = Number(view.getBigInt64(value, le)) * 1000;
      }
      o = value + ((length + 3) & ~3);
    }
    return { linkType, unitsPerMs, offsetMs };
  }

  private interfaceFor(interfaces: Interface[], id: number, at: number): Interface {
    const iface = interfaces[id];
    if (iface === undefined) {
      this.fail(at, interfaces.length === 0
        ? 'a packet block comes before any interface description block'
        : `the packet names interface ${id}, but the section describes only ${interfaces.length}`);
    }
    this.checkLinkType(iface.linkType, at, `interface ${id}`);
    return iface;
  }

  private checkLinkType(linkType: number, at: number, what: string): void {
    if (!SUPPORTED_LINKTYPES.has(linkType)) {
      const name = LINKTYPE_NAMES[linkType];
      this.fail(at, `unsupported link type ${linkType}${name ? ` (${name})` : ''} on ${what}; readable: Ethernet, raw IPv4/IPv6, Linux SLL/SLL2, BSD loopback`);
    }
  }

  // -- link layer ------------------------------------------------------------------------------

  private decodeFrame(iface: Interface, start: number, end: number, timeMs: number, frame: FrameInfo): void {
    const { bytes, view } = this;
    let ip = start;
    let version: 4 | 6 | 0 = 0;
    switch (iface.linkType) {
      case LINKTYPE_ETHERNET: {
        let type = 12;
        if (end - start < 14) return;
        let etherType = view.getUint16(start + type, false);
        while (ETHERTYPE_VLAN.includes(etherType) && start + type + 6 <= end) {
          type += 4;
          etherType = view.getUint16(start + type, false);
        }
        ip = start + type + 2;
        version = etherType === ETHERTYPE_IPV4 ? 4 : etherType === ETHERTYPE_IPV6 ? 6 : 0;
        break;
      }
      case LINKTYPE_NULL:
      case LINKTYPE_LOOP: {
        if (end - start < 4) return;
        // NULL stores the family in the capturing host's byte order, LOOP in network order;
        // families are small numbers, so whichever reading is small is the right one.
        let family = view.getUint32(start, true);
        if (family > 0xffff) family = view.getUint32(start, false);
        ip = start + 4;
        version = family === AF_INET ? 4 : AF_INET6.has(family) ? 6 : 0;
        break;
      }
      case LINKTYPE_LINUX_SLL:
      case LINKTYPE_LINUX_SLL2: {
        const sll2 = iface.linkType === LINKTYPE_LINUX_SLL2;
        const header = sll2 ? 20 : 16;
        if (end - start < header) return;
        const protocol = view.getUint16(start + (sll2 ? 0 : 14), false);
        ip = start + header;
        version = protocol === ETHERTYPE_IPV4 ? 4 : protocol === ETHERTYPE_IPV6 ? 6 : 0;
        break;
      }
      case LINKTYPE_IPV4:
        version = 4;
        break;
      case LINKTYPE_IPV6:
        version = 6;
        break;
      default: // raw IP: the version nibble says which
        if (end - start < 1) return;
        version = bytes[start]! >> 4 === 4 ? 4 : bytes[start]! >> 4 === 6 ? 6 : 0;
        break;
    }
    if (version === 4) this.decodeIpv4(ip, end, timeMs, frame);
    else if (version === 6) this.decodeIpv6(ip, end, timeMs, frame);
  }

  // -- IP --------------------------------------------------------------------------------------

  private decodeIpv4(ip: number, end: number, timeMs: number, frame: FrameInfo): void {
    const { bytes, view } = this;
    if (end - ip < 20 || bytes[ip]! >> 4 !== 4) return;
    const headerLength = (bytes[ip]! & 0x0f) * 4;
    if (headerLength < 20 || headerLength > end - ip) return;
    if (bytes[ip + 9] !== IPPROTO_TCP) return;
    // Fragments: only the first carries the TCP header, and TCP avoids fragmentation anyway.
    if ((view.getUint16(ip + 6, false) & 0x3fff) !== 0) return;
    const totalLength = view.getUint16(ip + 2, false);
    // Segmentation offload: the capture shows the whole super-segment with a zero length field.
    const packetEnd = totalLength === 0 ? this.wholeFrame(end, frame) : this.ipEnd(ip, totalLength, end, frame);
    if (totalLength !== 0 && totalLength < headerLength) return;
    if (packetEnd < 0) return;
    const src = this.ipv4(ip + 12);
    const dst = this.ipv4(ip + 16);
    this.decodeTcp(ip + headerLength, packetEnd, src, dst, timeMs, frame);
  }

  private decodeIpv6(ip: number, end: number, timeMs: number, frame: FrameInfo): void {
    const { bytes, view } = this;
    if (end - ip < 40 || bytes[ip]! >> 4 !== 6) return;
    const payloadLength = view.getUint16(ip + 4, false);
    // Zero: a jumbogram or an offloaded super-segment; the captured frame is the packet.
    const packetEnd = payloadLength === 0 ? this.wholeFrame(end, frame) : this.ipEnd(ip, 40 + payloadLength, end, frame);
    if (packetEnd < 0) return;
    let next = bytes[ip + 6]!;
    let o = ip + 40;
    // Walk the extension headers (RFC 8200 §4) up to TCP; a handful at most in real traffic.
    for (let hops = 0; next !== IPPROTO_TCP; hops++) {
      if (hops > 16 || o + 8 > packetEnd) return;
      if (IPV6_EXTENSION_HEADERS.has(next)) {
        next = bytes[o]!;
        o += (bytes[o + 1]! + 1) * 8;
      } else if (next === IPV6_FRAGMENT) {
        // Offset 0 and no more fragments is an "atomic fragment" (RFC 6946): the whole packet.
        if ((view.getUint16(o + 2, false) & 0xfff9) !== 0) return;
        next = bytes[o]!;
        o += 8;
      } else if (next === IPV6_AH) {
        next = bytes[o]!;
        o += (bytes[o + 1]! + 2) * 4;
      } else return; // ESP, UDP, ICMPv6, no next header, ...
    }
    if (o > packetEnd) return;
    const src = this.ipv6(ip + 8);
    const dst = this.ipv6(ip + 24);
    this.decodeTcp(o, packetEnd, src, dst, timeMs, frame);
  }

  /**
   * Where the IP packet ends: its stated length, which may be shorter than the frame (Ethernet
   * pads short frames). Longer than the frame: cut by the snap length (an error, the TCP bytes
   * are gone), or malformed (-1: skipped, the frame was captured whole).
   */
  private ipEnd(ip: number, length: number, end: number, frame: FrameInfo): number {
    if (length <= end - ip) return ip + length;
    if (frame.captured < frame.original) this.snapped(frame);
    return -1;
  }

  /** A packet without a length field ends with the frame, which must then be whole. */
  private wholeFrame(end: number, frame: FrameInfo): number {
    if (frame.captured < frame.original) this.snapped(frame);
    return end;
  }

  private snapped(frame: FrameInfo): never {
    this.fail(frame.at, `the TCP packet was cut to ${frame.captured} of ${frame.original} bytes by the capture's snap length, so its payload is incomplete; capture whole packets (tcpdump -s 0)`);
  }

  // -- TCP -------------------------------------------------------------------------------------

  private decodeTcp(tcp: number, end: number, src: string, dst: string, timeMs: number, frame: FrameInfo): void {
    const { bytes, view } = this;
    if (end - tcp < 20) return;
    const dataOffset = (bytes[tcp + 12]! >> 4) * 4;
    if (dataOffset < 20 || dataOffset > end - tcp) return;
    this.segments.push({
      timeMs,
      src: this.endpoint(src, view.getUint16(tcp, false)),
      dst: this.endpoint(dst, view.getUint16(tcp + 2, false)),
      seq: view.getUint32(tcp + 4, false),
      flags: bytes[tcp + 13]!,
      payload: bytes.subarray(tcp + dataOffset, end),
    });
  }

  /** Shares one frozen Endpoint per address and port: captures repeat them millions of times. */
  private endpoint(ip: string, port: number): Endpoint {
    let byPort = this.endpoints.get(ip);
    if (byPort === undefined) this.endpoints.set(ip, (byPort = new Map()));
    let e = byPort.get(port);
    if (e === undefined) byPort.set(port, (e = Object.freeze({ ip, port })));
    return e;
  }

  private ipv4(o: number): string {
    const key = this.view.getUint32(o, false);
    let text = this.ipv4Text.get(key);
    if (text === undefined) {
      text = formatIpAddress(this.bytes.subarray(o, o + 4));
      this.ipv4Text.set(key, text);
    }
    return text;
  }

  private ipv6(o: number): string {
    return formatIpAddress(this.bytes.subarray(o, o + 16));
  }
}

// ---------------------------------------------------------------------------------------------
// Address text

/**
 * Parses an IP address typed by a person (IPv4 dotted quad, IPv6 in any valid form, optionally in
 * brackets) and returns it in the form the reader prints, so that it can be compared with
 * `Endpoint.ip`; null when `text` is not an IP address.
 */
export function canonicalIp(text: string): string | null {
  if (typeof text !== 'string') return null;
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const bytes = (inner === text ? parseIpv4(text) : undefined) ?? parseIpv6(inner);
  return bytes === undefined ? null : formatIpAddress(bytes);
}
