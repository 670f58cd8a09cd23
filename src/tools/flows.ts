/**
 * TCP flow reassembly for the capture tools (issue 6; contract in the capture tools API): groups
 * captured segments into connections by 4-tuple and puts each direction's payload back in stream
 * order by sequence number (RFC 9293 §3.4), with retransmissions and overlaps removed, so that a
 * model is built from what each side sent once, not from what the network repeated.
 *
 * - **Connections.** A SYN without ACK starts a new connection on its 4-tuple, unless it is a
 *   retransmission of the current connection's SYN (same sender, same sequence number) or the
 *   other half of a simultaneous open, or arrives after the SYN-ACK that answers it, before any
 *   data; so a reused port pair after a close is a new flow, and so is a SYN after data. The
 *   client is the SYN's sender; without a SYN, the receiver of a SYN-ACK; without either (the
 *   capture began mid-connection), the first sender.
 * - **Sequence space.** Sequence numbers are unwrapped to stream offsets by taking, for each
 *   segment, the offset nearest the highest one seen so far (modulo 2^32), so flows longer than
 *   4 GiB and wrapping ISNs work. The stream starts after the SYN (which takes one number; data on
 *   a SYN, as with TCP Fast Open, starts at ISN + 1), or at the lowest offset seen without a SYN.
 * - **Reassembly.** Segments are ordered by offset (capture order among equal offsets). A segment
 *   that brings no new byte (a retransmission, a keep-alive probe) is dropped; one that overlaps
 *   what came before keeps only its new bytes. Bytes missing from the capture leave a gap that is
 *   skipped: the next segment is still delivered, and the flow's `missingBytes` counts it. RST
 *   payloads (diagnostic text) are ignored.
 *
 * Each delivered packet keeps the capture time of the segment that carried it.
 * @module
 */
import { canonicalIp, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type CapturedSegment, type Endpoint } from './pcap.js';

/** One TCP segment's new payload bytes, in stream order. */
export interface FlowPacket {
  /** Capture time of the segment, ms since the Unix epoch. */
  timeMs: number;
  /** The bytes this segment added to the stream (a view into the capture). */
  payload: Uint8Array;
}

/** One TCP connection, reassembled. */
export interface TcpFlow {
  /** The side that sent the SYN (or, without a SYN, the first sender). */
  client: Endpoint;
  server: Endpoint;
  /** Capture times of the first and last segment seen (any direction, any flags). */
  startMs: number;
  endMs: number;
  /** Client-to-server and server-to-client payloads, reassembled by sequence number. */
  c2s: FlowPacket[];
  s2c: FlowPacket[];
  /**
   * Bytes of sequence space inside the streams that no captured segment holds (both directions;
   * the capture dropped packets). Set by `reassembleFlows`; optional so that tests may build flows.
   */
  missingBytes?: number;
}

/** Keeps flows one of whose ends matches (both criteria when both are given). */
export interface FlowFilter {
  /** TCP port, 0..65535. */
  port?: number;
  /** IP address (IPv4 or IPv6 in any valid spelling). */
  host?: string;
}

const TWO_32 = 4294967296;
const TWO_31 = 2147483648;

/**
 * Groups segments into TCP flows and reassembles both directions.
 * @param segments - from `readCapture`, in capture order
 * @param filter - optional port and/or host; flows where neither end matches are left out
 * @returns flows ordered by their first segment's time
 * @throws TypeError / RangeError for a bad filter
 * @example
 * const flows = reassembleFlows(readCapture(bytes, 'x.pcap'), { port: 80 });
 */
export function reassembleFlows(segments: CapturedSegment[], filter: FlowFilter = {}): TcpFlow[] {
  if (!Array.isArray(segments)) throw new TypeError('segments must be an array');
  if (typeof filter !== 'object' || filter === null) throw new TypeError('filter must be an object');
  const { port } = filter;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`filter.port must be an integer in 0..65535, got ${String(port)}`);
  }
  let host: string | undefined;
  if (filter.host !== undefined) {
    const canonical = canonicalIp(filter.host);
    if (canonical === null) throw new RangeError(`filter.host must be an IP address, got ${JSON.stringify(filter.host)}`);
    host = canonical;
  }

  const current = new Map<string, Connection>();
  const all: Connection[] = [];
  for (const seg of segments) {
    if (port !== undefined && seg.src.port !== port && seg.dst.port !== port) continue;
    if (host !== undefined && seg.src.ip !== host && seg.dst.ip !== host) continue;
    const key = tupleKey(seg.src, seg.dst);
    let conn = current.get(key);
    const syn = (seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (conn !== undefined && syn && !conn.continuesWith(seg)) conn = undefined;
    if (conn === undefined) {
      conn = new Connection(seg.src, seg.dst);
      current.set(key, conn);
      all.push(conn);
    }
    conn.add(seg);
  }
  // Stable sort: connections that start together keep their order of appearance.
  return all.map((c) => c.finish()).sort((a, b) => a.startMs - b.startMs);
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.ip === b.ip;
}

/** Endpoint text, cached per object: the reader shares one object per address and port. */
const endpointKeys = new WeakMap<Endpoint, string>();
function endpointKey(e: Endpoint): string {
  let key = endpointKeys.get(e);
  if (key === undefined) endpointKeys.set(e, (key = `${e.ip}|${e.port}`));
  return key;
}

/** The same key for both directions of a connection. */
function tupleKey(a: Endpoint, b: Endpoint): string {
  const ka = endpointKey(a);
  const kb = endpointKey(b);
  return ka < kb ? `${ka}|${kb}` : `${kb}|${ka}`;
}

/** A segment placed in its direction's stream. */
interface Placed {
  offset: number;
  timeMs: number;
  payload: Uint8Array;
}

