/**
 * The obfs4 Elligator2 distinguisher of tor-pt.md §7, run against our own key generator
 * (DECISIONS.md "Crypto suite": the test must pass). An observer who sees only representatives
 * checks two things:
 *
 * - top bits: `byte[31] >> 6` must be uniform over 0..3 (obfs4 <= 0.0.11 always sent bit 255 = 0);
 * - subgroup: decode, multiply by L (the prime subgroup order) with an x-only Montgomery ladder,
 *   and classify [L]u: identity 1/8, order 2 1/8, order 4 2/8, order 8 4/8. Keys made from
 *   clamped scalars always give the identity. With the full decoded point (u and the v that the
 *   RFC 9380 map gives, on noble's Edwards curve), [L]P must cover all 8 low-order points, 1/8 each
 *   (Fifield's TestPublicKeySubgroup in obfs4 0.0.14).
 *
 * The same judge is then shown to reject two broken generators: clamped private keys (no dirty
 * component) and representatives whose top bits stay zero.
 *
 * ## Thresholds (false failure < 1e-9 for a correct implementation)
 *
 * Class counts are multinomial. Three kinds of check, combined by a union bound:
 *
 * 1. Per-class Hoeffding bound: P(|n_i/N - p_i| >= δ) <= 2·exp(-2Nδ²). There are 16 class checks
 *    (4 top-bit classes, 4 order classes, 8 low-order points), so all pass except with probability
 *    <= 32·exp(-2Nδ²). We take 2Nδ² = ln(3.2e11) = 26.49, i.e. <= 1e-10, which for N = 2000
 *    gives δ = 0.081. This bound is exact (no approximation).
 * 2. Pearson chi-square, which sees small biases spread over classes: df = 3 against 60
 *    (P(χ²₃ > 60) = 5.9e-13) and df = 7 against 80 (P(χ²₇ > 80) = 1.4e-14). These are asymptotic
 *    tail values; with at least 250 expected per class the approximation is good, and the
 *    thresholds sit three or more orders of magnitude below 1e-9 to absorb its error.
 * 3. Coverage: a given low-order point is missed with probability (7/8)^N, so some point is missed
 *    with probability <= 8·(7/8)^2000 ≈ 1e-115.
 *
 * Total: < 1e-10 + 3·6e-13 + 1e-115 < 1e-9. The broken generators are run with N = 200 keys; δ
 * grows to 0.257 but their deviations are 0.75 (top bits: class 0 has frequency 1 instead of 1/4)
 * and 0.875 (identity frequency 1 instead of 1/8), and their chi-square values are 3N = 600 and
 * 7N = 1400.
 */
import { _map_to_curve_elligator2_curve25519, ed25519 } from '@noble/curves/ed25519.js';
import vectors from './vectors/elligator2.json' with { type: 'json' };
import { elligator2Decode } from '../src/crypto/elligator2.js';
import { generateEphemeralKey } from '../src/crypto/ephemeral-key.js';
import { bytesToHex, hexToBytes } from '../src/core/bytes.js';
import { systemRandom, type RandomSource } from '../src/core/random.js';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const A24 = 121665n; // (A - 2) / 4
const mod = (x: bigint): bigint => ((x % P) + P) % P;
const le = (bytes: Uint8Array): bigint => BigInt('0x' + (bytesToHex(bytes.slice().reverse()) || '0'));

const N_GOOD = 2000;
const N_BROKEN = 200;
const HOEFFDING_EXPONENT = Math.log(3.2e11); // 2Nδ²
const CHI2_CRITICAL: Record<number, number> = { 3: 60, 7: 80 };

/** u of the two pairs of order-8 points (the vectors' [1]T = [7]T and [3]T = [5]T). */
const ORDER8_U = new Set([1, 3].map((i) => le(hexToBytes(vectors.constants.low_order_points[i]!.montgomery_u))));

type OrderClass = 'identity' | 'order 2' | 'order 4' | 'order 8';
const ORDER_P: Record<OrderClass, number> = { identity: 1 / 8, 'order 2': 1 / 8, 'order 4': 2 / 8, 'order 8': 4 / 8 };

