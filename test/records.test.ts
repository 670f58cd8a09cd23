/**
 * Record protocol (seed "Message Protocol"; DECISIONS.md "Record protocol"): records.json byte for
 * byte in both directions, the streaming opener under every chunking, the failure codes, and the
 * 2^32-block keystream limit. Abuse and bit flips: records-fuzz.test.ts.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { chacha20 } from '@noble/ciphers/chacha.js';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../src/core/bytes.js';
import {
  KEYSTREAM_LIMIT_BYTES,
  MAX_PAYLOAD_LENGTH,
  MAX_RECORD_BYTES,
  MAX_RECORD_DATA,
  MIN_PAYLOAD_LENGTH,
  RECORD_OVERHEAD,
  RecordOpener,
  RecordSealer,
  type DirectionKeys,
} from '../src/core/record.js';
import { RecordMac } from '../src/core/record-mac.js';
import records from './vectors/records.json' with { type: 'json' };
import seattle from './vectors/seattle.json' with { type: 'json' };

type DirectionVector = (typeof records)['client_to_server'];
const DIRECTIONS: Array<[string, DirectionVector, string]> = [
  ['client_to_server', records.client_to_server, 'client_message'],
  ['server_to_client', records.server_to_client, 'server_message_prefix'],
];
const transcript = seattle.transcripts.find((t) => t.name === records.transcript)!;

const keysOf = (v: DirectionVector): DirectionKeys => ({ encKey: hexToBytes(v.enc_key), macKey: hexToBytes(v.mac_key) });
const hex = (parts: Uint8Array[]) => parts.map(bytesToHex);
const LAST_BLOCK = 2 ** 32 - 1;

/** Plaintext L ‖ flags ‖ data ‖ code, built here from the spec with node's createHmac (oracle). */
function plainRecord(macKey: Uint8Array, flags: number, data: Uint8Array, code?: Uint8Array): Uint8Array {
  const length = 1 + data.length + 32;
  const head = Uint8Array.of(length >> 8, length & 0xff, flags);
  const mac = code ?? createHmac('sha256', macKey).update(head).update(data).digest();
  return concatBytes(head, data, mac);
}
const blankPlain = (n: number) => concatBytes(Uint8Array.of((n + 33) >> 8, (n + 33) & 0xff), new Uint8Array(n + 33));

/** Encrypts a whole plaintext stream with noble's ChaCha20 (independent of node:crypto). */
function encryptStream(encKey: Uint8Array, plaintext: Uint8Array, counter = 0): Uint8Array {
  return chacha20(encKey, new Uint8Array(12), plaintext, undefined, counter);
}

/** Pushes `chunks` in order; returns everything delivered. */
function pushAll(opener: RecordOpener, chunks: Uint8Array[]): Uint8Array[] {
  return chunks.flatMap((c) => opener.push(c));
}

/** Splits `bytes` at the given (unsorted, possibly repeated) cut points. */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

function randomKeys(): DirectionKeys {
  return { encKey: new Uint8Array(randomBytes(32)), macKey: new Uint8Array(randomBytes(32)) };
}

describe('record sizes', () => {
  test('constants follow from the 2-byte length, 1-byte flags and 32-byte code', () => {
    expect(RECORD_OVERHEAD).toBe(35);
    expect(MAX_PAYLOAD_LENGTH).toBe(65535);
    expect(MIN_PAYLOAD_LENGTH).toBe(33);
    expect(MAX_RECORD_DATA).toBe(65502);
    expect(MAX_RECORD_BYTES).toBe(65537);
    expect(KEYSTREAM_LIMIT_BYTES).toBe(274877906944); // 2^32 blocks of 64 bytes
  });
  test('a sealed record is its data plus 35 bytes, from 1 to 65,502 data bytes and 0 to 65,502 blank', () => {
    const sealer = new RecordSealer(randomKeys());
    expect(sealer.sealData(new Uint8Array(1)).length).toBe(36);
    expect(sealer.sealData(new Uint8Array(MAX_RECORD_DATA)).length).toBe(MAX_RECORD_BYTES);
    expect(sealer.sealBlank(0).length).toBe(35);
    expect(sealer.sealBlank(MAX_RECORD_DATA).length).toBe(MAX_RECORD_BYTES);
    expect(sealer.keystreamBytes).toBe(36 + 65537 + 35 + 65537);
  });
});

