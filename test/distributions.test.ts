/**
 * docs/models.md "Distributions" and "Sampling": the shaping CSPRNG (ChaCha20) and every
 * distribution family, checked against their own cdf (Kolmogorov–Smirnov), their own mean, and
 * known answers computed with scipy 1.17. Every statistical test uses a fixed seed, so it is
 * deterministic; critical values are for α ≈ 0.001 (KS: 1.95/√n; means: 5 standard errors).
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import {
  MIN_ACCEPTANCE,
  exponential,
  fixed,
  histogram,
  logFactorial,
  normal,
  normalUpperTail,
  poisson,
  roundedTruncated,
  truncated,
  uniform,
  uniformInteger,
  type Distribution,
} from '../src/shaping/distributions.js';
import { ShapingPrng, type ShapingRng } from '../src/shaping/prng.js';
import { scriptedRandom } from '../src/core/random.js';

const seed = (b: number) => new Uint8Array(32).fill(b);
const rngFor = (b: number) => new ShapingPrng(seed(b));

/** KS statistic sup |F_n - F| that is exact for discrete and mixed distributions too. */
function ksStatistic(samples: number[], d: Distribution): number {
  const xs = [...samples].sort((a, b) => a - b);
  const n = xs.length;
  let D = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && xs[j] === xs[i]) j++;
    const x = xs[i]!;
    const F = d.cdf(x);
    const Fbelow = F - d.pmf(x); // P(X < x)
    D = Math.max(D, Math.abs(j / n - F), Math.abs(i / n - Fbelow));
    i = j;
  }
  return D;
}

function draw(d: Distribution, n: number, rng: ShapingRng): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = d.sample(rng);
  return out;
}

function meanAndSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, sd: Math.sqrt(v) };
}

describe('ShapingPrng (ChaCha20 keystream)', () => {
  test('its words are the RFC 8439 ChaCha20 keystream (nonce 0, counter 0), across refills (noble oracle)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
    const words = 1024 * 2 + 5; // crosses two 4 KiB refills
    const stream = chacha20(key, new Uint8Array(12), new Uint8Array(words * 4));
    const view = new DataView(stream.buffer, stream.byteOffset, stream.length);
    const rng = new ShapingPrng(key);
    const got = Array.from({ length: words }, () => rng.nextUint32());
    expect(got).toEqual(Array.from({ length: words }, (_, i) => view.getUint32(4 * i, true)));
  });

  test('the same seed gives the same sequence; a different seed a different one', () => {
    const a = rngFor(1);
    const b = rngFor(1);
    const c = rngFor(2);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(sa);
  });

  test('fromRandom reads exactly one 32-byte seed from the RandomSource', () => {
    const rng = ShapingPrng.fromRandom(scriptedRandom(seed(9)));
    expect(rng.nextUint32()).toBe(rngFor(9).nextUint32());
  });

  test('nextFloat gives multiples of 2^-53 in [0, 1) with mean 1/2', () => {
    const rng = rngFor(3);
    let sum = 0;
    let bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = rng.nextFloat();
      if (!(x >= 0 && x < 1) || !Number.isInteger(x * 2 ** 53)) bad++;
      sum += x;
    }
    expect(bad).toBe(0);
    // sd of the mean = sqrt(1/12 / 20000) ≈ 0.002
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01);
  });

  test('nextBelow stays in range for small, 2^32 and 2^53 bounds', () => {
    const rng = rngFor(4);
    for (const n of [1, 2, 7, 2 ** 32, 2 ** 32 + 1, 3 * 2 ** 40, 2 ** 53]) {
      const xs = Array.from({ length: 200 }, () => rng.nextBelow(n));
      expect(xs.filter((x) => !(Number.isInteger(x) && x >= 0 && x < n))).toEqual([]);
    }
    expect(rng.nextBelow(1)).toBe(0);
  });

  test('nextBelow has no modulo bias (n = 3·2^30, where x mod n would favour the lowest third 2:1)', () => {
    const rng = rngFor(5);
    const n = 3 * 2 ** 30;
    let low = 0;
    const trials = 30_000;
    for (let i = 0; i < trials; i++) if (rng.nextBelow(n) < 2 ** 30) low++;
    // Unbiased: 1/3 (sd ≈ 0.0027); plain modulo would give 1/2.
    expect(Math.abs(low / trials - 1 / 3)).toBeLessThan(0.015);
  });

  test('nextBelow(6) is uniform (chi-square, 5 degrees of freedom)', () => {
    const rng = rngFor(6);
    const counts = new Array<number>(6).fill(0);
    const trials = 60_000;
    for (let i = 0; i < trials; i++) counts[rng.nextBelow(6)]!++;
    const chi2 = counts.reduce((s, c) => s + (c - trials / 6) ** 2 / (trials / 6), 0);
    expect(chi2).toBeLessThan(20.5); // p = 0.001
  });

  test('argument errors name the argument', () => {
    expect(() => new ShapingPrng(new Uint8Array(31))).toThrow(RangeError);
    expect(() => new ShapingPrng('x' as unknown as Uint8Array)).toThrow(/seed must be a Uint8Array/);
    const rng = rngFor(7);
    expect(() => rng.nextBelow(0)).toThrow(RangeError);
    expect(() => rng.nextBelow(2 ** 53 + 2)).toThrow(RangeError);
    expect(() => rng.nextBelow(1.5)).toThrow(/n must be an integer/);
    expect(() => ShapingPrng.fromRandom(undefined as never)).toThrow(TypeError);
  });
});