/**
 * [L]u by an x-only Montgomery ladder in projective (X : Z) coordinates (the RFC 7748 §5 step
 * formulas, but with the unclamped scalar L), classified by the order of the result.
 */
function orderOfLTimes(u: bigint): OrderClass {
  if (u === 0n) return 'order 2'; // (0, 0) itself; the ladder's differential addition needs u != 0
  let [x2, z2, x3, z3] = [1n, 0n, u, 1n];
  for (let bit = 252; bit >= 0; bit--) {
    const swap = ((L >> BigInt(bit)) & 1n) === 1n;
    if (swap) [x2, z2, x3, z3] = [x3, z3, x2, z2];
    const a = x2 + z2, b = x2 - z2, c = x3 + z3, d = x3 - z3;
    const aa = mod(a * a), bb = mod(b * b), e = aa - bb;
    const da = mod(d * a), cb = mod(c * b);
    [x3, z3] = [mod((da + cb) ** 2n), mod(u * mod((da - cb) ** 2n))];
    [x2, z2] = [mod(aa * bb), mod(e * (aa + A24 * e))];
    if (swap) [x2, z2, x3, z3] = [x3, z3, x2, z2];
  }
  if (z2 === 0n) return 'identity';
  if (x2 === 0n) return 'order 2';
  const x = mod(x2 * ed25519.Point.Fp.inv(z2));
  if (x === 1n) return 'order 4';
  if (ORDER8_U.has(x)) return 'order 8';
  throw new Error(`[L]u = ${x} is not a low-order point`);
}

/** The 8 low-order Edwards points [j]T, j = 0..7. */
const Point = ed25519.Point;
const Fp = Point.Fp;
const LOW_ORDER = vectors.constants.low_order_points.map((p) =>
  Point.fromAffine({ x: le(hexToBytes(p.edwards_x)), y: le(hexToBytes(p.edwards_y)) }),
);
const SQRT_MINUS_A_PLUS_2 = Fp.sqrt(Fp.neg(486664n));

/**
 * Which [j]T is [L]P, for P the full point the RFC 9380 map gives for the representative,
 * carried to Edwards by (x, y) = (sqrt(-486664)·u/v, (u-1)/(u+1)). Also returns the map's u, which
 * must equal our decoder's.
 */
function lowOrderComponent(representative: Uint8Array): { j: number; u: bigint } {
  const masked = representative.slice();
  masked[31]! &= 0x3f;
  const { xMn, xMd, yMn, yMd } = _map_to_curve_elligator2_curve25519(le(masked));
  const u = Fp.div(xMn, xMd);
  const v = Fp.div(yMn, yMd);
  const point = v === 0n
    ? Point.fromAffine({ x: 0n, y: P - 1n })
    : Point.fromAffine({ x: Fp.div(Fp.mul(SQRT_MINUS_A_PLUS_2, u), v), y: Fp.div(Fp.sub(u, 1n), Fp.add(u, 1n)) });
  point.assertValidity();
  const timesL = point.multiplyUnsafe(L - 1n).add(point);
  const j = LOW_ORDER.findIndex((t) => t.equals(timesL));
  if (j < 0) throw new Error('[L]P is not a low-order point');
  return { j, u };
}

interface Sample {
  topBits: number;
  order: OrderClass;
  component: number;
}

function observe(representative: Uint8Array): Sample {
  const u = le(elligator2Decode(representative));
  const { j, u: mapU } = lowOrderComponent(representative);
  if (mapU !== u) throw new Error('our decoder and the RFC 9380 map disagree');
  return { topBits: representative[31]! >> 6, order: orderOfLTimes(u), component: j };
}

