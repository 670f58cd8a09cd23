/**
 * Ensemble message codec (seed "Ensemble Protocol" messages; docs/ensemble.md "Messages"):
 * byte layouts as known answers, the chunking triad (whole, byte by byte, trailing bytes), random
 * splits, malformed input (sticky failure, never a throw) and argument checks.
 */
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../src/core/bytes.js';
import {
  CODE,
  DATA_HEADER_BYTES,
  MAX_DATA_BYTES,
  MAX_MESSAGE_BYTES,
  MessageDecoder,
  encodeMessage,
  encodedLength,
  type Message,
} from '../src/ensemble/messages.js';

const ID_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const ID = hexToBytes(ID_HEX);

/** Known answers: every message type with its exact bytes (docs/ensemble.md shows the same). */
const VECTORS: Array<[string, Message, string]> = [
  ['New Request', { type: 'new' }, '00'],
  ['New OK', { type: 'new-ok', id: ID }, '01' + ID_HEX],
  ['Continue', { type: 'continue', id: ID }, '02' + ID_HEX],
  ['Continue OK', { type: 'continue-ok', id: ID }, '03' + ID_HEX],
  ['Extend', { type: 'extend', id: ID }, '04' + ID_HEX],
  ['Extend OK', { type: 'extend-ok', id: ID }, '05' + ID_HEX],
  ['Close', { type: 'close', id: ID }, '06' + ID_HEX],
  ['Close OK', { type: 'close-ok', id: ID }, '07' + ID_HEX],
  ['Ack', { type: 'ack', id: ID, position: 0x0102030405 }, '08' + ID_HEX + '0000000102030405'],
  ['Ack at 0', { type: 'ack', id: ID, position: 0 }, '08' + ID_HEX + '0000000000000000'],
  ['Position at 2^53-1', { type: 'position', id: ID, position: Number.MAX_SAFE_INTEGER }, '09' + ID_HEX + '001fffffffffffff'],
  ['Data', { type: 'data', id: ID, seq: 0x1234, data: hexToBytes('abcdef') }, '0f' + ID_HEX + '1234' + '0003' + 'abcdef'],
  ['Data seq 65535', { type: 'data', id: ID, seq: 0xffff, data: hexToBytes('00') }, '0f' + ID_HEX + 'ffff' + '0001' + '00'],
  ['Too Many Sessions', { type: 'error', code: 0xf0 }, 'f0'],
  ['Unknown Session ID', { type: 'error', code: 0xf1 }, 'f1'],
  ['Connection Is Closed', { type: 'error', code: 0xf2 }, 'f2'],
  ['Bad Sequence Number', { type: 'error', code: 0xf3 }, 'f3'],
];

function decodeAll(chunks: Uint8Array[]): { messages: Message[]; failure: string | null } {
  const d = new MessageDecoder();
  const messages: Message[] = [];
  for (const c of chunks) messages.push(...d.push(c));
  return { messages, failure: d.failure };
}

function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => Uint8Array.of(b));
}

const arbId = fc.uint8Array({ minLength: 32, maxLength: 32 });
const arbPosition = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.constant<Message>({ type: 'new' }),
  fc
    .tuple(fc.constantFrom('new-ok', 'continue', 'continue-ok', 'extend', 'extend-ok', 'close', 'close-ok'), arbId)
    .map(([type, id]) => ({ type, id }) as Message),
  fc.tuple(fc.constantFrom('ack', 'position'), arbId, arbPosition).map(([type, id, position]) => ({ type, id, position }) as Message),
  fc
    .tuple(arbId, fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ minLength: 1, maxLength: 300 }))
    .map(([id, seq, data]) => ({ type: 'data', id, seq, data }) as Message),
  fc.constantFrom<Message>(
    { type: 'error', code: 0xf0 },
    { type: 'error', code: 0xf1 },
    { type: 'error', code: 0xf2 },
    { type: 'error', code: 0xf3 },
  ),
);