describe('records.json', () => {
  describe.each(DIRECTIONS)('%s', (_name, v, prefixField) => {
    const keys = keysOf(v);
    const stream = hexToBytes(v.stream);
    const dataRecords = v.records.filter((r) => r.kind === 'data').map((r) => r.data);

    test('the sealer reproduces every ciphertext at its keystream offset, and the stream', () => {
      const sealer = new RecordSealer(keys);
      const sealed: Uint8Array[] = [];
      for (const r of v.records) {
        expect(sealer.keystreamBytes).toBe(r.keystream_offset);
        const out = r.kind === 'data' ? sealer.sealData(hexToBytes(r.data)) : sealer.sealBlank(r.data.length / 2);
        expect(bytesToHex(out)).toBe(r.ciphertext);
        expect(out.length).toBe(2 + r.payload_length);
        sealed.push(out);
      }
      expect(bytesToHex(concatBytes(...sealed))).toBe(v.stream);
      expect(sealer.keystreamBytes).toBe(stream.length);
      // The sender puts its handshake bytes in front (client message, or server prefix).
      expect(v.uniform_stream).toBe((transcript as Record<string, unknown>)[prefixField] + v.stream);
    });

    test('decrypted with an independent ChaCha20, the sealed records are the vector plaintexts and codes', () => {
      const sealer = new RecordSealer(keys);
      const sealed = concatBytes(
        ...v.records.map((r) => (r.kind === 'data' ? sealer.sealData(hexToBytes(r.data)) : sealer.sealBlank(r.data.length / 2))),
      );
      const plain = encryptStream(keys.encKey, sealed);
      for (const r of v.records) {
        const at = r.keystream_offset;
        const record = plain.subarray(at, at + 2 + r.payload_length);
        expect(bytesToHex(record)).toBe(r.plaintext);
        expect(bytesToHex(record.subarray(0, 2))).toBe(r.length_bytes);
        expect(record[2]).toBe(r.flags);
        expect(bytesToHex(record.subarray(record.length - 32))).toBe(r.verification_code);
      }
      const keystream0 = encryptStream(keys.encKey, new Uint8Array(64));
      expect(bytesToHex(keystream0)).toBe(v.keystream_block_0);
    });

    test('verification codes: RecordMac = createHmac = the vector', () => {
      const mac = new RecordMac(keys.macKey, 1000);
      for (const r of v.records.filter((x) => x.kind === 'data')) {
        const message = hexToBytes(r.plaintext).subarray(0, 2 + r.payload_length - 32);
        expect(bytesToHex(mac.codeOf(message))).toBe(r.verification_code);
        expect(bytesToHex(createHmac('sha256', keys.macKey).update(message).digest())).toBe(r.verification_code);
      }
    });

    test('the opener delivers the data records, whole, byte by byte and with a trailing partial record', () => {
      const whole = new RecordOpener(keys);
      expect(hex(whole.push(stream))).toEqual(dataRecords);
      expect([whole.state, whole.failure, whole.bufferedBytes, whole.keystreamBytes]).toEqual(['open', null, 0, stream.length]);

      const bytewise = new RecordOpener(keys);
      const got: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i++) {
        const out = bytewise.push(stream.subarray(i, i + 1));
        got.push(...out);
        // A record is delivered exactly when its last byte arrives.
        const ends = v.records.filter((r) => r.kind === 'data').map((r) => r.keystream_offset + 2 + r.payload_length - 1);
        expect(out.length).toBe(ends.includes(i) ? 1 : 0);
      }
      expect(hex(got)).toEqual(dataRecords);
      expect(bytewise.state).toBe('open');

      // h11's "tr": the same stream followed by part of a further record.
      const trailing = new RecordOpener(keys);
      const more = new RecordSealer(keys);
      for (const r of v.records) (r.kind === 'data' ? more.sealData(hexToBytes(r.data)) : more.sealBlank(5));
      const next = more.sealData(utf8('next'));
      expect(hex(trailing.push(concatBytes(stream, next.subarray(0, 10))))).toEqual(dataRecords);
      expect([trailing.state, trailing.bufferedBytes]).toEqual(['open', 10]);
      expect(hex(trailing.push(next.subarray(10)))).toEqual([bytesToHex(utf8('next'))]);
      expect(trailing.bufferedBytes).toBe(0);
    });

    test('any split of the stream delivers the same data (fast-check)', () => {
      fc.assert(
        fc.property(fc.array(fc.nat(stream.length), { maxLength: 40 }), (cuts) => {
          const opener = new RecordOpener(keys);
          expect(hex(pushAll(opener, splitAt(stream, cuts)))).toEqual(dataRecords);
          expect(opener.state).toBe('open');
          expect(opener.bufferedBytes).toBe(0);
        }),
        { numRuns: 300 },
      );
    });
  });

  test('records are bound to their direction: the other direction\'s keys fail and deliver nothing', () => {
    const opener = new RecordOpener(keysOf(records.server_to_client));
    expect(opener.push(hexToBytes(records.client_to_server.stream))).toEqual([]);
    // Whatever the first lengths decrypt to, 70,000 more bytes complete a record that cannot verify.
    expect(opener.push(new Uint8Array(70000))).toEqual([]);
    expect(opener.state).toBe('failed');
  });
});

