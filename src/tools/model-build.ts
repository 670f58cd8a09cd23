/**
 * `dust model build`: fits a `dust-model/1` model (docs/models.md) to reassembled TCP flows
 * (issue 6; the pcap → model step of the original tools, dust-original.md §5). Every field is an
 * empirical distribution of what the capture shows, not a fitted family, because real traffic is
 * lumpy (full-size segments, a request then silence) in ways a normal or Poisson law hides:
 *
 * - `length_bytes`: a histogram of the payload length of every reassembled packet (retransmitted
 *   bytes removed). Up to 256 distinct lengths are kept exactly; beyond that, lengths holding at
 *   least 1% of the packets stay exact (full segments, fixed-size messages) and the rest goes into
 *   at most 64 bins of about equal packet counts, uniform inside (a bin never splits one length).
 * - `content`: 256 weights = how often each byte value occurs in the payload after the prefix,
 *   plus one (add-one smoothing: a byte never seen still gets a short-enough codeword, and the
 *   Huffman code never needs an infinitely rare symbol).
 * - `flow_packets_per_second`: a histogram of packet counts per one-second window, windows taken
 *   from each flow's first segment to its last (ceil(duration / 1 s) windows, at least one; idle
 *   seconds count as 0). A histogram, not a fitted Poisson: a download sends tens of packets in
 *   its first second and none afterwards, which a Poisson of the same mean would turn into a
 *   steady trickle.
 * - `prefix`: the longest common prefix of the direction's first payload over all flows that
 *   send in that direction (at least 2 such flows, at most 64 bytes). A text prefix is cut back to
 *   its last whole line, or else to a token boundary, so that two requests for `/index` and
 *   `/info` give `GET /`, not `GET /in`, and responses sent on one day do not ship `Date: Thu`
 *   (accidents of the sample that real traffic would not all share). The prefix is worth
 *   shipping although Dust's bytes after it are not valid syntax: censors classify connections by
 *   their first bytes (the GFW exempts `GET `/`POST `/TLS headers from its fully-encrypted rule,
 *   detection.md Ex5), and the receiver checks it, so it costs nothing but its length.
 * - `duration_ms`: the flows' durations (first to last segment), exact for up to 32 distinct
 *   values, else up to 32 equal-count bins; at least 1 ms, at most 24 h.
 *
 * Only flows that carry payload are used (a SYN answered by RST says nothing about a protocol).
 * @module
 */
import {
  MAX_DURATION_MS,
  MAX_PACKETS_PER_SECOND,
  MAX_PACKET_LENGTH,
  MIN_DURATION_MS,
  MIN_PACKET_LENGTH,
  MODEL_FORMAT,
  parseModel,
  type DirectionJson,
  type DistributionJson,
  type ModelDefinition,
} from '../shaping/model.js';
import type { FlowPacket, TcpFlow } from './flows.js';

/** Stable code for captures a model cannot be built from. */
export const DUST_ERR_MODEL_BUILD = 'DUST_ERR_MODEL_BUILD';

/** The flows cannot give a model (none, or one direction never sends). */
export class ModelBuildError extends Error {
  override readonly name = 'ModelBuildError';
  readonly code = DUST_ERR_MODEL_BUILD;
}

/** Options of `buildModel`. */
export interface BuildModelOptions {
  /** The model's name (docs/models.md: 1–64 of `A-Z a-z 0-9 . _ -`). */
  name: string;
  /** Free text; by default a summary of what the model was built from. */
  description?: string;
}

/** Longest prefix considered, in bytes. */
export const MAX_BUILT_PREFIX = 64;
/** Flows that must share a prefix before it counts as part of the protocol. */
export const MIN_FLOWS_FOR_PREFIX = 2;
/** A length or count holding this share of the samples stays exact when the rest is binned. */
const SPIKE_SHARE = 0.01;
const WINDOW_MS = 1000;