describe('Ensemble messages: byte layouts', () => {
  test.each(VECTORS)('%s encodes to its layout', (_name, message, hex) => {
    const bytes = encodeMessage(message);
    expect(bytesToHex(bytes)).toBe(hex);
    expect(encodedLength(message)).toBe(bytes.length);
  });

  test.each(VECTORS)('%s decodes whole, byte by byte, and before trailing bytes', (_name, message, hex) => {
    const bytes = hexToBytes(hex);
    expect(decodeAll([bytes])).toEqual({ messages: [message], failure: null });
    expect(decodeAll(bytewise(bytes))).toEqual({ messages: [message], failure: null });
    // Trailing: the first bytes of a Data message are "need more", not an error.
    const d = new MessageDecoder();
    const trailing = hexToBytes('0f' + ID_HEX.slice(0, 10));
    const both = new Uint8Array(bytes.length + trailing.length);
    both.set(bytes);
    both.set(trailing, bytes.length);
    expect(d.push(both)).toEqual([message]);
    expect(d.failure).toBeNull();
    expect(d.idle).toBe(false);
  });

  test('command codes are the seed\'s, plus Ack 0x08 and Position 0x09', () => {
    expect(CODE).toEqual({
      NEW: 0x00, NEW_OK: 0x01, CONTINUE: 0x02, CONTINUE_OK: 0x03, EXTEND: 0x04, EXTEND_OK: 0x05,
      CLOSE: 0x06, CLOSE_OK: 0x07, ACK: 0x08, POSITION: 0x09, DATA: 0x0f,
      TOO_MANY_SESSIONS: 0xf0, UNKNOWN_SESSION: 0xf1, CONNECTION_CLOSED: 0xf2, BAD_SEQUENCE: 0xf3,
    });
    expect(DATA_HEADER_BYTES).toBe(37);
    expect(MAX_MESSAGE_BYTES).toBe(37 + 65535);
  });

  test('a full 65535-byte Data round-trips, whole and in 1000-byte pieces', () => {
    const data = new Uint8Array(MAX_DATA_BYTES).map((_, i) => i * 7);
    const message: Message = { type: 'data', id: ID, seq: 9, data };
    const bytes = encodeMessage(message);
    expect(bytes.length).toBe(MAX_MESSAGE_BYTES);
    expect(decodeAll([bytes]).messages).toEqual([message]);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 1000) pieces.push(bytes.subarray(i, i + 1000));
    expect(decodeAll(pieces).messages).toEqual([message]);
  });

  test('thousands of messages in one chunk come out in order', () => {
    const messages: Message[] = [];
    for (let i = 0; i < 3000; i++) {
      messages.push(i % 3 === 0 ? { type: 'ack', id: ID, position: i } : { type: 'data', id: ID, seq: i, data: Uint8Array.of(i & 0xff) });
    }
    const wire = Buffer.concat(messages.map((m) => encodeMessage(m)));
    expect(decodeAll([new Uint8Array(wire)])).toEqual({ messages, failure: null });
  });

  test('a payload whole in one chunk is a view of it (no copy); the id is always a copy', () => {
    const bytes = encodeMessage({ type: 'data', id: ID, seq: 1, data: hexToBytes('0102') });
    const [m] = new MessageDecoder().push(bytes) as [Extract<Message, { type: 'data' }>];
    expect(m.data.buffer).toBe(bytes.buffer);
    bytes.fill(0xee);
    expect(bytesToHex(m.data)).toBe('eeee');
    expect(bytesToHex(m.id)).toBe(ID_HEX);
  });

  test('a payload split across chunks is a copy: changing the chunks afterwards changes nothing', () => {
    const bytes = encodeMessage({ type: 'data', id: ID, seq: 1, data: hexToBytes('010203') });
    const decoder = new MessageDecoder();
    const head = bytes.slice(0, bytes.length - 2);
    const tail = bytes.slice(bytes.length - 2);
    expect(decoder.push(head)).toEqual([]);
    const [m] = decoder.push(tail) as [Extract<Message, { type: 'data' }>];
    head.fill(0xee);
    tail.fill(0xee);
    expect(bytesToHex(m.data)).toBe('010203');
  });
});

