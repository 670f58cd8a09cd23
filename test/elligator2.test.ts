/**
 * Elligator2 and dirty ephemeral keys (vectors/README.md "Dirty ephemeral keys", "Representative
 * (inverse Elligator2 map)", "Decoding a representative"), checked against every case of
 * test/vectors/elligator2.json, the ephemeral keys of seattle.json, and noble as an oracle:
 * `_map_to_curve_elligator2_curve25519` (RFC 9380) for decoding and Edwards arithmetic
 * ([s]B + [c]T) for dirty keys. The uniformity of the output is tested in
 * elligator2-distinguisher.test.ts.
 */
import fc from 'fast-check';
import { _map_to_curve_elligator2_curve25519, ed25519 } from '@noble/curves/ed25519.js';
import vectors from './vectors/elligator2.json' with { type: 'json' };
import seattle from './vectors/seattle.json' with { type: 'json' };
import { _field, elligator2Decode, elligator2Representative } from '../src/crypto/elligator2.js';
import { dirtyPublicKey, generateEphemeralKey } from '../src/crypto/ephemeral-key.js';
import { x25519PublicKey } from '../src/crypto/x25519.js';
import { bytesToHex, hexToBytes } from '../src/core/bytes.js';
import { scriptedRandom, systemRandom, type RandomSource } from '../src/core/random.js';

const Point = ed25519.Point;
const Fp = Point.Fp;
const P = 2n ** 255n - 19n;
const A = 486662n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const le = (bytes: Uint8Array): bigint => BigInt('0x' + (bytesToHex(bytes.slice().reverse()) || '0'));
const leBytes = (value: bigint): Uint8Array => hexToBytes(value.toString(16).padStart(64, '0')).reverse();
const isSquare = (x: bigint): boolean => Fp.pow(x, (P - 1n) / 2n) === 1n;

/** The order-8 point T of the vectors, as a noble Edwards point. */
const T = Point.fromAffine({
  x: le(hexToBytes(vectors.constants.low_order_points[1]!.edwards_x)),
  y: le(hexToBytes(vectors.constants.low_order_points[1]!.edwards_y)),
});

/** Oracle: u of [clamp(k) mod L]B + [k[0] & 7]T, straight from the README's definition, on noble. */
function nobleDirtyPublicKey(k: Uint8Array): Uint8Array {
  const clamped = k.slice();
  clamped[0]! &= 248;
  clamped[31]! = (clamped[31]! & 127) | 64;
  const point = Point.BASE.multiply(le(clamped) % L).add(T.multiplyUnsafe(BigInt(k[0]! & 7)));
  const { y } = point.toAffine();
  return leBytes(Fp.div(Fp.add(1n, y), Fp.sub(1n, y)));
}

