/**
 * `dust audit`: runs published passive censor detectors on each TCP flow of a capture
 * (issue 6; detection.md §1 and §3, §10 tests 1 and 4).
 *
 * - GFW fully-encrypted-traffic rule (Wu et al., USENIX Security 2023, Algorithm 1, as in the
 *   authors' `artifacts/utils/detect.py`): on the first client payload, exempt if any of
 *   Ex1 popcount/len <= 3.4 or >= 4.6, Ex2 the first 6 bytes printable, Ex3 more than half the
 *   bytes printable, Ex4 a run of more than 20 printable bytes, Ex5 a TLS or HTTP fingerprint;
 *   otherwise flagged, and then blocked with probability 0.263 per connection.
 * - Wang et al., CCS 2015, `entropy.py`: on the first client payload (at most 2,048 bytes, no
 *   decision below 149), the 8-byte-block entropy test and the nibble-uniformity test, each a
 *   two-sample KS test against random data, flagged when p >= 0.1.
 *
 * "First client payload" is the first segment with data that the client sent (FlowPacket c2s[0]):
 * both papers look at that one segment, without reassembly.
 * @module
 */
import type { Endpoint } from './pcap.js';
import type { TcpFlow } from './flows.js';
import { entropyOfCounts, isPrintable, ksTwoSamplePValue, popcountBytes } from './stats.js';

// ---------------------------------------------------------------------------------------------
// GFW (Wu et al. 2023)

/** Per-connection block probability of a flagged connection (geometric fit, detection.md §1). */
export const GFW_BLOCK_PROBABILITY = 0.263;

/** Names of the five exemptions of Algorithm 1. */
export type GfwExemption = 'Ex1' | 'Ex2' | 'Ex3' | 'Ex4' | 'Ex5';

/** What the GFW rule computes on one first client payload, and its verdict. */
export interface GfwVerdict {
  /** Payload length in bytes. */
  readonly length: number;
  /** Average number of set bits per byte (random data: about 4). */
  readonly popcountPerByte: number;
  /** Number of printable bytes (0x20..0x7e) before the first non-printable one. */
  readonly leadingPrintable: number;
  /** Fraction of printable bytes. */
  readonly printableFraction: number;
  /** Longest run of consecutive printable bytes. */
  readonly longestPrintableRun: number;
  /** Ex5 match: "TLS" or the HTTP method prefix ("GET " ...), else null. */
  readonly fingerprint: string | null;
  /** Every exemption that applies (empty when flagged). */
  readonly exemptions: readonly GfwExemption[];
  /** True when no exemption applies: the connection is a blocking candidate. */
  readonly flagged: boolean;
  /** Chance that this connection gets blocked: GFW_BLOCK_PROBABILITY when flagged, else 0. */
  readonly blockProbability: number;
}

const HTTP_PREFIXES = ['GET ', 'PUT ', 'POST ', 'HEAD '].map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));

/**
 * Ex5: TLS `[\x16-\x17] \x03 [\x00-\x09]` on bytes 0..2 (detection.md and the paper's
 * Algorithm 1; the authors' detect.py accepts up to \x0f in byte 2), or an HTTP request prefix.
 */
function protocolFingerprint(p: Uint8Array): string | null {
  if (p.length >= 3 && (p[0] === 0x16 || p[0] === 0x17) && p[1] === 0x03 && p[2]! <= 0x09) return 'TLS';
  for (const prefix of HTTP_PREFIXES) {
    if (p.length >= prefix.length && prefix.every((b, i) => p[i] === b)) return String.fromCharCode(...prefix);
  }
  return null;
}

/**
 * The GFW rule of detection.md §1 on the first client payload of a connection.
 * @param payload - the first TCP payload the client sent (at least 1 byte)
 */
