/**
 * Reverse Huffman content coding (DECISIONS.md "Shaping"; dust-original.md §4.1; docs/shaping.md):
 * hand-derived vectors, the Dust2015 shaping vector, exact round trips in any chunking (random
 * weight tables and random explicit codes up to 32 bits, against a slow bit-by-bit reference),
 * clone() prediction, the output distribution (chi-square), and the identity fast path.
 */
import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../src/core/bytes.js';
import { createContentCoder, type ContentCoder } from '../src/shaping/coder.js';
import { canonicalCode, checkCodeTable, huffmanCodeFromWeights } from '../src/shaping/huffman.js';
import { createIdentityCoder } from '../src/shaping/identity-coder.js';
import { PrefixChecker } from '../src/shaping/prefix.js';
import { createReverseHuffmanCoder } from '../src/shaping/reverse-huffman.js';
import { textLikeWeights } from '../bench/shaping.js';

/** Deterministic pseudo-random bytes (ChaCha20 keystream keyed by the seed). */
function pseudoRandom(seed: number, n: number): Uint8Array {
  const key = createHash('sha256').update(`shaping test ${seed}`).digest();
  const cipher = createCipheriv('chacha20', key, new Uint8Array(16));
  return new Uint8Array(cipher.update(new Uint8Array(n)));
}

/** Slow reference sender: walk the bits one at a time, emit a byte per completed codeword. */
function referenceShape(code: readonly string[], input: Uint8Array): { shaped: Uint8Array; held: number } {
  const byCodeword = new Map(code.map((c, b) => [c, b]));
  const out: number[] = [];
  let pending = '';
  for (const byte of input) {
    for (const bit of byte.toString(2).padStart(8, '0')) {
      pending += bit;
      const b = byCodeword.get(pending);
      if (b !== undefined) {
        out.push(b);
        pending = '';
      }
    }
  }
  return { shaped: Uint8Array.from(out), held: pending.length };
}

/** Splits `data` at the given cut points (any numbers; taken modulo the length, sorted). */
function chunks(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (data.length ? c % (data.length + 1) : 0)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    parts.push(data.subarray(at, p));
    at = p;
  }
  parts.push(data.subarray(at));
  return parts;
}

function shapeAll(coder: ContentCoder, parts: Uint8Array[]) {
  const encoder = coder.createEncoder();
  const out: Uint8Array[] = [];
  for (const part of parts) {
    encoder.push(part);
    // Take a varying amount, so partly drained output buffers are exercised too.
    out.push(encoder.take(Math.floor(encoder.available / 2)));
  }
  out.push(encoder.take(encoder.available));
  return { shaped: concatBytes(...out), encoder };
}

function unshapeAll(coder: ContentCoder, parts: Uint8Array[]): Uint8Array {
  const decoder = coder.createDecoder();
  return concatBytes(...parts.map((p) => decoder.push(p)));
}

/**
 * Checks one round trip against the reference: the shaped bytes are exactly the reference's, the
 * held bits are what is left of the last codeword, and unshaping returns every complete octet
 * the sender consumed.
 */
function checkRoundTrip(code: readonly string[], input: Uint8Array, shapeCuts: number[], unshapeCuts: number[]) {
  const coder = createReverseHuffmanCoder(code);
  const { shaped, encoder } = shapeAll(coder, chunks(input, shapeCuts));
  const reference = referenceShape(code, input);
  expect(bytesToHex(shaped)).toBe(bytesToHex(reference.shaped));
  expect(encoder.heldBits).toBe(reference.held);
  expect(encoder.heldBits).toBeLessThan(Math.max(...coder.codeLengths));
  const uniform = unshapeAll(coder, chunks(shaped, unshapeCuts));
  const consumedBits = 8 * input.length - encoder.heldBits;
  expect(bytesToHex(uniform)).toBe(bytesToHex(input.subarray(0, Math.floor(consumedBits / 8))));
}

