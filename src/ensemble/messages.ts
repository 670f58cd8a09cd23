/**
 * Ensemble message codec (seed "Application Layer Protocol Specification: Ensemble Protocol",
 * DECISIONS.md "Ensemble"; byte layouts in docs/ensemble.md).
 *
 * Every message starts with a one-byte command code and is self-delimiting: its length follows from
 * the code, except Data, whose header carries the payload length. The seed's messages keep their
 * exact layouts; what the seed lacks for loss-free continuation travels in two new messages:
 *
 * ```
 * 0x00 New Request                 (1 byte)
 * 0x01 New OK        [32 id]
 * 0x02 Continue      [32 id]        followed by an Ack: the client's resume position
 * 0x03 Continue OK   [32 id]        followed by an Ack: the server's resume position
 * 0x04 Extend        [32 id]
 * 0x05 Extend OK     [32 new id]
 * 0x06 Close         [32 id]
 * 0x07 Close OK      [32 id]
 * 0x08 Ack           [32 id][8 position]   (new) all bytes before `position` were received
 * 0x09 Position      [32 id][8 position]   (new) the next Data on this connection starts at `position`
 * 0x0F Data          [32 id][2 seq][2 len][len bytes], 1 <= len <= 65535
 * 0xF0 Too Many Sessions, 0xF1 Unknown Session ID, 0xF2 Connection Is Closed, 0xF3 Bad Sequence Number
 * ```
 *
 * Integers are big-endian. Positions are 64-bit on the wire; values above 2^53 - 1 (8 PiB into a
 * stream) are rejected as malformed so they stay exact JS numbers.
 *
 * The decoder takes any chunking (one byte at a time or many messages at once), never buffers more
 * than one message (at most {@link MAX_MESSAGE_BYTES}), and fails for good on the first malformed
 * byte: an unknown code or a zero-length Data. Nothing it is fed makes it throw.
 * @module
 */
import { abytes, aint } from '../core/bytes.js';

/** Bytes of a session id (the seed: 32 random bytes chosen by the server). */
export const ID_BYTES = 32;
/** Bytes of a stream position (big-endian u64). */
export const POSITION_BYTES = 8;
/** Bytes before a Data payload: code, id, sequence number, length. */
export const DATA_HEADER_BYTES = 1 + ID_BYTES + 2 + 2; // 37
/** Largest Data payload: the length field has 2 bytes. */
export const MAX_DATA_BYTES = 0xffff;
/** Largest message on the wire: a full Data message. */
export const MAX_MESSAGE_BYTES = DATA_HEADER_BYTES + MAX_DATA_BYTES; // 65572
/** Largest sequence number; the next Data after it needs an Extend (seq back to 0, new id). */
export const MAX_SEQ = 0xffff;
/** Bytes of New OK, Continue, Continue OK, Extend, Extend OK, Close and Close OK. */
export const ID_MESSAGE_BYTES = 1 + ID_BYTES; // 33
/** Bytes of Ack and Position. */
export const POSITION_MESSAGE_BYTES = 1 + ID_BYTES + POSITION_BYTES; // 41

/** Command codes. 0x00-0x07, 0x0F and 0xF0-0xF3 are the seed's; 0x08 and 0x09 are new. */
export const CODE = {
  NEW: 0x00,
  NEW_OK: 0x01,
  CONTINUE: 0x02,
  CONTINUE_OK: 0x03,
  EXTEND: 0x04,
  EXTEND_OK: 0x05,
  CLOSE: 0x06,
  CLOSE_OK: 0x07,
  ACK: 0x08,
  POSITION: 0x09,
  DATA: 0x0f,
  TOO_MANY_SESSIONS: 0xf0,
  UNKNOWN_SESSION: 0xf1,
  CONNECTION_CLOSED: 0xf2,
  BAD_SEQUENCE: 0xf3,
} as const;

/** The four error codes of the seed. */
export type ErrorCode = 0xf0 | 0xf1 | 0xf2 | 0xf3;

/** A decoded (or to-be-encoded) Ensemble message. */
export type Message =
  | { type: 'new' }
  | { type: 'new-ok'; id: Uint8Array }
  | { type: 'continue'; id: Uint8Array }
  | { type: 'continue-ok'; id: Uint8Array }
  | { type: 'extend'; id: Uint8Array }
  | { type: 'extend-ok'; id: Uint8Array }
  | { type: 'close'; id: Uint8Array }
  | { type: 'close-ok'; id: Uint8Array }
  | { type: 'ack'; id: Uint8Array; position: number }
  | { type: 'position'; id: Uint8Array; position: number }
  | { type: 'data'; id: Uint8Array; seq: number; data: Uint8Array }
  | { type: 'error'; code: ErrorCode };

/** The `type` tag of a {@link Message}. */
export type MessageType = Message['type'];

type IdType = 'new-ok' | 'continue' | 'continue-ok' | 'extend' | 'extend-ok' | 'close' | 'close-ok';

