/**
 * Goodness-of-fit statistics for the shaping conformance tests (issue 3, "Tests that prove the
 * shaping"): Pearson chi-square (goodness of fit and homogeneity) and Kolmogorov–Smirnov (one
 * sample against an integer-valued model cdf, and two samples), with their p-values.
 *
 * Everything is written out here from the textbook formulas; each formula is stated where it is
 * used. The helpers are checked against closed forms and reference values at the top of
 * test/shaping-conformance.test.ts.
 * @module
 */
import { poolAdjacent } from '../../src/tools/stats.js';

/** A chi-square statistic, its degrees of freedom, and P(statistic >= observed | H0). */
export interface ChiSquareResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
}

/** A KS distance D, the (effective) sample size n it is scaled by, and P(D >= observed | H0). */
export interface KsResult {
  readonly statistic: number;
  readonly n: number;
  readonly pValue: number;
}


// ---------------------------------------------------------------------------------------------
// Special functions

/**
 * ln Γ(a) for a half-integer or integer a = k/2 >= 1/2 (chi-square needs only a = df/2).
 * Γ(n) = (n-1)! for an integer n, and Γ(n + 1/2) = √π · (1/2)(3/2)···(n - 1/2); summing the logs
 * is exact to rounding, so no Stirling or Lanczos series is needed.
 */
export function logGammaHalf(a: number): number {
  if (!Number.isInteger(2 * a) || a < 0.5) throw new RangeError(`a must be a positive multiple of 1/2, got ${a}`);
  let sum = 0;
  if (Number.isInteger(a)) {
    for (let i = 2; i < a; i++) sum += Math.log(i);
    return sum;
  }
  sum = 0.5 * Math.log(Math.PI);
  for (let t = 0.5; t < a; t++) sum += Math.log(t);
  return sum;
}

/**
 * The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a = k/2.
 *
 * Below x = a + 1 the power series of the lower function converges fast:
 *   P(a, x) = x^a e^-x / Γ(a + 1) · Σ_{n>=0} x^n / ((a+1)(a+2)···(a+n)),   Q = 1 - P
 * (Q is not small there, so the subtraction loses nothing that matters). Above it, Legendre's
 * continued fraction for Q keeps its relative precision far into the tail:
 *   Q(a, x) = x^a e^-x / Γ(a) · 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(x+5-a - ···)))
 * evaluated forward with the modified Lentz method (terms a_i = -i(i-a), b_i = x + 2i + 1 - a).
 */
