/**
 * Statistics for the capture tools (issue 6; detection.md §6 "Statistical tests toolbox", §1 and
 * §3 for popcount and entropy): Pearson chi-square with cell pooling, one- and two-sample
 * Kolmogorov–Smirnov with p-values, their special functions, and the byte helpers the censor
 * detectors need (popcount, plug-in Shannon entropy, printable-ASCII runs).
 *
 * Everything is written from the textbook formulas quoted next to the code; the tests check the
 * functions against closed forms and against values printed by scipy 1.17.
 * @module
 */
import { regularizedGamma } from '../shaping/distributions.js';

// ---------------------------------------------------------------------------------------------
// Results

/** A chi-square statistic, its degrees of freedom and P(X² >= statistic | H0). */
export interface ChiSquareResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  /** Observations counted. */
  readonly n: number;
  /** Cells after pooling (df = cells - 1 for a goodness-of-fit test). */
  readonly cells: number;
}

/** A Kolmogorov–Smirnov distance D and P(D >= observed | H0). */
export interface KsResult {
  readonly statistic: number;
  /** Sample size (one-sample), or the effective size n·m/(n+m) (two-sample). */
  readonly n: number;
  readonly pValue: number;
  /** How the p-value was computed. */
  readonly method: 'exact' | 'asymptotic';
}

// ---------------------------------------------------------------------------------------------
// Argument checks (noble style: the message names the argument)

function afiniteNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number, got ${String(value)}`);
  }
}

function apositiveInteger(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Special functions

/**
 * Lanczos coefficients for g = 7, n = 9 (the widely published set; relative error about 1e-15
 * for x >= 1/2).
 */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation; the reflection formula below 1/2). */
export function logGamma(x: number): number {
  afiniteNumber(x, 'x');
  if (!(x > 0)) throw new RangeError(`x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a), for a > 0 and x >= 0. */
export function gammaQ(a: number, x: number): number {
  afiniteNumber(a, 'a');
  if (!(a > 0)) throw new RangeError(`a must be > 0, got ${a}`);
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 0;
  afiniteNumber(x, 'x');
  return regularizedGamma(a, x, logGamma(a))[1];
}

/** P(X >= x) for X chi-square with `df` degrees of freedom: Q(df/2, x/2). */
export function chiSquareSurvival(x: number, df: number): number {
  apositiveInteger(df, 'df');
  if (Number.isNaN(x)) return NaN;
  return gammaQ(df / 2, Math.max(0, x) / 2);
}

/**
 * P(K > λ) for the Kolmogorov distribution K, the limit of √n·D_n. Two series of the same
 * function, each where it needs few terms:
 *   λ >= 1:  P(K > λ) = 2 Σ_{j>=1} (-1)^(j-1) e^(-2 j² λ²)
 *   λ <  1:  P(K <= λ) = (√(2π)/λ) Σ_{j>=1} e^(-(2j-1)² π² / (8 λ²))
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda <= 0) return 1;
  if (lambda === Infinity) return 0;
  if (lambda >= 1) {
    let sum = 0;
    for (let j = 1; j <= 100; j++) {
      const term = Math.exp(-2 * j * j * lambda * lambda);
      sum += j % 2 === 1 ? term : -term;
      if (term === 0 || term < 1e-17 * sum) break;
    }
    return Math.min(1, Math.max(0, 2 * sum));
  }
  const k = (Math.PI * Math.PI) / (8 * lambda * lambda);
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-(2 * j - 1) * (2 * j - 1) * k);
    sum += term;
    if (term === 0 || term < 1e-17 * sum) break;
  }
  return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
}

/** Largest sample size for which the exact one-sample KS distribution is computed. */
export const KS_EXACT_MAX_N = 100;

/**
 * P(D_n >= d) for the one-sample KS distance of n draws from a continuous distribution, exactly,
 * by Marsaglia, Tsang and Wang (2003, "Evaluating Kolmogorov's distribution", J. Stat. Softw. 8):
 * with k = ⌊n·d⌋ + 1, m = 2k - 1 and h = k - n·d, P(D_n < d) = n!/n^n · (H^n)[k-1][k-1] for the
 * m×m matrix H[i][j] = 1/(i - j + 1)! where i - j + 1 >= 0 (else 0), whose first column and last
 * row lose h^(i+1) and h^(m-j) and whose corner gains (2h - 1)^m when 2h > 1. The power is taken
 * by squaring, with a decimal exponent carried aside so that nothing overflows.
 * Cost O(m³ log n): used for n <= KS_EXACT_MAX_N.
 */
