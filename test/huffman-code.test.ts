/**
 * Code tables for reverse Huffman shaping (DECISIONS.md "Shaping"; docs/shaping.md "Code tables"):
 * checkCodeTable's verdicts, canonical codeword assignment, and the deterministic construction
 * from weights (hand-derived vectors, an independent slow reimplementation of the documented
 * algorithm, the length bound).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  MAX_WEIGHT_CODE_LENGTH,
  canonicalCode,
  checkCodeTable,
  huffmanCodeFromWeights,
  huffmanLengthsFromWeights,
} from '../src/shaping/huffman.js';
import { textLikeWeights } from '../bench/shaping.js';

const bits8 = (b: number) => b.toString(2).padStart(8, '0');
const IDENTITY = Array.from({ length: 256 }, (_, b) => bits8(b));
const kraft = (code: readonly string[]) => code.reduce((s, c) => s + 2 ** -c.length, 0);

/** The code of docs/shaping.md's worked example: e, space, t, then 3 bytes of 10 bits, 250 of 11. */
function exampleWeights(): number[] {
  const w = new Array<number>(256).fill(2 ** -11);
  w[0x65] = 2 ** -1; // 'e'
  w[0x20] = 2 ** -2; // ' '
  w[0x74] = 2 ** -3; // 't'
  for (const b of [0x00, 0x01, 0x02]) w[b] = 2 ** -10;
  return w;
}

/**
 * The documented algorithm, written again the slow obvious way (pick the two smallest nodes by
 * (weight, key) from one list each time), to check the two-queue implementation against.
 */
function referenceLengths(weights: readonly number[]): number[] {
  let total = 0;
  for (const w of weights) total += w;
  const q = weights.map((w) => Math.floor((w / total) * 2 ** 24));
  for (let floor = 1; ; floor *= 2) {
    type Node = { weight: number; key: number; leaves: number[] };
    let nodes: Node[] = q.map((x, b) => ({ weight: Math.max(x, floor), key: b, leaves: [b] }));
    const depth = new Array<number>(256).fill(0);
    let key = 256;
    while (nodes.length > 1) {
      nodes.sort((a, b) => a.weight - b.weight || a.key - b.key);
      const [a, b] = nodes;
      for (const leaf of [...a!.leaves, ...b!.leaves]) depth[leaf]!++;
      nodes = [{ weight: a!.weight + b!.weight, key: key++, leaves: [...a!.leaves, ...b!.leaves] }, ...nodes.slice(2)];
    }
    if (Math.max(...depth) <= 15) return depth;
  }
}

describe('checkCodeTable', () => {
  test('accepts complete prefix codes', () => {
    expect(checkCodeTable(IDENTITY)).toBeNull();
    expect(checkCodeTable(huffmanCodeFromWeights(textLikeWeights()))).toBeNull();
    expect(checkCodeTable(huffmanCodeFromWeights(exampleWeights()))).toBeNull();
    // The longest codewords allowed: a comb down to 31 and 32 bits.
    const lengths = [...Array.from({ length: 24 }, (_, k) => k + 1), ...new Array(24).fill(31), ...new Array(208).fill(32)];
    expect(checkCodeTable(canonicalCode(lengths))).toBeNull();
  });

  const withEntry = (b: number, codeword: unknown) => {
    const code: unknown[] = [...IDENTITY];
    code[b] = codeword;
    return code as string[];
  };
  const bad: Array<[string, unknown, string]> = [
    ['not an array', 'nope', 'the code table must be an array of 256 bit strings'],
    ['too few codewords', IDENTITY.slice(1), 'the code table must have 256 codewords, got 255'],
    ['a codeword that is not a string', withEntry(0x10, 5), 'codeword of byte 0x10 is not a string'],
    ['an empty codeword', withEntry(0x00, ''), 'codeword of byte 0x00 is empty'],
    ['a character other than 0 and 1', withEntry(0xff, '1111111x'), 'codeword of byte 0xff contains a character other than 0 and 1'],
    ['a codeword over 32 bits', withEntry(0x7f, '0'.repeat(33)), 'codeword of byte 0x7f is 33 bits long, more than 32'],
    ['two equal codewords', withEntry(0x42, bits8(0x41)), 'bytes 0x41 and 0x42 have the same codeword'],
    ['a codeword prefixing another', withEntry(0x41, '0100001'), 'codeword of byte 0x41 is a prefix of the codeword of byte 0x42'],
    [
      'an incomplete code',
      Array.from({ length: 256 }, (_, b) => (b < 128 ? '0' + bits8(b).slice(1) : '10' + bits8(b).slice(1))),
      'Kraft sum is 0.75, the code is incomplete',
    ],
  ];
  test.each(bad)('rejects %s', (_name, table, sentence) => {
    expect(checkCodeTable(table as string[])).toBe(sentence);
  });
});

describe('canonicalCode', () => {
  test('assigns consecutive codewords by (length, byte value)', () => {
    const lengths = new Array<number>(256).fill(9);
    lengths[0x80] = 1;
    // Kraft: 1/2 + 255/512 = 511/512; one byte must take 8 bits to complete it.
    lengths[0x05] = 8;
    const code = canonicalCode(lengths);
    expect(code[0x80]).toBe('0');
    expect(code[0x05]).toBe('10000000');
    expect(code[0x00]).toBe('100000010');
    expect(code[0x01]).toBe('100000011');
    expect(code[0x04]).toBe('100000110');
    expect(code[0x06]).toBe('100000111'); // 0x05 took an 8-bit codeword
    expect(code[0xff]).toBe('111111111');
    expect(checkCodeTable(code)).toBeNull();
  });
  test('rejects lengths that are not a complete code', () => {
    expect(() => canonicalCode(new Array(256).fill(9))).toThrow('lengths have Kraft sum 0.5, not 1');
    expect(() => canonicalCode(new Array(255).fill(8))).toThrow(RangeError);
    expect(() => canonicalCode([0, ...new Array(255).fill(8)])).toThrow('lengths[0] must be an integer in [1, 32], got 0');
  });
});

