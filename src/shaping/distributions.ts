/**
 * Probability distributions for Dust models: packet length, packets per second and connection
 * duration (seed "Shaping Features"; DECISIONS.md "Shaping"; docs/models.md).
 *
 * Every distribution can be sampled with the shaping CSPRNG and also answers `cdf`, `pmf` and
 * `mean` exactly (to double precision), so that later tests can run Kolmogorov–Smirnov and
 * chi-square checks of observed traffic against the model. Sampling is exact for each family:
 * Box–Muller for the normal, inversion for the exponential, and for the Poisson inversion below
 * mean 10 and Hörmann's transformed rejection with squeeze (PTRS, 1993) above, which stays O(1)
 * for a mean of 10,000 or 10^8 (Knuth's product loop would need `mean` uniforms per sample and
 * underflows e^-mean).
 *
 * Two wrappers turn a family into a model quantity:
 * - `roundedTruncated`: integer quantities (bytes, packets). A sample is rounded to the nearest
 *   integer (halves up, `Math.round`) and drawn again until it lies in [lo, hi].
 * - `truncated`: real quantities (milliseconds). A sample is drawn again until it lies in [lo, hi].
 * Redrawing is exact conditioning, and the cdf/pmf/mean of the wrapped distribution say so. A
 * wrapper refuses a base that puts less than `MIN_ACCEPTANCE` of its mass in range, so the redraw
 * loop ends after a few tries in practice.
 * @module
 */
import type { ShapingRng } from './prng.js';

/** The JSON family names of docs/models.md. */
export type DistributionFamily = 'fixed' | 'uniform' | 'normal' | 'exponential' | 'poisson' | 'histogram';

/** A univariate distribution over the reals (some are integer-valued). */
export interface Distribution {
  /** The family it was built from (a wrapper reports its base's family). */
  readonly family: DistributionFamily;
  /** True when all the mass sits on countably many points (pmf sums to 1). */
  readonly discrete: boolean;
  /** True when every value it can produce is an integer. */
  readonly integer: boolean;
  /** Smallest and largest value it can produce (may be infinite). */
  readonly min: number;
  readonly max: number;
  /** Expected value. */
  readonly mean: number;
  /** Draws one value. */
  sample(rng: ShapingRng): number;
  /** P(X <= x). */
  cdf(x: number): number;
  /** P(X = x): 0 everywhere for a continuous distribution. */
  pmf(x: number): number;
  /** P(lo <= X <= hi), computed without cancellation in the tails where it matters. */
  probabilityBetween(lo: number, hi: number): number;
  /** E[X | lo <= X <= hi]; NaN when that event has probability 0. */
  meanBetween(lo: number, hi: number): number;
}

/** A wrapper refuses a base distribution with less than this much mass in range. */
export const MIN_ACCEPTANCE = 0.01;
/**
 * Redraws before a wrapper gives up. With at least MIN_ACCEPTANCE in range, running out has
 * probability below 0.99^10000 ≈ 2e-44, so it is a BUG, not an input error.
 */
const MAX_TRIES = 10_000;
/** Most integers a rounded wrapper may cover (its mean is a sum over them). */
export const MAX_INTEGER_SPAN = 1 << 20;
/** Largest Poisson mean accepted (sums and continued fractions stay fast below it). */
export const MAX_POISSON_MEAN = 1e8;

// ---------------------------------------------------------------------------------------------
// Special functions

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** ln(k!) for k < 256, summed once. */
const LOG_FACTORIAL_TABLE: Float64Array = (() => {
  const t = new Float64Array(256);
  for (let k = 2; k < 256; k++) t[k] = t[k - 1]! + Math.log(k);
  return t;
})();

/** ln(k!) for an integer k >= 0: a table, then Stirling's series (error < 1e-17 relative). */
export function logFactorial(k: number): number {
  if (k < 256) return LOG_FACTORIAL_TABLE[k]!;
  const n = k;
  const inv = 1 / n;
  const inv2 = inv * inv;
  return (n + 0.5) * Math.log(n) - n + LN_SQRT_2PI
    + inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)));
}