export function kolmogorovExactSurvival(n: number, d: number): number {
  apositiveInteger(n, 'n');
  if (Number.isNaN(d)) return NaN;
  if (d <= 1 / (2 * n)) return 1; // D_n >= 1/(2n) always
  if (d >= 1) return 0;
  // Ruben and Gambino: near the top the distribution has a closed form (and the matrix is big).
  if (d >= 1 - 1 / n) return 2 * (1 - d) ** n;
  const k = Math.floor(n * d) + 1;
  const m = 2 * k - 1;
  const h = k - n * d;
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) H[i * m + j] = i - j + 1 >= 0 ? 1 : 0;
  for (let i = 0; i < m; i++) {
    H[i * m]! -= h ** (i + 1);
    H[(m - 1) * m + i]! -= h ** (m - i);
  }
  if (2 * h - 1 > 0) H[(m - 1) * m]! += (2 * h - 1) ** m;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (i - j + 1 > 0) for (let g = 1; g <= i - j + 1; g++) H[i * m + j]! /= g;
    }
  }
  const [Q, exponent] = matrixPower(H, m, n);
  let s = Q[(k - 1) * m + (k - 1)]!;
  let e = exponent;
  for (let i = 1; i <= n; i++) {
    s = (s * i) / n;
    if (s < 1e-140) {
      s *= 1e140;
      e -= 140;
    }
  }
  const below = s * 10 ** e;
  return Math.min(1, Math.max(0, 1 - below));
}

function matrixMultiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const c = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const x = a[i * m + l]!;
      if (x === 0) continue;
      for (let j = 0; j < m; j++) c[i * m + j]! += x * b[l * m + j]!;
    }
  }
  return c;
}