describe('round trip', () => {
  const recordArb = fc.oneof(
    fc.record({ kind: fc.constant('data' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 3000 }) }),
    fc.record({ kind: fc.constant('blank' as const), n: fc.nat(3000) }),
  );

  test('seal -> split anywhere -> open gives back the data in order (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (recs, cuts) => {
        const keys = randomKeys();
        const sealer = new RecordSealer(keys);
        const wire = concatBytes(...recs.map((r) => (r.kind === 'data' ? sealer.sealData(r.bytes) : sealer.sealBlank(r.n))));
        const opener = new RecordOpener(keys);
        const got = pushAll(opener, splitAt(wire, cuts));
        expect(hex(got)).toEqual(hex(recs.flatMap((r) => (r.kind === 'data' ? [r.bytes] : []))));
        expect([opener.state, opener.bufferedBytes, opener.keystreamBytes]).toEqual(['open', 0, sealer.keystreamBytes]);
      }),
      { numRuns: 150 },
    );
  });

  test('the sealer equals the spec recipe: one node:crypto cipher fed the length, then the payload', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 8 }), (recs) => {
        const keys = randomKeys();
        const sealer = new RecordSealer(keys);
        const oracle = createCipheriv('chacha20', keys.encKey, Buffer.alloc(16));
        for (const r of recs) {
          const plain = r.kind === 'data' ? plainRecord(keys.macKey, 1, r.bytes) : blankPlain(r.n);
          const expected = Buffer.concat([oracle.update(plain.subarray(0, 2)), oracle.update(plain.subarray(2))]);
          expect(bytesToHex(r.kind === 'data' ? sealer.sealData(r.bytes) : sealer.sealBlank(r.n))).toBe(bytesToHex(expected));
        }
      }),
      { numRuns: 100 },
    );
  });

  test('many records in one chunk (ws style), and maximal records', () => {
    const keys = randomKeys();
    const sealer = new RecordSealer(keys);
    const sent: Uint8Array[] = [];
    const wire: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 2) wire.push(sealer.sealBlank(i % 50));
      else {
        const data = new Uint8Array(randomBytes(1 + (i % 97)));
        sent.push(data);
        wire.push(sealer.sealData(data));
      }
    }
    const big = new Uint8Array(randomBytes(MAX_RECORD_DATA));
    sent.push(big);
    wire.push(sealer.sealData(big), sealer.sealBlank(MAX_RECORD_DATA));
    const opener = new RecordOpener(keys);
    const got = opener.push(concatBytes(...wire));
    expect(got.length).toBe(sent.length);
    expect(hex(got)).toEqual(hex(sent));
    expect([opener.state, opener.bufferedBytes]).toEqual(['open', 0]);
  });

  test('delivered arrays stay intact after later pushes (copies out of the reused buffer)', () => {
    const keys = randomKeys();
    const sealer = new RecordSealer(keys);
    const first = sealer.sealData(utf8('first record'));
    const second = sealer.sealData(utf8('second'));
    const opener = new RecordOpener(keys);
    // `first` completes from the pending buffer; `second` is then buffered over the same bytes.
    opener.push(first.subarray(0, 5));
    const [a] = opener.push(concatBytes(first.subarray(5), second.subarray(0, 30)));
    const [b] = opener.push(second.subarray(30));
    expect(new TextDecoder().decode(a)).toBe('first record');
    expect(new TextDecoder().decode(b)).toBe('second');
  });

  test('the opener does not retain the caller\'s chunk; the sealer does not retain data', () => {
    const keys = randomKeys();
    const sealer = new RecordSealer(keys);
    const data = utf8('reused buffers');
    const record = sealer.sealData(data);
    data.fill(0); // the caller reuses its buffer
    const opener = new RecordOpener(keys);
    const chunk = record.slice(0, 20);
    opener.push(chunk);
    chunk.fill(0xff); // the socket reuses its read buffer
    expect(new TextDecoder().decode(opener.push(record.subarray(20))[0])).toBe('reused buffers');
  });
});