/** Oracle: noble's RFC 9380 map applied to the masked representative. */
function nobleDecode(representative: Uint8Array): Uint8Array {
  const masked = representative.slice();
  masked[31]! &= 0x3f;
  const { xMn, xMd } = _map_to_curve_elligator2_curve25519(le(masked));
  return leBytes(Fp.div(xMn, xMd));
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const fieldElement = fc.bigInt({ min: 0n, max: P - 1n });
/** Field elements a generic generator would rarely hit. */
const EDGE_ELEMENTS = [0n, 1n, 2n, 19n, A, P - A, (P - 1n) / 2n, (P + 1n) / 2n, P - 2n, P - 1n, 2n ** 254n];

/** Every non-Uint8Array a caller might pass by mistake. */
const NOT_BYTES: Array<[string, unknown]> = [
  ['undefined', undefined], ['null', null], ['0', 0], ["'00'", '00'], ['[]', []],
  ['Array(32)', new Array(32).fill(0)], ['Uint16Array(16)', new Uint16Array(16)], ['ArrayBuffer(32)', new ArrayBuffer(32)],
];

describe('field arithmetic mod 2^255 - 19 (internal)', () => {
  const F = _field;
  test('mul, sqr, add, sub, neg agree with plain BigInt', () => {
    fc.assert(
      fc.property(fc.oneof(fieldElement, fc.constantFrom(...EDGE_ELEMENTS)), fieldElement, (a, b) => {
        expect(F.mul(a, b)).toBe((a * b) % P);
        expect(F.sqr(a)).toBe((a * a) % P);
        expect(F.add(a, b)).toBe((a + b) % P);
        expect(F.sub(a, b)).toBe((((a - b) % P) + P) % P);
        expect(F.neg(a)).toBe((P - a) % P);
      }),
      { numRuns: 300 },
    );
  });

  test('invert gives the inverse, and refuses zero', () => {
    fc.assert(
      fc.property(fc.oneof(fieldElement, fc.constantFrom(...EDGE_ELEMENTS)), (a) => {
        fc.pre(a !== 0n);
        expect(F.mul(F.invert(a), a)).toBe(1n);
      }),
      { numRuns: 100 },
    );
    expect(() => F.invert(0n)).toThrow(/BUG/);
  });

  test('invSqrtOrI: v·r² = 1 for squares, sqrt(-1) for non-squares', () => {
    expect(F.mul(F.SQRT_M1, F.SQRT_M1)).toBe(P - 1n);
    fc.assert(
      fc.property(fc.oneof(fieldElement, fc.constantFrom(...EDGE_ELEMENTS)), (v) => {
        fc.pre(v !== 0n);
        const [square, r] = F.invSqrtOrI(v);
        expect(square).toBe(isSquare(v));
        expect(F.mul(v, F.sqr(r))).toBe(square ? 1n : F.SQRT_M1);
      }),
      { numRuns: 100 },
    );
    expect(() => F.invSqrtOrI(0n)).toThrow(/BUG/);
  });
});

describe('elligator2.json constants', () => {
  const c = vectors.constants;
  test('base point, sqrt(-1) and the order-8 point T', () => {
    const base = Point.BASE.toAffine();
    expect(bytesToHex(leBytes(base.x))).toBe(c.basepoint_edwards_x);
    expect(bytesToHex(leBytes(base.y))).toBe(c.basepoint_edwards_y);
    expect(bytesToHex(leBytes(_field.SQRT_M1))).toBe(c.sqrt_minus_one);
    expect(T.multiplyUnsafe(4n).is0()).toBe(false);
    expect(T.multiplyUnsafe(8n).is0()).toBe(true);
  });

  test.each(c.low_order_points.map((p) => [p.index, p] as const))('[%i]T', (index, point) => {
    const { x, y } = T.multiplyUnsafe(BigInt(index)).toAffine();
    expect(bytesToHex(leBytes(x))).toBe(point.edwards_x);
    expect(bytesToHex(leBytes(y))).toBe(point.edwards_y);
    // The identity has no finite u; the vectors write 0 for it, as X25519 does.
    const u = y === 1n ? 0n : Fp.div(Fp.add(1n, y), Fp.sub(1n, y));
    expect(bytesToHex(leBytes(u))).toBe(point.montgomery_u);
  });
});

describe('elligator2.json keygen', () => {
  test.each(vectors.keygen.map((v, i) => [i, v.low_order_index, v] as const))(
    'case %i (low-order index %i)',
    (_, lowOrderIndex, v) => {
      const k = hexToBytes(v.private);
      expect(k[0]! & 7).toBe(lowOrderIndex);
      expect(bytesToHex(x25519PublicKey(k))).toBe(v.public_clean);
      expect(bytesToHex(dirtyPublicKey(k))).toBe(v.public_dirty);
      const representative = elligator2Representative(hexToBytes(v.public_dirty), parseInt(v.tweak, 16));
      expect(representative === null ? null : bytesToHex(representative)).toBe(v.representative);
      expect(v.representative_exists).toBe(representative !== null);
      if (representative !== null) {
        expect(representative[31]! >> 6).toBe(v.top_bits);
        expect(bytesToHex(elligator2Decode(representative))).toBe(v.public_dirty);
      }
    },
  );

  test('generateEphemeralKey replays the cases in order, skipping those without a representative', () => {
    const chunks = vectors.keygen.flatMap((v) => [hexToBytes(v.private), hexToBytes(v.tweak)]);
    const random = scriptedRandom(...chunks);
    const expected = vectors.keygen.filter((v) => v.representative !== null);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(vectors.keygen.length);
    for (const v of expected) {
      const key = generateEphemeralKey(random);
      expect(bytesToHex(key.privateKey)).toBe(v.private);
      expect(bytesToHex(key.publicKey)).toBe(v.public_dirty);
      expect(bytesToHex(key.representative)).toBe(v.representative);
    }
    expect(() => random(32)).toThrow(/exhausted/); // every chunk was consumed, none was left over
  });

  test.each(seattle.transcripts.map((t) => [t.name, t] as const))('seattle.json %s ephemeral keys', (_, t) => {
    const client = generateEphemeralKey(
      scriptedRandom(hexToBytes(t.inputs.client_ephemeral_private), hexToBytes(t.inputs.client_ephemeral_tweak)),
    );
    expect(bytesToHex(client.representative)).toBe(t.R_X);
    expect(bytesToHex(client.publicKey)).toBe(t.X);
    expect(client.privateKey[0]! & 7).toBe(t.X_low_order_index);
    const server = generateEphemeralKey(
      scriptedRandom(hexToBytes(t.inputs.server_ephemeral_private), hexToBytes(t.inputs.server_ephemeral_tweak)),
    );
    expect(bytesToHex(server.representative)).toBe(t.R_Y);
    expect(bytesToHex(server.publicKey)).toBe(t.Y);
  });
});

describe('elligator2.json decode', () => {
  test.each(vectors.decode.map((v) => [v.representative, v] as const))('%s', (hex, v) => {
    const representative = hexToBytes(hex);
    expect(representative[31]! >> 6).toBe(v.top_bits);
    expect(bytesToHex(elligator2Decode(representative))).toBe(v.public);
    expect(bytesToHex(elligator2Decode(hexToBytes(v.masked_representative)))).toBe(v.public);
    expect(bytesToHex(representative)).toBe(hex); // input untouched
  });

  test('all four top-bit patterns of one representative decode alike', () => {
    const patterns = new Set(vectors.decode.map((v) => v.top_bits));
    expect([...patterns].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('dirty public keys against noble Edwards arithmetic', () => {
  // k[0] picks c; the extremes of the clamped scalar exercise both sides of the s ± 8 ladder.
  const edgeKeys = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((c) => [
    Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xf8 | c : 0xff)), // s = 2^255 - 8
    Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? c : 0)), // s = 2^254
    Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xf0 | c : 0xff)), // s = 2^255 - 16
  ]);
  test.each(edgeKeys.map((k) => [bytesToHex(k), k] as const))('edge key %s', (_, k) => {
    expect(bytesToHex(dirtyPublicKey(k))).toBe(bytesToHex(nobleDirtyPublicKey(k)));
  });

  test('random keys', () => {
    fc.assert(
      fc.property(bytes32, (k) => {
        const copy = k.slice();
        expect(bytesToHex(dirtyPublicKey(k))).toBe(bytesToHex(nobleDirtyPublicKey(k)));
        expect(k).toEqual(copy);
      }),
      { numRuns: 100 },
    );
  });

  test('a key with k[0] & 7 = 0 is the clean X25519 key', () => {
    fc.assert(
      fc.property(bytes32, (k) => {
        k[0]! &= 0xf8;
        expect(dirtyPublicKey(k)).toEqual(x25519PublicKey(k));
      }),
      { numRuns: 20 },
    );
  });
});