/** Checks one categorical variable against its distribution; returns the violations found. */
function judgeVariable(name: string, values: Array<string | number>, expected: Map<string | number, number>): string[] {
  const n = values.length;
  const delta = Math.sqrt(HOEFFDING_EXPONENT / (2 * n));
  const counts = new Map<string | number, number>([...expected.keys()].map((k) => [k, 0]));
  for (const v of values) {
    if (!counts.has(v)) return [`${name}: unexpected value ${v}`];
    counts.set(v, counts.get(v)! + 1);
  }
  const failures: string[] = [];
  let chi2 = 0;
  for (const [key, p] of expected) {
    const observed = counts.get(key)!;
    chi2 += (observed - n * p) ** 2 / (n * p);
    if (Math.abs(observed / n - p) >= delta) {
      failures.push(`${name} ${key}: frequency ${(observed / n).toFixed(3)}, expected ${p.toFixed(3)} ± ${delta.toFixed(3)}`);
    }
    if (observed === 0) failures.push(`${name} ${key}: never seen`);
  }
  const critical = CHI2_CRITICAL[expected.size - 1]!;
  if (chi2 > critical) failures.push(`${name}: chi-square ${chi2.toFixed(1)} > ${critical} (df ${expected.size - 1})`);
  return failures;
}

function judge(samples: Sample[]): string[] {
  const uniform = (k: number) => new Map(Array.from({ length: k }, (_, i) => [i, 1 / k] as const));
  return [
    ...judgeVariable('top bits', samples.map((s) => s.topBits), uniform(4)),
    ...judgeVariable('[L]u', samples.map((s) => s.order), new Map(Object.entries(ORDER_P))),
    ...judgeVariable('[L]P', samples.map((s) => s.component), uniform(8)),
  ];
}

function sampleKeys(n: number, random: RandomSource, tamper = (r: Uint8Array) => r): Sample[] {
  return Array.from({ length: n }, () => observe(tamper(generateEphemeralKey(random).representative)));
}

describe('tor-pt.md §7: representatives are indistinguishable from uniform bytes', () => {
  test('the ladder and the Edwards check classify the vectors’ low-order index correctly', () => {
    // [L](Q + [c]T) = [L mod 8 · c]T = [5c mod 8]T, up to the sign the map picks for v.
    for (const v of vectors.keygen.filter((k) => k.representative !== null)) {
      const sample = observe(hexToBytes(v.representative!));
      const j = (5 * v.low_order_index) % 8;
      expect([j, (8 - j) % 8]).toContain(sample.component);
      const order = [1, 8, 4, 8, 2, 8, 4, 8][j]!;
      expect(sample.order).toBe(order === 1 ? 'identity' : `order ${order}`);
    }
  });

  test(`${N_GOOD} fresh keys from generateEphemeralKey(systemRandom) pass`, () => {
    const samples = sampleKeys(N_GOOD, systemRandom);
    expect(judge(samples)).toEqual([]);
  });

  test('broken: keys made from clamped private keys (no dirty component) fail the subgroup checks', () => {
    const clampingSource: RandomSource = (n) => {
      const bytes = systemRandom(n);
      if (n === 32) {
        bytes[0]! &= 248;
        bytes[31]! = (bytes[31]! & 127) | 64;
      }
      return bytes;
    };
    const failures = judge(sampleKeys(N_BROKEN, clampingSource));
    expect(failures.some((f) => f.startsWith('[L]u identity: frequency 1.000'))).toBe(true);
    expect(failures.some((f) => f.startsWith('[L]u: chi-square'))).toBe(true);
    expect(failures.some((f) => f.startsWith('[L]P'))).toBe(true);
    expect(failures.filter((f) => f.startsWith('top bits'))).toEqual([]);
  });

  test('broken: representatives whose top bits are left zero fail the top-bit checks', () => {
    const failures = judge(sampleKeys(N_BROKEN, systemRandom, (r) => {
      r[31]! &= 0x3f;
      return r;
    }));
    expect(failures.some((f) => f.startsWith('top bits 0: frequency 1.000'))).toBe(true);
    expect(failures.some((f) => f.startsWith('top bits: chi-square'))).toBe(true);
    expect(failures.filter((f) => !f.startsWith('top bits'))).toEqual([]);
  });
});