/** Dust2015's only published model (blanu/Dust modelgen/models/test.yaml), incomingModel.huffman. */
const DUST2015_TEST_CODE: readonly string[] = [
  '000000000000000', '000000000000001', '00000000000001', '0000000000001', '1100000000000', '1100000000001',
  '000000000001', '100000000000', '100000000001', '110000000001', '111000000000', '111000000001',
  '00000000001', '01000000000', '01000000001', '10000000001', '10110000000', '10110000001', '11000000001',
  '11010000000', '11010000001', '11100000001', '11110000000', '11110000001', '0000000001', '0010000000',
  '0010000001', '0100000001', '0110000000', '0110000001', '1000000001', '1010000000', '1010000001',
  '1011000001', '1011100000', '1011100001', '1100000001', '1100100000', '1100100001', '1101000001',
  '1101100000', '1101100001', '1110000001', '1110100000', '1110100001', '1111000001', '1111100000',
  '1111100001', '000000001', '000100000', '000100001', '001000001', '001100000', '001100001', '010000001',
  '010100000', '010100001', '011000001', '011100000', '011100001', '100000001', '100100000', '100100001',
  '101000001', '101011000', '101011001', '101100001', '101101000', '101101001', '101110001', '101111000',
  '101111001', '110000001', '110001000', '110001001', '110010001', '110011000', '110011001', '110100001',
  '110101000', '110101001', '110110001', '110111000', '110111001', '111000001', '111001000', '111001001',
  '111010001', '111011000', '111011001', '111100001', '111101000', '111101001', '111110001', '111111000',
  '111111001', '00000001', '00001000', '00001001', '00010001', '00011000', '00011001', '00100001',
  '00101000', '00101001', '00110001', '00111000', '00111001', '01000001', '01001000', '01001001', '01010001',
  '01011000', '01011001', '01100001', '01101000', '01101001', '01110001', '01111000', '01111001', '10000001',
  '10001000', '10001001', '10010001', '10011000', '10011001', '10100001', '10101000', '10101001', '10101101',
  '10101110', '10101111', '10110001', '10110010', '10110011', '10110101', '10110110', '10110111', '10111001',
  '10111010', '10111011', '10111101', '10111110', '10111111', '11000001', '11000010', '11000011', '11000101',
  '11000110', '11000111', '11001001', '11001010', '11001011', '11001101', '11001110', '11001111', '11010001',
  '11010010', '11010011', '11010101', '11010110', '11010111', '11011001', '11011010', '11011011', '11011101',
  '11011110', '11011111', '11100001', '11100010', '11100011', '11100101', '11100110', '11100111', '11101001',
  '11101010', '11101011', '11101101', '11101110', '11101111', '11110001', '11110010', '11110011', '11110101',
  '11110110', '11110111', '11111001', '11111010', '11111011', '11111101', '11111110', '11111111', '0000001',
  '0000010', '0000011', '0000101', '0000110', '0000111', '0001001', '0001010', '0001011', '0001101',
  '0001110', '0001111', '0010001', '0010010', '0010011', '0010101', '0010110', '0010111', '0011001',
  '0011010', '0011011', '0011101', '0011110', '0011111', '0100001', '0100010', '0100011', '0100101',
  '0100110', '0100111', '0101001', '0101010', '0101011', '0101101', '0101110', '0101111', '0110001',
  '0110010', '0110011', '0110101', '0110110', '0110111', '0111001', '0111010', '0111011', '0111101',
  '0111110', '0111111', '1000001', '1000010', '1000011', '1000101', '1000110', '1000111', '1001001',
  '1001010', '1001011', '1001101', '1001110', '1001111', '1010001', '1010010', '1010011', '1010101',

];

/** docs/shaping.md's worked example: 'e' = 0, ' ' = 10, 't' = 110, three 10-bit and 250 11-bit codewords. */
function exampleWeights(): number[] {
  const w = new Array<number>(256).fill(2 ** -11);
  w[0x65] = 2 ** -1;
  w[0x20] = 2 ** -2;
  w[0x74] = 2 ** -3;
  for (const b of [0x00, 0x01, 0x02]) w[b] = 2 ** -10;
  return w;
}

/** Lengths 1..24 for bytes 0..23 (a comb), then 24 codewords of 31 bits and 208 of 32 bits. */
const COMB_CODE = canonicalCode([
  ...Array.from({ length: 24 }, (_, k) => k + 1),
  ...new Array<number>(24).fill(31),
  ...new Array<number>(208).fill(32),
]);