/** What an empirical distribution may contain. */
export interface Quantity {
  integer: boolean;
  lo: number;
  hi: number;
  /** Up to this many distinct values are kept exactly. */
  maxExact: number;
  /** Otherwise: spikes plus at most this many bins. */
  maxBins: number;
}
const LENGTH: Quantity = { integer: true, lo: MIN_PACKET_LENGTH, hi: MAX_PACKET_LENGTH, maxExact: 256, maxBins: 64 };
const FLOW: Quantity = { integer: true, lo: 0, hi: MAX_PACKETS_PER_SECOND, maxExact: 256, maxBins: 64 };
const DURATION: Quantity = { integer: false, lo: MIN_DURATION_MS, hi: MAX_DURATION_MS, maxExact: 32, maxBins: 32 };

/**
 * Builds a `dust-model/1` model from reassembled flows and validates it with `parseModel`.
 * @param flows - from `reassembleFlows`; flows without payload are ignored
 * @param options - name and optional description
 * @returns the normalised, frozen model definition (what `serializeModel` writes)
 * @throws ModelBuildError when no flow carries payload or a direction never sends;
 *   ModelError (from parseModel) for a bad name or description
 * @example
 * const model = buildModel(reassembleFlows(readCapture(bytes, 'http.pcap'), { port: 80 }), { name: 'http' });
 */
export function buildModel(flows: readonly TcpFlow[], options: BuildModelOptions): ModelDefinition {
  if (!Array.isArray(flows)) throw new TypeError('flows must be an array');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (typeof options.name !== 'string') throw new TypeError(`options.name must be a string, got ${typeof options.name}`);
  if (options.description !== undefined && typeof options.description !== 'string') {
    throw new TypeError(`options.description must be a string, got ${typeof options.description}`);
  }
  const used = flows.filter((f) => f.c2s.length > 0 || f.s2c.length > 0);
  if (used.length === 0) {
    throw new ModelBuildError(
      flows.length === 0 ? 'no TCP flows in the capture (check the --port/--host filter)' : `none of the ${flows.length} TCP flows carries any payload`,
    );
  }
  const c2s = buildDirection(used, (f) => f.c2s, 'the client');
  const s2c = buildDirection(used, (f) => f.s2c, 'the server');
  const durations = used.map((f) => Math.round((f.endMs - f.startMs) * 1000) / 1000);
  const description = options.description ?? summary(used.length, flows.length, c2s.stats, s2c.stats);
  const json = {
    format: MODEL_FORMAT,
    name: options.name,
    description,
    duration_ms: empiricalDistribution(durations, DURATION),
    client_to_server: c2s.json,
    server_to_client: s2c.json,
  };
  return parseModel(json, `model "${options.name}" built from captured flows`).definition;
}

interface DirectionStats {
  packets: number;
  bytes: number;
  prefixBytes: number;
}

function summary(used: number, all: number, c2s: DirectionStats, s2c: DirectionStats): string {
  const side = (s: DirectionStats) =>
    `${s.packets} packets, ${s.bytes} bytes${s.prefixBytes > 0 ? `, a ${s.prefixBytes}-byte prefix` : ''}`;
  const skipped = all > used ? ` (${all - used} ${all - used === 1 ? 'flow' : 'flows'} without payload left out)` : '';
  return `Built by "dust model build" from ${used} captured TCP flows${skipped}: client to server ${side(c2s)}; server to client ${side(s2c)}.`;
}