/** A^p as [matrix, decimal exponent]: the true power is matrix · 10^exponent. */
function matrixPower(a: Float64Array, m: number, p: number): [Float64Array, number] {
  if (p === 1) return [a, 0];
  const [half, halfExponent] = matrixPower(a, m, Math.floor(p / 2));
  let result = matrixMultiply(half, half, m);
  let exponent = 2 * halfExponent;
  if (p % 2 === 1) result = matrixMultiply(a, result, m);
  const centre = Math.floor(m / 2);
  if (result[centre * m + centre]! > 1e140) {
    for (let i = 0; i < m * m; i++) result[i]! *= 1e-140;
    exponent += 140;
  }
  return [result, exponent];
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

/** What the one-sample test needs of a model distribution (src/shaping/distributions.ts has both). */
export interface CdfLike {
  /** P(X <= x). */
  cdf(x: number): number;
  /** P(X = x): 0 for a continuous distribution. */
  pmf(x: number): number;
}

/**
 * One-sample KS test of `samples` against a model F:  D = sup_x |F_n(x) - F(x)|.
 *
 * Exact for discrete and continuous F alike: both step functions are right-continuous, F_n jumps
 * only at sample values and is constant between them, so the supremum is reached at a sample
 * value v, either at v itself (|F_n(v) - F(v)|) or just below it (|F_n(v-) - F(v-)| with
 * F(v-) = F(v) - P(X = v)). Ties among samples are counted together. For integer packet lengths
 * against an integer-valued model this is the true distance over the integer grid.
 *
 * p-value: for n <= KS_EXACT_MAX_N the exact null distribution of D_n for a continuous F
 * (`kolmogorovExactSurvival`); above, the Kolmogorov limit with Stephens' correction
 * P(K > (√n + 0.12 + 0.11/√n)·D). When F is discrete the true null distribution of D is
 * stochastically smaller (Noether 1963; Conover 1972), so the p-value is conservative: a
 * conforming sample is rejected less often than alpha says, at some cost in power.
 */
export function ksOneSample(samples: ArrayLike<number>, model: CdfLike): KsResult {
  const n = samples.length;
  if (n === 0) throw new RangeError('samples must not be empty');
  const sorted = Float64Array.from(samples);
  for (let i = 0; i < n; i++) afiniteNumber(sorted[i], `samples[${i}]`);
  sorted.sort();
  let d = 0;
  let i = 0;
  while (i < n) {
    const v = sorted[i]!;
    const below = i / n;
    while (i < n && sorted[i] === v) i++;
    const atOrBelow = i / n;
    const f = model.cdf(v);
    const fBelow = f - model.pmf(v);
    d = Math.max(d, Math.abs(atOrBelow - f), Math.abs(below - fBelow));
  }
  return { statistic: d, n, ...ksOneSamplePValue(d, n) };
}

/** The p-value rule of `ksOneSample` for a distance d from n samples. */
export function ksOneSamplePValue(d: number, n: number): { pValue: number; method: 'exact' | 'asymptotic' } {
  apositiveInteger(n, 'n');
  if (n <= KS_EXACT_MAX_N) return { pValue: kolmogorovExactSurvival(n, d), method: 'exact' };
  const sn = Math.sqrt(n);
  return { pValue: kolmogorovSurvival((sn + 0.12 + 0.11 / sn) * d), method: 'asymptotic' };
}

/**
 * Asymptotic p-value of a two-sample KS distance as scipy's `ks_2samp` computed it before
 * version 1.3 (the version Wang et al. 2015 ran): with e = √(n·m/(n+m)),
 * P(K > (e + 0.12 + 0.11/e)·D).
 */
export function ksTwoSamplePValue(d: number, n: number, m: number): number {
  apositiveInteger(n, 'n');
  apositiveInteger(m, 'm');
  const e = Math.sqrt((n * m) / (n + m));
  return kolmogorovSurvival((e + 0.12 + 0.11 / e) * d);
}

/**
 * Two-sample KS test: D = sup_x |F_a(x) - F_b(x)| over the two right-continuous empirical cdfs
 * (every tied value is passed in both samples before the distance is taken), with the
 * asymptotic p-value of `ksTwoSamplePValue`.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n = x.length;
  const m = y.length;
  if (n === 0) throw new RangeError('a must not be empty');
  if (m === 0) throw new RangeError('b must not be empty');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return { statistic: d, n: (n * m) / (n + m), pValue: ksTwoSamplePValue(d, n, m), method: 'asymptotic' };
}

// ---------------------------------------------------------------------------------------------
// Chi-square

/** How `chiSquareTest` merges cells whose expected count is small. */
export type Pooling =
  /** Merge neighbours left to right (for ordered categories such as packet counts). */
  | 'adjacent'
  /** Merge the least likely cells together, smallest first (for unordered ones such as bytes). */
  | 'smallest';

/**
 * Pearson's goodness-of-fit test of observed counts O_i against cell probabilities p_i (summing
 * to 1): with n = Σ O_i and E_i = n·p_i, X² = Σ (O_i - E_i)²/E_i on (cells - 1) degrees of
 * freedom, no parameter being estimated from the data. X² is close to chi-square only when the
 * E_i are not small (Cochran: >= 5), so cells are pooled first until each merged cell expects at
 * least `minExpected`. A cell with p_i = 0 and O_i > 0 makes X² infinite (p-value 0).
 * With fewer than two cells left there is nothing to test: df = 0 and the p-value is 1.
 */
export function chiSquareTest(
  observed: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  options: { minExpected?: number; pooling?: Pooling } = {},
): ChiSquareResult {
  const minExpected = options.minExpected ?? 5;
  const pooling = options.pooling ?? 'adjacent';
  if (observed.length !== probabilities.length) throw new RangeError('observed and probabilities must have the same length');
  if (observed.length === 0) throw new RangeError('observed must not be empty');
  let n = 0;
  let total = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const p = probabilities[i]!;
    if (!(o >= 0) || !Number.isFinite(o)) throw new RangeError(`observed[${i}] must be a count >= 0, got ${o}`);
    if (!(p >= 0) || !Number.isFinite(p)) throw new RangeError(`probabilities[${i}] must be >= 0, got ${p}`);
    n += o;
    total += p;
  }
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`probabilities must sum to 1, got ${total}`);
  let impossible = false;
  const cellsO: number[] = [];
  const cellsE: number[] = [];
  for (let i = 0; i < observed.length; i++) {
    if (probabilities[i] === 0) {
      if (observed[i]! > 0) impossible = true;
      continue;
    }
    cellsO.push(observed[i]!);
    cellsE.push(n * probabilities[i]!);
  }
  const pooled = pooling === 'adjacent' ? poolAdjacent(cellsO, cellsE, minExpected) : poolSmallest(cellsO, cellsE, minExpected);
  const cells = pooled.observed.length;
  if (impossible) return { statistic: Infinity, df: Math.max(1, cells - 1), pValue: 0, n, cells };
  if (cells < 2 || n === 0) return { statistic: 0, df: 0, pValue: 1, n, cells };
  let statistic = 0;
  for (let i = 0; i < cells; i++) statistic += (pooled.observed[i]! - pooled.expected[i]!) ** 2 / pooled.expected[i]!;
  const df = cells - 1;
  return { statistic, df, pValue: chiSquareSurvival(statistic, df), n, cells };
}

