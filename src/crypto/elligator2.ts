/**
 * Elligator2 on Curve25519, both directions, with the obfs4proxy/lyrebird `x25519ell2` conventions
 * that `DECISIONS.md` "Crypto suite" fixes (`vectors/README.md` "Representative (inverse
 * Elligator2 map)" and "Decoding a representative"):
 *
 * - decode (direct map, RFC 9380 §6.7.1 with Z = 2, u-coordinate only): the top two bits of the
 *   32 bytes are masked off and every remaining value is accepted;
 * - representative (inverse map): exists iff −2u(u + A) is a non-zero square; tweak bit 0 picks
 *   one of the two preimages (the unsent sign of v), the root is reduced to [0, (p−1)/2], and tweak
 *   bits 6–7 become the representative's top two bits so that all 256 bits look uniform.
 *
 * Arithmetic is BigInt modulo p = 2^255 − 19, except the exponentiation, which runs on limbs in
 * doubles (field-limbs.ts). It is not constant-time, but it only ever sees public
 * values: u-coordinates and representatives that travel on the wire (the secret scalar is handled
 * by OpenSSL in `x25519.ts`). Each map costs one exponentiation, which yields at once the square
 * test and the inverse it needs (the `sqrt_ratio` trick of RFC 9380 / lyrebird).
 * @module
 */
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { abytes, aint } from '../core/bytes.js';
import { LIMBS, mulLimbs, sqrLimbs } from './field-limbs.js';

/** The field prime p = 2^255 − 19. */
const P = (1n << 255n) - 19n;
/** (p − 1) / 2: the largest "non-negative" field element (`vectors/README.md` "Representative"). */
const HALF_P = (P - 1n) / 2n;
/** Montgomery coefficient of curve25519, v² = u³ + A·u² + u (RFC 7748 §4.1). */
const A = 486662n;
const A_SQUARED = A * A; // < p
/** sqrt(−1) = 2^((p−1)/4) mod p (`vectors/README.md` "Dirty ephemeral keys"). */
const SQRT_M1 = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0n;
const NEG_SQRT_M1 = P - SQRT_M1;
const MASK_255 = (1n << 255n) - 1n;

// ---- field arithmetic on canonical representatives [0, p) ----

function add(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s >= P ? s - P : s;
}

function sub(a: bigint, b: bigint): bigint {
  const d = a - b;
  return d < 0n ? d + P : d;
}

function neg(a: bigint): bigint {
  return a === 0n ? 0n : P - a;
}

/**
 * a·b mod p. Since 2^255 ≡ 19, the high half is folded down twice: a product < 2^510 becomes
 * < 2^260, then < 2^255 + 608, so one conditional subtraction makes it canonical. On Node 20 a
 * chain of 250 squarings takes ~59 µs this way against ~140 µs with BigInt `%`.
 */
function mul(a: bigint, b: bigint): bigint {
  let x = a * b;
  x = (x & MASK_255) + 19n * (x >> 255n);
  x = (x & MASK_255) + 19n * (x >> 255n);
  return x >= P ? x - P : x;
}

function sqr(a: bigint): bigint {
  return mul(a, a);
}

/** a^(2^n): n successive squarings. */
function sqrN(a: bigint, n: number): bigint {
  for (let i = 0; i < n; i++) a = mul(a, a);
  return a;
}

// ---- the exponentiation, on limbs ----

const MASK_22 = (1n << 22n) - 1n;
/** Scratch for pow2523, which never re-enters: the input, the running power, and kept powers. */
const [L_X, L_ACC, L_E2, L_E5, L_E10, L_E20, L_E50, L_E100] = Array.from({ length: 8 }, () => new Float64Array(LIMBS));

function toLimbs(a: bigint, out: Float64Array): Float64Array {
  for (let i = 0; i < LIMBS; i++) {
    out[i] = Number(a & MASK_22);
    a >>= 22n;
  }
  return out;
}

/** The canonical value of limbs (they may stand for a number up to about 2^264). */
function fromLimbs(limbs: Float64Array): bigint {
  let x = 0n;
  for (let i = LIMBS - 1; i >= 0; i--) x = (x << 22n) + BigInt(limbs[i]!);
  return x % P;
}

/** out = a^(2^n), n ≥ 1. */
function sqrNLimbs(out: Float64Array, a: Float64Array, n: number): void {
  sqrLimbs(out, a);
  for (let i = 1; i < n; i++) sqrLimbs(out, out);
}