/** A random complete prefix code with codewords of up to 32 bits, from fast-check's choices. */
function randomCode(splits: number[], order: number[]): string[] {
  const leaves = [''];
  let last = 0;
  for (const s of splits) {
    // Odd choices deepen the leaf split last (a chain, reaching 32 bits); even ones pick any leaf.
    let k = s % 2 === 1 ? last : (s >>> 1) % leaves.length;
    if (leaves[k]!.length >= 32) k = leaves.findIndex((l) => l.length < 32);
    const parent = leaves[k]!;
    leaves.splice(k, 1, parent + '0', parent + '1');
    last = k + (s & 2 ? 1 : 0);
  }
  const bytes = Array.from({ length: 256 }, (_, b) => b).sort((a, b) => order[a]! - order[b]! || a - b);
  const code = new Array<string>(256);
  bytes.forEach((b, k) => (code[b] = leaves[k]!));
  return code;
}

describe('reverse Huffman: vectors', () => {
  test('hand-derived: the example code shapes bits into e / space / t', () => {
    const coder = createContentCoder({ weights: exampleWeights() });
    expect(coder.kind).toBe('reverse-huffman');
    const encoder = coder.createEncoder();
    encoder.push(hexToBytes('5b')); // 0 10 110 | 11
    expect(bytesToHex(encoder.take(encoder.available))).toBe('652074');
    expect(encoder.heldBits).toBe(2);
    encoder.push(hexToBytes('ffff')); // 2 + 16 ones: 0xff's codeword (11 ones) | 7 ones
    expect(bytesToHex(encoder.take(encoder.available))).toBe('ff');
    expect(encoder.heldBits).toBe(7);
    const zeros = coder.createEncoder();
    zeros.push(new Uint8Array(2));
    expect(bytesToHex(zeros.take(zeros.available))).toBe('65'.repeat(16));
    expect(zeros.heldBits).toBe(0);

    const decoder = coder.createDecoder();
    expect(bytesToHex(decoder.push(hexToBytes('652074')))).toBe(''); // 6 bits: 010110
    expect(bytesToHex(decoder.push(hexToBytes('74')))).toBe('5b'); // 010110 11|0
    expect(bytesToHex(decoder.push(hexToBytes('ff')))).toBe('7f'); // 0 + 11 ones: 01111111 | 1111
  });

  test('Dust2015 shaping vector (test.yaml incomingModel, prefix "INCOMING")', () => {
    expect(checkCodeTable(DUST2015_TEST_CODE)).toBeNull();
    const coder = createContentCoder({ code: DUST2015_TEST_CODE });
    const encoder = coder.createEncoder();
    encoder.push(hexToBytes('00112233445566778899aabbccddeeff'));
    const wire = concatBytes(utf8('INCOMING'), encoder.take(encoder.available));
    expect(bytesToHex(wire)).toBe('494e434f4d494e47' + '06c663f963df4da6ccd2ffe2b6d48da7');
    expect(encoder.heldBits).toBe(3); // the last byte's low bits 111 wait for more input

    const prefix = new PrefixChecker(utf8('INCOMING'));
    const decoder = coder.createDecoder();
    const uniform = concatBytes(...chunks(wire, [3, 8, 9, 20]).map((c) => decoder.push(prefix.push(c))));
    expect(prefix.state).toBe('done');
    expect(bytesToHex(uniform)).toBe('00112233445566778899aabbccddee');
  });
});