export function gfwRule(payload: Uint8Array): GfwVerdict {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (payload.length === 0) throw new RangeError('payload must not be empty');
  const n = payload.length;
  const popcountPerByte = popcountBytes(payload) / n;
  let leadingPrintable = 0;
  while (leadingPrintable < n && isPrintable(payload[leadingPrintable]!)) leadingPrintable++;
  let printable = 0;
  let run = 0;
  let longestPrintableRun = 0;
  for (let i = 0; i < n; i++) {
    if (isPrintable(payload[i]!)) {
      printable++;
      run++;
      if (run > longestPrintableRun) longestPrintableRun = run;
    } else {
      run = 0;
    }
  }
  const printableFraction = printable / n;
  const fingerprint = protocolFingerprint(payload);
  const exemptions: GfwExemption[] = [];
  if (popcountPerByte <= 3.4 || popcountPerByte >= 4.6) exemptions.push('Ex1');
  if (leadingPrintable >= 6) exemptions.push('Ex2');
  if (printableFraction > 0.5) exemptions.push('Ex3');
  if (longestPrintableRun > 20) exemptions.push('Ex4');
  if (fingerprint !== null) exemptions.push('Ex5');
  const flagged = exemptions.length === 0;
  return {
    length: n,
    popcountPerByte,
    leadingPrintable,
    printableFraction,
    longestPrintableRun,
    fingerprint,
    exemptions,
    flagged,
    blockProbability: flagged ? GFW_BLOCK_PROBABILITY : 0,
  };
}

/**
 * P(at least one of k connections is blocked) when a fraction f of connections is flagged:
 * 1 - (1 - 0.263·f)^k (detection.md §1).
 */
export function gfwBlockedWithin(flaggedFraction: number, k: number): number {
  if (typeof flaggedFraction !== 'number' || !(flaggedFraction >= 0 && flaggedFraction <= 1)) {
    throw new RangeError(`flaggedFraction must be in [0, 1], got ${flaggedFraction}`);
  }
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`k must be an integer >= 0, got ${k}`);
  return 1 - (1 - GFW_BLOCK_PROBABILITY * flaggedFraction) ** k;
}

// ---------------------------------------------------------------------------------------------
// Wang et al. 2015

/** Constants of the authors' entropy.py. */
export const WANG = Object.freeze({
  /** The payload is cut to this many bytes. */
  bytesUsed: 2048,
  /** Shorter payloads get no decision. */
  minLength: 149,
  /** Block size of the entropy test (SEQ). */
  blockSize: 8,
  /** Random bytes behind the reference distribution in real use (M = 2^22). */
  referenceBytes: 2 ** 22,
  /** Flag when p >= this. */
  pThreshold: 0.1,
});

/** The outcome of one Wang test on one payload. */
export interface WangVerdict {
  /** 'flag': indistinguishable from random (p >= 0.1); 'pass': not; 'no-decision': too short. */
  readonly decision: 'flag' | 'pass' | 'no-decision';
  /** KS distance to the random reference (null without a decision). */
  readonly statistic: number | null;
  readonly pValue: number | null;
  /** Blocks (entropy test) or nibbles (uniformity test) compared. */
  readonly samples: number;
}

/**
 * The distribution of the plug-in entropy of 8 independent uniform bytes, exactly: a block's
 * entropy depends only on the multiset of its byte counts, a partition λ of 8 with k parts, and
 * P(λ) = 8!/∏λ_i! · 256!/(256-k)! / ∏ r_s! / 256^8, with r_s the number of parts of size s.
 * Returned as the sorted atoms (entropy values, rounded to 1e-12 so that equal entropies from
 * different partitions merge) and their cumulative probabilities.
 *
 * Wang's code compares against block entropies of M = 2^22 random bytes from os.urandom; this is
 * the limit of that reference, so the test is the same without the randomness of a reference
 * sample (its spread at 2^19 blocks, about 0.0014 in D, is far below the distances that decide).
 */