describe('failures', () => {
  const keys = randomKeys();
  /** Opens `plaintexts` encrypted as one stream; returns the opener and what it delivered. */
  function openPlain(...plaintexts: Uint8Array[]) {
    const opener = new RecordOpener(keys);
    const delivered = opener.push(encryptStream(keys.encKey, concatBytes(...plaintexts)));
    return { opener, delivered };
  }
  const good = (text: string) => plainRecord(keys.macKey, 1, utf8(text));

  test('DUST_ERR_BAD_LENGTH for L = 0..32, known as soon as the 2 length bytes arrive', () => {
    for (let length = 0; length < 33; length++) {
      const opener = new RecordOpener(keys);
      const wire = encryptStream(keys.encKey, Uint8Array.of(length >> 8, length & 0xff, 1, 2, 3));
      expect(opener.push(wire.subarray(0, 1))).toEqual([]);
      expect(opener.state).toBe('open');
      opener.push(wire.subarray(1, 2));
      expect([opener.state, opener.failure, opener.bufferedBytes]).toEqual(['failed', 'DUST_ERR_BAD_LENGTH', 0]);
    }
  });

  test('a valid length is known at 2 bytes too: the opener waits for exactly L more', () => {
    const record = new RecordSealer(keys).sealData(new Uint8Array(100));
    const opener = new RecordOpener(keys);
    opener.push(record.subarray(0, 2));
    expect(opener.bufferedBytes).toBe(2);
    expect(opener.push(record.subarray(2, record.length - 1))).toEqual([]);
    expect(opener.push(record.subarray(record.length - 1))).toHaveLength(1);
  });

  test('DUST_ERR_BAD_FLAGS for every flags value 2..255, even with a valid code', () => {
    for (let flags = 2; flags < 256; flags++) {
      const { opener, delivered } = openPlain(good('before'), plainRecord(keys.macKey, flags, utf8('x')), good('after'));
      expect(hex(delivered)).toEqual([bytesToHex(utf8('before'))]);
      expect(opener.failure).toBe('DUST_ERR_BAD_FLAGS');
    }
  });

  test('DUST_ERR_BAD_BLANK for a non-zero byte anywhere in a blank record\'s data or code', () => {
    for (let at = 3; at < 2 + 33 + 4; at++) {
      const blank = blankPlain(4);
      blank[at] = 1 << (at % 8);
      const { opener, delivered } = openPlain(good('before'), blank, good('after'));
      expect(hex(delivered)).toEqual([bytesToHex(utf8('before'))]);
      expect(opener.failure).toBe('DUST_ERR_BAD_BLANK');
    }
  });

  test('a blank record with a data record\'s code is still a bad blank (no silent drop)', () => {
    const data = plainRecord(keys.macKey, 1, utf8('payload'));
    data[2] = 0; // flags 1 -> 0, as a bit flip would do
    expect(openPlain(data).opener.failure).toBe('DUST_ERR_BAD_BLANK');
  });

  test('DUST_ERR_BAD_MAC for a wrong code, a wrong key, or a code over other data', () => {
    const wrongCode = plainRecord(keys.macKey, 1, utf8('data'), new Uint8Array(32).fill(7));
    expect(openPlain(wrongCode).opener.failure).toBe('DUST_ERR_BAD_MAC');
    const otherKey = plainRecord(new Uint8Array(32), 1, utf8('data'));
    expect(openPlain(otherKey).opener.failure).toBe('DUST_ERR_BAD_MAC');
    const swapped = plainRecord(keys.macKey, 1, utf8('data'));
    swapped.set(utf8('dada'), 3);
    const { opener, delivered } = openPlain(good('ok'), swapped);
    expect([hex(delivered), opener.failure]).toEqual([[bytesToHex(utf8('ok'))], 'DUST_ERR_BAD_MAC']);
  });

  test('a data record with no data is valid and delivers nothing', () => {
    const { opener, delivered } = openPlain(plainRecord(keys.macKey, 1, new Uint8Array(0)), good('after'));
    expect(hex(delivered)).toEqual([bytesToHex(utf8('after'))]);
    expect(opener.state).toBe('open');
  });

  test('failure is sticky: nothing more is delivered or buffered, the code stays', () => {
    const sealer = new RecordSealer(keys);
    const wire = concatBytes(sealer.sealData(utf8('one')), sealer.sealData(utf8('two')));
    wire[wire.length - 1]! ^= 1;
    const opener = new RecordOpener(keys);
    expect(hex(opener.push(wire))).toEqual([bytesToHex(utf8('one'))]);
    expect(opener.failure).toBe('DUST_ERR_BAD_MAC');
    const valid = new RecordSealer(keys).sealData(utf8('fresh'));
    expect(opener.push(valid)).toEqual([]);
    expect(opener.push(new Uint8Array(100000))).toEqual([]);
    expect([opener.state, opener.failure, opener.bufferedBytes]).toEqual(['failed', 'DUST_ERR_BAD_MAC', 0]);
  });
});