function normalDensity(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/**
 * Q(z) = P(Z > z) for a standard normal Z, with full relative precision in the upper tail:
 * Taylor series of Φ below 3, Laplace's continued fraction above (checked against scipy to ~1e-14).
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z < 0) return 1 - normalUpperTail(-z);
  if (z < 3) {
    // Φ(z) - 1/2 = φ(z) (z + z^3/3 + z^5/(3·5) + ...), all terms positive.
    let term = z;
    let sum = z;
    const z2 = z * z;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= z2 / (2 * n + 1);
      sum += term;
    }
    return 0.5 - normalDensity(z) * sum;
  }
  if (z > 40) return 0;
  // Q(z) = φ(z) / (z + 1/(z + 2/(z + 3/(z + ...)))), evaluated from the inside out.
  let t = z;
  for (let k = 50; k >= 1; k--) t = z + k / t;
  return normalDensity(z) / t;
}

/**
 * Regularized incomplete gamma functions [P(a, x), Q(a, x)] for a > 0 and x >= 0, given ln Γ(a)
 * (exact for the integer a of the Poisson cdf; src/tools/stats.ts passes Lanczos for chi-square's
 * half-integers): the power series when x < a + 1, else the continued fraction for Q by the
 * modified Lentz method. The smaller of the two is computed directly, so it keeps its relative
 * precision.
 */
export function regularizedGamma(a: number, x: number, logGammaOfA: number): [number, number] {
  if (x <= 0) return [0, 1];
  const logPrefix = -x + a * Math.log(x) - logGammaOfA; // x^a e^-x / Γ(a)
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1_000_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    const p = Math.min(1, sum * Math.exp(logPrefix));
    return [p, 1 - p];
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1_000_000; i++) {
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
  const q = Math.min(1, Math.exp(logPrefix) * h);
  return [1 - q, q];
}

// ---------------------------------------------------------------------------------------------
// Argument checks (programmer errors: the model validator reports bad files before this point)

function afinite(value: number, title: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${title} must be a finite number, got ${String(value)}`);
  }
  return value;
}

function apositive(value: number, title: string): number {
  afinite(value, title);
  if (!(value > 0)) throw new RangeError(`${title} must be > 0, got ${value}`);
  return value;
}

function aintegerValue(value: number, title: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`${title} must be a safe integer, got ${String(value)}`);
  }
  return value;
}

function nonNegativeWeights(weights: readonly number[], title: string): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    afinite(w, `${title}[${i}]`);
    if (w < 0) throw new RangeError(`${title}[${i}] must be >= 0, got ${w}`);
    total += w;
  }
  if (!(total > 0) || !Number.isFinite(total)) {
    throw new RangeError(`${title} must have a finite, non-zero sum`);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Families

/** Shared parts: the generic probabilityBetween from cdf and pmf. */
abstract class Base implements Distribution {
  abstract readonly family: DistributionFamily;
  abstract readonly discrete: boolean;
  abstract readonly integer: boolean;
  abstract readonly min: number;
  abstract readonly max: number;
  abstract readonly mean: number;
  abstract sample(rng: ShapingRng): number;
  abstract cdf(x: number): number;
  abstract pmf(x: number): number;
  abstract meanBetween(lo: number, hi: number): number;

  probabilityBetween(lo: number, hi: number): number {
    if (!(lo <= hi)) return 0;
    return clamp01(this.cdf(hi) - this.cdf(lo) + this.pmf(lo));
  }
}

function clamp01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

class Fixed extends Base {
  readonly family = 'fixed';
  readonly discrete = true;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  constructor(readonly value: number) {
    super();
    afinite(value, 'value');
    this.integer = Number.isInteger(value);
    this.min = this.max = this.mean = value;
  }
  sample(): number {
    return this.value;
  }
  cdf(x: number): number {
    return x >= this.value ? 1 : 0;
  }
  pmf(x: number): number {
    return x === this.value ? 1 : 0;
  }
  meanBetween(lo: number, hi: number): number {
    return lo <= this.value && this.value <= hi ? this.value : NaN;
  }
}

class UniformReal extends Base {
  readonly family = 'uniform';
  readonly discrete = false;
  readonly integer = false;
  readonly mean: number;
  constructor(readonly min: number, readonly max: number) {
    super();
    afinite(min, 'min');
    afinite(max, 'max');
    if (!(min < max)) throw new RangeError(`min must be < max, got ${min} and ${max}`);
    this.mean = min / 2 + max / 2;
  }
  sample(rng: ShapingRng): number {
    return this.min + (this.max - this.min) * rng.nextFloat();
  }
  cdf(x: number): number {
    return clamp01((x - this.min) / (this.max - this.min));
  }
  pmf(): number {
    return 0;
  }
  meanBetween(lo: number, hi: number): number {
    const a = Math.max(lo, this.min);
    const b = Math.min(hi, this.max);
    return a <= b ? a / 2 + b / 2 : NaN;
  }
}

class UniformInteger extends Base {
  readonly family: DistributionFamily;
  readonly discrete = true;
  readonly integer = true;
  readonly mean: number;
  readonly #count: number;
  constructor(readonly min: number, readonly max: number, family: DistributionFamily = 'uniform') {
    super();
    aintegerValue(min, 'min');
    aintegerValue(max, 'max');
    if (!(min <= max)) throw new RangeError(`min must be <= max, got ${min} and ${max}`);
    if (max - min + 1 > 2 ** 53) throw new RangeError('an integer uniform may cover at most 2^53 values');
    this.family = family;
    this.#count = max - min + 1;
    this.mean = min / 2 + max / 2;
  }
  sample(rng: ShapingRng): number {
    return this.min + rng.nextBelow(this.#count);
  }
  cdf(x: number): number {
    if (x < this.min) return 0;
    if (x >= this.max) return 1;
    return (Math.floor(x) - this.min + 1) / this.#count;
  }
  pmf(x: number): number {
    return Number.isInteger(x) && x >= this.min && x <= this.max ? 1 / this.#count : 0;
  }
  meanBetween(lo: number, hi: number): number {
    const a = Math.max(this.min, Math.ceil(lo));
    const b = Math.min(this.max, Math.floor(hi));
    return a <= b ? a / 2 + b / 2 : NaN;
  }
}

class Normal extends Base {
  readonly family = 'normal';
  readonly discrete = false;
  readonly integer = false;
  readonly min = -Infinity;
  readonly max = Infinity;
  constructor(readonly mean: number, readonly stddev: number) {
    super();
    afinite(mean, 'mean');
    apositive(stddev, 'stddev');
  }
  sample(rng: ShapingRng): number {
    // Box–Muller; 1 - u lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - rng.nextFloat()));
    return this.mean + this.stddev * r * Math.cos(2 * Math.PI * rng.nextFloat());
  }
  cdf(x: number): number {
    return normalUpperTail((this.mean - x) / this.stddev);
  }
  pmf(): number {
    return 0;
  }
  override probabilityBetween(lo: number, hi: number): number {
    if (!(lo <= hi)) return 0;
    const a = (lo - this.mean) / this.stddev;
    const b = (hi - this.mean) / this.stddev;
    // Subtract the two small tails, never two numbers close to 1.
    if (a >= 0) return clamp01(normalUpperTail(a) - normalUpperTail(b));
    if (b <= 0) return clamp01(normalUpperTail(-b) - normalUpperTail(-a));
    return clamp01(1 - normalUpperTail(-a) - normalUpperTail(b));
  }
  meanBetween(lo: number, hi: number): number {
    const z = this.probabilityBetween(lo, hi);
    if (!(z > 0)) return NaN;
    const a = (lo - this.mean) / this.stddev;
    const b = (hi - this.mean) / this.stddev;
    const da = Number.isFinite(a) ? normalDensity(a) : 0;
    const db = Number.isFinite(b) ? normalDensity(b) : 0;
    return Math.min(hi, Math.max(lo, this.mean + (this.stddev * (da - db)) / z));
  }
}

class Exponential extends Base {
  readonly family = 'exponential';
  readonly discrete = false;
  readonly integer = false;
  readonly min = 0;
  readonly max = Infinity;
  constructor(readonly mean: number) {
    super();
    apositive(mean, 'mean');
  }
  sample(rng: ShapingRng): number {
    return -this.mean * Math.log(1 - rng.nextFloat());
  }
  cdf(x: number): number {
    return x <= 0 ? 0 : -Math.expm1(-x / this.mean);
  }
  pmf(): number {
    return 0;
  }
  override probabilityBetween(lo: number, hi: number): number {
    const a = Math.max(lo, 0);
    if (!(a <= hi)) return 0;
    // e^-a/m (1 - e^-(hi-a)/m): no cancellation far out in the tail.
    return clamp01(Math.exp(-a / this.mean) * -Math.expm1(-(hi - a) / this.mean));
  }
  meanBetween(lo: number, hi: number): number {
    const a = Math.max(lo, 0);
    if (!(a <= hi) || !(this.probabilityBetween(a, hi) > 0)) return NaN;
    // Memoryless: X - a given X >= a is exponential again, truncated at w = hi - a.
    const w = hi - a;
    if (w === Infinity) return a + this.mean;
    if (w === 0) return a;
    const t = w / this.mean;
    return a + this.mean - (w * Math.exp(-t)) / -Math.expm1(-t);
  }
}

class Poisson extends Base {
  readonly family = 'poisson';
  readonly discrete = true;
  readonly integer = true;
  readonly min = 0;
  readonly max = Infinity;
  readonly #logMean: number;
  // PTRS constants (Hörmann 1993, "The transformed rejection method for generating Poisson
  // random variables", Insurance: Mathematics and Economics 12).
  readonly #b: number;
  readonly #a: number;
  readonly #invAlpha: number;
  readonly #vr: number;
  constructor(readonly mean: number) {
    super();
    apositive(mean, 'mean');
    if (mean > MAX_POISSON_MEAN) throw new RangeError(`mean must be <= ${MAX_POISSON_MEAN}, got ${mean}`);
    this.#logMean = Math.log(mean);
    this.#b = 0.931 + 2.53 * Math.sqrt(mean);
    this.#a = -0.059 + 0.02483 * this.#b;
    this.#invAlpha = 1.1239 + 1.1328 / (this.#b - 3.4);
    this.#vr = 0.9277 - 3.6224 / (this.#b - 2);
  }
  sample(rng: ShapingRng): number {
    return this.mean < 10 ? this.#sampleInversion(rng) : this.#samplePtrs(rng);
  }
  #sampleInversion(rng: ShapingRng): number {
    for (;;) {
      const u = rng.nextFloat();
      let p = Math.exp(-this.mean);
      let cumulative = p;
      for (let k = 0; k < 200; k++) {
        if (u < cumulative) return k;
        p *= this.mean / (k + 1);
        cumulative += p;
      }
      // The sum fell short of u by rounding (u within ~1e-16 of 1): draw again.
    }
  }
  #samplePtrs(rng: ShapingRng): number {
    const a = this.#a;
    const b = this.#b;
    for (;;) {
      const u = rng.nextFloat() - 0.5;
      const v = rng.nextFloat();
      const us = 0.5 - Math.abs(u);
      if (us === 0) continue;
      const k = Math.floor(((2 * a) / us + b) * u + this.mean + 0.43);
      if (us >= 0.07 && v <= this.#vr) return k; // the squeeze: inside the acceptance region
      if (k < 0 || (us < 0.013 && v > us)) continue;
      const lhs = Math.log((v * this.#invAlpha) / (a / (us * us) + b));
      if (lhs <= -this.mean + k * this.#logMean - logFactorial(k)) return k;
    }
  }
  cdf(x: number): number {
    if (x < 0) return 0;
    if (x === Infinity) return 1;
    return regularizedGamma(Math.floor(x) + 1, this.mean, logFactorial(Math.floor(x)))[1];
  }
  /** P(X > x). */
  #survival(x: number): number {
    if (x < 0) return 1;
    if (x === Infinity) return 0;
    return regularizedGamma(Math.floor(x) + 1, this.mean, logFactorial(Math.floor(x)))[0];
  }
  pmf(x: number): number {
    if (!Number.isInteger(x) || x < 0) return 0;
    return Math.exp(x * this.#logMean - this.mean - logFactorial(x));
  }
  override probabilityBetween(lo: number, hi: number): number {
    const a = Math.max(0, Math.ceil(lo));
    const b = Math.floor(hi);
    if (!(a <= b)) return 0;
    // P(a <= X <= b): subtract whichever pair of tails is small.
    if (a > this.mean) return clamp01(this.#survival(a - 1) - this.#survival(b));
    return clamp01(this.cdf(b) - this.cdf(a - 1));
  }
  meanBetween(lo: number, hi: number): number {
    const a = Math.max(0, Math.ceil(lo));
    const b = Math.floor(hi);
    const z = this.probabilityBetween(a, b);
    if (!(z > 0)) return NaN;
    // k·pmf(k) = mean·pmf(k-1), so E[X; a <= X <= b] = mean·P(a-1 <= X <= b-1).
    return Math.min(b, Math.max(a, (this.mean * this.probabilityBetween(a - 1, b - 1)) / z));
  }
}

/** Finitely many values with weights (the `values` part of a histogram). */
class Categorical extends Base {
  readonly family = 'histogram';
  readonly discrete = true;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Distinct values, ascending, each with non-zero weight. */
  readonly #values: Float64Array;
  /** Running sums of weight and of weight·value, in the same order. */
  readonly #cumWeight: Float64Array;
  readonly #cumMoment: Float64Array;
  readonly #total: number;

  constructor(values: readonly number[], weights: readonly number[]) {
    super();
    if (!Array.isArray(values) || !Array.isArray(weights) || values.length !== weights.length) {
      throw new TypeError('values and weights must be arrays of the same length');
    }
    values.forEach((v, i) => afinite(v, `values[${i}]`));
    nonNegativeWeights(weights, 'weights');
    const merged = new Map<number, number>();
    values.forEach((v, i) => {
      if (weights[i]! > 0) merged.set(v, (merged.get(v) ?? 0) + weights[i]!);
    });
    const sorted = [...merged.keys()].sort((x, y) => x - y);
    const n = sorted.length;
    this.#values = Float64Array.from(sorted);
    this.#cumWeight = new Float64Array(n);
    this.#cumMoment = new Float64Array(n);
    let w = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const weight = merged.get(sorted[i]!)!;
      w += weight;
      m += weight * sorted[i]!;
      this.#cumWeight[i] = w;
      this.#cumMoment[i] = m;
    }
    this.#total = w;
    this.integer = sorted.every((v) => Number.isInteger(v));
    this.min = sorted[0]!;
    this.max = sorted[n - 1]!;
    this.mean = m / w;
  }
  sample(rng: ShapingRng): number {
    // First index whose running weight exceeds u; u < total, so one always does.
    const u = rng.nextFloat() * this.#total;
    const cum = this.#cumWeight;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return this.#values[lo]!;
  }
  /** Number of values <= x. */
  #countAtMost(x: number): number {
    const v = this.#values;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Number of values < x. */
  #countBelow(x: number): number {
    const v = this.#values;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  cdf(x: number): number {
    const i = this.#countAtMost(x);
    return i === 0 ? 0 : this.#cumWeight[i - 1]! / this.#total;
  }
  pmf(x: number): number {
    const i = this.#countBelow(x);
    if (i >= this.#values.length || this.#values[i] !== x) return 0;
    const before = i === 0 ? 0 : this.#cumWeight[i - 1]!;
    return (this.#cumWeight[i]! - before) / this.#total;
  }
  override probabilityBetween(lo: number, hi: number): number {
    const [w] = this.#sumsBetween(lo, hi);
    return clamp01(w / this.#total);
  }
  meanBetween(lo: number, hi: number): number {
    const [w, m] = this.#sumsBetween(lo, hi);
    return w > 0 ? m / w : NaN;
  }
  #sumsBetween(lo: number, hi: number): [number, number] {
    if (!(lo <= hi)) return [0, 0];
    const i = this.#countBelow(lo);
    const j = this.#countAtMost(hi);
    if (j <= i) return [0, 0];
    const w0 = i === 0 ? 0 : this.#cumWeight[i - 1]!;
    const m0 = i === 0 ? 0 : this.#cumMoment[i - 1]!;
    return [this.#cumWeight[j - 1]! - w0, this.#cumMoment[j - 1]! - m0];
  }
}

/**
 * A weighted mixture (a histogram with bins: one component per bin, plus its point values).
 * Sampling scans the running sums linearly: histograms have few bins, and their values are one
 * component searched in O(log n).
 */
class Mixture extends Base {
  readonly family = 'histogram';
  readonly discrete: boolean;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly #components: Distribution[];
  /** Mixing probabilities, and their running sums for sampling. */
  readonly #p: Float64Array;
  readonly #cum: Float64Array;

  constructor(components: readonly Distribution[], weights: readonly number[]) {
    super();
    if (components.length !== weights.length || components.length === 0) {
      throw new TypeError('components and weights must be non-empty arrays of the same length');
    }
    const total = nonNegativeWeights(weights, 'weights');
    const kept = components.map((c, i) => [c, weights[i]! / total] as const).filter(([, p]) => p > 0);
    this.#components = kept.map(([c]) => c);
    this.#p = Float64Array.from(kept.map(([, p]) => p));
    this.#cum = new Float64Array(kept.length);
    let s = 0;
    kept.forEach(([, p], i) => (this.#cum[i] = s += p));
    this.discrete = this.#components.every((c) => c.discrete);
    this.integer = this.#components.every((c) => c.integer);
    this.min = Math.min(...this.#components.map((c) => c.min));
    this.max = Math.max(...this.#components.map((c) => c.max));
    this.mean = kept.reduce((acc, [c, p]) => acc + p * c.mean, 0);
  }
  sample(rng: ShapingRng): number {
    const u = rng.nextFloat() * this.#cum[this.#cum.length - 1]!;
    let i = 0;
    while (i < this.#cum.length - 1 && this.#cum[i]! <= u) i++;
    return this.#components[i]!.sample(rng);
  }
  cdf(x: number): number {
    let s = 0;
    for (let i = 0; i < this.#components.length; i++) s += this.#p[i]! * this.#components[i]!.cdf(x);
    return clamp01(s);
  }
  pmf(x: number): number {
    let s = 0;
    for (let i = 0; i < this.#components.length; i++) s += this.#p[i]! * this.#components[i]!.pmf(x);
    return s;
  }
  override probabilityBetween(lo: number, hi: number): number {
    let s = 0;
    for (let i = 0; i < this.#components.length; i++) {
      s += this.#p[i]! * this.#components[i]!.probabilityBetween(lo, hi);
    }
    return clamp01(s);
  }
  meanBetween(lo: number, hi: number): number {
    let mass = 0;
    let moment = 0;
    for (let i = 0; i < this.#components.length; i++) {
      const m = this.#p[i]! * this.#components[i]!.probabilityBetween(lo, hi);
      if (m > 0) {
        mass += m;
        moment += m * this.#components[i]!.meanBetween(lo, hi);
      }
    }
    return mass > 0 ? moment / mass : NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Wrappers that turn a family into a model quantity

/** P(lo <= round(X) <= hi) for integers lo, hi; round = Math.round (halves go up). */
export function roundedProbability(base: Distribution, lo: number, hi: number): number {
  if (!(lo <= hi)) return 0;
  if (base.integer) return base.probabilityBetween(lo, hi);
  // round(X) in [lo, hi]  <=>  lo - 1/2 <= X < hi + 1/2
  return clamp01(base.probabilityBetween(lo - 0.5, hi + 0.5) - base.pmf(hi + 0.5));
}

class RoundedTruncated implements Distribution {
  readonly family: DistributionFamily;
  readonly discrete = true;
  readonly integer = true;
  readonly min: number;
  readonly max: number;
  /** P(lo <= round(X) <= hi): the chance that one draw is accepted. */
  readonly acceptance: number;
  #mean: number | undefined;

  constructor(readonly base: Distribution, readonly lo: number, readonly hi: number) {
    aintegerValue(lo, 'lo');
    aintegerValue(hi, 'hi');
    if (!(lo <= hi) || hi - lo + 1 > MAX_INTEGER_SPAN) {
      throw new RangeError(`[lo, hi] must hold 1..${MAX_INTEGER_SPAN} integers, got [${lo}, ${hi}]`);
    }
    this.family = base.family;
    this.acceptance = roundedProbability(base, lo, hi);
    if (!(this.acceptance >= MIN_ACCEPTANCE)) {
      throw new RangeError(
        `the distribution puts ${formatPercent(this.acceptance)} of its mass in ${lo}..${hi}` +
          ` after rounding; at least ${formatPercent(MIN_ACCEPTANCE)} is needed`,
      );
    }
    this.min = Math.max(lo, Math.round(base.min));
    this.max = Math.min(hi, Math.round(base.max));
  }
  get mean(): number {
    // Lazy: a continuous base needs a sum over up to MAX_INTEGER_SPAN integers.
    this.#mean ??= this.meanBetween(this.lo, this.hi);
    return this.#mean;
  }
  sample(rng: ShapingRng): number {
    for (let i = 0; i < MAX_TRIES; i++) {
      const k = Math.round(this.base.sample(rng));
      if (k >= this.lo && k <= this.hi) return k;
    }
    throw new Error(`BUG: no sample in ${this.lo}..${this.hi} after ${MAX_TRIES} tries`);
  }
  cdf(x: number): number {
    if (x < this.lo) return 0;
    if (x >= this.hi) return 1;
    return clamp01(roundedProbability(this.base, this.lo, Math.floor(x)) / this.acceptance);
  }
  pmf(x: number): number {
    if (!Number.isInteger(x) || x < this.lo || x > this.hi) return 0;
    return roundedProbability(this.base, x, x) / this.acceptance;
  }
  probabilityBetween(lo: number, hi: number): number {
    const a = Math.max(this.lo, Math.ceil(lo));
    const b = Math.min(this.hi, Math.floor(hi));
    return clamp01(roundedProbability(this.base, a, b) / this.acceptance);
  }
  meanBetween(lo: number, hi: number): number {
    const a = Math.max(this.lo, Math.ceil(lo), Math.round(this.base.min));
    const b = Math.min(this.hi, Math.floor(hi), Math.round(this.base.max));
    if (!(a <= b)) return NaN;
    if (this.base.integer) return this.base.meanBetween(a, b);
    // Σ k·P(round X = k), with P(X < k + 1/2) computed once per k.
    let below = this.#probabilityBelow(a - 0.5);
    let mass = 0;
    let moment = 0;
    for (let k = a; k <= b; k++) {
      const next = this.#probabilityBelow(k + 0.5);
      const p = next - below;
      mass += p;
      moment += k * p;
      below = next;
    }
    return mass > 0 ? Math.min(b, Math.max(a, moment / mass)) : NaN;
  }
  #probabilityBelow(x: number): number {
    return this.base.cdf(x) - this.base.pmf(x);
  }
}

class Truncated implements Distribution {
  readonly family: DistributionFamily;
  readonly discrete: boolean;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** P(lo <= X <= hi): the chance that one draw is accepted. */
  readonly acceptance: number;

  constructor(readonly base: Distribution, readonly lo: number, readonly hi: number) {
    afinite(lo, 'lo');
    afinite(hi, 'hi');
    if (!(lo <= hi)) throw new RangeError(`lo must be <= hi, got ${lo} and ${hi}`);
    this.family = base.family;
    this.discrete = base.discrete;
    this.integer = base.integer;
    this.acceptance = base.probabilityBetween(lo, hi);
    if (!(this.acceptance >= MIN_ACCEPTANCE)) {
      throw new RangeError(
        `the distribution puts ${formatPercent(this.acceptance)} of its mass in ${lo}..${hi};` +
          ` at least ${formatPercent(MIN_ACCEPTANCE)} is needed`,
      );
    }
    this.min = Math.max(lo, base.min);
    this.max = Math.min(hi, base.max);
    this.mean = base.meanBetween(lo, hi);
  }
  sample(rng: ShapingRng): number {
    for (let i = 0; i < MAX_TRIES; i++) {
      const x = this.base.sample(rng);
      if (x >= this.lo && x <= this.hi) return x;
    }
    throw new Error(`BUG: no sample in ${this.lo}..${this.hi} after ${MAX_TRIES} tries`);
  }
  cdf(x: number): number {
    if (x < this.lo) return 0;
    if (x >= this.hi) return 1;
    return clamp01(this.base.probabilityBetween(this.lo, x) / this.acceptance);
  }
  pmf(x: number): number {
    return x < this.lo || x > this.hi ? 0 : this.base.pmf(x) / this.acceptance;
  }
  probabilityBetween(lo: number, hi: number): number {
    return clamp01(this.base.probabilityBetween(Math.max(lo, this.lo), Math.min(hi, this.hi)) / this.acceptance);
  }
  meanBetween(lo: number, hi: number): number {
    return this.base.meanBetween(Math.max(lo, this.lo), Math.min(hi, this.hi));
  }
}

function formatPercent(p: number): string {
  return `${Number((p * 100).toPrecision(3))}%`;
}

// ---------------------------------------------------------------------------------------------
// Public constructors

/** Always `value`. */
export function fixed(value: number): Distribution {
  return Object.freeze(new Fixed(value));
}

/** Continuous uniform on [min, max], min < max. */
export function uniform(min: number, max: number): Distribution {
  return Object.freeze(new UniformReal(min, max));
}

/** Each integer of min..max (inclusive) equally likely. */
export function uniformInteger(min: number, max: number): Distribution {
  return Object.freeze(new UniformInteger(min, max));
}

/** Normal (Gaussian) with the given mean and standard deviation (> 0). */
export function normal(mean: number, stddev: number): Distribution {
  return Object.freeze(new Normal(mean, stddev));
}

/** Exponential, given by its mean (> 0), not its rate: rate = 1 / mean. */
export function exponential(mean: number): Distribution {
  return Object.freeze(new Exponential(mean));
}

/** Poisson with the given mean λ (0 < λ <= MAX_POISSON_MEAN). */
export function poisson(mean: number): Distribution {
  return Object.freeze(new Poisson(mean));
}

/** A histogram bin: integer bins cover min..max inclusive; real bins the interval [min, max]. */
export interface HistogramBin {
  min: number;
  max: number;
  weight: number;
}

/** A point of a histogram. */
export interface HistogramValue {
  value: number;
  weight: number;
}

/**
 * A histogram: explicit values with weights, and/or bins with weights (uniform inside each bin).
 * `integer` chooses the bin semantics: integer bins hold each integer of min..max (min <= max)
 * equally; real bins are continuous on [min, max] (min < max). Weights need not sum to 1.
 */
export function histogram(
  parts: { values?: readonly HistogramValue[]; bins?: readonly HistogramBin[] },
  integer: boolean,
): Distribution {
  const values = parts.values ?? [];
  const bins = parts.bins ?? [];
  const components: Distribution[] = [];
  const weights: number[] = [];
  if (values.length > 0) {
    const categorical = new Categorical(values.map((v) => v.value), values.map((v) => v.weight));
    components.push(categorical);
    weights.push(values.reduce((s, v) => s + v.weight, 0));
  }
  for (const bin of bins) {
    components.push(integer ? new UniformInteger(bin.min, bin.max, 'histogram') : new UniformReal(bin.min, bin.max));
    weights.push(bin.weight);
  }
  if (components.length === 0) throw new RangeError('a histogram needs values or bins');
  if (bins.length === 0) return Object.freeze(components[0]!);
  return Object.freeze(new Mixture(components, weights));
}

/**
 * An integer quantity: round(X) (halves up) conditioned on lo <= round(X) <= hi, sampled by
 * redrawing. Throws RangeError when less than MIN_ACCEPTANCE of the mass lands in range.
 */
export function roundedTruncated(base: Distribution, lo: number, hi: number): Distribution {
  return Object.freeze(new RoundedTruncated(base, lo, hi));
}

/**
 * A real quantity: X conditioned on lo <= X <= hi, sampled by redrawing. Throws RangeError when
 * less than MIN_ACCEPTANCE of the mass lands in range.
 */
export function truncated(base: Distribution, lo: number, hi: number): Distribution {
  return Object.freeze(new Truncated(base, lo, hi));
}