describe('Ensemble messages: properties', () => {
  test('any sequence of messages, split at random points, decodes to the same sequence', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const wire = new Uint8Array(Buffer.concat(messages.map((m) => encodeMessage(m))));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(wire.subarray(last, p));
          last = p;
        }
        chunks.push(wire.subarray(last));
        expect(decodeAll(chunks)).toEqual({ messages, failure: null });
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary bytes never throw: the decoder yields messages, then at most one sticky failure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 50 }), (bytes, step) => {
        const d = new MessageDecoder();
        const out: Message[] = [];
        for (let i = 0; i < bytes.length; i += step) out.push(...d.push(bytes.subarray(i, i + step)));
        // Whatever came out re-encodes to a prefix of the input.
        const again = new Uint8Array(Buffer.concat(out.map((m) => encodeMessage(m))));
        expect(bytesToHex(bytes.subarray(0, again.length))).toBe(bytesToHex(again));
        if (d.failure !== null) {
          expect(d.failure).toBe('DUST_ERR_ENSEMBLE_MALFORMED');
          expect(d.push(encodeMessage({ type: 'new' }))).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Ensemble messages: malformed input', () => {
  const BAD: Array<[string, string]> = [
    ['unknown code 0x0a', '0a'],
    ['unknown code 0x0e', '0e'],
    ['unknown code 0x10', '10'],
    ['unknown code 0xef', 'ef'],
    ['unknown code 0xf4', 'f4'],
    ['unknown code 0xff', 'ff'],
    ['a Data of length 0', '0f' + ID_HEX + '0000' + '0000'],
    ['an Ack at 2^53', '08' + ID_HEX + '0020000000000000'],
    ['a Position at 2^64-1', '09' + ID_HEX + 'ffffffffffffffff'],
  ];
  test.each(BAD)('%s fails the decoder for good, keeping the messages before it', (_name, hex) => {
    const good = encodeMessage({ type: 'close', id: ID });
    const bad = hexToBytes(hex);
    for (const chunks of [[good, bad], bytewise(new Uint8Array(Buffer.concat([good, bad])))]) {
      const d = new MessageDecoder();
      const out: Message[] = [];
      for (const c of chunks) out.push(...d.push(c));
      expect(out).toEqual([{ type: 'close', id: ID }]);
      expect(d.failure).toBe('DUST_ERR_ENSEMBLE_MALFORMED');
      expect(d.push(encodeMessage({ type: 'new' }))).toEqual([]);
    }
  });

  test('an unknown code fails on its own byte, before anything else is read', () => {
    const d = new MessageDecoder();
    expect(d.push(hexToBytes('00ff00'))).toEqual([{ type: 'new' }]);
    expect(d.consumed).toBe(2);
  });
});

describe('Ensemble messages: argument checks', () => {
  const BAD_MESSAGES: Array<[string, unknown, ErrorConstructor]> = [
    ['not an object', 'x', TypeError],
    ['unknown type', { type: 'nope' }, TypeError],
    ['short id', { type: 'close', id: new Uint8Array(31) }, RangeError],
    ['id not bytes', { type: 'ack', id: 'x', position: 0 }, TypeError],
    ['negative position', { type: 'ack', id: ID, position: -1 }, RangeError],
    ['position 2^53', { type: 'position', id: ID, position: 2 ** 53 }, RangeError],
    ['fractional position', { type: 'ack', id: ID, position: 1.5 }, TypeError],
    ['empty Data', { type: 'data', id: ID, seq: 0, data: new Uint8Array(0) }, RangeError],
    ['oversized Data', { type: 'data', id: ID, seq: 0, data: new Uint8Array(65536) }, RangeError],
    ['seq 65536', { type: 'data', id: ID, seq: 65536, data: new Uint8Array(1) }, RangeError],
    ['error code 0xf4', { type: 'error', code: 0xf4 }, RangeError],
    ['error code 0x00', { type: 'error', code: 0x00 }, RangeError],
  ];
  test.each(BAD_MESSAGES)('%s throws', (_name, message, kind) => {
    expect(() => encodeMessage(message as Message)).toThrow(kind);
  });

  test('push takes only bytes', () => {
    expect(() => new MessageDecoder().push('00' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