/** One direction of a connection: sequence numbers unwrapped into stream offsets. */
class HalfStream {
  /** The sequence number of offset 0 (the first segment seen in this direction). */
  private ref = -1;
  /** Highest offset reached so far (the end of the furthest segment). */
  private high = 0;
  /** Offset of the first data byte when a SYN was seen. */
  private start: number | undefined;
  readonly placed: Placed[] = [];
  isn: number | undefined;

  /** The offset of `seq`: the representation modulo 2^32 nearest the highest offset so far. */
  private offsetOf(seq: number): number {
    if (this.ref < 0) this.ref = seq;
    const expected = (this.ref + this.high) % TWO_32;
    let d = (seq - expected + TWO_32) % TWO_32;
    if (d >= TWO_31) d -= TWO_32;
    return this.high + d;
  }

  add(seg: CapturedSegment): void {
    // A reset's sequence number may be anything (a middlebox's RST often says 0), and its
    // payload is diagnostic text: it must not move the stream.
    if (seg.flags & TCP_RST) return;
    let offset = this.offsetOf(seg.seq);
    if (seg.flags & TCP_SYN) {
      if (this.isn === undefined) {
        this.isn = seg.seq;
        this.start = offset + 1;
      }
      offset += 1; // the SYN takes one sequence number; data on a SYN follows it
      this.high = Math.max(this.high, offset);
    }
    if (seg.payload.length === 0) return;
    this.high = Math.max(this.high, offset + seg.payload.length);
    this.placed.push({ offset, timeMs: seg.timeMs, payload: seg.payload });
  }

  /** Bytes skipped over by `reassemble` (holes in the capture). */
  missing = 0;

  /** The payload in stream order, each byte once. */
  reassemble(): FlowPacket[] {
    const segs = this.placed;
    if (segs.length === 0) return [];
    // Array.prototype.sort is stable: equal offsets stay in capture order.
    segs.sort((a, b) => a.offset - b.offset);
    let next = this.start ?? segs[0]!.offset;
    const out: FlowPacket[] = [];
    for (const s of segs) {
      const end = s.offset + s.payload.length;
      if (end <= next) continue; // nothing new: a retransmission or a probe
      // s.offset > next is a gap (bytes the capture missed); deliver what we have.
      if (s.offset > next) this.missing += s.offset - next;
      const skip = Math.max(0, next - s.offset);
      out.push({ timeMs: s.timeMs, payload: skip === 0 ? s.payload : s.payload.subarray(skip) });
      next = end;
    }
    return out;
  }
}

/** A connection being collected. */
class Connection {
  private client: Endpoint;
  private server: Endpoint;
  /** How sure we are of the client: 2 = sent a SYN, 1 = received a SYN-ACK, 0 = first sender. */
  private clientEvidence = 0;
  /** Streams keyed by sender: `first` is the first segment's sender. */
  private readonly first: Endpoint;
  private readonly fromFirst = new HalfStream();
  private readonly fromSecond = new HalfStream();
  private startMs = Infinity;
  private endMs = -Infinity;
  private hasData = false;
  private finFromFirst = false;
  private finFromSecond = false;
  private reset = false;

  constructor(src: Endpoint, dst: Endpoint) {
    this.first = src;
    this.client = src;
    this.server = dst;
  }

  /** Whether a SYN (without ACK) belongs to this connection rather than starting a new one. */
  continuesWith(seg: CapturedSegment): boolean {
    if (this.reset || (this.finFromFirst && this.finFromSecond) || this.hasData) return false;
    const half = this.halfOf(seg.src);
    if (half.isn === undefined) {
      // The other side's SYN in a simultaneous open, or a SYN captured after its SYN-ACK (two
      // interfaces, reordered timestamps). After SYN-less segments only, it is a new connection.
      return this.clientEvidence >= 1;
    }
    return half.isn === seg.seq; // a retransmitted SYN
  }

  private halfOf(src: Endpoint): HalfStream {
    return sameEndpoint(src, this.first) ? this.fromFirst : this.fromSecond;
  }

  add(seg: CapturedSegment): void {
    this.startMs = Math.min(this.startMs, seg.timeMs);
    this.endMs = Math.max(this.endMs, seg.timeMs);
    const fromFirst = sameEndpoint(seg.src, this.first);
    const synAck = seg.flags & (TCP_SYN | TCP_ACK);
    if (synAck === TCP_SYN && this.clientEvidence < 2) this.setClient(seg.src, seg.dst, 2);
    else if (synAck === (TCP_SYN | TCP_ACK) && this.clientEvidence < 1) this.setClient(seg.dst, seg.src, 1);
    if (seg.flags & TCP_RST) this.reset = true;
    if (seg.flags & TCP_FIN) {
      if (fromFirst) this.finFromFirst = true;
      else this.finFromSecond = true;
    }
    if (seg.payload.length > 0 && !(seg.flags & TCP_RST)) this.hasData = true;
    (fromFirst ? this.fromFirst : this.fromSecond).add(seg);
  }

  private setClient(client: Endpoint, server: Endpoint, evidence: number): void {
    this.client = client;
    this.server = server;
    this.clientEvidence = evidence;
  }

  finish(): TcpFlow {
    const clientIsFirst = sameEndpoint(this.client, this.first);
    const firstPackets = this.fromFirst.reassemble();
    const secondPackets = this.fromSecond.reassemble();
    return {
      client: this.client,
      server: this.server,
      startMs: this.startMs,
      endMs: this.endMs,
      c2s: clientIsFirst ? firstPackets : secondPackets,
      s2c: clientIsFirst ? secondPackets : firstPackets,
      missingBytes: this.fromFirst.missing + this.fromSecond.missing,
    };
  }
}