describe('the 2^32-block keystream limit', () => {
  const keys = randomKeys();

  test('near the limit the sealer still matches an independent ChaCha20 at that counter', () => {
    const start = LAST_BLOCK - 1030;
    const sealer = new RecordSealer(keys, start);
    expect(sealer.keystreamBytes).toBe(start * 64);
    const plain: Uint8Array[] = [];
    const wire: Uint8Array[] = [];
    for (let i = 0; sealer.keystreamBytes < KEYSTREAM_LIMIT_BYTES - 70000; i++) {
      const data = new Uint8Array(randomBytes(1 + ((i * 37) % 1000)));
      plain.push(plainRecord(keys.macKey, 1, data), blankPlain(i % 70));
      wire.push(sealer.sealData(data), sealer.sealBlank(i % 70));
    }
    expect(bytesToHex(concatBytes(...wire))).toBe(bytesToHex(encryptStream(keys.encKey, concatBytes(...plain), start)));
  });

  test('the sealer may end exactly at the limit, then is exhausted and refuses to seal', () => {
    const start = 2 ** 32 - 1025; // 65,600 bytes of keystream left
    const sealer = new RecordSealer(keys, start);
    const opener = new RecordOpener(keys, start);
    expect(sealer.exhausted).toBe(false);
    opener.push(sealer.sealBlank(28)); // 63 bytes: exactly one maximal record left
    expect([sealer.keystreamBytes, sealer.exhausted]).toEqual([KEYSTREAM_LIMIT_BYTES - MAX_RECORD_BYTES, false]);
    const last = new Uint8Array(randomBytes(MAX_RECORD_DATA));
    expect(opener.push(sealer.sealData(last))).toEqual([last]);
    expect([sealer.keystreamBytes, sealer.exhausted]).toEqual([KEYSTREAM_LIMIT_BYTES, true]);
    expect(() => sealer.sealData(utf8('x'))).toThrow(/exhausted/);
    expect(() => sealer.sealBlank(0)).toThrow(/exhausted/);
    // The opener read up to the last block and stays open; one byte more is past the limit.
    expect([opener.state, opener.keystreamBytes]).toEqual(['open', KEYSTREAM_LIMIT_BYTES]);
    opener.push(new Uint8Array(1));
    expect([opener.state, opener.failure, opener.keystreamBytes]).toEqual(['failed', 'DUST_ERR_KEYSTREAM_EXHAUSTED', KEYSTREAM_LIMIT_BYTES]);
  });

  test('exhausted is true as soon as a maximal record would not fit', () => {
    const sealer = new RecordSealer(keys, 2 ** 32 - 1025);
    sealer.sealBlank(29); // 64 bytes: one byte less than a maximal record remains
    expect(sealer.exhausted).toBe(true);
    expect(() => sealer.sealBlank(0)).toThrow(/exhausted/);
  });

  test('the opener fails the moment a length announces a record past the limit', () => {
    // 64 bytes left: a record of L = 62 ends exactly at the limit; L = 63 would pass it.
    for (const [length, expected] of [[62, 'open'], [63, 'failed']] as const) {
      const head = Uint8Array.of(0, length);
      // The length's keystream is node's block 2^32-1 (noble refuses to use the last block).
      const wire = createCipheriv('chacha20', keys.encKey, Uint8Array.of(255, 255, 255, 255, ...new Uint8Array(12))).update(head);
      for (const chunks of [[wire], [wire.subarray(0, 1), wire.subarray(1)]]) {
        const opener = new RecordOpener(keys, LAST_BLOCK);
        pushAll(opener, chunks);
        expect(opener.state).toBe(expected);
        expect(opener.failure).toBe(expected === 'failed' ? 'DUST_ERR_KEYSTREAM_EXHAUSTED' : null);
      }
    }
  });

  test('a chunk running past the limit: records below it are delivered, then the opener fails', () => {
    const start = LAST_BLOCK - 2; // 192 bytes left
    expect(new RecordSealer(keys, start).exhausted).toBe(true); // so craft the records here
    const data = utf8('last words');
    const plain = concatBytes(plainRecord(keys.macKey, 1, data), blankPlain(0), blankPlain(77)); // 45 + 35 + 112
    expect(plain.length).toBe(192);
    // node:crypto for the keystream: noble refuses to use block 2^32-1.
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(0, start, true);
    const wire = createCipheriv('chacha20', keys.encKey, iv).update(plain);
    const opener = new RecordOpener(keys, start);
    expect(opener.push(concatBytes(wire, new Uint8Array(200)))).toEqual([data]);
    expect([opener.failure, opener.bufferedBytes, opener.keystreamBytes]).toEqual([
      'DUST_ERR_KEYSTREAM_EXHAUSTED',
      0,
      KEYSTREAM_LIMIT_BYTES,
    ]);
  });
});

