/**
 * Dirty ephemeral key pairs with Elligator2 representatives (`vectors/README.md` "Dirty ephemeral
 * keys"; `DECISIONS.md` "Crypto suite"; the obfs4proxy 0.0.14 / lyrebird `x25519ell2` convention
 * that defeats the subgroup distinguisher of `tor-pt.md` §7).
 *
 * From 32 random, unclamped bytes k: s = clamp(k), c = k[0] & 7, and the public key is the
 * Montgomery u of P = [s]B + [c]T, with T the order-8 point of `elligator2.json`. X25519 with any
 * clamped scalar removes [c]T, so DH works unchanged against the dirty key.
 *
 * How P is computed without a BigInt scalar multiplication (which costs 150–270 µs in noble):
 * 1. x1 = u([s]B) = X25519(k, 9), and x2 = u([s+8]B), by OpenSSL (constant time, ~37 µs each).
 *    The secret scalar never reaches BigInt code.
 * 2. The v-coordinate y1 of [s]B follows from x1, x2 and the known point G = [8]B by the
 *    Okeya–Sakurai y-recovery formula (CHES 2001) for Montgomery curves: no square root needed.
 * 3. [c]T is added in Montgomery affine coordinates, leaving u as a fraction U/W, and one
 *    exponentiation in `elligator2.ts` gives the representative together with 1/W.
 * c = 0 and c = 4 need neither x2 nor y1: [4]T = (0, 0) and u(P + (0,0)) = 1/u(P).
 * @module
 */
import { abytes } from '../core/bytes.js';
import type { RandomSource } from '../core/random.js';
import { _field as F, _representativeOfRatio } from './elligator2.js';
import { _x25519BaseOnce, x25519PublicKey } from './x25519.js';

/** A dirty ephemeral key pair as `generateEphemeralKey` makes it. */
export interface EphemeralKey {
  /** The 32 random bytes k, unclamped; X25519 clamps them when the key is used for DH. */
  privateKey: Uint8Array;
  /** The dirty u-coordinate u([clamp(k)]B + [k[0] & 7]T), 32 bytes little-endian, canonical. */
  publicKey: Uint8Array;
  /** Its Elligator2 representative, top two bits random: what goes on the wire. */
  representative: Uint8Array;
}

// Montgomery points used below, for the birational map (u, v) = ((1+y)/(1−y), C·u/x) from the
// Edwards form, C being the even square root of −(A + 2). Any fixed C gives a group isomorphism,
// so sums computed on this side map to the Edwards sums the vectors define. The keygen vectors
// cover every c, and test/elligator2.test.ts compares random keys with noble's Edwards arithmetic.
/** G = [8]B. */
const G_U = 0x275fa6d7aad65c2dd83b884dc8b65ca17a78edcaad74a91ef1716fed48c99968n;
/** 1 / (2·v(G)), the constant divisor of the y-recovery formula. */
const INV_2G_V = 0x553145e1c639259c5565b2ccbc370daff3ca7704a21f2e35fa3ba6d25f43ba7dn;
/** [c]T for c = 0..7, as [u, v]; [8−c]T = −[c]T = (u, −v); [0]T (the identity) is never used. */
const LOW_ORDER: ReadonlyArray<readonly [bigint, bigint]> = (() => {
  const t1: [bigint, bigint] = [
    0x57119fd0dd4e22d8868e1c58c45c44045bef839c55b1d0b1248c50a3bc959c5fn,
    0x68c593893d458e6431c6ca0045fb501520a443468eaa68dd0f103842048065b7n,
  ];
  const t2: [bigint, bigint] = [1n, 0x6be4f497f9a9c2afc21fa77ad7f4a6ef635a11c7284a9363e9a248ef9c884415n];
  const t3: [bigint, bigint] = [
    0x00b8495f16056286fdb1329ceb8d09da6ac49ff1fae35616aeb8413b7c7aebe0n,
    0x3931c129569e83a529482c14e628b457933bfc29ed801b4d6887148392507b1an,
  ];
  const negate = ([u, v]: [bigint, bigint]): [bigint, bigint] => [u, F.neg(v)];
  return [[0n, 0n], t1, t2, t3, [0n, 0n], negate(t3), negate(t2), negate(t1)];
})();