function blockEntropyDistribution(blockSize: number): { atoms: Float64Array; cumulative: Float64Array } {
  const byEntropy = new Map<number, number>();
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const visit = (parts: number[], remaining: number, largest: number): void => {
    if (remaining === 0) {
      const k = parts.length;
      let ways = factorial(blockSize);
      for (const p of parts) ways /= factorial(p);
      let values = 1;
      for (let i = 0; i < k; i++) values *= 256 - i;
      const multiplicity = new Map<number, number>();
      for (const p of parts) multiplicity.set(p, (multiplicity.get(p) ?? 0) + 1);
      for (const r of multiplicity.values()) values /= factorial(r);
      const probability = (ways * values) / 256 ** blockSize;
      const h = roundEntropy(entropyOfCounts(parts, blockSize));
      byEntropy.set(h, (byEntropy.get(h) ?? 0) + probability);
      return;
    }
    for (let p = Math.min(remaining, largest); p >= 1; p--) visit([...parts, p], remaining - p, p);
  };
  visit([], blockSize, blockSize);
  const atoms = Float64Array.from([...byEntropy.keys()].sort((a, b) => a - b));
  const cumulative = new Float64Array(atoms.length);
  let s = 0;
  atoms.forEach((h, i) => (cumulative[i] = s += byEntropy.get(h)!));
  return { atoms, cumulative };
}

function roundEntropy(h: number): number {
  return Math.round(h * 1e12) / 1e12;
}

let blockReference: { atoms: Float64Array; cumulative: Float64Array } | undefined;

/**
 * The reference of the entropy test: the exact distribution of the plug-in entropy of 8 uniform
 * random bytes, as sorted atoms (bits) and cumulative probabilities (computed once).
 */
export function wangReferenceBlockEntropies(): { readonly atoms: Float64Array; readonly cumulative: Float64Array } {
  blockReference ??= blockEntropyDistribution(WANG.blockSize);
  return blockReference;
}

/**
 * KS distance between the empirical cdf of `values` (all equal to some atom) and a discrete
 * reference given by sorted atoms and cumulative probabilities: the two step functions only jump
 * at atoms, so the supremum is a maximum over atoms.
 */
function distanceToReference(values: readonly number[], atoms: Float64Array, cumulative: Float64Array): number {
  const sorted = [...values].sort((a, b) => a - b);
  let i = 0;
  let d = 0;
  for (let a = 0; a < atoms.length; a++) {
    while (i < sorted.length && sorted[i]! <= atoms[a]!) i++;
    d = Math.max(d, Math.abs(i / sorted.length - cumulative[a]!));
  }
  return d;
}

function wangDecision(statistic: number, samples: number, referenceSamples: number): WangVerdict {
  const pValue = ksTwoSamplePValue(statistic, samples, referenceSamples);
  return { decision: pValue >= WANG.pThreshold ? 'flag' : 'pass', statistic, pValue, samples };
}

const NO_DECISION: WangVerdict = Object.freeze({ decision: 'no-decision', statistic: null, pValue: null, samples: 0 });

/**
 * Wang et al.'s entropy-distribution test (detection.md §3A): the payload cut to 2,048 bytes (no
 * decision below 149), the plug-in entropy of each whole 8-byte block, a two-sample KS test
 * against the block entropies of random data (scipy's pre-1.3 asymptotic p-value with the
 * authors' reference size of 2^22 bytes, i.e. 2^19 blocks); flagged as random when p >= 0.1.
 */
export function wangEntropyTest(payload: Uint8Array): WangVerdict {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const used = payload.subarray(0, WANG.bytesUsed);
  if (used.length < WANG.minLength) return NO_DECISION;
  const reference = wangReferenceBlockEntropies();
  const blocks = Math.floor(used.length / WANG.blockSize);
  const entropies: number[] = [];
  const counts = new Map<number, number>();
  for (let b = 0; b < blocks; b++) {
    counts.clear();
    for (let i = b * WANG.blockSize; i < (b + 1) * WANG.blockSize; i++) counts.set(used[i]!, (counts.get(used[i]!) ?? 0) + 1);
    entropies.push(roundEntropy(entropyOfCounts([...counts.values()], WANG.blockSize)));
  }
  const d = distanceToReference(entropies, reference.atoms, reference.cumulative);
  return wangDecision(d, blocks, WANG.referenceBytes / WANG.blockSize);
}

