/**
 * `dust model check`: does captured Dust traffic follow its model? (issue 6 "dust model check";
 * detection.md §6.1 and §6.3; docs/models.md for what each model field means.)
 *
 * Per direction, over all flows of the capture:
 * - lengths: every TCP payload length against `length_bytes` (one-sample KS; see `ksOneSample`
 *   for how a discrete model is handled: exact distance over the integer grid, a p-value that is
 *   conservative for discrete data);
 * - bytes: the byte histogram against the model's code, P(b) = 2^-len(codeword b) (Pearson
 *   chi-square, the least likely byte values pooled until each cell expects >= 5; the total
 *   variation distance is shown as the effect size). The model prefix, which is sent verbatim
 *   before any shaped byte, is left out;
 * - packets per second: packets in each one-second window against `flow_packets_per_second`
 *   (chi-square over the counts, neighbours pooled). Windows start at the direction's first
 *   packet, which is when Dust's schedule starts (docs/session.md); the first window is left out
 *   because it also carries the handshake burst, and so is the last, incomplete one. Skipped for
 *   `on_demand` flows, whose timing is not shaped;
 * and per connection: durations (last segment - first segment) against `duration_ms`
 * (one-sample KS).
 *
 * Every test is run at the same alpha; the report rejects when any one does.
 * @module
 */
import { createContentCoder } from '../shaping/coder.js';
import type { Distribution } from '../shaping/distributions.js';
import type { DirectionModel, DustModel } from '../shaping/model.js';
import type { TcpFlow } from './flows.js';
import { formatColumns } from './audit.js';
import { chiSquareTest, ksOneSample, totalVariation } from './stats.js';

/** Length of the windows in which packets are counted (docs/models.md "Flow"). */
export const WINDOW_MS = 1000;

/** Which half of a flow. */
export type Direction = 'c2s' | 's2c';

/** What a capture shows of one direction, pooled over flows. */
export interface DirectionObservation {
  /** Payload length of every segment that carried data. */
  readonly lengths: number[];
  /** How often each byte value occurs, prefixes left out. */
  readonly byteCounts: Float64Array;
  /** Sum of byteCounts. */
  readonly bytes: number;
  /** Flows whose stream in this direction began with the model prefix (which was then left out). */
  readonly prefixedFlows: number;
  /** Packets in each complete one-second window after the first, over all flows. */
  readonly windowCounts: number[];
}

function aflows(flows: unknown): asserts flows is readonly TcpFlow[] {
  if (!Array.isArray(flows)) throw new TypeError('flows must be an array of TcpFlow');
}

/**
 * Collects lengths, byte counts and per-second packet counts of one direction.
 * @param prefix - the model's prefix for this direction (left out of the byte counts where a
 *   stream starts with it); empty for none
 */
export function observeDirection(flows: readonly TcpFlow[], direction: Direction, prefix: Uint8Array = new Uint8Array(0)): DirectionObservation {
  aflows(flows);
  if (direction !== 'c2s' && direction !== 's2c') throw new TypeError(`direction must be "c2s" or "s2c", got ${String(direction)}`);
  const lengths: number[] = [];
  const byteCounts = new Float64Array(256);
  const windowCounts: number[] = [];
  let bytes = 0;
  let prefixedFlows = 0;
  for (const flow of flows) {
    const packets = flow[direction].filter((p) => p.payload.length > 0);
    if (packets.length === 0) continue;
    let skip = startsWithPrefix(packets, prefix) ? prefix.length : 0;
    if (skip > 0) prefixedFlows++;
    for (const { payload } of packets) {
      lengths.push(payload.length);
      const from = Math.min(skip, payload.length);
      skip -= from;
      for (let i = from; i < payload.length; i++) byteCounts[payload[i]!]!++;
      bytes += payload.length - from;
    }
    windowCounts.push(...countWindows(packets.map((p) => p.timeMs), flow.endMs));
  }
  return { lengths, byteCounts, bytes, prefixedFlows, windowCounts };
}

function startsWithPrefix(packets: readonly { payload: Uint8Array }[], prefix: Uint8Array): boolean {
  if (prefix.length === 0) return false;
  let i = 0;
  for (const { payload } of packets) {
    for (let j = 0; j < payload.length && i < prefix.length; j++, i++) if (payload[j] !== prefix[i]) return false;
    if (i === prefix.length) return true;
  }
  return false;
}