export function upperGammaQ(a: number, x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  const logPrefix = a * Math.log(x) - x - logGammaHalf(a); // ln(x^a e^-x / Γ(a))
  if (x < a + 1) {
    let term = 1 / a; // the series above times a (1/Γ(a+1) = 1/(a Γ(a)))
    let sum = term;
    for (let n = 1; n < 100_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.max(0, 1 - sum * Math.exp(logPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}

/** P(X >= x) for X chi-square with `df` degrees of freedom: Q(df/2, x/2). */
export function chiSquareSurvival(x: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`df must be a positive integer, got ${df}`);
  return upperGammaQ(df / 2, x / 2);
}

/**
 * P(K > λ) for the Kolmogorov distribution K (the limit of √n·D_n). Two series of the same
 * function, each used where it converges in a few terms:
 *   λ >= 1:  P(K > λ) = 2 Σ_{j>=1} (-1)^(j-1) e^(-2 j² λ²)
 *   λ <  1:  P(K <= λ) = (√(2π) / λ) Σ_{j>=1} e^(-(2j-1)² π² / (8 λ²))
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda <= 0) return 1;
  if (lambda >= 1) {
    let sum = 0;
    for (let j = 1; j <= 100; j++) {
      const term = Math.exp(-2 * j * j * lambda * lambda);
      sum += j % 2 === 1 ? term : -term;
      if (term < 1e-300 || term < 1e-17 * Math.abs(sum)) break;
    }
    return Math.min(1, Math.max(0, 2 * sum));
  }
  let sum = 0;
  const k = (Math.PI * Math.PI) / (8 * lambda * lambda);
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-(2 * j - 1) * (2 * j - 1) * k);
    sum += term;
    if (term < 1e-17 * sum || term === 0) break;
  }
  return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
}

// ---------------------------------------------------------------------------------------------
// Chi-square

/**
 * Pearson's goodness-of-fit test of observed counts against cell probabilities p_i (which must
 * sum to 1 up to rounding): with n = Σ O_i and E_i = n·p_i,
 *   X² = Σ (O_i - E_i)² / E_i,   df = (cells) - 1   (no parameter is estimated from the data).
 * A cell with p_i = 0 must stay empty (X² is then infinite) and adds no degree of freedom.
 * Under H0, X² is approximately chi-square when every E_i is not small (Cochran: >= 5);
 * poolCells() merges cells to get there.
 */
export function chiSquareGoodnessOfFit(observed: ArrayLike<number>, probabilities: ArrayLike<number>): ChiSquareResult {
  if (observed.length !== probabilities.length) throw new RangeError('observed and probabilities differ in length');
  let n = 0;
  let total = 0;
  for (let i = 0; i < observed.length; i++) {
    n += observed[i]!;
    total += probabilities[i]!;
  }
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`probabilities sum to ${total}, not 1`);
  let statistic = 0;
  let cells = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = n * probabilities[i]!;
    if (expected === 0) {
      if (observed[i]! > 0) statistic = Infinity;
      continue;
    }
    cells++;
    statistic += (observed[i]! - expected) ** 2 / expected;
  }
  const df = cells - 1;
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}

/**
 * Merges neighbouring cells, left to right, until each merged cell expects at least
 * `minExpected` counts (the last short run joins the cell before it): the capture tools' pooling.
 */
export function poolCells(
  observed: ArrayLike<number>,
  expected: ArrayLike<number>,
  minExpected = 5,
): { observed: number[]; expected: number[] } {
  return poolAdjacent(observed, expected, minExpected);
}

/**
 * Pearson's test of homogeneity (are the rows samples of one distribution over the columns?).
 * With row totals R_i, column totals C_j and N = Σ R_i, under H0 E_ij = R_i·C_j / N and
 *   X² = Σ_ij (O_ij - E_ij)² / E_ij,   df = (rows - 1)(columns - 1),
 * the common distribution being estimated from the margins (that is where the columns' -1 goes).
 * Columns with no counts at all are dropped; use poolColumns() first when some E_ij are small.
 */
export function chiSquareHomogeneity(table: readonly ArrayLike<number>[]): ChiSquareResult {
  const rows = table.length;
  if (rows < 2) throw new RangeError('need at least two rows');
  const width = table[0]!.length;
  if (table.some((row) => row.length !== width)) throw new RangeError('rows differ in length');
  const rowTotals = table.map((row) => Array.from(row).reduce((s, v) => s + v, 0));
  const columnTotals = new Array<number>(width).fill(0);
  for (const row of table) for (let j = 0; j < width; j++) columnTotals[j]! += row[j]!;
  const total = rowTotals.reduce((s, v) => s + v, 0);
  if (rowTotals.some((r) => r === 0)) throw new RangeError('a row has no counts');
  let statistic = 0;
  let columns = 0;
  for (let j = 0; j < width; j++) {
    if (columnTotals[j] === 0) continue;
    columns++;
    for (let i = 0; i < rows; i++) {
      const expected = (rowTotals[i]! * columnTotals[j]!) / total;
      statistic += (table[i]![j]! - expected) ** 2 / expected;
    }
  }
  const df = (rows - 1) * (columns - 1);
  return { statistic, df, pValue: df > 0 ? chiSquareSurvival(statistic, df) : 1 };
}

/**
 * Merges neighbouring columns of a contingency table, left to right, until the smallest expected
 * count of each merged column (smallest row total × column total / N) is at least `minExpected`.
 */
export function poolColumns(table: readonly ArrayLike<number>[], minExpected = 5): number[][] {
  const width = table[0]!.length;
  const rowTotals = table.map((row) => Array.from(row).reduce((s, v) => s + v, 0));
  const total = rowTotals.reduce((s, v) => s + v, 0);
  const smallestRow = Math.min(...rowTotals);
  const pooled: number[][] = table.map(() => []);
  const pending = table.map(() => 0);
  const flush = (into: 'new' | 'last'): void => {
    for (let i = 0; i < table.length; i++) {
      const row = pooled[i]!;
      if (into === 'new' || row.length === 0) row.push(pending[i]!);
      else row[row.length - 1]! += pending[i]!;
      pending[i] = 0;
    }
  };
  for (let j = 0; j < width; j++) {
    for (let i = 0; i < table.length; i++) pending[i]! += table[i]![j]!;
    const columnTotal = pending.reduce((s, v) => s + v, 0);
    if ((smallestRow * columnTotal) / total >= minExpected) flush('new');
  }
  if (pending.some((v) => v > 0)) flush('last');
  return pooled;
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

/**
 * One-sample KS statistic of integer-valued samples against an integer-valued model cdf F:
 *   D = sup_x |F_n(x) - F(x)|,   F_n(x) = #{samples <= x} / n.
 * Both F_n and F are right-continuous step functions that only jump at integers, so the
 * supremum over the reals is a maximum over integers x (the left limit at x is the value at
 * x - 1). Below the smallest sample F_n = 0 and |F| is largest at min - 1; from the largest
 * sample on F_n = 1 and |1 - F| is largest at max. So D = max over x in [min - 1, max].
 * Ties are therefore handled exactly: the statistic is the true sup distance of the two step
 * functions, with all tied samples counted at once.
 *
 * p-value: the asymptotic Kolmogorov distribution, P(K > √n·D). For a continuous F this is
 * slightly conservative at finite n. For a discrete F the true null distribution of D is
 * stochastically smaller than in the continuous case (Noether 1963; Conover 1972), so this
 * p-value is conservative again: the test rejects a conforming sample even less often than
 * alpha, at the price of some power.
 */
export function ksOneSampleInteger(samples: ArrayLike<number>, cdf: (x: number) => number): KsResult {
  const n = samples.length;
  if (n === 0) throw new RangeError('no samples');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = samples[i]!;
    if (!Number.isInteger(v)) throw new RangeError(`sample ${i} is not an integer: ${v}`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi - lo > 1 << 24) throw new RangeError('sample range too wide for an integer grid');
  const counts = new Float64Array(hi - lo + 1);
  for (let i = 0; i < n; i++) counts[samples[i]! - lo]! += 1;
  let d = Math.abs(cdf(lo - 1)); // F_n(lo - 1) = 0
  let below = 0;
  for (let x = lo; x <= hi; x++) {
    below += counts[x - lo]!;
    d = Math.max(d, Math.abs(below / n - cdf(x)));
  }
  return { statistic: d, n, pValue: kolmogorovSurvival(Math.sqrt(n) * d) };
}

/**
 * Two-sample KS statistic D = sup_x |F_a(x) - F_b(x)| over the two empirical cdfs. Walking both
 * sorted samples together, every distinct value is passed in both samples before the distance
 * is taken, so ties (within and across samples) count as the step functions say.
 * p-value: P(K > √(n_a n_b / (n_a + n_b)) · D), asymptotic; conservative for discrete data as
 * above.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new RangeError('no samples');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const effective = (n * m) / (n + m);
  return { statistic: d, n: effective, pValue: kolmogorovSurvival(Math.sqrt(effective) * d) };
}