/**
 * Merges neighbouring cells left to right until each expects >= min; a short tail joins the cell
 * before. (Also the conformance tests' pooling: test/support/stats.ts.)
 */
export function poolAdjacent(observed: ArrayLike<number>, expected: ArrayLike<number>, min: number): { observed: number[]; expected: number[] } {
  const o: number[] = [];
  const e: number[] = [];
  let po = 0;
  let pe = 0;
  for (let i = 0; i < observed.length; i++) {
    po += observed[i]!;
    pe += expected[i]!;
    if (pe >= min) {
      o.push(po);
      e.push(pe);
      po = 0;
      pe = 0;
    }
  }
  if (pe > 0 || po > 0) {
    if (o.length === 0) {
      o.push(po);
      e.push(pe);
    } else {
      o[o.length - 1]! += po;
      e[e.length - 1]! += pe;
    }
  }
  return { observed: o, expected: e };
}

/**
 * Takes the cells in order of increasing expected count and merges the small ones into groups
 * that expect >= min each; a last short group joins the smallest cell that was already big enough.
 */
function poolSmallest(observed: number[], expected: number[], min: number): { observed: number[]; expected: number[] } {
  const order = expected.map((_, i) => i).sort((a, b) => expected[a]! - expected[b]! || a - b);
  return poolAdjacent(order.map((i) => observed[i]!), order.map((i) => expected[i]!), min);
}

/** Total-variation distance ½ Σ |p_i - q_i| between two distributions given as probabilities. */
export function totalVariation(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError('p and q must have the same length');
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i]! - q[i]!);
  return s / 2;
}

// ---------------------------------------------------------------------------------------------
// Byte helpers for the censor detectors

const POPCOUNT: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (i & 1) + t[i >> 1]!;
  return t;
})();

/** Number of bits set in one byte (0..255). */
export function popcount8(byte: number): number {
  if (!Number.isInteger(byte) || byte < 0 || byte > 255) throw new RangeError(`byte must be an integer 0..255, got ${byte}`);
  return POPCOUNT[byte]!;
}

/** Total number of bits set in `bytes`. */
export function popcountBytes(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s += POPCOUNT[bytes[i]!]!;
  return s;
}

/**
 * Plug-in Shannon entropy in bits per byte, -Σ p_b log2 p_b over the byte frequencies of `bytes`
 * (what Wang et al.'s `entropy()` computes). 0 for an empty array.
 */
export function shannonEntropy(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  return entropyOfCounts(Array.from(counts), bytes.length);
}

/**
 * -Σ (c/n) log2(c/n) over the non-zero counts, summed in decreasing order of count so that equal
 * multisets of counts give bit-identical results (Wang's reference distribution relies on it).
 */
export function entropyOfCounts(counts: readonly number[], n: number): number {
  if (n === 0) return 0;
  const nz = counts.filter((c) => c > 0).sort((a, b) => b - a);
  let h = 0;
  for (const c of nz) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** True for printable ASCII, 0x20..0x7e (the set P of detection.md §1). */
export function isPrintable(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e;
}