/**
 * a^((p−5)/8) = a^(2^252 − 3), by the usual chain through a^(2^k − 1): 251 squarings and 11
 * multiplications. They run on limbs (field-limbs.ts), which is about twice as fast as BigInt
 * here and allocates nothing: every Elligator2 map and inversion spends nearly all its time here.
 */
function pow2523(a: bigint): bigint {
  const x = toLimbs(a, L_X);
  sqrLimbs(L_E2, x);
  mulLimbs(L_E2, L_E2, x); // 2^2 - 1
  sqrNLimbs(L_ACC, L_E2, 2);
  mulLimbs(L_ACC, L_ACC, L_E2); // 2^4 - 1
  sqrLimbs(L_E5, L_ACC);
  mulLimbs(L_E5, L_E5, x); // 2^5 - 1
  sqrNLimbs(L_ACC, L_E5, 5);
  mulLimbs(L_E10, L_ACC, L_E5); // 2^10 - 1
  sqrNLimbs(L_ACC, L_E10, 10);
  mulLimbs(L_E20, L_ACC, L_E10); // 2^20 - 1
  sqrNLimbs(L_ACC, L_E20, 20);
  mulLimbs(L_ACC, L_ACC, L_E20); // 2^40 - 1
  sqrNLimbs(L_ACC, L_ACC, 10);
  mulLimbs(L_E50, L_ACC, L_E10); // 2^50 - 1
  sqrNLimbs(L_ACC, L_E50, 50);
  mulLimbs(L_E100, L_ACC, L_E50); // 2^100 - 1
  sqrNLimbs(L_ACC, L_E100, 100);
  mulLimbs(L_ACC, L_ACC, L_E100); // 2^200 - 1
  sqrNLimbs(L_ACC, L_ACC, 50);
  mulLimbs(L_ACC, L_ACC, L_E50); // 2^250 - 1
  sqrNLimbs(L_ACC, L_ACC, 2);
  mulLimbs(L_ACC, L_ACC, x); // (2^250 - 1)·4 + 1 = 2^252 - 3
  return fromLimbs(L_ACC);
}

/** a^(p−2) = a^−1 (a ≠ 0): (2^252 − 3)·8 + 3 = 2^255 − 21 = p − 2. */
function invert(a: bigint): bigint {
  if (a === 0n) throw new Error('BUG: inverse of zero');
  return mul(sqrN(pow2523(a), 3), mul(sqr(a), a));
}

/**
 * One exponentiation that serves squares and non-squares alike (RFC 9380 `sqrt_ratio` with the
 * numerator 1): for v ≠ 0 returns `[true, r]` with v·r² = 1 when v is a square, and `[false, r]`
 * with v·r² = sqrt(−1) otherwise. Either way r² times a known factor of v gives that factor's
 * inverse, so callers get the square test and a division for the price of one exponentiation.
 *
 * Why it works: r = v³·(v⁷)^((p−5)/8) gives v·r² = v^(7(p−1)/4) = χ⁻¹ with χ = v^((p−1)/4) a fourth
 * root of unity, ±1 exactly when v is a square (p ≡ 5 mod 8).
 */
function invSqrtOrI(v: bigint): [boolean, bigint] {
  const v3 = mul(sqr(v), v);
  const v7 = mul(sqr(v3), v);
  const r = mul(v3, pow2523(v7));
  const check = mul(v, sqr(r));
  if (check === 1n) return [true, r];
  if (check === P - 1n) return [true, mul(r, SQRT_M1)]; // v(ri)² = −v r² = 1
  if (check === SQRT_M1) return [false, r];
  if (check === NEG_SQRT_M1) return [false, mul(r, SQRT_M1)]; // v(ri)² = −(−i) = i
  throw new Error('BUG: invSqrtOrI of zero or of a non-canonical value');
}

function fromBytes(bytes: Uint8Array): bigint {
  return bytesToNumberLE(bytes);
}

function toBytes(a: bigint): Uint8Array {
  return numberToBytesLE(a, 32);
}

/**
 * Field arithmetic mod 2^255 − 19 on canonical bigints, shared with `ephemeral-key.ts` and the
 * tests. Inputs must be in [0, p). Not part of the public API.
 * @internal
 */
export const _field = Object.freeze({ P, A, SQRT_M1, add, sub, neg, mul, sqr, pow2523, invert, invSqrtOrI, fromBytes, toBytes });