function buildDirection(
  flows: readonly TcpFlow[],
  packetsOf: (f: TcpFlow) => FlowPacket[],
  who: string,
): { json: DirectionJson; stats: DirectionStats } {
  const sending = flows.filter((f) => packetsOf(f).length > 0);
  if (sending.length === 0) {
    throw new ModelBuildError(`${who} sends no payload in any of the ${flows.length} flows; a model needs traffic both ways`);
  }
  const prefix = sending.length >= MIN_FLOWS_FOR_PREFIX ? sharedPrefix(sending.map((f) => packetsOf(f)[0]!.payload)) : new Uint8Array(0);

  // Tallies rather than sample lists: a day-long capture has millions of packets and windows.
  const lengths = new Map<number, number>();
  let packets = 0;
  const counts = new Float64Array(256); // exact integers up to 2^53, and a fast inner loop
  let bytes = 0;
  for (const f of sending) {
    packetsOf(f).forEach((p, i) => {
      addTo(lengths, p.payload.length);
      packets++;
      bytes += p.payload.length;
      // The prefix is sent verbatim; the content model covers the shaped bytes after it.
      const body = i === 0 ? p.payload.subarray(prefix.length) : p.payload;
      for (let k = 0; k < body.length; k++) counts[body[k]!]!++;
    });
  }
  const perSecond = new Map<number, number>();
  for (const f of flows) tallyWindows(f, packetsOf(f), perSecond);

  const json: DirectionJson = {
    content: { weights: Array.from(counts, (c) => c + 1) },
    length_bytes: distributionOfTally(lengths, LENGTH),
    flow_packets_per_second: distributionOfTally(perSecond, FLOW),
    ...(prefix.length > 0 ? { prefix: { hex: Buffer.from(prefix).toString('hex') } } : {}),
  };
  return { json, stats: { packets, bytes, prefixBytes: prefix.length } };
}

function addTo(tally: Map<number, number>, value: number, weight = 1): void {
  tally.set(value, (tally.get(value) ?? 0) + weight);
}

function windowCount(flow: Pick<TcpFlow, 'startMs' | 'endMs'>): number {
  return Math.max(1, Math.ceil((flow.endMs - flow.startMs) / WINDOW_MS));
}

/** Packet counts of the flow's non-empty one-second windows, by window index. */
function busyWindows(flow: Pick<TcpFlow, 'startMs' | 'endMs'>, packets: readonly FlowPacket[]): Map<number, number> {
  const windows = windowCount(flow);
  const busy = new Map<number, number>();
  for (const p of packets) {
    addTo(busy, Math.min(windows - 1, Math.max(0, Math.floor((p.timeMs - flow.startMs) / WINDOW_MS))));
  }
  return busy;
}

/** Adds the flow's per-window packet counts to `tally` (idle windows counted, not listed). */
function tallyWindows(flow: Pick<TcpFlow, 'startMs' | 'endMs'>, packets: readonly FlowPacket[], tally: Map<number, number>): void {
  const busy = busyWindows(flow, packets);
  const idle = windowCount(flow) - busy.size;
  if (idle > 0) addTo(tally, 0, idle);
  for (const c of busy.values()) addTo(tally, Math.min(c, MAX_PACKETS_PER_SECOND));
}

/** Packets in each one-second window of the flow, from its first segment on. */
export function packetsPerWindow(flow: Pick<TcpFlow, 'startMs' | 'endMs'>, packets: readonly FlowPacket[]): number[] {
  const counts = new Array<number>(windowCount(flow)).fill(0);
  for (const [w, c] of busyWindows(flow, packets)) counts[w] = Math.min(c, MAX_PACKETS_PER_SECOND);
  return counts;
}

/**
 * The prefix every payload starts with (at most MAX_BUILT_PREFIX bytes). When it is text, it is
 * cut back to the end of its last whole line, or, without a line break, to the last point that is
 * a token boundary in every payload: just after a delimiter, or where each payload either ends or
 * continues with a delimiter.
 */
export function sharedPrefix(payloads: readonly Uint8Array[]): Uint8Array {
  if (payloads.length === 0) return new Uint8Array(0);
  const first = payloads[0]!;
  let n = Math.min(first.length, MAX_BUILT_PREFIX);
  for (const p of payloads) {
    n = Math.min(n, p.length);
    for (let i = 0; i < n; i++) {
      if (p[i] !== first[i]) {
        n = i;
        break;
      }
    }
  }
  const prefix = first.subarray(0, n);
  if (!prefix.every(isText)) return prefix.slice();
  // Line-based text: whole shared lines are protocol (a status line, a Server header); a shared
  // start of the next line is usually a value that happened to agree (the day in a Date header).
  const lineEnd = prefix.lastIndexOf(0x0a);
  if (lineEnd >= 0) return prefix.slice(0, lineEnd + 1);
  for (let k = n; k > 0; k--) {
    if (isDelimiter(prefix[k - 1]!) || payloads.every((p) => p.length === k || isDelimiter(p[k]!))) {
      return prefix.slice(0, k);
    }
  }
  return new Uint8Array(0);
}