describe('reverse Huffman: exact round trips', () => {
  test('chunking triad: whole, byte by byte, and more input after', () => {
    const code = huffmanCodeFromWeights(textLikeWeights());
    const input = pseudoRandom(1, 3000);
    const coder = createReverseHuffmanCoder(code);
    const whole = shapeAll(coder, [input]).shaped;
    const bytewise = shapeAll(coder, Array.from(input, (_, k) => input.subarray(k, k + 1))).shaped;
    expect(bytesToHex(bytewise)).toBe(bytesToHex(whole));
    expect(bytesToHex(whole)).toBe(bytesToHex(referenceShape(code, input).shaped));
    const back1 = unshapeAll(coder, [whole]);
    const back2 = unshapeAll(coder, Array.from(whole, (_, k) => whole.subarray(k, k + 1)));
    expect(bytesToHex(back2)).toBe(bytesToHex(back1));
    expect(bytesToHex(back1)).toBe(bytesToHex(input.subarray(0, back1.length)));
    expect(back1.length).toBeGreaterThanOrEqual(input.length - 2); // held bits < 15
    // With more uniform input behind it, every byte of the first input comes back.
    const more = concatBytes(input, pseudoRandom(2, 8));
    expect(bytesToHex(unshapeAll(coder, [shapeAll(coder, [more]).shaped]).subarray(0, 3000))).toBe(bytesToHex(input));
  });

  test('random weight tables, random inputs, random chunkings on both sides', () => {
    const weight = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1e6 }));
    fc.assert(
      fc.property(
        fc.array(weight, { minLength: 256, maxLength: 256 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (w, input, shapeCuts, unshapeCuts) => {
          fc.pre(w.some((x) => x > 0));
          checkRoundTrip(huffmanCodeFromWeights(w), input, shapeCuts, unshapeCuts);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('random explicit codes up to 32 bits (multi-level tables, split receiver path)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 255, maxLength: 255 }),
        fc.array(fc.nat(), { minLength: 256, maxLength: 256 }),
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (splits, order, input, shapeCuts, unshapeCuts) => {
          const code = randomCode(splits, order);
          expect(checkCodeTable(code)).toBeNull();
          checkRoundTrip(code, input, shapeCuts, unshapeCuts);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('the other way round: any shaped bytes unshape to bits that shape back to them', () => {
    // Random shaped bytes are mostly rare bytes with long codewords, so pairs of over 24 bits
    // (the receiver's one-byte-at-a-time path) are common here.
    fc.assert(
      fc.property(
        fc.constantFrom(huffmanCodeFromWeights(textLikeWeights()), DUST2015_TEST_CODE, COMB_CODE),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (code, shaped, cuts) => {
          const coder = createReverseHuffmanCoder(code);
          const uniform = unshapeAll(coder, chunks(shaped, cuts));
          const bits = shaped.reduce((sum, b) => sum + code[b]!.length, 0);
          expect(uniform.length).toBe(Math.floor(bits / 8));
          const again = shapeAll(coder, [uniform]).shaped;
          // Everything but the codewords cut by the last partial octet comes back.
          expect(bytesToHex(shaped.subarray(0, again.length))).toBe(bytesToHex(again));
          expect(bytesToHex(again)).toBe(bytesToHex(referenceShape(code, uniform).shaped));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('large pushes (shaped in two halves, then spliced) are exact too', () => {
    // Pushes of 2 KiB and more run two decoding chains, the second starting mid-input on a
    // guessed codeword boundary; the result must be the sequential one, bit for bit.
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 256, maxLength: 256 }).map((w) => {
            w[0] = Math.max(w[0]!, 1);
            return huffmanCodeFromWeights(w);
          }),
          fc
            .tuple(fc.array(fc.nat(), { minLength: 255, maxLength: 255 }), fc.array(fc.nat(), { minLength: 256, maxLength: 256 }))
            .map(([splits, order]) => randomCode(splits, order)),
        ),
        fc.integer({ min: 2000, max: 9000 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 3 }),
        (code, length, seed, cuts) => {
          const input = pseudoRandom(1000 + seed, length);
          checkRoundTrip(code, input, cuts, cuts);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('a large push whose halves never fall into step is still exact', () => {
    // With the example code a run of one bits is a run of 11-bit codewords (byte 0xff): the
    // second half, starting at a byte boundary inside the run, stays out of step with the first
    // unless their offsets agree modulo 11. Most of these inputs take the fallback path.
    const code = huffmanCodeFromWeights(exampleWeights());
    for (let seed = 0; seed < 12; seed++) {
      const input = concatBytes(pseudoRandom(2000 + seed, 500 + seed * 37), new Uint8Array(6000).fill(0xff));
      checkRoundTrip(code, input, [], []);
      // The same encoder after a fallback (no longer splitting) stays exact.
      checkRoundTrip(code, concatBytes(input, pseudoRandom(3000 + seed, 5000)), [input.length], []);
    }
  });

  test('32-bit codewords: all-ones and all-zeros input, byte by byte and whole', () => {
    expect(checkCodeTable(COMB_CODE)).toBeNull();
    const ones = new Uint8Array(64).fill(0xff);
    checkRoundTrip(COMB_CODE, ones, [], []);
    checkRoundTrip(COMB_CODE, ones, Array.from({ length: 64 }, (_, k) => k), Array.from({ length: 64 }, (_, k) => k));
    checkRoundTrip(COMB_CODE, concatBytes(ones, new Uint8Array(16), pseudoRandom(3, 500)), [5, 70, 90], [1, 2, 3]);
    const { shaped } = shapeAll(createReverseHuffmanCoder(COMB_CODE), [ones]);
    expect(shaped[0]).toBe(0xff); // 24 ones then 8 more: the last 32-bit codeword
  });

  test('an 8-bit permutation code is a byte substitution (not the identity fast path)', () => {
    const code = Array.from({ length: 256 }, (_, b) => (255 - b).toString(2).padStart(8, '0'));
    const coder = createContentCoder({ code });
    expect(coder.kind).toBe('reverse-huffman');
    expect(coder.expansion).toBe(1);
    const encoder = coder.createEncoder();
    encoder.push(hexToBytes('00ff10'));
    expect(bytesToHex(encoder.take(3))).toBe('ff00ef');
    expect(bytesToHex(coder.createDecoder().push(hexToBytes('ff00ef')))).toBe('00ff10');
  });
});

describe('reverse Huffman: encoder API', () => {
  const coder = createContentCoder({ weights: textLikeWeights() });

  test('clone() predicts exactly what the original then produces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.nat(), (before, after, taken) => {
        const original = coder.createEncoder();
        original.push(before);
        original.take(taken % (original.available + 1));
        const twin = original.clone();
        const pendingBefore = original.available;
        twin.push(after);
        // The clone's push did not touch the original.
        expect(original.available).toBe(pendingBefore);
        const predicted = twin.take(twin.available);
        original.push(after);
        expect(original.heldBits).toBe(twin.heldBits);
        expect(bytesToHex(original.take(original.available))).toBe(bytesToHex(predicted));
      }),
      { numRuns: 100 },
    );
  });

  test('trim() between pushes changes nothing in the output (both coders)', () => {
    for (const c of [coder, createIdentityCoder()]) {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 40_000 }), fc.nat(), fc.boolean()), { maxLength: 6 }), (steps) => {
          const plain = c.createEncoder();
          const trimmed = c.createEncoder();
          for (const [input, taken, trim] of steps) {
            plain.push(input);
            trimmed.push(input);
            const n = taken % (plain.available + 1);
            expect(bytesToHex(trimmed.take(n))).toBe(bytesToHex(plain.take(n)));
            if (trim) trimmed.trim();
          }
          expect(trimmed.heldBits).toBe(plain.heldBits);
          expect(bytesToHex(trimmed.take(trimmed.available))).toBe(bytesToHex(plain.take(plain.available)));
        }),
        { numRuns: 60 },
      );
    }
  });

  test('take/takeInto check their arguments and copy out', () => {
    const encoder = coder.createEncoder();
    encoder.push(pseudoRandom(4, 100));
    const n = encoder.available;
    expect(n).toBeGreaterThan(100);
    expect(() => encoder.take(n + 1)).toThrow(RangeError);
    expect(() => encoder.take(-1)).toThrow(RangeError);
    expect(() => encoder.take(1.5)).toThrow(TypeError);
    const out = new Uint8Array(10);
    expect(() => encoder.takeInto(out, 5, 6)).toThrow('out has room for 5 bytes after offset 5, not 6');
    expect(() => encoder.takeInto(out, 0, 11)).toThrow(RangeError);
    expect(() => encoder.takeInto(out, 11, 0)).toThrow('offset must be in [0, 10], got 11');
    expect(() => encoder.push('x' as unknown as Uint8Array)).toThrow(TypeError);
    const twin = encoder.clone();
    encoder.takeInto(out, 4, 6);
    const first = twin.take(6);
    expect(bytesToHex(out.subarray(4))).toBe(bytesToHex(first));
    expect(bytesToHex(out.subarray(0, 4))).toBe('00000000');
    expect(encoder.available).toBe(n - 6);
    // take() returns a copy: later pushes do not change it.
    const copy = encoder.take(4);
    const saved = bytesToHex(copy);
    encoder.push(pseudoRandom(5, 5000));
    expect(bytesToHex(copy)).toBe(saved);
  });

  test('createContentCoder rejects bad content descriptions', () => {
    expect(() => createContentCoder({} as never)).toThrow(TypeError);
    expect(() => createContentCoder(null as never)).toThrow(TypeError);
    const bad = Array.from({ length: 256 }, (_, b) => b.toString(2).padStart(9, '0'));
    expect(() => createContentCoder({ code: bad })).toThrow('content.code: Kraft sum is 0.5, the code is incomplete');
    expect(() => createContentCoder({ weights: [1] })).toThrow(RangeError);
    expect(() => createReverseHuffmanCoder(bad)).toThrow('code: Kraft sum is 0.5, the code is incomplete');
  });
});

describe('reverse Huffman: output distribution', () => {
  test('over 1 MiB of shaped output, byte frequencies match 2^-len (chi-square)', () => {
    const coder = createContentCoder({ weights: textLikeWeights() });
    const encoder = coder.createEncoder();
    const counts = new Float64Array(256);
    let total = 0;
    let pushed = 0;
    for (let seed = 0; total < 2 ** 20; seed++) {
      encoder.push(pseudoRandom(100 + seed, 65536));
      pushed += 65536;
      const shaped = encoder.take(encoder.available);
      for (const b of shaped) counts[b]!++;
      total += shaped.length;
    }
    const chiSquare = (p: (b: number) => number) => {
      let x = 0;
      for (let b = 0; b < 256; b++) x += (counts[b]! - total * p(b)) ** 2 / (total * p(b));
      return x;
    };
    // Upper 0.1% point of chi-square with 255 degrees of freedom (Wilson-Hilferty): about 330.
    const df = 255;
    const critical = df * (1 - 2 / (9 * df) + 3.09 * Math.sqrt(2 / (9 * df))) ** 3;
    const model = chiSquare((b) => 2 ** -coder.codeLengths[b]!);
    expect(model).toBeLessThan(critical);
    // The test can fail: the same counts are far from uniform, and from the weights' own
    // proportions, which the 2^-len code only approximates.
    expect(chiSquare(() => 1 / 256)).toBeGreaterThan(100 * critical);
    const w = textLikeWeights();
    const sum = w.reduce((a, b) => a + b, 0);
    expect(chiSquare((b) => w[b]! / sum)).toBeGreaterThan(critical);
    // Shaped bytes per uniform byte match the advertised expansion (8 / mean code length).
    expect(coder.expansion).toBeGreaterThan(1.5);
    expect(Math.abs(total / pushed / coder.expansion - 1)).toBeLessThan(0.002);
  });
});

describe('identity coder', () => {
  test('uniform weights and the identity code select it; it copies both ways', () => {
    for (const coder of [
      createContentCoder({ weights: new Array(256).fill(3) }),
      createContentCoder({ code: Array.from({ length: 256 }, (_, b) => b.toString(2).padStart(8, '0')) }),
      createIdentityCoder(),
    ]) {
      expect(coder.kind).toBe('identity');
      expect(coder.expansion).toBe(1);
      expect(coder.codeLengths).toEqual(new Array(256).fill(8));
      const input = pseudoRandom(6, 1000);
      const { shaped, encoder } = shapeAll(coder, chunks(input, [1, 500, 999]));
      expect(encoder.heldBits).toBe(0);
      expect(bytesToHex(shaped)).toBe(bytesToHex(input));
      const decoder = coder.createDecoder();
      const chunk = input.slice(0, 10);
      const out = decoder.push(chunk);
      chunk.fill(0); // the output is a copy
      expect(bytesToHex(out)).toBe(bytesToHex(input.subarray(0, 10)));
      const twin = encoder.clone();
      encoder.push(input.subarray(0, 3));
      expect(twin.available).toBe(0);
      expect(bytesToHex(encoder.take(1))).toBe(bytesToHex(input.subarray(0, 1)));
      const into = new Uint8Array(3);
      encoder.takeInto(into, 1, 2);
      expect(bytesToHex(into)).toBe('00' + bytesToHex(input.subarray(1, 3)));
      expect(() => encoder.take(1)).toThrow(RangeError);
    }
  });
});