const NIBBLE_ATOMS = Float64Array.from({ length: 16 }, (_, i) => i);
const NIBBLE_CUMULATIVE = Float64Array.from({ length: 16 }, (_, i) => (i + 1) / 16);

/**
 * Wang et al.'s byte-uniformity test (detection.md §3B): the payload cut to 2,048 bytes (no
 * decision below 149), hex-encoded, its nibbles 0..15 compared by a two-sample KS test with the
 * nibbles of 2^22 random bytes (whose distribution is uniform on 0..15); flagged when p >= 0.1.
 */
export function wangNibbleTest(payload: Uint8Array): WangVerdict {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const used = payload.subarray(0, WANG.bytesUsed);
  if (used.length < WANG.minLength) return NO_DECISION;
  const nibbles: number[] = [];
  for (const b of used) nibbles.push(b >> 4, b & 15);
  const d = distanceToReference(nibbles, NIBBLE_ATOMS, NIBBLE_CUMULATIVE);
  return wangDecision(d, nibbles.length, 2 * WANG.referenceBytes);
}

// ---------------------------------------------------------------------------------------------
// Per flow, and the summary

/** The detectors' verdicts on one flow. */
export interface FlowAudit {
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly startMs: number;
  /** Length of the first client payload, 0 when the client sent no data. */
  readonly firstPayloadLength: number;
  /** null when the client sent no data (nothing for the detectors to look at). */
  readonly gfw: GfwVerdict | null;
  readonly wangEntropy: WangVerdict | null;
  readonly wangNibble: WangVerdict | null;
}

/** One detector's totals over all flows. */
export interface DetectorSummary {
  readonly detector: 'gfw' | 'wang-entropy' | 'wang-nibble';
  /** Flows whose client sent data (the denominator). */
  readonly flows: number;
  readonly flagged: number;
  /** Flows the detector could not judge (Wang: first payload shorter than 149 bytes). */
  readonly noDecision: number;
  /** flagged / flows (0 when there are no flows). Wang's own counts treat no decision as not flagged. */
  readonly fraction: number;
}

/** `auditFlows`' result. */
export interface AuditReport {
  readonly flows: readonly FlowAudit[];
  readonly summary: readonly DetectorSummary[];
  /** Mean GFW block probability per connection (= 0.263 × the GFW flagged fraction). */
  readonly gfwBlockProbability: number;
}

/** Runs the GFW rule and both Wang tests on the first client payload of every flow. */
export function auditFlows(flows: readonly TcpFlow[]): AuditReport {
  if (!Array.isArray(flows as unknown)) throw new TypeError('flows must be an array');
  const audits: FlowAudit[] = flows.map((flow) => {
    const first = flow.c2s.find((p) => p.payload.length > 0);
    const base = { client: flow.client, server: flow.server, startMs: flow.startMs };
    if (first === undefined) return { ...base, firstPayloadLength: 0, gfw: null, wangEntropy: null, wangNibble: null };
    return {
      ...base,
      firstPayloadLength: first.payload.length,
      gfw: gfwRule(first.payload),
      wangEntropy: wangEntropyTest(first.payload),
      wangNibble: wangNibbleTest(first.payload),
    };
  });
  const judged = audits.filter((a) => a.gfw !== null);
  const summarise = (detector: DetectorSummary['detector'], pick: (a: FlowAudit) => 'flag' | 'pass' | 'no-decision'): DetectorSummary => {
    const decisions = judged.map(pick);
    const flagged = decisions.filter((d) => d === 'flag').length;
    const noDecision = decisions.filter((d) => d === 'no-decision').length;
    return { detector, flows: judged.length, flagged, noDecision, fraction: judged.length ? flagged / judged.length : 0 };
  };
  const summary = [
    summarise('gfw', (a) => (a.gfw!.flagged ? 'flag' : 'pass')),
    summarise('wang-entropy', (a) => a.wangEntropy!.decision),
    summarise('wang-nibble', (a) => a.wangNibble!.decision),
  ];
  return { flows: audits, summary, gfwBlockProbability: GFW_BLOCK_PROBABILITY * summary[0]!.fraction };
}