function isText(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Bytes that end a token in text protocols (HTTP, SMTP, SSH banners, ...). */
function isDelimiter(b: number): boolean {
  return !((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));
}

/**
 * An empirical distribution of `samples` (clamped into the quantity's range): `fixed` for one
 * value, exact histogram values for few distinct ones, else the frequent values exact plus
 * equal-count bins for the rest.
 */
export function empiricalDistribution(samples: readonly number[], q: Quantity): DistributionJson {
  const tally = new Map<number, number>();
  for (const x of samples) addTo(tally, x);
  return distributionOfTally(tally, q);
}

/** `empiricalDistribution` of samples given as value → count. */
function distributionOfTally(tally: ReadonlyMap<number, number>, q: Quantity): DistributionJson {
  if (tally.size === 0) throw new Error('BUG: empirical distribution of no samples');
  const clamped = new Map<number, number>();
  let total = 0;
  for (const [x, n] of tally) {
    addTo(clamped, Math.min(q.hi, Math.max(q.lo, x)), n);
    total += n;
  }
  const runs = [...clamped].map(([value, weight]) => ({ value, weight })).sort((a, b) => a.value - b.value);
  if (runs.length === 1) return { family: 'fixed', value: runs[0]!.value };
  if (runs.length <= q.maxExact) return { family: 'histogram', values: runs };

  const spikeMin = total * SPIKE_SHARE;
  const values = runs.filter((r) => r.weight >= spikeMin);
  const rest = runs.filter((r) => r.weight < spikeMin);
  const restTotal = rest.reduce((s, r) => s + r.weight, 0);
  const bins: Array<{ min: number; max: number; weight: number }> = [];
  let group: typeof rest = [];
  let groupWeight = 0;
  let groups = 0;
  let cumulative = 0;
  const close = () => {
    const min = group[0]!.value;
    const max = group[group.length - 1]!.value;
    // A real-valued bin needs min < max; one value alone is a point mass.
    if (!q.integer && min === max) values.push({ value: min, weight: groupWeight });
    else bins.push({ min, max, weight: groupWeight });
    group = [];
    groupWeight = 0;
    groups++;
  };
  for (const r of rest) {
    group.push(r);
    groupWeight += r.weight;
    cumulative += r.weight;
    if (cumulative >= ((groups + 1) * restTotal) / q.maxBins) close();
  }
  if (group.length > 0) close();
  values.sort((a, b) => a.value - b.value);
  return {
    family: 'histogram',
    ...(values.length > 0 ? { values } : {}),
    ...(bins.length > 0 ? { bins } : {}),
  };
}

/** The quantities, for tests and other tools. */
export const QUANTITIES = Object.freeze({ length: LENGTH, flow: FLOW, duration: DURATION });

/**
 * The model as JSON text for people: two-space indentation like `serializeModel`, but arrays of
 * numbers 16 to a line and small flat objects (histogram entries, distributions) on one line, so
 * that a built model reads like the files in models/ instead of running to a thousand lines.
 */
export function formatModelJson(definition: ModelDefinition): string {
  return format(definition, '') + '\n';
}

function format(value: unknown, indent: string): string {
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => typeof v === 'number')) {
      const rows: string[] = [];
      for (let i = 0; i < value.length; i += 16) rows.push(inner + value.slice(i, i + 16).map((v) => JSON.stringify(v)).join(', '));
      return `[\n${rows.join(',\n')}\n${indent}]`;
    }
    return `[\n${value.map((v) => inner + format(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.every(([, v]) => typeof v !== 'object' || v === null)) {
      return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')} }`;
    }
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}