describe('huffmanCodeFromWeights', () => {
  test('hand-derived code for dyadic weights (docs/shaping.md example)', () => {
    // Dyadic probabilities make Huffman lengths exactly -log2(p); canonical assignment then gives:
    const code = huffmanCodeFromWeights(exampleWeights());
    expect(code[0x65]).toBe('0');
    expect(code[0x20]).toBe('10');
    expect(code[0x74]).toBe('110');
    expect(code[0x00]).toBe('1110000000');
    expect(code[0x01]).toBe('1110000001');
    expect(code[0x02]).toBe('1110000010');
    expect(code[0x03]).toBe('11100000110');
    expect(code[0x04]).toBe('11100000111');
    expect(code[0x05]).toBe('11100001000');
    expect(code[0xff]).toBe('11111111111');
  });

  test('equal weights give the identity code, whatever their scale', () => {
    expect(huffmanCodeFromWeights(new Array(256).fill(1))).toEqual(IDENTITY);
    expect(huffmanCodeFromWeights(new Array(256).fill(1e-300))).toEqual(IDENTITY);
  });

  test('ties: equal weights are merged in byte order', () => {
    // Leaves sorted by (weight, byte): the 254 light bytes pair up in byte order (0x00+0x01, ...,
    // 0xfe+0xff); their 127 pairs pair up in turn, and the odd one out, {0xfe, 0xff}, joins the
    // first 4-leaf node, one level higher than the rest. The 254-leaf subtree (weight 254) then
    // merges with 0x10 (the smaller byte of equal weight 1000 goes first), and that with 0x90.
    const w = new Array<number>(256).fill(1);
    w[0x90] = 1000;
    w[0x10] = 1000;
    const code = huffmanCodeFromWeights(w);
    expect(code[0x90]).toBe('0');
    expect(code[0x10]).toBe('10');
    expect(code[0xfe]).toBe('110000000');
    expect(code[0xff]).toBe('110000001');
    expect(code[0x00]).toBe('1100000100');
    expect(code[0x11]).toBe('1100010100'); // 0x10 is skipped
    expect(code[0xfd]).toBe('1111111111');
  });

  test('every byte gets a codeword, even with weight 0, and lengths stay <= 15', () => {
    const onlyA = new Array<number>(256).fill(0);
    onlyA[0x41] = 1;
    const code = huffmanCodeFromWeights(onlyA);
    expect(checkCodeTable(code)).toBeNull();
    expect(code[0x41]).toBe('0');
    expect(Math.max(...code.map((c) => c.length))).toBeLessThanOrEqual(MAX_WEIGHT_CODE_LENGTH);
    // Geometric weights would give a 255-bit codeword without the bound.
    const geometric = Array.from({ length: 256 }, (_, b) => 2 ** -b);
    const lengths = huffmanLengthsFromWeights(geometric);
    expect(Math.max(...lengths)).toBe(MAX_WEIGHT_CODE_LENGTH);
    expect(lengths[0]).toBe(1);
    expect(checkCodeTable(canonicalCode(lengths))).toBeNull();
  });

  test('deterministic: the text-like table always gives this exact code', () => {
    const a = huffmanCodeFromWeights(textLikeWeights());
    const b = huffmanCodeFromWeights(textLikeWeights());
    expect(b).toEqual(a);
    expect(a[0x20]).toBe('000'); // space, the heaviest byte
    expect(a[0x65]).toBe('0011'); // 'e'
    // Pinned digest of the whole table (codewords joined by ','): a change here changes the wire.
    expect(createHash('sha256').update(a.join(',')).digest('hex')).toBe(
      '0868b3113450f1ae2b11d9704f70f653b3700ce884d31024109c5d651572f085',
    );
  });

  test('matches a slow reimplementation of the documented algorithm on random weights', () => {
    const weight = fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 1000 }),
      fc.double({ min: 1e-9, max: 1e9, noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(weight, { minLength: 256, maxLength: 256 }), (w) => {
        fc.pre(w.some((x) => x > 0));
        const lengths = huffmanLengthsFromWeights(w);
        expect(lengths).toEqual(referenceLengths(w));
        const code = canonicalCode(lengths);
        expect(huffmanCodeFromWeights(w)).toEqual(code);
        expect(kraft(code)).toBe(1);
      }),
      { numRuns: 40 },
    );
  });

  test('rejects weights that are not 256 non-negative finite numbers, not all zero', () => {
    expect(() => huffmanCodeFromWeights('x' as unknown as number[])).toThrow(TypeError);
    expect(() => huffmanCodeFromWeights(new Array(255).fill(1))).toThrow('weights must have 256 entries, got 255');
    const w = new Array<unknown>(256).fill(1);
    w[3] = '1';
    expect(() => huffmanCodeFromWeights(w as number[])).toThrow('weights[3] must be a number, got string');
    for (const v of [-1, NaN, Infinity]) {
      w[3] = v;
      expect(() => huffmanCodeFromWeights(w as number[])).toThrow(RangeError);
    }
    expect(() => huffmanCodeFromWeights(new Array(256).fill(0))).toThrow('weights must not all be zero');
    expect(() => huffmanCodeFromWeights(new Array(256).fill(1e308))).toThrow('the sum of the weights must be finite');
  });
});