const ID_CODES: Record<IdType, number> = {
  'new-ok': CODE.NEW_OK,
  continue: CODE.CONTINUE,
  'continue-ok': CODE.CONTINUE_OK,
  extend: CODE.EXTEND,
  'extend-ok': CODE.EXTEND_OK,
  close: CODE.CLOSE,
  'close-ok': CODE.CLOSE_OK,
};

/** Code → [type, bytes after the code]. Data's 36 are its header; the payload length follows. */
const LAYOUT: ReadonlyMap<number, readonly [MessageType, number]> = new Map<number, readonly [MessageType, number]>([
  [CODE.NEW, ['new', 0]],
  [CODE.NEW_OK, ['new-ok', ID_BYTES]],
  [CODE.CONTINUE, ['continue', ID_BYTES]],
  [CODE.CONTINUE_OK, ['continue-ok', ID_BYTES]],
  [CODE.EXTEND, ['extend', ID_BYTES]],
  [CODE.EXTEND_OK, ['extend-ok', ID_BYTES]],
  [CODE.CLOSE, ['close', ID_BYTES]],
  [CODE.CLOSE_OK, ['close-ok', ID_BYTES]],
  [CODE.ACK, ['ack', ID_BYTES + POSITION_BYTES]],
  [CODE.POSITION, ['position', ID_BYTES + POSITION_BYTES]],
  [CODE.DATA, ['data', DATA_HEADER_BYTES - 1]],
  [CODE.TOO_MANY_SESSIONS, ['error', 0]],
  [CODE.UNKNOWN_SESSION, ['error', 0]],
  [CODE.CONNECTION_CLOSED, ['error', 0]],
  [CODE.BAD_SEQUENCE, ['error', 0]],
]);

const MAX_POSITION = Number.MAX_SAFE_INTEGER;
const TWO_32 = 2 ** 32;

/** Wire length of `message`. */
export function encodedLength(message: Message): number {
  switch (message.type) {
    case 'new':
    case 'error':
      return 1;
    case 'ack':
    case 'position':
      return POSITION_MESSAGE_BYTES;
    case 'data':
      return DATA_HEADER_BYTES + message.data.length;
    default:
      return ID_MESSAGE_BYTES;
  }
}

/**
 * Encodes one message.
 * @throws TypeError/RangeError for a malformed message object (wrong id length, empty or oversized
 *   Data, sequence number or position out of range, unknown type or error code).
 * @example encodeMessage({ type: 'ack', id, position: 4096 }) // 41 bytes: 08 ‖ id ‖ 00..1000
 */
export function encodeMessage(message: Message): Uint8Array {
  if (typeof message !== 'object' || message === null) throw new TypeError('message must be an object');
  switch (message.type) {
    case 'new':
      return Uint8Array.of(CODE.NEW);
    case 'error':
      if (!LAYOUT.has(message.code) || LAYOUT.get(message.code)![0] !== 'error') {
        throw new RangeError(`error code must be 0xf0-0xf3, got ${String(message.code)}`);
      }
      return Uint8Array.of(message.code);
    case 'ack':
    case 'position': {
      const out = new Uint8Array(POSITION_MESSAGE_BYTES);
      out[0] = message.type === 'ack' ? CODE.ACK : CODE.POSITION;
      out.set(abytes(message.id, ID_BYTES, 'message.id'), 1);
      writePosition(out, 1 + ID_BYTES, aint(message.position, 0, MAX_POSITION, 'message.position'));
      return out;
    }
    case 'data': {
      abytes(message.data, undefined, 'message.data');
      aint(message.data.length, 1, MAX_DATA_BYTES, 'message.data.length');
      const out = new Uint8Array(DATA_HEADER_BYTES + message.data.length);
      writeDataHeader(out, 0, message.id, message.seq, message.data.length);
      out.set(message.data, DATA_HEADER_BYTES);
      return out;
    }
    default: {
      const code = ID_CODES[(message as { type: IdType }).type];
      if (code === undefined) throw new TypeError(`unknown message type ${String((message as { type: unknown }).type)}`);
      const out = new Uint8Array(ID_MESSAGE_BYTES);
      out[0] = code;
      out.set(abytes((message as { id: Uint8Array }).id, ID_BYTES, 'message.id'), 1);
      return out;
    }
  }
}

/**
 * Writes a Data header (code, id, seq, len) into `out` at `offset`; the caller copies the payload
 * right after it. The hot path uses this to copy send-buffer bytes only once.
 */
export function writeDataHeader(out: Uint8Array, offset: number, id: Uint8Array, seq: number, length: number): void {
  abytes(id, ID_BYTES, 'id');
  aint(seq, 0, MAX_SEQ, 'seq');
  aint(length, 1, MAX_DATA_BYTES, 'length');
  out[offset] = CODE.DATA;
  out.set(id, offset + 1);
  out[offset + 33] = seq >>> 8;
  out[offset + 34] = seq & 0xff;
  out[offset + 35] = length >>> 8;
  out[offset + 36] = length & 0xff;
}

function writePosition(out: Uint8Array, offset: number, position: number): void {
  writeU32(out, offset, Math.floor(position / TWO_32));
  writeU32(out, offset + 4, position % TWO_32);
}