// ---- the maps ----

/**
 * The representative of the u-coordinate U/W (W ≠ 0), or null when it has none. Taking u as a
 * fraction lets key generation skip its own inversion: the same exponentiation gives 1/W.
 *
 * With q = −2U(U + A·W) and V = q·W² (a square exactly when −2u(u+A) = q/W² is):
 * r² = 1/V, so 1/W = r²·q·W, and isr = r·W² is 1/sqrt(−2u(u+A)). The root is then
 * u·isr (r² = −u/(2(u+A)), tweak bit 0 clear) or (u+A)·isr (r² = −(u+A)/(2u), bit 0 set).
 * @internal
 */
export function _representativeOfRatio(
  U: bigint,
  W: bigint,
  tweak: number,
): { publicKey: Uint8Array; representative: Uint8Array } | null {
  if (W === 0n) throw new Error('BUG: u = U/W with W = 0');
  const q = neg(mul(add(U, U), add(U, mul(A, W))));
  if (q === 0n) return null; // u = 0 or u = −A: no representative
  const w2 = sqr(W);
  const [isSquare, r] = invSqrtOrI(mul(q, w2));
  if (!isSquare) return null;
  const u = mul(U, mul(mul(sqr(r), q), W));
  const isr = mul(r, w2);
  let root = mul(tweak & 1 ? add(u, A) : u, isr);
  if (root > HALF_P) root = P - root; // the canonical ("non-negative") root
  const representative = toBytes(root); // root < 2^254: bits 254 and 255 are free
  representative[31]! |= tweak & 0xc0;
  return { publicKey: toBytes(u), representative };
}

/**
 * Inverse Elligator2 map: the 32-byte representative of the curve25519 u-coordinate `u`, or null
 * when u has none (−2u(u+A) is zero or not a square; about half of all points).
 * @param u - canonical u-coordinate, 32 bytes little-endian (< 2^255 − 19)
 * @param tweak - one random byte: bit 0 picks the preimage, bits 6 and 7 become the top two bits
 *   of the representative, bits 1–5 are unused (`vectors/README.md` "Interpretations" 3)
 * @returns the representative, uniform over 256 bits when u comes from a dirty key
 *   and the tweak is random, or null
 * @throws TypeError / RangeError on a wrong type, length, tweak out of [0, 255], or u >= p
 */
export function elligator2Representative(u: Uint8Array, tweak: number): Uint8Array | null {
  abytes(u, 32, 'u');
  aint(tweak, 0, 255, 'tweak');
  const value = fromBytes(u);
  if (value >= P) throw new RangeError('u must be a canonical field element (< 2^255 - 19)');
  return _representativeOfRatio(value, 1n, tweak)?.representative ?? null;
}

/**
 * Direct Elligator2 map: the canonical u-coordinate a representative stands for. Total: every
 * 32-byte string decodes (the top two bits are ignored, and roots above (p−1)/2, which no encoder
 * produces, are accepted), so peer input cannot make it fail.
 *
 * With r² and D = 1 + 2r² (never 0: 2 is not a square), w = −A/D and
 * g(w) = w³ + Aw² + w = N/D³ where N = A(A²(D − 1) − D²). u = w when g(w) is a square, else
 * −w − A. g(w) and V = N·D³ are squares together, and invSqrtOrI(V) also yields
 * 1/D = r'²·N·D² (times −sqrt(−1) in the non-square case). N ≠ 0 because A² − 4 is not a square.
 * @param representative - 32 bytes (not modified)
 * @returns the u-coordinate, 32 bytes little-endian, canonical
 * @throws TypeError / RangeError if `representative` is not a 32-byte Uint8Array
 */
export function elligator2Decode(representative: Uint8Array): Uint8Array {
  abytes(representative, 32, 'representative');
  const masked = representative.slice();
  masked[31]! &= 0x3f;
  const r = fromBytes(masked); // < 2^254 < p
  const r2 = sqr(r);
  const d = add(1n, add(r2, r2));
  const d2 = sqr(d);
  const n = mul(A, sub(mul(A_SQUARED, add(r2, r2)), d2));
  const [isSquare, rho] = invSqrtOrI(mul(n, mul(d2, d)));
  let invD = mul(mul(sqr(rho), n), d2);
  if (!isSquare) invD = mul(invD, NEG_SQRT_M1);
  const w = neg(mul(A, invD));
  return toBytes(isSquare ? w : sub(neg(w), A));
}