describe('elligator2Decode against noble (RFC 9380 map_to_curve_elligator2, Z = 2)', () => {
  test('random representatives, top bits included', () => {
    fc.assert(
      fc.property(bytes32, (r) => {
        const u = elligator2Decode(r);
        expect(bytesToHex(u)).toBe(bytesToHex(nobleDecode(r)));
        expect(le(u) < P).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('edge values of r, including roots above (p-1)/2 that no encoder produces', () => {
    for (const r of [...EDGE_ELEMENTS.filter((e) => e < 2n ** 254n), 2n ** 254n - 1n, 2n ** 253n]) {
      for (const top of [0x00, 0x40, 0x80, 0xc0]) {
        const bytes = leBytes(r);
        bytes[31]! |= top;
        expect(bytesToHex(elligator2Decode(bytes))).toBe(bytesToHex(nobleDecode(bytes)));
      }
    }
  });

  test('r and p - r give the same u, so a non-canonical root decodes like its canonical twin', () => {
    // Both fit in 254 bits only for r in [2^254 - 18, 2^254 - 1] (p - r in [2^254 - 18, 2^254 - 1] too).
    for (let r = 2n ** 254n - 18n; r < 2n ** 254n; r++) {
      expect(elligator2Decode(leBytes(r))).toEqual(elligator2Decode(leBytes(P - r)));
    }
  });
});

describe('elligator2Representative', () => {
  /** The README's definition, on noble's field: the root picked by tweak bit 0, then canonical. */
  function check(u: bigint, tweak: number, representative: Uint8Array | null): void {
    const q = Fp.mul(Fp.mul(P - 2n, u), Fp.add(u, A)); // -2u(u + A)
    expect(representative !== null).toBe(q !== 0n && isSquare(q));
    if (representative === null) return;
    expect(representative[31]! & 0xc0).toBe(tweak & 0xc0);
    const masked = representative.slice();
    masked[31]! &= 0x3f;
    const r = le(masked);
    expect(r <= (P - 1n) / 2n).toBe(true);
    const r2 = Fp.sqr(r);
    if (tweak & 1) expect(Fp.mul(r2, Fp.mul(2n, u))).toBe(Fp.neg(Fp.add(u, A)));
    else expect(Fp.mul(r2, Fp.mul(2n, Fp.add(u, A)))).toBe(Fp.neg(u));
    // Decoding always lands on the curve: it returns u itself when u is on the curve (g(u) a
    // square), and -u - A when u is on the twist (the inverse formula does not look at v).
    const g = Fp.add(Fp.mul(Fp.add(Fp.sqr(u), Fp.mul(A, u)), u), u);
    expect(le(elligator2Decode(representative))).toBe(isSquare(g) ? u : Fp.neg(Fp.add(u, A)));
  }

  test('random u and tweak: exists iff -2u(u+A) is a non-zero square; the root and top bits follow the tweak', () => {
    let found = 0;
    fc.assert(
      fc.property(fc.oneof(fieldElement, fc.constantFrom(...EDGE_ELEMENTS)), fc.integer({ min: 0, max: 255 }), (u, tweak) => {
        const representative = elligator2Representative(leBytes(u), tweak);
        if (representative !== null) found++;
        check(u, tweak, representative);
      }),
      { numRuns: 300 },
    );
    expect(found).toBeGreaterThan(60); // about half of all u have one
  });

  test('u = 0 and u = -A have none', () => {
    expect(elligator2Representative(leBytes(0n), 0)).toBeNull();
    expect(elligator2Representative(leBytes(P - A), 0)).toBeNull();
  });

  test('dirty keys round-trip through representative and decode; tweak bits 1-5 are unused', () => {
    fc.assert(
      fc.property(bytes32, fc.integer({ min: 0, max: 255 }), (k, tweak) => {
        const u = dirtyPublicKey(k);
        const representative = elligator2Representative(u, tweak);
        check(le(u), tweak, representative);
        expect(elligator2Representative(u, tweak ^ 0x3e)).toEqual(representative);
        if (representative !== null) expect(elligator2Decode(representative)).toEqual(u);
      }),
      { numRuns: 60 },
    );
  });
});

describe('generateEphemeralKey', () => {
  test('fresh keys: the representative decodes to the public key, which is the dirty key of the private key', () => {
    for (let i = 0; i < 40; i++) {
      const key = generateEphemeralKey(systemRandom);
      expect(key.privateKey).toHaveLength(32);
      expect(key.representative).toHaveLength(32);
      expect(elligator2Decode(key.representative)).toEqual(key.publicKey);
      expect(key.publicKey).toEqual(nobleDirtyPublicKey(key.privateKey));
    }
  });

  test('the private key is a copy of what the source gave', () => {
    const v = vectors.keygen.find((c) => c.representative !== null)!;
    const given = hexToBytes(v.private);
    const key = generateEphemeralKey(scriptedRandom(given, hexToBytes(v.tweak)));
    expect(key.privateKey).toEqual(given);
    expect(key.privateKey).not.toBe(given);
  });

  test('gives up after 128 keys without a representative (a broken source)', () => {
    const v = vectors.keygen.find((c) => c.representative === null)!;
    let calls = 0;
    const stuck: RandomSource = (n) => {
      calls++;
      return n === 32 ? hexToBytes(v.private) : hexToBytes(v.tweak);
    };
    expect(() => generateEphemeralKey(stuck)).toThrow(/128 keys/);
    expect(calls).toBe(256);
  });

  test('a source returning the wrong length or type is an error', () => {
    expect(() => generateEphemeralKey(() => new Uint8Array(31))).toThrow(RangeError);
    expect(() => generateEphemeralKey((n) => (n === 32 ? new Uint8Array(32) : new Uint8Array(0)))).toThrow(RangeError);
    expect(() => generateEphemeralKey((() => [1, 2, 3]) as unknown as RandomSource)).toThrow(TypeError);
  });
});

describe('argument checks', () => {
  test.each(NOT_BYTES)('non-bytes %s: TypeError', (_, value) => {
    expect(() => elligator2Decode(value as Uint8Array)).toThrow(TypeError);
    expect(() => elligator2Representative(value as Uint8Array, 0)).toThrow(TypeError);
    expect(() => dirtyPublicKey(value as Uint8Array)).toThrow(TypeError);
  });

  test.each([0, 31, 33, 64])('%i bytes: RangeError naming the argument', (n) => {
    expect(() => elligator2Decode(new Uint8Array(n))).toThrow(/representative/);
    expect(() => elligator2Decode(new Uint8Array(n))).toThrow(RangeError);
    expect(() => elligator2Representative(new Uint8Array(n), 0)).toThrow(RangeError);
    expect(() => dirtyPublicKey(new Uint8Array(n))).toThrow(/privateKey/);
  });

  test('tweak must be an integer byte', () => {
    const u = new Uint8Array(32);
    u[0] = 9;
    for (const bad of [-1, 256, 1000]) expect(() => elligator2Representative(u, bad)).toThrow(RangeError);
    for (const bad of [1.5, Number.NaN, '1', null]) {
      expect(() => elligator2Representative(u, bad as number)).toThrow(TypeError);
    }
    expect(() => elligator2Representative(u, 256)).toThrow(/tweak/);
  });

  test('u must be canonical', () => {
    for (const bad of [P, P + 1n, 2n ** 255n - 1n, 2n ** 256n - 1n]) {
      expect(() => elligator2Representative(leBytes(bad), 0)).toThrow(RangeError);
    }
    expect(() => elligator2Representative(leBytes(P - 1n), 0)).not.toThrow();
  });
});