/**
 * Packets per window [t0 + k·W, t0 + (k+1)·W) for k = 1, 2, … while the window ends by `endMs`
 * (t0 = the first packet's time; window 0 holds the first burst and is left out).
 */
export function countWindows(timesMs: readonly number[], endMs: number): number[] {
  if (timesMs.length === 0) return [];
  const t0 = timesMs[0]!;
  const windows = Math.floor((endMs - t0) / WINDOW_MS) - 1;
  if (!(windows > 0)) return [];
  const counts = new Array<number>(windows).fill(0);
  for (const t of timesMs) {
    const k = Math.floor((t - t0) / WINDOW_MS);
    if (k >= 1 && k <= windows) counts[k - 1]!++;
  }
  return counts;
}

/** The probability of each byte value in shaped output: 2^-len(codeword). */
export function modelByteProbabilities(direction: DirectionModel): Float64Array {
  const lengths = createContentCoder(direction.content).codeLengths;
  return Float64Array.from(lengths, (l) => 2 ** -l);
}

/** One line of the check table. */
export interface CheckRow {
  readonly direction: 'client→server' | 'server→client' | 'connection';
  readonly test: 'lengths' | 'bytes' | 'packets/s' | 'duration';
  /** The statistic's name, e.g. "KS D" or "χ² (df 41)". */
  readonly method: string;
  /** Observations (packets, bytes, windows or connections). */
  readonly n: number;
  /** null when the test was skipped. */
  readonly statistic: number | null;
  readonly pValue: number | null;
  /** pValue < alpha. */
  readonly reject: boolean;
  /** Short summaries of what was seen and what the model says (means, effect size). */
  readonly observed: string;
  readonly expected: string;
  /** Why a test was skipped, or what to know about it. */
  readonly note: string;
}

/** `checkModel`'s result. */
export interface CheckReport {
  readonly model: string;
  readonly alpha: number;
  readonly flows: number;
  readonly rows: readonly CheckRow[];
  /** True when any test rejects at alpha. */
  readonly rejected: boolean;
}

const DIRECTIONS: readonly [Direction, CheckRow['direction'], 'clientToServer' | 'serverToClient'][] = [
  ['c2s', 'client→server', 'clientToServer'],
  ['s2c', 'server→client', 'serverToClient'],
];

function skipped(direction: CheckRow['direction'], test: CheckRow['test'], method: string, note: string, expected = ''): CheckRow {
  return { direction, test, method, n: 0, statistic: null, pValue: null, reject: false, observed: '-', expected, note };
}

function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Compares the flows of a capture (of Dust traffic) with a model.
 * @param options.alpha - significance level of every test, 0 < alpha < 1 (default 0.01)
 */
