/**
 * Skein-256-256 (Skein 1.3), checked against test/vectors/skein256.json (pattern messages and the
 * official Skein 1.3 known answers), against itself under every chunking, and for API misuse.
 */
import fc from 'fast-check';
import vectors from './vectors/skein256.json' with { type: 'json' };
import { Skein256, skein256 } from '../src/crypto/skein.js';
import { bytesToHex, concatBytes, hexToBytes } from '../src/core/bytes.js';

/** Byte i = i mod 256, as in the vector file's "pattern-N" messages. */
function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i & 0xff);
}

/** Every non-Uint8Array a caller might pass by mistake (noble's TYPE_TEST habit), with a label. */
const NOT_BYTES: Array<[string, unknown]> = [
  ['undefined', undefined], ['null', null], ['0', 0], ['1.5', 1.5], ["'ff'", 'ff'], ["''", ''],
  ['true', true], ['{}', {}], ['[]', []], ['[1, 2, 3]', [1, 2, 3]], ['Uint16Array', new Uint16Array(2)],
  ['ArrayBuffer', new ArrayBuffer(4)], ['DataView', new DataView(new ArrayBuffer(4))],
  ['Symbol', Symbol('x')], ['function', () => new Uint8Array(1)],
];

/**
 * A second, deliberately plain Skein-256-256 straight from the Skein 1.3 text, in BigInt (far too
 * slow for the product, fine as an oracle): it checks the 32-bit-half arithmetic of the real one
 * and derives the IV from the config block instead of trusting a constant.
 */
const MASK = (1n << 64n) - 1n;
const ROT = [[14, 16], [52, 57], [23, 40], [5, 37], [25, 33], [46, 12], [58, 22], [32, 32]] as const;
function refThreefish(key: bigint[], tweak: [bigint, bigint], plain: bigint[]): bigint[] {
  const k = [...key, key.reduce((a, b) => a ^ b, 0x1bd11bdaa9fc1a22n)];
  const t = [tweak[0], tweak[1], tweak[0] ^ tweak[1]];
  const sub = (s: number) => [k[s % 5]!, (k[(s + 1) % 5]! + t[s % 3]!) & MASK,
    (k[(s + 2) % 5]! + t[(s + 1) % 3]!) & MASK, (k[(s + 3) % 5]! + BigInt(s)) & MASK];
  let v = [...plain];
  for (let d = 0; d < 72; d++) {
    if (d % 4 === 0) v = v.map((w, i) => (w + sub(d / 4)[i]!) & MASK);
    const f: bigint[] = [];
    for (let j = 0; j < 2; j++) {
      const [a, b] = [v[2 * j]!, v[2 * j + 1]!];
      const r = BigInt(ROT[d % 8]![j]!);
      f[2 * j] = (a + b) & MASK;
      f[2 * j + 1] = (((b << r) | (b >> (64n - r))) & MASK) ^ f[2 * j]!;
    }
    v = [f[0]!, f[3]!, f[2]!, f[1]!]; // the permutation pi = (0 3 2 1)
  }
  return v.map((w, i) => (w + sub(18)[i]!) & MASK);
}
function refUbi(chain: bigint[], message: Uint8Array, type: bigint): bigint[] {
  const blocks = Math.max(1, Math.ceil(message.length / 32));
  const padded = new Uint8Array(blocks * 32);
  padded.set(message);
  const view = new DataView(padded.buffer);
  for (let b = 0; b < blocks; b++) {
    const m = [0, 1, 2, 3].map((i) => view.getBigUint64(32 * b + 8 * i, true));
    const position = BigInt(Math.min(message.length, 32 * (b + 1)));
    const t1 = (type << 56n) | (b === 0 ? 1n << 62n : 0n) | (b === blocks - 1 ? 1n << 63n : 0n);
    chain = refThreefish(chain, [position, t1], m).map((w, i) => w ^ m[i]!);
  }
  return chain;
}
function refSkein256(message: Uint8Array): Uint8Array {
  const config = new Uint8Array(32);
  config.set([0x53, 0x48, 0x41, 0x33, 1, 0, 0, 0, 0, 1]); // "SHA3", version 1, 256 output bits
  const g0 = refUbi([0n, 0n, 0n, 0n], config, 4n);
  const out = refUbi(refUbi(g0, message, 48n), new Uint8Array(8), 63n);
  const bytes = new Uint8Array(32);
  out.forEach((w, i) => new DataView(bytes.buffer).setBigUint64(8 * i, w, true));
  return bytes;
}

describe('Skein-256-256 known answers (vectors/skein256.json)', () => {
  test('the file holds the 16 pattern messages and the 3 official Skein 1.3 vectors', () => {
    expect(vectors.algorithm).toBe('Skein-256-256');
    expect(vectors.vectors.map((v) => v.name)).toEqual([
      ...[0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 1000].map((n) => `pattern-${n}`),
      'skein-1.3-official-1-bytes', 'skein-1.3-official-32-bytes', 'skein-1.3-official-64-bytes',
    ]);
  });

  test.each(vectors.vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const message = hexToBytes(v.message);
    expect(message.length).toBe(v.message_length);
    if (v.name.startsWith('pattern-')) expect(message).toEqual(pattern(v.message_length));
    expect(bytesToHex(skein256(message))).toBe(v.digest);
    expect(bytesToHex(new Skein256().update(message).digest())).toBe(v.digest);
    // byte by byte: the final-block hold-back must work one byte at a time too
    const h = new Skein256();
    for (let i = 0; i < message.length; i++) h.update(message.subarray(i, i + 1));
    expect(bytesToHex(h.digest())).toBe(v.digest);
  });

  test('the empty message: no update, an empty update and no parts all agree', () => {
    const empty = vectors.vectors.find((v) => v.message_length === 0)!.digest;
    expect(bytesToHex(new Skein256().digest())).toBe(empty);
    expect(bytesToHex(new Skein256().update(new Uint8Array(0)).digest())).toBe(empty);
    expect(bytesToHex(skein256())).toBe(empty);
    expect(bytesToHex(skein256(new Uint8Array(0), new Uint8Array(0)))).toBe(empty);
  });
});

