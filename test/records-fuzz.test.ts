/**
 * Record protocol under hostile input (DECISIONS.md "Record protocol": a bad code, length, flags or
 * blank record fails the connection, nothing more is delivered). h11's fuzz invariant: whatever the
 * bytes and the chunking, `push` never throws, the opener ends `open` or `failed`, and it never
 * holds more than one maximal record. Every bit flip in a sealed stream is detected.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes } from '../src/core/bytes.js';
import { MAX_RECORD_BYTES, MAX_RECORD_DATA, RecordOpener, RecordSealer, type DirectionKeys } from '../src/core/record.js';
import records from './vectors/records.json' with { type: 'json' };

const hex = (parts: Uint8Array[]) => parts.map(bytesToHex);

function randomKeys(): DirectionKeys {
  return { encKey: new Uint8Array(randomBytes(32)), macKey: new Uint8Array(randomBytes(32)) };
}

/** Splits at the cut points (any order, repeats and out-of-range values folded in). */
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

/** Pushes every chunk, checking the invariants after each; returns what was delivered. */
function pushChecked(opener: RecordOpener, chunks: Uint8Array[]): Uint8Array[] {
  const delivered: Uint8Array[] = [];
  for (const chunk of chunks) {
    const wasFailed = opener.state === 'failed';
    const out = opener.push(chunk);
    delivered.push(...out);
    // Plain checks rather than expect(): this runs after every one of up to ~10^5 pushes.
    const broken =
      (wasFailed && out.length > 0 && 'delivered after failing') ||
      (opener.bufferedBytes >= MAX_RECORD_BYTES && `buffered ${opener.bufferedBytes}`) ||
      ((opener.failure === null) !== (opener.state === 'open') && 'state and failure disagree') ||
      (opener.state === 'failed' && opener.bufferedBytes !== 0 && 'failed but still buffering');
    if (broken) throw new Error(`invariant broken: ${broken}`);
  }
  return delivered;
}

interface Sealed {
  wire: Uint8Array;
  /** Data of each data record, in order. */
  data: Uint8Array[];
  /** Wire offset where each record ends, and how many data records end at or before it. */
  ends: Array<{ end: number; dataBefore: number }>;
}

/** A record to seal: its data, or the number of zero bytes of a blank record. */
type Spec = Uint8Array | number;

/** Random specs from signed sizes: n > 0 is n random data bytes, n <= 0 a blank of -n. */
const specsOf = (sizes: number[]): Spec[] => sizes.map((n) => (n > 0 ? new Uint8Array(randomBytes(n)) : -n));

function seal(keys: DirectionKeys, specs: Spec[]): Sealed {
  const sealer = new RecordSealer(keys);
  const parts: Uint8Array[] = [];
  const data: Uint8Array[] = [];
  const ends: Sealed['ends'] = [];
  let end = 0;
  for (const spec of specs) {
    const record = typeof spec === 'number' ? sealer.sealBlank(spec) : sealer.sealData(spec);
    if (typeof spec !== 'number') data.push(spec);
    parts.push(record);
    end += record.length;
    ends.push({ end, dataBefore: data.length });
  }
  return { wire: concatBytes(...parts), data, ends };
}

/** Data records that end at or before wire offset `at` (those an honest opener delivers). */
function dataEndingBy(s: Sealed, at: number): Uint8Array[] {
  let count = 0;
  for (const e of s.ends) if (e.end <= at) count = e.dataBefore;
  return s.data.slice(0, count);
}

describe('random bytes never throw (h11 fuzz invariant)', () => {
  test('arbitrary bytes in arbitrary chunks: open or failed, bounded buffer, nothing delivered', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const opener = new RecordOpener(randomKeys());
        // A random 32-byte code (or an all-zero random blank) verifies with probability ~2^-256.
        expect(pushChecked(opener, splitAt(bytes, cuts))).toEqual([]);
        expect(['open', 'failed']).toContain(opener.state);
      }),
      { numRuns: 300 },
    );
  });

  test('long random input, byte by byte and in one piece, fails the same way', () => {
    for (let run = 0; run < 5; run++) {
      const keys = randomKeys();
      const bytes = new Uint8Array(randomBytes(140000)); // more than two maximal records
      const whole = new RecordOpener(keys);
      expect(pushChecked(whole, [bytes])).toEqual([]);
      expect(whole.state).toBe('failed');
      const bytewise = new RecordOpener(keys);
      for (let i = 0; i < bytes.length && bytewise.state === 'open'; i++) bytewise.push(bytes.subarray(i, i + 1));
      expect(bytewise.failure).toBe(whole.failure);
    }
  });
});