describe('special functions (known answers from scipy 1.17)', () => {
  test.each([
    [0, 0.5],
    [1, 0.15865525393145707],
    [-1, 0.8413447460685429],
    [2.5, 0.006209665325776132],
    [3, 0.0013498980316300933],
    [5, 2.866515718791933e-7],
    [10, 7.61985302416047e-24],
    [-5, 0.9999997133484281],
    [37, 5.7255712225239266e-300],
  ])('normal upper tail Q(%p)', (z, expected) => {
    expect(Math.abs(normalUpperTail(z) / expected - 1)).toBeLessThan(1e-12);
  });

  test.each([
    [0, 0],
    [1, 0],
    [10, 15.104412573075514],
    [255, 1161.7121011184006],
    [256, 1167.2572785628802],
    [1000, 5912.128178488163],
    [1_000_000, 12815518.384658169],
  ])('ln(%p!)', (k, expected) => {
    expect(Math.abs(logFactorial(k) - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, expected));
  });

  test('Poisson cdf and pmf', () => {
    const p = poisson(10_000);
    expect(p.cdf(9800)).toBeCloseTo(0.02274922201089487, 10);
    expect(p.cdf(10_000)).toBeCloseTo(0.5026595812190077, 10); // ln-prefix of size 1e5: ~1e-11
    expect(p.cdf(10_200)).toBeCloseTo(0.977250757990904, 10);
    expect(p.pmf(10_000) / 0.003989389558963281 - 1).toBeLessThan(1e-9);
    // the upper tail keeps relative precision
    expect(p.probabilityBetween(10_201, Infinity) / 0.022749242009095956 - 1).toBeLessThan(1e-10);
    const small = poisson(3.5);
    expect(small.cdf(0)).toBeCloseTo(0.0301973834223185, 14);
    expect(small.cdf(3)).toBeCloseTo(0.536632667900785, 14);
    expect(small.cdf(7.9)).toBeCloseTo(0.9732610779086803, 14);
  });

  test('normal mass far in the tail: Q(10) - Q(11) without cancellation', () => {
    expect(normal(0, 1).probabilityBetween(10, 11) / 7.61966195820302e-24 - 1).toBeLessThan(1e-10);
  });
});

const N = 20_000;
const KS_CRITICAL = 1.95 / Math.sqrt(N);