function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Stable reasons for a decoder failure. */
export type DecodeFailure = 'DUST_ERR_ENSEMBLE_MALFORMED';

/**
 * Streaming decoder: feed bytes in any chunking, get whole messages back.
 *
 * State machine (ws receiver style): `code` (need 1 byte) → `fields` (need the fixed bytes of that
 * code) → `payload` (Data only: need `len` bytes). Bounds are applied the moment they are known:
 * an unknown code fails on its first byte, a zero Data length right after the header.
 */
export class MessageDecoder {
  private stage: 'code' | 'fields' | 'payload' | 'failed' = 'code';
  private code = 0;
  /** Largest fixed part after a code: Ack/Position (40 bytes; Data's header is 36). */
  private readonly fields = new Uint8Array(ID_BYTES + POSITION_BYTES);
  private fieldsNeed = 0;
  private fieldsHave = 0;
  /** The Data payload being completed (allocated only when it spans chunks). */
  private payload: Uint8Array = new Uint8Array(0);
  private payloadLength = 0;
  private payloadHave = 0;
  private _failure: DecodeFailure | null = null;
  /** Bytes consumed so far (for tests and diagnostics). */
  consumed = 0;

  /** `DUST_ERR_ENSEMBLE_MALFORMED` once the input was malformed (sticky), else null. */
  get failure(): DecodeFailure | null {
    return this._failure;
  }

  /** True when no partial message is buffered. */
  get idle(): boolean {
    return this.stage === 'code';
  }

  /**
   * Consumes `chunk` and returns every message it completes, in order. After a malformed byte the
   * messages completed before it are still returned; the decoder is then failed and ignores all
   * further input (returns []). A Data payload that lies whole in `chunk` is a view of it (no
   * copy), so the caller must not modify `chunk` afterwards; one split across chunks is a copy.
   */
  push(chunk: Uint8Array): Message[] {
    abytes(chunk, undefined, 'chunk');
    const out: Message[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n && this.stage !== 'failed') {
      if (this.stage === 'code') {
        const code = chunk[i++]!;
        this.consumed++;
        const layout = LAYOUT.get(code);
        if (layout === undefined) {
          this.fail();
          break;
        }
        this.code = code;
        if (layout[1] === 0) {
          out.push(code === CODE.NEW ? { type: 'new' } : { type: 'error', code: code as ErrorCode });
          continue;
        }
        this.stage = 'fields';
        this.fieldsNeed = layout[1];
        this.fieldsHave = 0;
      } else if (this.stage === 'fields') {
        const take = Math.min(this.fieldsNeed - this.fieldsHave, n - i);
        this.fields.set(chunk.subarray(i, i + take), this.fieldsHave);
        this.fieldsHave += take;
        this.consumed += take;
        i += take;
        if (this.fieldsHave < this.fieldsNeed) break;
        const message = this.finishFields();
        if (message !== null) out.push(message);
      } else if (this.payloadHave === 0 && n - i >= this.payloadLength) {
        // The usual case: the whole payload arrived in this chunk.
        this.payload = chunk.subarray(i, i + this.payloadLength);
        this.consumed += this.payloadLength;
        i += this.payloadLength;
        out.push(this.finishData());
      } else {
        if (this.payloadHave === 0) this.payload = new Uint8Array(this.payloadLength);
        const take = Math.min(this.payload.length - this.payloadHave, n - i);
        this.payload.set(chunk.subarray(i, i + take), this.payloadHave);
        this.payloadHave += take;
        this.consumed += take;
        i += take;
        if (this.payloadHave < this.payload.length) break;
        out.push(this.finishData());
      }
    }
    return out;
  }

  /** Fixed fields complete: returns the message, or null when a Data payload must follow. */
  private finishFields(): Message | null {
    const f = this.fields;
    const [type] = LAYOUT.get(this.code)!;
    const id = f.slice(0, ID_BYTES);
    this.stage = 'code';
    switch (type) {
      case 'ack':
      case 'position': {
        const high = readU32(f, ID_BYTES);
        // 2^53 - 1 is the largest exact JS integer: reject anything at or above 2^53.
        if (high >= 2 ** 21) {
          this.fail();
          return null;
        }
        return { type, id, position: high * TWO_32 + readU32(f, ID_BYTES + 4) };
      }
      case 'data': {
        const length = (f[34]! << 8) | f[35]!;
        if (length === 0) {
          this.fail();
          return null;
        }
        this.payloadLength = length;
        this.payloadHave = 0;
        this.stage = 'payload';
        return null;
      }
      default:
        return { type: type as IdType, id };
    }
  }

  private finishData(): Message {
    const f = this.fields;
    const message: Message = {
      type: 'data',
      id: f.slice(0, ID_BYTES),
      seq: (f[32]! << 8) | f[33]!,
      data: this.payload,
    };
    this.payload = new Uint8Array(0);
    this.stage = 'code';
    return message;
  }

  private fail(): void {
    this.stage = 'failed';
    this._failure = 'DUST_ERR_ENSEMBLE_MALFORMED';
    this.payload = new Uint8Array(0);
  }
}
