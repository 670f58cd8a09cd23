/**
 * src/tools/stats.ts against closed forms and against values printed by scipy 1.17.1
 * (detection.md §6: chi-square survival, Kolmogorov–Smirnov p-values; popcount and entropy).
 */
import fc from 'fast-check';
import { normal, uniformInteger } from '../src/shaping/distributions.js';
import {
  chiSquareSurvival,
  chiSquareTest,
  entropyOfCounts,
  gammaQ,
  isPrintable,
  kolmogorovExactSurvival,
  kolmogorovSurvival,
  ksOneSample,
  ksTwoSample,
  ksTwoSamplePValue,
  logGamma,
  popcount8,
  popcountBytes,
  shannonEntropy,
  totalVariation,
} from '../src/tools/stats.js';

describe('special functions', () => {
  test('ln Γ against scipy.special.gammaln and factorials', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5723649429247, 12);
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(10.3)).toBeCloseTo(13.482036786138359, 11);
    expect(logGamma(127.5)).toBeCloseTo(489.13037043064287, 9);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
    for (let n = 1; n <= 20; n++) {
      let f = 1;
      for (let i = 2; i < n; i++) f *= i;
      expect(logGamma(n)).toBeCloseTo(Math.log(f), 10);
    }
    expect(() => logGamma(0)).toThrow(RangeError);
    expect(() => logGamma(Number.NaN)).toThrow(TypeError);
  });

  test('chi-square survival against scipy.stats.chi2.sf', () => {
    const cases: [number, number, number][] = [
      [293.2, 255, 0.05019941589265571], // detection.md §6.1 critical values (Wilson–Hilferty)
      [310.5, 255, 0.009955942895918396],
      [3.0, 1, 0.08326451666355042],
      [25.0, 15, 0.0499434336264283],
      [30.6, 15, 0.009932683830386145],
      [0.001, 3, 0.9999915920809419],
      [7.5, 4, 0.11170929281604328],
    ];
    for (const [x, df, p] of cases) expect(chiSquareSurvival(x, df)).toBeCloseTo(p, 12);
    // Deep tail keeps its relative precision.
    expect(chiSquareSurvival(500, 255) / 4.384961916799239e-18).toBeCloseTo(1, 9);
    expect(chiSquareSurvival(0, 7)).toBe(1);
    expect(chiSquareSurvival(Infinity, 7)).toBe(0);
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
    expect(() => chiSquareSurvival(1, 1.5)).toThrow(RangeError);
  });

  test('chi-square survival: closed form for 2 df, e^(-x/2), and Q(a, x) decreasing in x', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 200, noNaN: true }), (x) => {
        expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 13);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 300, noNaN: true }), fc.double({ min: 0, max: 600, noNaN: true }), (a, x) => {
        expect(gammaQ(a, x)).toBeGreaterThanOrEqual(gammaQ(a, x + 1) - 1e-15);
      }),
      { numRuns: 300 },
    );
  });

  test('Kolmogorov limit distribution against scipy.stats.kstwobign.sf', () => {
    const cases: [number, number][] = [
      [0.3, 0.9999906941986655],
      [0.5, 0.9639452436648751],
      [1.0, 0.26999967167735456],
      [1.358, 0.05002679733444698], // c(0.05) of detection.md §6.3
      [1.628, 0.009975522431181053], // c(0.01)
      [1.949, 0.0010037073145687607], // c(0.001)
    ];
    for (const [lambda, p] of cases) expect(kolmogorovSurvival(lambda)).toBeCloseTo(p, 12);
    expect(kolmogorovSurvival(3) / 3.045995948942526e-8).toBeCloseTo(1, 9);
    expect(kolmogorovSurvival(0)).toBe(1);
  });

  test('exact one-sample KS distribution against scipy.stats.kstwo.sf and closed forms', () => {
    const cases: [number, number, number][] = [
      [10, 0.274, 0.3715203845434957], // Marsaglia–Tsang–Wang's example: P(D_10 < 0.274) = 0.6284796154565043
      [5, 0.3, 0.664],
      [50, 0.15, 0.19026366518248072],
      [100, 0.12, 0.1033037490181987],
      [100, 0.05, 0.9532159710635725],
      [20, 0.2, 0.352720173623415],
      [3, 0.9, 0.002],
      [1, 0.7, 0.6],
    ];
    for (const [n, d, p] of cases) expect(kolmogorovExactSurvival(n, d)).toBeCloseTo(p, 11);
    // Ruben–Gambino: P(D_n < d) = n!(2d - 1/n)^n for 1/(2n) < d <= 1/n.
    for (const n of [2, 5, 9]) {
      let f = 1;
      for (let i = 2; i <= n; i++) f *= i;
      const d = 0.8 / n;
      expect(kolmogorovExactSurvival(n, d)).toBeCloseTo(1 - f * (2 * d - 1 / n) ** n, 12);
    }
    expect(kolmogorovExactSurvival(7, 1 / 14)).toBe(1);
    expect(kolmogorovExactSurvival(7, 1)).toBe(0);
  });
});