/** [name, distribution] — every family, each wrapper, and the model quantities the built-ins use. */
const CASES: Array<[string, Distribution]> = [
  ['fixed 42', fixed(42)],
  ['uniform [2, 7]', uniform(2, 7)],
  ['uniform integers 1..6', uniformInteger(1, 6)],
  ['normal (3, 2)', normal(3, 2)],
  ['exponential mean 5', exponential(5)],
  ['poisson 0.5 (inversion)', poisson(0.5)],
  ['poisson 9.99 (inversion)', poisson(9.99)],
  ['poisson 10 (PTRS)', poisson(10)],
  ['poisson 30 (PTRS)', poisson(30)],
  ['poisson 10,000 (PTRS)', poisson(10_000)],
  ['poisson 10^7 (PTRS)', poisson(1e7)],
  ['histogram values', histogram({ values: [{ value: 3, weight: 1 }, { value: 1448, weight: 6 }, { value: 3, weight: 2 }, { value: 9, weight: 0 }] }, true)],
  ['histogram integer bins + value', histogram({ values: [{ value: 1448, weight: 6 }], bins: [{ min: 100, max: 599, weight: 2 }, { min: 600, max: 1447, weight: 2 }] }, true)],
  ['histogram real bins', histogram({ bins: [{ min: 0, max: 1, weight: 1 }, { min: 5, max: 10, weight: 3 }] }, false)],
  ['rounded normal (1, 1) in 1..65535 (Dust2015 test.yaml length)', roundedTruncated(normal(1, 1), 1, 65535)],
  ['rounded normal (500, 300) in 1..65535', roundedTruncated(normal(500, 300), 1, 65535)],
  ['rounded exponential 100 in 1..65535', roundedTruncated(exponential(100), 1, 65535)],
  ['rounded poisson 4 in 0..65535', roundedTruncated(poisson(4), 0, 65535)],
  ['truncated normal (30000, 10000) in 1..86400000', truncated(normal(30_000, 10_000), 1, 86_400_000)],
  ['truncated exponential 1000 in 1..86400000', truncated(exponential(1000), 1, 86_400_000)],
  ['truncated normal (0, 1) in [-0.5, 2]', truncated(normal(0, 1), -0.5, 2)],
];

describe.each(CASES)('%s', (_name, d) => {
  const samples = draw(d, N, rngFor(11));

  test('samples lie in [min, max] (integers when integer)', () => {
    const outside = samples.filter((x) => !(x >= d.min && x <= d.max) || (d.integer && !Number.isInteger(x)));
    expect(outside).toEqual([]);
  });

  test('KS statistic against its own cdf is below the α = 0.001 critical value', () => {
    expect(ksStatistic(samples, d)).toBeLessThan(KS_CRITICAL);
  });

  test('sample mean is within 5 standard errors of `mean`', () => {
    const { mean, sd } = meanAndSd(samples);
    expect(Math.abs(mean - d.mean)).toBeLessThanOrEqual(5 * (sd / Math.sqrt(N)) + 1e-9 * Math.abs(d.mean));
  });

  test('cdf is a distribution function: monotone, 0 below min, 1 at max', () => {
    const xs = [...new Set(samples)].sort((a, b) => a - b).filter((_, i) => i % 97 === 0);
    let last = 0;
    for (const x of xs) {
      const F = d.cdf(x);
      expect(F).toBeGreaterThanOrEqual(last - 1e-15);
      last = F;
    }
    if (Number.isFinite(d.min)) expect(d.cdf(d.min - 1e-9 * Math.max(1, Math.abs(d.min)))).toBe(0);
    if (Number.isFinite(d.max)) expect(d.cdf(d.max)).toBe(1);
    expect(d.cdf(-Infinity)).toBe(0);
    expect(d.cdf(Infinity)).toBe(1);
  });

  test('meanBetween(-∞, ∞) is the mean; probabilityBetween(-∞, ∞) is 1', () => {
    expect(d.meanBetween(-Infinity, Infinity)).toBeCloseTo(d.mean, 6);
    expect(d.probabilityBetween(-Infinity, Infinity)).toBeCloseTo(1, 12);
  });
});