// ---------------------------------------------------------------------------------------------
// Text output

/** `ip:port`, with IPv6 addresses in brackets. */
export function formatEndpoint(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function formatP(p: number | null): string {
  if (p === null) return '-';
  if (p === 0) return '< 1e-300';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

function wangCell(v: WangVerdict | null): string {
  if (v === null) return '-';
  if (v.decision === 'no-decision') return 'no decision (<149 B)';
  return `${v.decision === 'flag' ? 'FLAG' : 'pass'} p=${formatP(v.pValue)}`;
}

/**
 * Lays out rows as columns separated by two spaces. `align` has one letter per column, `l` or
 * `r` (default: the first column left, the others right).
 */
export function formatColumns(rows: readonly (readonly string[])[], align?: string): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const left = (i: number): boolean => (align ? align[i] === 'l' : i === 0);
  const pad = (cell: string, i: number): string => {
    const fill = ' '.repeat(widths[i]! - [...cell].length);
    return left(i) ? cell + fill : fill + cell;
  };
  return rows.map((r) => r.map(pad).join('  ').trimEnd()).join('\n');
}

/** The per-flow table, then the summary and the GFW block odds over 1, 10 and 100 connections. */
export function formatAuditReport(report: AuditReport): string {
  const rows: string[][] = [['flow', 'first c→s', 'GFW (Wu 2023)', 'exempt by', 'popcount', 'Wang entropy', 'Wang nibble']];
  for (const a of report.flows) {
    const name = `${formatEndpoint(a.client)} → ${formatEndpoint(a.server)}`;
    if (a.gfw === null) {
      rows.push([name, '0 B', 'no client data', '-', '-', '-', '-']);
      continue;
    }
    rows.push([
      name,
      `${a.firstPayloadLength} B`,
      a.gfw.flagged ? 'FLAG' : 'pass',
      a.gfw.exemptions.length ? a.gfw.exemptions.join(',') : '-',
      a.gfw.popcountPerByte.toFixed(2),
      wangCell(a.wangEntropy),
      wangCell(a.wangNibble),
    ]);
  }
  const names: Record<DetectorSummary['detector'], string> = {
    gfw: 'GFW fully-encrypted rule (Wu et al. 2023)',
    'wang-entropy': 'Wang et al. 2015 block-entropy KS (p >= 0.1)',
    'wang-nibble': 'Wang et al. 2015 nibble-uniformity KS (p >= 0.1)',
  };
  const summaryRows: string[][] = [['detector', 'flagged', 'of flows', 'fraction', 'no decision']];
  for (const s of report.summary) {
    summaryRows.push([names[s.detector], String(s.flagged), String(s.flows), `${(100 * s.fraction).toFixed(1)}%`, String(s.noDecision)]);
  }
  const f = report.summary[0]!.fraction;
  const odds = [1, 10, 100].map((k) => `${k}: ${(100 * gfwBlockedWithin(f, k)).toFixed(1)}%`).join(', ');
  return [
    `${report.flows.length} flow(s); detectors look at the first client payload of each.`,
    '',
    formatColumns(rows, 'lrllrll'),
    '',
    formatColumns(summaryRows, 'lrrrr'),
    '',
    `GFW: a flagged connection is blocked with probability ${GFW_BLOCK_PROBABILITY}; mean per connection ${(100 * report.gfwBlockProbability).toFixed(1)}%.`,
    `P(blocked within k connections) = 1 - (1 - ${GFW_BLOCK_PROBABILITY}·f)^k, f = ${(100 * f).toFixed(1)}%: ${odds}.`,
  ].join('\n');
}