describe('Kolmogorov–Smirnov tests', () => {
  test('one sample against a continuous model: scipy.stats.kstest(method="exact")', () => {
    const x = [0.61, -1.2, 0.33, 2.1, -0.05, 0.9, -0.7, 1.4, 0.02, -1.9];
    const r = ksOneSample(x, normal(0, 1));
    expect(r.statistic).toBeCloseTo(0.18006119416162752, 12);
    expect(r.pValue).toBeCloseTo(0.847001697418184, 11);
    expect(r.method).toBe('exact');
  });

  test('one sample against a discrete model: the sup over the integer grid, ties counted together', () => {
    // 1..10 once each against uniform on 1..12: F_n(10) = 1, F(10) = 10/12, so D = 1/6.
    const r = ksOneSample([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], uniformInteger(1, 12));
    expect(r.statistic).toBeCloseTo(1 / 6, 14);
    // Four samples all equal to 3 against uniform on 1..4: F(2) = 1/2 while F_n(2) = 0.
    expect(ksOneSample([3, 3, 3, 3], uniformInteger(1, 4)).statistic).toBeCloseTo(0.5, 14);
    // A perfect sample of a discrete model has D = 0 (a continuous-style formula would say 1/4).
    expect(ksOneSample([1, 2, 3, 4], uniformInteger(1, 4)).statistic).toBeCloseTo(0, 14);
  });

  test('one sample: large n uses the Stephens-corrected limit, and a shifted model is rejected', () => {
    const sample = Array.from({ length: 4000 }, (_, i) => 1 + (i % 100));
    const ok = ksOneSample(sample, uniformInteger(1, 100));
    expect(ok.method).toBe('asymptotic');
    expect(ok.statistic).toBeCloseTo(0, 12);
    expect(ok.pValue).toBe(1);
    const shifted = ksOneSample(sample, uniformInteger(5, 104));
    expect(shifted.statistic).toBeCloseTo(0.04, 12);
    expect(shifted.pValue).toBeLessThan(1e-4);
  });

  test('two samples: statistic with ties and the pre-1.3 scipy asymptotic p-value', () => {
    const r = ksTwoSample([1, 2, 2, 3, 4], [2, 3, 3, 5]);
    // F_a: 1→.2, 2→.6, 3→.8, 4→1; F_b: 2→.25, 3→.75, 5→1: max |.| = 0.35 at x = 2.
    expect(r.statistic).toBeCloseTo(0.35, 14);
    const e = Math.sqrt(20 / 9);
    expect(r.pValue).toBeCloseTo(kolmogorovSurvival((e + 0.12 + 0.11 / e) * 0.35), 14);
    expect(ksTwoSamplePValue(0.05, 500, 2 ** 19)).toBeCloseTo(kolmogorovSurvival((Math.sqrt((500 * 2 ** 19) / (500 + 2 ** 19)) + 0.12 + 0.11 / Math.sqrt((500 * 2 ** 19) / (500 + 2 ** 19))) * 0.05), 14);
    expect(() => ksTwoSample([], [1])).toThrow(RangeError);
  });

  test('KS distance is symmetric and in [0, 1] (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }), (a, b) => {
        const ab = ksTwoSample(a, b);
        expect(ab.statistic).toBeCloseTo(ksTwoSample(b, a).statistic, 14);
        expect(ab.statistic).toBeGreaterThanOrEqual(0);
        expect(ab.statistic).toBeLessThanOrEqual(1);
        expect(ab.pValue).toBeGreaterThanOrEqual(0);
        expect(ab.pValue).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});

describe('chi-square goodness of fit', () => {
  test('statistic and df by hand (no pooling needed)', () => {
    // n = 100 over p = (.5, .3, .2): E = 50, 30, 20; X² = 4²/50 + 4²/30 + 0 = 0.32 + 0.5333…
    const r = chiSquareTest([54, 26, 20], [0.5, 0.3, 0.2]);
    expect(r.statistic).toBeCloseTo(0.32 + 16 / 30, 13);
    expect(r.df).toBe(2);
    expect(r.pValue).toBeCloseTo(Math.exp(-r.statistic / 2), 13);
  });

  test('pooling: adjacent cells for ordered categories, smallest cells together for unordered ones', () => {
    // E = 40, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 (n = 90): adjacent pooling merges the ten small ones
    // into two cells of 5 each.
    const p = [40, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1].map((e) => e / 90);
    const observed = [40, 40, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    expect(chiSquareTest(observed, p).cells).toBe(4);
    expect(chiSquareTest(observed, p).statistic).toBeCloseTo(0, 12);
    // Smallest-first pooling groups the small cells wherever they sit.
    const q = [1, 40, 1, 1, 1, 1, 40, 1, 1, 1, 1, 1].map((e) => e / 90);
    const r = chiSquareTest([6, 40, 0, 0, 0, 0, 40, 0, 0, 0, 4, 0], q, { pooling: 'smallest' });
    expect(r.cells).toBe(4);
    // Pooled cells: {0,2,3,4,5} O=6 E=5; {7..11} O=4 E=5; O=40 E=40 twice → X² = 1/5 + 1/5.
    expect(r.statistic).toBeCloseTo(0.4, 12);
  });

  test('an observation in a zero-probability cell rejects outright; one cell tests nothing', () => {
    expect(chiSquareTest([5, 1], [1, 0]).pValue).toBe(0);
    expect(chiSquareTest([5, 0], [1, 0]).df).toBe(0);
    expect(chiSquareTest([5, 0], [1, 0]).pValue).toBe(1);
    expect(() => chiSquareTest([1, 2], [0.5, 0.4])).toThrow(RangeError);
    expect(() => chiSquareTest([1], [0.5, 0.5])).toThrow(RangeError);
  });

  test('total variation distance', () => {
    expect(totalVariation([0.5, 0.5, 0], [0, 0.5, 0.5])).toBeCloseTo(0.5, 15);
    expect(totalVariation([0.2, 0.8], [0.2, 0.8])).toBe(0);
  });
});

describe('byte helpers', () => {
  test('popcount per byte and per array', () => {
    expect(popcount8(0)).toBe(0);
    expect(popcount8(0xff)).toBe(8);
    expect(popcount8(0x21)).toBe(2);
    expect(popcountBytes(Uint8Array.of(0x0f, 0xf0, 0x81, 0x00))).toBe(10);
    let total = 0;
    for (let b = 0; b < 256; b++) total += popcount8(b);
    expect(total).toBe(1024); // mean 4 bits per byte over all byte values
    expect(() => popcount8(256)).toThrow(RangeError);
  });

  test('plug-in Shannon entropy', () => {
    expect(shannonEntropy(new Uint8Array(0))).toBe(0);
    expect(shannonEntropy(new Uint8Array(100))).toBe(0);
    expect(shannonEntropy(Uint8Array.from({ length: 256 }, (_, i) => i))).toBeCloseTo(8, 13);
    expect(shannonEntropy(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBeCloseTo(3, 14);
    expect(shannonEntropy(Uint8Array.of(1, 1, 2, 2))).toBeCloseTo(1, 14);
    // Order of counts does not change the bits.
    expect(entropyOfCounts([1, 5, 2], 8)).toBe(entropyOfCounts([2, 1, 5], 8));
  });

  test('printable ASCII is 0x20..0x7e', () => {
    expect(isPrintable(0x1f)).toBe(false);
    expect(isPrintable(0x20)).toBe(true);
    expect(isPrintable(0x7e)).toBe(true);
    expect(isPrintable(0x7f)).toBe(false);
  });
});