export function checkModel(model: DustModel, flows: readonly TcpFlow[], options: { alpha?: number } = {}): CheckReport {
  aflows(flows);
  const alpha = options.alpha ?? 0.01;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${String(alpha)}`);
  const rows: CheckRow[] = [];
  const decide = (row: Omit<CheckRow, 'reject'>): CheckRow => ({ ...row, reject: row.pValue !== null && row.pValue < alpha });

  for (const [direction, label, key] of DIRECTIONS) {
    const half = model[key];
    const seen = observeDirection(flows, direction, half.prefix);
    const modelMeanLength = `mean ${half.lengthBytes.mean.toFixed(1)} B`;

    if (seen.lengths.length === 0) {
      rows.push(skipped(label, 'lengths', 'KS D', 'no packets', modelMeanLength));
    } else {
      const ks = ksOneSample(seen.lengths, half.lengthBytes);
      rows.push(decide({
        direction: label, test: 'lengths', method: 'KS D', n: seen.lengths.length, statistic: ks.statistic, pValue: ks.pValue,
        observed: `mean ${mean(seen.lengths).toFixed(1)} B`, expected: modelMeanLength,
        note: `discrete: sup over integers, conservative p (${ks.method})`,
      }));
    }

    if (seen.bytes === 0) {
      rows.push(skipped(label, 'bytes', 'χ²', 'no bytes'));
    } else {
      const p = modelByteProbabilities(half);
      const chi = chiSquareTest(seen.byteCounts, p, { pooling: 'smallest' });
      const freq = seen.byteCounts.map((c) => c / seen.bytes);
      const prefixNote = half.prefix.length ? `; prefix left out in ${seen.prefixedFlows} flow(s)` : '';
      rows.push(decide({
        direction: label, test: 'bytes', method: `χ² (df ${chi.df})`, n: seen.bytes, statistic: chi.statistic, pValue: chi.pValue,
        observed: `TV ${totalVariation(freq, p).toFixed(4)}`, expected: 'P(b) = 2^-len(b)',
        note: `${chi.cells} cells after pooling${prefixNote}`,
      }));
    }

    const flow = half.flowPacketsPerSecond;
    if (flow === 'on_demand') {
      rows.push(skipped(label, 'packets/s', 'χ²', 'on_demand: timing not shaped', 'on_demand'));
    } else if (seen.windowCounts.length === 0) {
      rows.push(skipped(label, 'packets/s', 'χ²', 'no complete one-second window after the first', `mean ${flow.mean.toFixed(2)}/s`));
    } else {
      const chi = countsTest(seen.windowCounts, flow);
      rows.push(decide({
        direction: label, test: 'packets/s', method: `χ² (df ${chi.df})`, n: seen.windowCounts.length, statistic: chi.statistic, pValue: chi.pValue,
        observed: `mean ${mean(seen.windowCounts).toFixed(2)}/s`, expected: `mean ${flow.mean.toFixed(2)}/s`,
        note: 'windows after the first, complete ones only',
      }));
    }
  }

  const durations = flows.map((f) => f.endMs - f.startMs);
  const modelMeanDuration = `mean ${(model.durationMs.mean / 1000).toFixed(1)} s`;
  if (durations.length === 0) {
    rows.push(skipped('connection', 'duration', 'KS D', 'no flows', modelMeanDuration));
  } else {
    const ks = ksOneSample(durations, model.durationMs);
    rows.push(decide({
      direction: 'connection', test: 'duration', method: 'KS D', n: durations.length, statistic: ks.statistic, pValue: ks.pValue,
      observed: `mean ${(mean(durations) / 1000).toFixed(1)} s`, expected: modelMeanDuration,
      note: `first to last segment (${ks.method} p)`,
    }));
  }
  return { model: model.name, alpha, flows: flows.length, rows, rejected: rows.some((r) => r.reject) };
}

/** Chi-square of window counts against an integer distribution: cells 0..max seen, plus "more". */
function countsTest(counts: readonly number[], flow: Distribution) {
  const max = Math.max(...counts);
  const observed = new Array<number>(max + 2).fill(0);
  for (const c of counts) observed[c]!++;
  const probabilities = new Array<number>(max + 2);
  for (let k = 0; k <= max; k++) probabilities[k] = flow.pmf(k);
  probabilities[max + 1] = Math.max(0, 1 - flow.cdf(max));
  // pmf values of a rounded, truncated family sum to its cdf up to rounding: renormalise.
  const total = probabilities.reduce((s, p) => s + p, 0);
  return chiSquareTest(observed, probabilities.map((p) => p / total), { pooling: 'adjacent' });
}

function formatNumber(x: number | null): string {
  if (x === null) return '-';
  if (x === Infinity) return '∞';
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4);
}

function formatP(p: number | null): string {
  if (p === null) return '-';
  if (p === 0) return '< 1e-300';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/** The check table, then one line with the verdict. */
export function formatCheckReport(report: CheckReport): string {
  const rows: string[][] = [['direction', 'test', 'n', 'statistic', 'p-value', 'result', 'observed', 'model', 'note']];
  for (const r of report.rows) {
    const result = r.pValue === null ? 'skipped' : r.reject ? 'REJECT' : 'ok';
    rows.push([r.direction, r.test, String(r.n), `${r.method} ${formatNumber(r.statistic)}`, formatP(r.pValue), result, r.observed, r.expected, r.note]);
  }
  const rejects = report.rows.filter((r) => r.reject).length;
  const verdict = rejects
    ? `${rejects} test(s) reject the model at alpha = ${report.alpha}.`
    : `No test rejects the model at alpha = ${report.alpha}.`;
  return [`model ${report.model}, ${report.flows} flow(s)`, '', formatColumns(rows, 'llrrrlrrl'), '', verdict].join('\n');
}
