/**
 * RFC 7748 X25519 through node:crypto (vectors/README.md "X25519"): every x25519 case of
 * test/vectors/elligator2.json (incl. dirty peers and bit 255 set), noble's x25519 as an oracle
 * on random inputs, DH interoperability with dirty keys, null for low-order peers, and the
 * remembered-import cache.
 */
import fc from 'fast-check';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import vectors from './vectors/elligator2.json' with { type: 'json' };
import { x25519, x25519PublicKey } from '../src/crypto/x25519.js';
import { dirtyPublicKey, generateEphemeralKey } from '../src/crypto/ephemeral-key.js';
import { elligator2Decode } from '../src/crypto/elligator2.js';
import { bytesToHex, hexToBytes } from '../src/core/bytes.js';
import { systemRandom } from '../src/core/random.js';

const P = 2n ** 255n - 19n;
const leBytes = (value: bigint): Uint8Array => hexToBytes(value.toString(16).padStart(64, '0')).reverse();
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/**
 * u-coordinates of the points of order 1, 2, 4 and 8 (vectors' constants), plus their
 * non-canonical encodings u + p below 2^255; each also with bit 255 set, which X25519 ignores.
 */
const LOW_ORDER_U: bigint[] = (() => {
  const canonical = [...new Set(vectors.constants.low_order_points.map((p) => p.montgomery_u))].map((hex) =>
    BigInt('0x' + bytesToHex(hexToBytes(hex).reverse())),
  );
  canonical.push(P - 1n); // u = -1 is on the twist and of order 4 there; X25519 must refuse it too
  const all = [...canonical, ...canonical.filter((u) => u + P < 2n ** 255n).map((u) => u + P)];
  return [...all, ...all.map((u) => u + 2n ** 255n)];
})();

describe('elligator2.json x25519', () => {
  test.each(vectors.x25519.map((v) => [v.note, v] as const))('%s', (_, v) => {
    const shared = x25519(hexToBytes(v.private), hexToBytes(v.peer_public));
    expect(shared === null ? null : bytesToHex(shared)).toBe(v.shared);
  });

  test('keygen cases: X25519(k, 9) is public_clean', () => {
    for (const v of vectors.keygen) expect(bytesToHex(x25519PublicKey(hexToBytes(v.private)))).toBe(v.public_clean);
  });
});

describe('against noble x25519', () => {
  test('random private keys and peers (any 32 bytes, bit 255 and u >= p included)', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (privateKey, peer) => {
        const before = [privateKey.slice(), peer.slice()];
        let expected: string | null;
        try {
          expected = bytesToHex(nobleX25519.getSharedSecret(privateKey, peer));
        } catch {
          expected = null; // noble refuses an all-zero result
        }
        const shared = x25519(privateKey, peer);
        expect(shared === null ? null : bytesToHex(shared)).toBe(expected);
        expect([privateKey, peer]).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });

  test('x25519PublicKey is noble getPublicKey', () => {
    fc.assert(
      fc.property(bytes32, (privateKey) => {
        expect(bytesToHex(x25519PublicKey(privateKey))).toBe(bytesToHex(nobleX25519.getPublicKey(privateKey)));
      }),
      { numRuns: 100 },
    );
  });

  test('results are plain 32-byte Uint8Arrays', () => {
    const a = systemRandom(32);
    const shared = x25519(a, x25519PublicKey(systemRandom(32)))!;
    expect(shared.constructor).toBe(Uint8Array);
    expect(shared).toHaveLength(32);
    expect(x25519PublicKey(a).constructor).toBe(Uint8Array);
  });
});

describe('dirty peers', () => {
  test('X25519(a, dirty(k)) = X25519(a, clean(k)) = X25519(k, clean(a))', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (a, k) => {
        const viaDirty = x25519(a, dirtyPublicKey(k));
        expect(viaDirty).not.toBeNull();
        expect(viaDirty).toEqual(x25519(a, x25519PublicKey(k)));
        expect(viaDirty).toEqual(x25519(k, x25519PublicKey(a)));
      }),
      { numRuns: 40 },
    );
  });

  test('both sides of an ephemeral-ephemeral exchange agree through the decoded representatives', () => {
    for (let i = 0; i < 20; i++) {
      const client = generateEphemeralKey(systemRandom);
      const server = generateEphemeralKey(systemRandom);
      const atClient = x25519(client.privateKey, elligator2Decode(server.representative));
      const atServer = x25519(server.privateKey, elligator2Decode(client.representative));
      expect(atClient).not.toBeNull();
      expect(atClient).toEqual(atServer);
    }
  });
});

describe('low-order and zero peers give null', () => {
  test(`all ${LOW_ORDER_U.length} encodings of low-order points`, () => {
    expect(LOW_ORDER_U.length).toBe(14);
    for (let i = 0; i < 4; i++) {
      const privateKey = systemRandom(32);
      for (const u of LOW_ORDER_U) expect(x25519(privateKey, leBytes(u))).toBeNull();
    }
  });

  test('the all-zero peer', () => {
    expect(x25519(systemRandom(32), new Uint8Array(32))).toBeNull();
  });

  test('a point of order 8 plus a prime-order point is fine', () => {
    const k = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0x55 : i)); // k[0] & 7 = 5
    expect(x25519(systemRandom(32), dirtyPublicKey(k))).not.toBeNull();
  });
});

describe('remembered private-key imports', () => {
  test('an array changed in place is imported again', () => {
    const privateKey = systemRandom(32);
    const peer = x25519PublicKey(systemRandom(32));
    expect(x25519(privateKey, peer)).toEqual(nobleX25519.getSharedSecret(privateKey, peer));
    expect(x25519PublicKey(privateKey)).toEqual(nobleX25519.getPublicKey(privateKey));
    privateKey[7]! ^= 0x10;
    expect(x25519(privateKey, peer)).toEqual(nobleX25519.getSharedSecret(privateKey, peer));
    expect(x25519PublicKey(privateKey)).toEqual(nobleX25519.getPublicKey(privateKey));
    privateKey.fill(0); // zeroised: the zero scalar clamps to 2^254, still a valid key
    expect(x25519PublicKey(privateKey)).toEqual(nobleX25519.getPublicKey(privateKey));
  });

  test('views of the same bytes at another offset are separate keys', () => {
    const buffer = systemRandom(64);
    const first = buffer.subarray(0, 32);
    const second = buffer.subarray(32, 64);
    expect(x25519PublicKey(first)).toEqual(nobleX25519.getPublicKey(first));
    expect(x25519PublicKey(second)).toEqual(nobleX25519.getPublicKey(second));
  });
});

describe('argument checks', () => {
  const ok = new Uint8Array(32);
  test.each<unknown>([undefined, null, '00', [], new Array(32).fill(0), new Uint16Array(16), new ArrayBuffer(32)])(
    'non-bytes %p: TypeError',
    (value) => {
      expect(() => x25519(value as Uint8Array, ok)).toThrow(TypeError);
      expect(() => x25519(ok, value as Uint8Array)).toThrow(TypeError);
      expect(() => x25519PublicKey(value as Uint8Array)).toThrow(TypeError);
    },
  );

  test.each([0, 31, 33])('%i bytes: RangeError naming the argument', (n) => {
    expect(() => x25519(new Uint8Array(n), ok)).toThrow(/privateKey/);
    expect(() => x25519(ok, new Uint8Array(n))).toThrow(/publicKey/);
    expect(() => x25519(ok, new Uint8Array(n))).toThrow(RangeError);
    expect(() => x25519PublicKey(new Uint8Array(n))).toThrow(RangeError);
  });
});