describe('truncated and extended streams', () => {
  const v = records.client_to_server;
  const keys = { encKey: hexToBytes(v.enc_key), macKey: hexToBytes(v.mac_key) };
  const stream = hexToBytes(v.stream);
  const boundaries = v.records.map((r) => ({ end: r.keystream_offset + 2 + r.payload_length, kind: r.kind, data: r.data }));

  test('every prefix of records.json delivers exactly the records it completes and waits for the rest', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const opener = new RecordOpener(keys);
      const got = pushChecked(opener, [stream.subarray(0, cut)]);
      const complete = boundaries.filter((b) => b.end <= cut);
      expect(hex(got)).toEqual(complete.filter((b) => b.kind === 'data').map((b) => b.data));
      const lastEnd = complete.length ? complete[complete.length - 1]!.end : 0;
      expect([opener.state, opener.bufferedBytes]).toEqual(['open', cut - lastEnd]);
    }
  });

  test('a valid stream followed by garbage: its data exactly, nothing invented, never a throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -300, max: 2000 }), { maxLength: 8 }),
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (sizes, garbage, cuts) => {
          const k = randomKeys();
          const s = seal(k, specsOf(sizes));
          const opener = new RecordOpener(k);
          const got = pushChecked(opener, splitAt(concatBytes(s.wire, garbage), cuts));
          expect(hex(got)).toEqual(hex(s.data));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('bit flips are detected', () => {
  /**
   * After the records under test an honest stream goes on (as shaped padding would), long enough
   * that a length made larger by a flip is completed and checked: a data record, then more than a
   * maximal record of blank records.
   */
  const TAIL: Spec[] = [new Uint8Array(40), 30000, 30000, 30000];

  /** Flips `bit` of `s.wire`, opens it in chunks, checks: failed, only earlier data delivered. */
  function checkFlip(keys: DirectionKeys, s: Sealed, bit: number, cuts: number[] = []): string | null {
    const wire = s.wire.slice();
    wire[bit >> 3]! ^= 1 << (bit & 7);
    const opener = new RecordOpener(keys);
    const got = pushChecked(opener, splitAt(wire, cuts));
    // Records that end before the flipped byte are intact and delivered; nothing else is.
    expect({ bit, delivered: hex(got) }).toEqual({ bit, delivered: hex(dataEndingBy(s, bit >> 3)) });
    expect({ bit, state: opener.state }).toEqual({ bit, state: 'failed' });
    return opener.failure;
  }

  test('every single bit of the records.json streams (2 x 3,320 flips), each failure code seen', () => {
    for (const v of [records.client_to_server, records.server_to_client]) {
      const keys = { encKey: hexToBytes(v.enc_key), macKey: hexToBytes(v.mac_key) };
      const specs = v.records.map((r) => (r.kind === 'data' ? hexToBytes(r.data) : r.data.length / 2));
      const s = seal(keys, [...specs, ...TAIL]);
      const streamBytes = v.stream.length / 2;
      expect(bytesToHex(s.wire.subarray(0, streamBytes))).toBe(v.stream);
      const seen = new Set<string | null>();
      for (let bit = 0; bit < streamBytes * 8; bit++) seen.add(checkFlip(keys, s, bit));
      expect([...seen].sort()).toEqual(['DUST_ERR_BAD_BLANK', 'DUST_ERR_BAD_FLAGS', 'DUST_ERR_BAD_LENGTH', 'DUST_ERR_BAD_MAC']);
    }
  });

  test('random flips in random streams, in random chunks (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -500, max: 3000 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (sizes, bitSeed, cuts) => {
          const keys = randomKeys();
          const s = seal(keys, [...specsOf(sizes), ...TAIL]);
          const body = s.ends[sizes.length - 1]!.end; // flip inside the random records, not the tail
          checkFlip(keys, s, bitSeed % (body * 8), cuts);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('flips in maximal records: length, flags, data, code, last bit', () => {
    const keys = randomKeys();
    const s = seal(keys, [...specsOf([MAX_RECORD_DATA, -MAX_RECORD_DATA]), ...TAIL]);
    const max = 8 * MAX_RECORD_BYTES;
    for (const bit of [0, 7, 15, 16, 23, 24, 9000, max - 256, max - 1, max, max + 7, max + 16, max + 300, 2 * max - 1]) {
      checkFlip(keys, s, bit);
    }
  });
});

describe('the buffer bound holds under any chunking of maximal records', () => {
  test('bufferedBytes < 65,537 after every push, and all data arrives (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 12 }).filter((a) => a.some((n) => n > 500)), (chunkSizes) => {
        const keys = randomKeys();
        const s = seal(keys, specsOf([MAX_RECORD_DATA, -MAX_RECORD_DATA, MAX_RECORD_DATA, 1, 0, MAX_RECORD_DATA]));
        const chunks: Uint8Array[] = [];
        for (let at = 0, i = 0; at < s.wire.length; i++) {
          const n = chunkSizes[i % chunkSizes.length]!;
          chunks.push(s.wire.subarray(at, at + n));
          at += n;
        }
        const opener = new RecordOpener(keys);
        expect(hex(pushChecked(opener, chunks))).toEqual(hex(s.data));
        expect([opener.state, opener.bufferedBytes]).toEqual(['open', 0]);
      }),
      { numRuns: 40 },
    );
  });
});