/** The largest clamped scalar, 2^255 − 8: the one s for which s + 8 is not a valid scalar. */
const MAX_CLAMPED = (1n << 255n) - 8n;
/**
 * generateEphemeralKey gives up after this many keys without a representative. Each attempt fails
 * with probability ~1/2, so an honest random source gets here with probability ~2^−128.
 */
const MAX_ATTEMPTS = 128;

/** RFC 7748 decodeScalar25519 as an integer. */
function clampedScalar(k: Uint8Array): bigint {
  const bytes = k.slice();
  bytes[0]! &= 248;
  bytes[31]! &= 127;
  bytes[31]! |= 64;
  return F.fromBytes(bytes);
}

/** The dirty public key of k as a fraction U/W of field elements (W ≠ 0). */
function dirtyRatio(k: Uint8Array): [bigint, bigint] {
  const c = k[0]! & 7;
  const x1 = F.fromBytes(x25519PublicKey(k)); // u([s]B); never 0, as [s]B has order L
  if (c === 0) return [x1, 1n];
  if (c === 4) return [1n, x1]; // [4]T = (0, 0): u(P + (0, 0)) = 1/u(P)

  // x2 = u([s]B ± G): s + 8 stays a clamped scalar unless s = 2^255 − 8, where s − 8 does.
  const s = clampedScalar(k);
  const plus = s !== MAX_CLAMPED;
  const x2 = F.fromBytes(_x25519BaseOnce(F.toBytes(plus ? s + 8n : s - 8n)));
  // Okeya–Sakurai: for Q2 = Q1 + R with R = (xR, yR) known,
  //   y1 = [(xR·x1 + 1)(x1 + xR + 2A) − 2A − (x1 − xR)²·x2] / (2·yR).   Here R = ±G.
  const A2 = F.add(F.A, F.A);
  const num = F.sub(
    F.sub(F.mul(F.add(F.mul(G_U, x1), 1n), F.add(F.add(x1, G_U), A2)), A2),
    F.mul(F.sqr(F.sub(x1, G_U)), x2),
  );
  const y1 = F.mul(num, plus ? INV_2G_V : F.neg(INV_2G_V));

  // Affine addition (x1, y1) + (xt, yt): λ = (y1 − yt)/(x1 − xt), u = λ² − A − x1 − xt.
  // x1 ≠ xt because [s]B is not ±[c]T.
  const [xt, yt] = LOW_ORDER[c]!;
  const W = F.sqr(F.sub(x1, xt));
  const U = F.sub(F.sqr(F.sub(y1, yt)), F.mul(F.add(F.add(F.A, x1), xt), W));
  return [U, W];
}

/**
 * The dirty public key of `privateKey`: u([clamp(k)]B + [k[0] & 7]T) (`vectors/README.md` "Dirty
 * ephemeral keys" steps 1–4). Equals `x25519PublicKey(k)` when k[0] & 7 = 0.
 * @param privateKey - 32 bytes k, not clamped (not modified)
 * @returns the u-coordinate, 32 bytes little-endian, canonical
 * @throws TypeError / RangeError if `privateKey` is not a 32-byte Uint8Array
 */
export function dirtyPublicKey(privateKey: Uint8Array): Uint8Array {
  abytes(privateKey, 32, 'privateKey');
  const [U, W] = dirtyRatio(privateKey);
  return F.toBytes(W === 1n ? U : F.mul(U, F.invert(W)));
}

/**
 * Makes a dirty ephemeral key pair that has a representative. Each attempt reads exactly
 * `random(32)` (the private key k) then `random(1)` (the tweak), and a fresh attempt follows while
 * the key has no representative (about half of keys), so scripted sources can replay vectors.
 * @param random - a CSPRNG (`systemRandom`) or a scripted source in tests
 * @returns the key pair; `privateKey` is a copy of the bytes the source gave
 * @throws RangeError / TypeError if the source returns the wrong type or length; Error if 128
 *   keys in a row have no representative (only a broken source does that)
 */
export function generateEphemeralKey(random: RandomSource): EphemeralKey {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const privateKey = abytes(random(32), 32, 'random(32)').slice();
    const tweak = abytes(random(1), 1, 'random(1)')[0]!;
    const [U, W] = dirtyRatio(privateKey);
    const encoded = _representativeOfRatio(U, W, tweak);
    if (encoded !== null) return { privateKey, ...encoded };
  }
  throw new Error(`random source gave ${MAX_ATTEMPTS} keys in a row without a representative`);
}