describe('argument checks (programmer errors throw)', () => {
  const keys = randomKeys();
  test('keys', () => {
    expect(() => new RecordSealer(null as never)).toThrow(TypeError);
    expect(() => new RecordOpener('k' as never)).toThrow(TypeError);
    expect(() => new RecordSealer({ encKey: new Uint8Array(31), macKey: keys.macKey })).toThrow(
      new RangeError('keys.encKey must be 32 bytes, got 31'),
    );
    expect(() => new RecordOpener({ encKey: keys.encKey, macKey: [] as never })).toThrow(
      new TypeError('keys.macKey must be a Uint8Array, got object'),
    );
    expect(() => new RecordSealer(keys, 2 ** 32)).toThrow(RangeError);
    expect(() => new RecordOpener(keys, -1)).toThrow(RangeError);
  });
  test('sealData and sealBlank', () => {
    const sealer = new RecordSealer(keys);
    expect(() => sealer.sealData(new Uint8Array(0))).toThrow(new RangeError('data must be 1..65502 bytes, got 0'));
    expect(() => sealer.sealData(new Uint8Array(MAX_RECORD_DATA + 1))).toThrow(RangeError);
    expect(() => sealer.sealData('text' as never)).toThrow(new TypeError('data must be a Uint8Array, got string'));
    expect(() => sealer.sealBlank(-1)).toThrow(RangeError);
    expect(() => sealer.sealBlank(MAX_RECORD_DATA + 1)).toThrow(RangeError);
    expect(() => sealer.sealBlank(1.5)).toThrow(new TypeError('zeroBytes must be an integer, got number'));
    expect(sealer.keystreamBytes).toBe(0); // nothing was sealed, no keystream used
  });
  test('push', () => {
    const opener = new RecordOpener(keys);
    expect(() => opener.push([1, 2] as never)).toThrow(new TypeError('chunk must be a Uint8Array, got object'));
    expect(opener.push(new Uint8Array(0))).toEqual([]);
    expect(opener.state).toBe('open');
  });
});

describe('RecordMac (HMAC-SHA-256 in one-shot calls)', () => {
  test('equals createHmac for any key and message (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 2000 }), (key, message) => {
        const mac = new RecordMac(key, 2000);
        const expected = bytesToHex(createHmac('sha256', key).update(message).digest());
        expect(bytesToHex(mac.codeOf(message))).toBe(expected);
        mac.input.set(message, RecordMac.MESSAGE_OFFSET);
        expect(bytesToHex(mac.codeOfInput(message.length))).toBe(expected);
        expect(bytesToHex(mac.codeOf(message))).toBe(expected); // reuse gives the same code
      }),
      { numRuns: 200 },
    );
  });
});