describe('distribution details', () => {
  test('the KS check has power: samples are rejected against a slightly wrong distribution', () => {
    expect(ksStatistic(draw(normal(0, 1), N, rngFor(12)), normal(0.1, 1))).toBeGreaterThan(KS_CRITICAL);
    expect(ksStatistic(draw(poisson(10_000), N, rngFor(13)), poisson(10_100))).toBeGreaterThan(KS_CRITICAL);
    expect(ksStatistic(draw(exponential(5), N, rngFor(14)), exponential(5.3))).toBeGreaterThan(KS_CRITICAL);
  });

  test('Poisson with a large mean has variance = mean (PTRS is exact, not a normal approximation)', () => {
    for (const lambda of [10, 30, 10_000]) {
      const { mean, sd } = meanAndSd(draw(poisson(lambda), N, rngFor(15)));
      expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / N));
      expect(Math.abs((sd * sd) / lambda - 1)).toBeLessThan(0.06);
    }
  });

  test('discrete pmfs sum to 1 and match the cdf steps', () => {
    const d = roundedTruncated(normal(3, 2), 1, 20);
    let sum = 0;
    for (let k = 1; k <= 20; k++) {
      sum += d.pmf(k);
      expect(d.cdf(k)).toBeCloseTo(sum, 12);
    }
    expect(sum).toBeCloseTo(1, 12);
    expect(d.pmf(2.5)).toBe(0);
    const h = histogram({ values: [{ value: 3, weight: 1 }, { value: 1448, weight: 6 }, { value: 3, weight: 2 }] }, true);
    expect(h.pmf(3)).toBeCloseTo(1 / 3, 15);
    expect(h.pmf(1448)).toBeCloseTo(2 / 3, 15);
    expect(h.mean).toBeCloseTo((3 * 3 + 1448 * 6) / 9, 9);
  });

  test('rounding is to the nearest integer, halves up', () => {
    // X uniform on [0.5, 1.5] rounds to 1 except X = 1.5 exactly (probability 0): all mass on 1.
    expect(roundedTruncated(uniform(0.5, 1.5), 0, 5).pmf(1)).toBeCloseTo(1, 12);
    // X uniform on [0, 2]: round gives 0 on [0, 0.5), 1 on [0.5, 1.5), 2 on [1.5, 2].
    const d = roundedTruncated(uniform(0, 2), 0, 2);
    expect([d.pmf(0), d.pmf(1), d.pmf(2)].map((p) => Number(p.toFixed(12)))).toEqual([0.25, 0.5, 0.25]);
  });

  test('closed-form conditional means', () => {
    expect(normal(0, 1).meanBetween(0, Infinity)).toBeCloseTo(Math.sqrt(2 / Math.PI), 12);
    expect(exponential(5).meanBetween(7, Infinity)).toBeCloseTo(12, 12); // memoryless
    expect(exponential(5).meanBetween(0, 5)).toBeCloseTo(5 - 5 / (Math.E - 1), 12);
    expect(poisson(4).meanBetween(0, Infinity)).toBeCloseTo(4, 12);
    expect(uniformInteger(1, 6).meanBetween(2.5, 4)).toBe(3.5);
    expect(fixed(3).meanBetween(4, 5)).toBeNaN();
  });

  test('wrappers refuse a base with less than MIN_ACCEPTANCE of its mass in range', () => {
    expect(MIN_ACCEPTANCE).toBe(0.01);
    expect(() => roundedTruncated(normal(-10, 3), 1, 65535)).toThrow(/puts 0\.\d+% of its mass in 1\.\.65535/);
    expect(() => truncated(exponential(1), 10, 20)).toThrow(RangeError);
    expect(() => roundedTruncated(normal(0, 1), 5, 4)).toThrow(RangeError);
    expect(() => roundedTruncated(normal(0, 1), 0, 2 ** 21)).toThrow(RangeError);
  });

  test('a wrapper whose base lies about its mass fails with a BUG error instead of looping forever', () => {
    const liar: Distribution = { ...fixed(5), probabilityBetween: () => 1, sample: () => 1e9, cdf: fixed(5).cdf, pmf: fixed(5).pmf, meanBetween: () => 5 };
    expect(() => truncated(liar, 0, 10).sample(rngFor(16))).toThrow(/^BUG: /);
  });

  test('argument errors: TypeError for non-numbers, RangeError for bad values', () => {
    expect(() => normal(0, 0)).toThrow(/stddev must be > 0/);
    expect(() => normal(NaN, 1)).toThrow(TypeError);
    expect(() => exponential(-1)).toThrow(RangeError);
    expect(() => poisson(0)).toThrow(RangeError);
    expect(() => poisson(2e8)).toThrow(RangeError);
    expect(() => uniform(5, 5)).toThrow(RangeError);
    expect(() => uniformInteger(2, 1)).toThrow(RangeError);
    expect(() => uniformInteger(0.5, 1)).toThrow(TypeError);
    expect(() => fixed(Infinity)).toThrow(TypeError);
    expect(() => histogram({ values: [{ value: 1, weight: 0 }] }, true)).toThrow(/non-zero sum/);
    expect(() => histogram({ values: [{ value: 1, weight: -1 }] }, true)).toThrow(RangeError);
    expect(() => histogram({}, true)).toThrow(RangeError);
  });

  test('distributions are frozen', () => {
    for (const [, d] of CASES) expect(Object.isFrozen(d)).toBe(true);
  });
});