describe('Skein-256-256 against a plain BigInt oracle', () => {
  test('the oracle reproduces the known answers', () => {
    for (const v of vectors.vectors) expect(bytesToHex(refSkein256(hexToBytes(v.message)))).toBe(v.digest);
  });

  test('G0 = UBI(0, config, Cfg) is the chaining value quoted in vectors/README.md', () => {
    const config = new Uint8Array(32);
    config.set([0x53, 0x48, 0x41, 0x33, 1, 0, 0, 0, 0, 1]);
    const g0 = refUbi([0n, 0n, 0n, 0n], config, 4n).map((w) => w.toString(16).padStart(16, '0'));
    expect(g0.join(' ')).toBe('fc9da860d048b449 2fca66479fa7d833 b33bc3896656840f 6a54e920fde8da69');
  });

  test('property: random messages hash the same in both', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (message) => {
        expect(bytesToHex(skein256(message))).toBe(bytesToHex(refSkein256(message)));
      }),
      { numRuns: 150 },
    );
  });
});

describe('Skein-256-256 chunking', () => {
  // Lengths around the 32-byte block edges, where the hold-back of the last block matters.
  test.each([0, 1, 31, 32, 33, 64, 65, 97])('every 3-way split of a %i-byte message', (n) => {
    const message = pattern(n).map((b) => b ^ 0xa5);
    const expected = bytesToHex(skein256(message));
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        const a = message.subarray(0, i);
        const b = message.subarray(i, j);
        const c = message.subarray(j);
        expect(bytesToHex(new Skein256().update(a).update(b).update(c).digest())).toBe(expected);
        expect(bytesToHex(skein256(a, b, c))).toBe(expected);
      }
    }
  });

  test('property: any chunking gives the one-shot digest', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 400 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 12 }),
        (message, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (message.length + 1)))].sort((x, y) => x - y);
          const h = new Skein256();
          let last = 0;
          for (const p of [...points, message.length]) {
            h.update(message.subarray(last, p));
            last = p;
          }
          expect(bytesToHex(h.digest())).toBe(bytesToHex(skein256(message)));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('views with an offset into a larger buffer, and Buffers, hash their own bytes only', () => {
    const big = pattern(300);
    const view = big.subarray(7, 7 + 100);
    const copy = view.slice();
    expect(bytesToHex(skein256(view))).toBe(bytesToHex(skein256(copy)));
    expect(bytesToHex(skein256(Buffer.from(copy)))).toBe(bytesToHex(skein256(copy)));
    expect(view).toEqual(copy); // input not modified
  });

  test('distinct messages give distinct digests (length is bound, zero padding is not ambiguous)', () => {
    const digests = [
      skein256(), skein256(new Uint8Array(1)), skein256(new Uint8Array(31)), skein256(new Uint8Array(32)),
      skein256(new Uint8Array(33)), skein256(new Uint8Array(64)),
    ].map(bytesToHex);
    expect(new Set(digests).size).toBe(digests.length);
  });

  test('instances are independent, including interleaved use', () => {
    const a = new Skein256().update(pattern(40));
    const b = new Skein256().update(pattern(10));
    a.update(pattern(70));
    const db = b.digest();
    expect(bytesToHex(a.digest())).toBe(bytesToHex(skein256(pattern(40), pattern(70))));
    expect(bytesToHex(db)).toBe(bytesToHex(skein256(pattern(10))));
  });

  test('digest returns a fresh array each time', () => {
    const d1 = skein256(pattern(5));
    const d2 = skein256(pattern(5));
    expect(d1).not.toBe(d2);
    d1.fill(0);
    expect(bytesToHex(d2)).toBe(bytesToHex(skein256(concatBytes(pattern(5)))));
  });
});

describe('Skein-256-256 misuse', () => {
  test.each(NOT_BYTES)('update(%s) throws TypeError', (_label, value) => {
    expect(() => new Skein256().update(value as Uint8Array)).toThrow(TypeError);
    expect(() => new Skein256().update(value as Uint8Array)).toThrow(/data must be a Uint8Array/);
    expect(() => skein256(new Uint8Array(1), value as Uint8Array)).toThrow(TypeError);
  });

  test('a failed update leaves the state untouched', () => {
    const h = new Skein256().update(pattern(3));
    expect(() => h.update('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(bytesToHex(h.update(new Uint8Array(0)).digest())).toBe(bytesToHex(skein256(pattern(3))));
  });

  test('after digest() the object refuses update and digest', () => {
    const h = new Skein256().update(pattern(10));
    h.digest();
    expect(() => h.update(pattern(1))).toThrow(/digest\(\) was already called/);
    expect(() => h.digest()).toThrow(/digest\(\) was already called/);
    expect(() => h.update(pattern(1))).toThrow(Error);
  });
});
