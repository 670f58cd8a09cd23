import { abytes, aint, bytesToHex, concatBytes, equalBytes, hexToBytes, isAllZero, u64be } from '../src/core/bytes.js';
import { scriptedRandom } from '../src/core/random.js';

describe('byte helpers', () => {
  test('abytes names the argument and the problem', () => {
    expect(() => abytes('x', undefined, 'key')).toThrow(new TypeError('key must be a Uint8Array, got string'));
    expect(() => abytes(new Uint8Array(3), 32, 'key')).toThrow(new RangeError('key must be 32 bytes, got 3'));
    const ok = new Uint8Array(32);
    expect(abytes(ok, 32)).toBe(ok);
  });
  test('aint checks integer and range', () => {
    expect(() => aint(1.5, 0, 3, 'n')).toThrow(TypeError);
    expect(() => aint(4, 0, 3, 'n')).toThrow('n must be in [0, 3], got 4');
    expect(aint(3, 0, 3)).toBe(3);
  });
  test('hex round trip and errors', () => {
    expect(bytesToHex(hexToBytes('00ff10Ab'))).toBe('00ff10ab');
    expect(() => hexToBytes('abc')).toThrow(RangeError);
    expect(() => hexToBytes('zz')).toThrow(RangeError);
  });
  test('concat, equality, zero test', () => {
    expect(bytesToHex(concatBytes(hexToBytes('01'), new Uint8Array(0), hexToBytes('0203')))).toBe('010203');
    expect(equalBytes(hexToBytes('0102'), hexToBytes('0102'))).toBe(true);
    expect(equalBytes(hexToBytes('0102'), hexToBytes('0103'))).toBe(false);
    expect(equalBytes(hexToBytes('01'), hexToBytes('0100'))).toBe(false);
    expect(isAllZero(new Uint8Array(5))).toBe(true);
    expect(isAllZero(hexToBytes('000100'))).toBe(false);
    // Every offset, length and position of a single set bit, across the word-aligned middle.
    const buffer = new Uint8Array(40);
    for (let offset = 0; offset < 5; offset++) {
      for (let length = 0; length <= 30; length++) {
        const view = buffer.subarray(offset, offset + length);
        expect(isAllZero(view)).toBe(true);
        for (let at = 0; at < length; at++) {
          view[at] = 0x80;
          expect(isAllZero(view)).toBe(false);
          view[at] = 0;
        }
      }
    }
  });
  test('u64be encodes the epoch hour big-endian', () => {
    expect(bytesToHex(u64be(482136))).toBe('0000000000075b58');
    expect(() => u64be(-1)).toThrow(RangeError);
  });
  test('scripted random hands out exactly what it was given', () => {
    const r = scriptedRandom(hexToBytes('aabb'), hexToBytes('cc'));
    expect(bytesToHex(r(2))).toBe('aabb');
    expect(() => r(2)).toThrow(/expected a request for 1 bytes/);
  });
});
