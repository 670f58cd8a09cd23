/**
 * Curve25519 benchmarks (group "crypto"): dirty ephemeral key generation, Elligator2 decoding and
 * X25519 on OpenSSL, with noble's BigInt X25519 as the comparison row, the field exponentiation
 * every Elligator2 map costs (on limbs, against the same chain in BigInt), and the curve work of one
 * server handshake against the target of 1,000 handshakes/s on one core (the brief of
 * src/crypto/ephemeral-key.ts: keygen <= ~300 µs, decode <= ~100 µs).
 * @module
 */
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { systemRandom } from '../src/core/random.js';
import { _field, elligator2Decode } from '../src/crypto/elligator2.js';
import { dirtyPublicKey, generateEphemeralKey } from '../src/crypto/ephemeral-key.js';
import { x25519, x25519PublicKey } from '../src/crypto/x25519.js';
import { opsPerSecond, type BenchRow } from './table.js';

const GROUP = 'crypto';
const POOL = 256;

export function curveBench(): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (name: string, fn: () => void, note: string) => {
    const ops = opsPerSecond(fn);
    rows.push({ group: GROUP, name, value: ops, unit: 'ops/s', note: `${(1e6 / ops).toFixed(0)} µs; ${note}` });
  };
  const pool = Array.from({ length: POOL }, () => systemRandom(32));
  let i = 0;
  const next = () => pool[i++ % POOL]!;
  // A new array each call, so that x25519.ts's remembered imports do not apply.
  const fresh = () => next().slice();

  const elements = pool.map((bytes) => _field.fromBytes(bytes) % _field.P);
  if (_field.pow2523(elements[0]!) !== pow2523BigInt(elements[0]!)) throw new Error('BUG: the two exponentiations disagree');
  let e = 0;
  const nextElement = () => elements[e++ % POOL]!;
  row('field exponentiation a^(2^252 - 3), limbs', () => _field.pow2523(nextElement()), 'field-limbs.ts: what every map and inversion costs');
  row('field exponentiation a^(2^252 - 3), BigInt', () => pow2523BigInt(nextElement()), 'comparison: the same chain with BigInt mul');
  row('generateEphemeralKey', () => generateEphemeralKey(systemRandom), 'target <= ~300 µs (about 2 attempts per key)');
  row('dirtyPublicKey', () => dirtyPublicKey(fresh()), '1-2 OpenSSL ladders + one inversion (limb exponentiation)');
  row('elligator2Decode', () => elligator2Decode(next()), 'target <= ~100 µs');

  const peer = x25519PublicKey(systemRandom(32));
  const staticKey = systemRandom(32);
  row('x25519 (node, new private key)', () => x25519(fresh(), peer), 'JWK import = one ladder, then the DH ladder');
  row('x25519 (node, remembered private key)', () => x25519(staticKey, peer), 'e.g. the server static key');
  row('x25519PublicKey (node)', () => x25519PublicKey(fresh()), 'one ladder');
  row('x25519 (noble, comparison)', () => nobleX25519.getSharedSecret(next(), peer), 'BigInt ladder');

  // Server side of one handshake, curve work only: decode R_X, make (y, Y, R_Y), DH1 = X25519(y, X),
  // DH2 = X25519(b, X). Skein HMACs come on top.
  const clientReps = Array.from({ length: 64 }, () => generateEphemeralKey(systemRandom).representative);
  row('server handshake curve work', () => {
    const clientPublic = elligator2Decode(clientReps[i++ % clientReps.length]!);
    const ephemeral = generateEphemeralKey(systemRandom);
    x25519(ephemeral.privateKey, clientPublic);
    x25519(staticKey, clientPublic);
  }, 'decode + keygen + 2 DH; target >= 1,000/s with the Skein HMACs');
  return rows;
}

/** a^(2^252 − 3) by the chain pow2523 uses, in BigInt (`_field.mul`): the comparison row. */
function pow2523BigInt(a: bigint): bigint {
  const { mul } = _field;
  const sqrN = (x: bigint, n: number): bigint => {
    for (let k = 0; k < n; k++) x = mul(x, x);
    return x;
  };
  const e2 = mul(mul(a, a), a);
  const e4 = mul(sqrN(e2, 2), e2);
  const e5 = mul(mul(e4, e4), a);
  const e10 = mul(sqrN(e5, 5), e5);
  const e20 = mul(sqrN(e10, 10), e10);
  const e40 = mul(sqrN(e20, 20), e20);
  const e50 = mul(sqrN(e40, 10), e10);
  const e100 = mul(sqrN(e50, 50), e50);
  const e200 = mul(sqrN(e100, 100), e100);
  const e250 = mul(sqrN(e200, 50), e50);
  return mul(sqrN(e250, 2), a);
}
