/**
 * HMAC-Skein-256 (RFC 2104, B = 32), checked against test/vectors/hmac-skein256.json: the MAC and
 * both intermediate values the file gives (the 32-byte key block and the inner hash), plus the
 * RFC 2104 key rules and API misuse.
 */
import fc from 'fast-check';
import vectors from './vectors/hmac-skein256.json' with { type: 'json' };
import { hmacSkein256 } from '../src/crypto/hmac-skein.js';
import { skein256 } from '../src/crypto/skein.js';
import { bytesToHex, concatBytes, hexToBytes } from '../src/core/bytes.js';

const xorByte = (block: Uint8Array, byte: number) => block.map((b) => b ^ byte);

describe('HMAC-Skein-256 known answers (vectors/hmac-skein256.json)', () => {
  test('the file covers key lengths 0, 16, 32, 33, 64, 100 x message lengths 0, 1, 32, 100, 1000', () => {
    const pairs = vectors.vectors.map((v) => `${v.key_length}/${v.message_length}`);
    const expected = [0, 16, 32, 33, 64, 100].flatMap((k) => [0, 1, 32, 100, 1000].map((m) => `${k}/${m}`));
    expect(pairs.sort()).toEqual(expected.sort());
  });

  test.each(vectors.vectors.map((v) => [v.key_length, v.message_length, v] as const))(
    'key %i bytes, message %i bytes',
    (keyLength, messageLength, v) => {
      const key = hexToBytes(v.key);
      const message = hexToBytes(v.message);
      expect(key).toEqual(Uint8Array.from({ length: keyLength }, (_, i) => (i * 7 + 3) & 0xff));
      expect(message).toEqual(Uint8Array.from({ length: messageLength }, (_, i) => i & 0xff));

      // The intermediate values, recomputed from RFC 2104 with our Skein-256-256.
      const keyBlock = new Uint8Array(32);
      keyBlock.set(key.length > 32 ? skein256(key) : key);
      expect(bytesToHex(keyBlock)).toBe(v.key_block);
      const inner = skein256(xorByte(keyBlock, 0x36), message);
      expect(bytesToHex(inner)).toBe(v.inner_hash);
      expect(bytesToHex(skein256(xorByte(keyBlock, 0x5c), inner))).toBe(v.mac);

      // The function under test, whole and with the message in three parts.
      expect(bytesToHex(hmacSkein256(key, message))).toBe(v.mac);
      const third = Math.floor(messageLength / 3);
      const parts = [message.subarray(0, third), message.subarray(third, 2 * third), message.subarray(2 * third)];
      expect(bytesToHex(hmacSkein256(key, ...parts))).toBe(v.mac);
    },
  );
});

describe('HMAC-Skein-256 key and message rules', () => {
  test('no message parts is the empty message', () => {
    const v = vectors.vectors.find((x) => x.key_length === 16 && x.message_length === 0)!;
    expect(bytesToHex(hmacSkein256(hexToBytes(v.key)))).toBe(v.mac);
    expect(bytesToHex(hmacSkein256(hexToBytes(v.key), new Uint8Array(0), new Uint8Array(0)))).toBe(v.mac);
  });

  test('property: any split of the message gives the same MAC', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        (key, message, c1, c2) => {
          const [i, j] = [c1 % (message.length + 1), c2 % (message.length + 1)].sort((a, b) => a - b) as [number, number];
          const split = hmacSkein256(key, message.subarray(0, i), message.subarray(i, j), message.subarray(j));
          expect(bytesToHex(split)).toBe(bytesToHex(hmacSkein256(key, message)));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('property: a key longer than 32 bytes acts as its Skein-256-256 digest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 33, maxLength: 200 }), fc.uint8Array({ maxLength: 64 }), (key, message) => {
        expect(bytesToHex(hmacSkein256(key, message))).toBe(bytesToHex(hmacSkein256(skein256(key), message)));
      }),
      { numRuns: 100 },
    );
  });

  test('property: a key of at most 32 bytes acts as itself zero-padded to 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), (key, message) => {
        const padded = concatBytes(key, new Uint8Array(32 - key.length));
        expect(bytesToHex(hmacSkein256(key, message))).toBe(bytesToHex(hmacSkein256(padded, message)));
      }),
      { numRuns: 100 },
    );
  });

  test('a 32-byte key is not hashed, a 33-byte key is (the B boundary)', () => {
    const key32 = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const key33 = concatBytes(key32, new Uint8Array(1));
    const msg = hexToBytes('00');
    // zero-padding rule would make key33 equal key32 if it were not hashed
    expect(bytesToHex(hmacSkein256(key33, msg))).not.toBe(bytesToHex(hmacSkein256(key32, msg)));
    expect(bytesToHex(hmacSkein256(key32, msg))).not.toBe(bytesToHex(hmacSkein256(skein256(key32), msg)));
  });

  test('key and message are not modified; the MAC is a fresh 32-byte array', () => {
    const key = Uint8Array.from({ length: 40 }, (_, i) => i);
    const message = Uint8Array.from({ length: 50 }, (_, i) => 255 - i);
    const [keyCopy, messageCopy] = [key.slice(), message.slice()];
    const mac = hmacSkein256(key, message);
    expect(mac).toBeInstanceOf(Uint8Array);
    expect(mac.length).toBe(32);
    expect(key).toEqual(keyCopy);
    expect(message).toEqual(messageCopy);
    expect(hmacSkein256(key, message)).not.toBe(mac);
  });
});

describe('HMAC-Skein-256 misuse', () => {
  const NOT_BYTES: Array<[string, unknown]> = [
    ['undefined', undefined], ['null', null], ['0', 0], ["'key'", 'key'], ['[1, 2]', [1, 2]],
    ['Uint16Array', new Uint16Array(2)], ['ArrayBuffer', new ArrayBuffer(4)], ['{}', {}],
  ];
  test.each(NOT_BYTES)('key %s throws TypeError naming the key', (_label, value) => {
    expect(() => hmacSkein256(value as Uint8Array, new Uint8Array(1))).toThrow(TypeError);
    expect(() => hmacSkein256(value as Uint8Array, new Uint8Array(1))).toThrow(/^key must be a Uint8Array/);
  });
  test.each(NOT_BYTES)('message part %s throws TypeError naming the part', (_label, value) => {
    const key = new Uint8Array(32);
    expect(() => hmacSkein256(key, new Uint8Array(1), value as Uint8Array)).toThrow(TypeError);
    expect(() => hmacSkein256(key, new Uint8Array(1), value as Uint8Array)).toThrow(/^message\[1\] must be a Uint8Array/);
  });
});
