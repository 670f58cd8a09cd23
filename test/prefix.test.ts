/**
 * Model prefixes (DECISIONS.md "Shaping": fixed strings a direction sends first, checked and
 * removed by the receiver): PrefixChecker in every chunking, and its sticky failure.
 */
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../src/core/bytes.js';
import { DUST_ERR_BAD_PREFIX, PrefixChecker } from '../src/shaping/prefix.js';

const PREFIX = utf8('INCOMING');

/** Feeds `parts` one after another; returns everything the checker let through. */
function run(checker: PrefixChecker, parts: Uint8Array[]): string {
  return bytesToHex(concatBytes(...parts.map((p) => checker.push(p))));
}

describe('PrefixChecker', () => {
  const wire = concatBytes(PREFIX, hexToBytes('0102030405'));

  test('whole: strips the prefix and passes what follows', () => {
    const checker = new PrefixChecker(PREFIX);
    expect(checker.state).toBe('checking');
    expect(checker.remaining).toBe(8);
    expect(run(checker, [wire])).toBe('0102030405');
    expect(checker.state).toBe('done');
    expect(checker.failure).toBeNull();
    expect(checker.remaining).toBe(0);
    expect(run(checker, [hexToBytes('aabb')])).toBe('aabb');
  });

  test('byte by byte: nothing comes out while inside the prefix', () => {
    const checker = new PrefixChecker(PREFIX);
    for (let k = 0; k < PREFIX.length; k++) {
      expect(checker.push(wire.subarray(k, k + 1)).length).toBe(0);
      expect(checker.state).toBe(k < PREFIX.length - 1 ? 'checking' : 'done');
    }
    expect(run(checker, Array.from(wire.subarray(8), (b) => Uint8Array.of(b)))).toBe('0102030405');
  });

  test('exactly the prefix, then the data in a later chunk', () => {
    const checker = new PrefixChecker(PREFIX);
    expect(checker.push(PREFIX).length).toBe(0);
    expect(checker.state).toBe('done');
    expect(run(checker, [new Uint8Array(0), hexToBytes('09')])).toBe('09');
  });

  test('random split points give the same result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat({ max: 60 }), { maxLength: 6 }), (tail, cuts) => {
        const data = concatBytes(PREFIX, tail);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const parts: Uint8Array[] = [];
        let at = 0;
        for (const p of [...points, data.length]) {
          parts.push(data.subarray(at, p));
          at = p;
        }
        const checker = new PrefixChecker(PREFIX);
        expect(run(checker, parts)).toBe(bytesToHex(tail));
        expect(checker.state).toBe('done');
      }),
      { numRuns: 200 },
    );
  });

  test.each([
    ['the first byte', 0],
    ['a middle byte', 4],
    ['the last byte', 7],
  ])('a difference in %s fails, stickily, whatever the chunking', (_name, at) => {
    for (const split of [1, 3, 100]) {
      const bad = wire.slice();
      bad[at] ^= 0x20;
      const checker = new PrefixChecker(PREFIX);
      const parts = [];
      for (let k = 0; k < bad.length; k += split) parts.push(bad.subarray(k, k + split));
      expect(run(checker, parts)).toBe('');
      expect(checker.state).toBe('failed');
      expect(checker.failure).toBe(DUST_ERR_BAD_PREFIX);
      expect(checker.remaining).toBe(0);
      // Sticky: even the right bytes afterwards pass nothing.
      expect(run(checker, [wire, hexToBytes('00')])).toBe('');
      expect(checker.state).toBe('failed');
    }
  });

  test('an empty prefix is done at once and passes everything', () => {
    const checker = new PrefixChecker(new Uint8Array(0));
    expect(checker.state).toBe('done');
    expect(run(checker, [wire])).toBe(bytesToHex(wire));
  });

  test('keeps its own copy of the expected prefix; checks argument types', () => {
    const expected = utf8('AB');
    const checker = new PrefixChecker(expected);
    expected[0] = 0x5a;
    expect(run(checker, [utf8('ABC')])).toBe('43');
    expect(() => new PrefixChecker('AB' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => checker.push([1] as unknown as Uint8Array)).toThrow(TypeError);
  });
});
