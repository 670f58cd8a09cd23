/**
 * Opening side of the record protocol: a streaming parser for one direction (seed "Message
 * Protocol"; DECISIONS.md "Record protocol"; wire format in record-format.ts and docs/records.md).
 *
 * Each pushed chunk is decrypted at once, in one call, because the keystream runs on without a
 * break and so does not care where records begin (that halves the calls into OpenSSL for one
 * record per chunk, and saves more for many). The parser then walks the plaintext with one
 * "need n more bytes" question (ws receiver): 2 bytes for the length, then 2 + L for the whole
 * record. The length is bounded the moment its 2 bytes are in, before any payload is buffered, and
 * at most one incomplete record is ever held. Decrypting ahead of verification is harmless: nothing
 * is delivered before its record's code checks out.
 *
 * Peer input never throws: a bad length, flags, code or blank record, or a record past the
 * 2^32-block keystream limit, moves the opener to `failed`, for good.
 *
 * Memory follows use, so that a server can hold many idle sessions: the incomplete-record buffer
 * exists only while a record is incomplete (allocated at that record's size), and the MAC's input
 * buffer grows with the largest data record seen. An opener that has seen only small records holds
 * well under 1 KiB instead of 128 KiB.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { abytes, isAllZero } from './bytes.js';
import {
  akeys,
  CODE_BYTES,
  FLAG_BLANK,
  FLAG_DATA,
  KEYSTREAM_LIMIT_BYTES,
  LENGTH_BYTES,
  MAX_RECORD_BYTES,
  MIN_PAYLOAD_LENGTH,
  openKeystream,
  type DirectionKeys,
  type KeystreamXor,
  type RecordFailure,
} from './record-format.js';
import { RecordMac } from './record-mac.js';

const HEADER_BYTES = LENGTH_BYTES + 1; // L ‖ flags: what precedes the data
const EMPTY = new Uint8Array(0);
/** The MAC's first input buffer holds a record plaintext of this many bytes; it doubles as needed. */
const MIN_MAC_CAPACITY = 512;

/** The capacity for a MAC input of `length` bytes: a power of two, at most a maximal record. */
export function macCapacityFor(length: number): number {
  let capacity = MIN_MAC_CAPACITY;
  while (capacity < length) capacity *= 2;
  return Math.min(capacity, MAX_RECORD_BYTES);
}

/**
 * Turns the encrypted record stream of one direction, in any chunking, back into data.
 *
 * @example
 * const opener = new RecordOpener({ encKey, macKey });
 * for (const data of opener.push(chunk)) deliver(data);
 * if (opener.state === 'failed') log(opener.failure); // keep shaping padding; never close early
 */
export class RecordOpener {
  readonly #keystream: KeystreamXor;
  readonly #macKey: Uint8Array;
  /** Made on the first data record and replaced by a larger one when a record does not fit. */
  #mac: RecordMac | null = null;
  /**
   * The incomplete record at the end of the input so far. Its first bytes (L ‖ flags) go to
   * `#head`; once the flags are in, a data record (or one with bad flags) gets a buffer of its own
   * size in `#pending`, which is dropped when the record is complete (nothing else writes to it,
   * so its data goes up as a view, without a copy). A blank record gets no buffer: its bytes are
   * checked for zeros as they come. A peer's session sits idle with most of a packet-sized blank
   * record in flight, so this is what lets an idle opener hold almost nothing.
   */
  readonly #head = new Uint8Array(HEADER_BYTES);
  #pending: Uint8Array | null = null;
  /** Bytes of the incomplete record received so far (0: the input ends on a record boundary). */
  #pendingLength = 0;
  /** Wire size 2 + L of the incomplete record once its length is known, else 0. */
  #recordBytes = 0;
  /** Keystream bytes used: every byte received, up to the limit. */
  #position: number;
  #failure: RecordFailure | null = null;

  /**
   * @param keys - the peer's sending direction `{ encKey, macKey }` (32 bytes each).
   * @param _startBlock - internal, for tests of the 2^32-block limit: start the keystream at this
   *   block, as if `_startBlock * 64` bytes had been used. Production code leaves it at 0.
   * @throws TypeError/RangeError if a key is not 32 bytes.
   */
  constructor(keys: DirectionKeys, _startBlock = 0) {
    akeys(keys);
    this.#keystream = openKeystream(keys.encKey, _startBlock);
    this.#macKey = keys.macKey.slice();
    this.#position = _startBlock * 64;
  }

  /** `open` while every record so far was valid; `failed` (sticky) after the first bad one. */
  get state(): 'open' | 'failed' {
    return this.#failure === null ? 'open' : 'failed';
  }

  /** Why the opener failed, or null while open. */
  get failure(): RecordFailure | null {
    return this.#failure;
  }

  /**
   * Bytes of an incomplete record received so far: always below 2 + 65,535; 0 once failed. They
   * are held for a data record; a blank record's are only checked and counted.
   */
  get bufferedBytes(): number {
    return this.#pendingLength;
  }

  /** Keystream bytes used so far: every byte received while open (plus any start offset). */
  get keystreamBytes(): number {
    return this.#position;
  }

  /**
   * Feeds received bytes, split anywhere. Never throws on content.
   * @param chunk - any number of bytes; not retained (an incomplete data record is copied).
   * @returns the data of each complete, verified data record, in order. Blank records (and a data
   *   record with no data) yield nothing, and nothing is returned once failed. The arrays are
   *   views of buffers made for this push (its plaintext, or a completed record's own buffer),
   *   which no one else writes to.
   * @throws TypeError if chunk is not a Uint8Array.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    abytes(chunk, undefined, 'chunk');
    const delivered: Uint8Array[] = [];
    if (this.#failure !== null || chunk.length === 0) return delivered;
    // Never use keystream past 2^32 blocks: OpenSSL would wrap into the nonce word. Any byte beyond
    // the limit belongs to a record that cannot end below it.
    const room = KEYSTREAM_LIMIT_BYTES - this.#position;
    const beyondLimit = chunk.length > room;
    const plain = this.#decrypt(beyondLimit ? chunk.subarray(0, room) : chunk);
    let at = 0;
    if (this.#pendingLength > 0) at = this.#continueRecord(plain, 0, delivered);
    while (this.#failure === null && at < plain.length) {
      const left = plain.length - at;
      if (left < LENGTH_BYTES) break;
      const recordBytes = this.#recordSize(plain[at]!, plain[at + 1]!, this.#position - left);
      if (recordBytes === 0 || left < recordBytes) break;
      // Common case: the whole record is inside this chunk; verify it in place.
      this.#openRecord(plain.subarray(at, at + recordBytes), delivered);
      at += recordBytes;
    }
    if (this.#failure !== null) return delivered;
    if (at < plain.length) {
      // The rest is the start of a record that does not end in this chunk: keep (or check) it.
      if (this.#pendingLength !== 0) throw new Error('BUG: a pending record was left incomplete mid-chunk');
      if (this.#continueRecord(plain, at, delivered) !== plain.length) throw new Error('BUG: a record ended where none could');
    }
    if (beyondLimit && this.#failure === null) this.#fail('DUST_ERR_KEYSTREAM_EXHAUSTED');
    return delivered;
  }

  /**
   * Adds `plain[from..]` to the incomplete record, up to its end; returns the index just past what
   * it took (plain.length after a failure). Opens the record if it is complete.
   */
  #continueRecord(plain: Uint8Array, from: number, delivered: Uint8Array[]): number {
    const head = this.#head;
    let at = from;
    // L ‖ flags, byte by byte; L is bounded as soon as its 2 bytes are in.
    while (this.#pendingLength < HEADER_BYTES) {
      if (at === plain.length) return at;
      head[this.#pendingLength++] = plain[at++]!;
      if (this.#pendingLength === LENGTH_BYTES) {
        const recordStart = this.#position - plain.length + at - LENGTH_BYTES;
        this.#recordBytes = this.#recordSize(head[0]!, head[1]!, recordStart);
        if (this.#recordBytes === 0) return plain.length;
      }
      if (this.#pendingLength === HEADER_BYTES && head[LENGTH_BYTES] !== FLAG_BLANK) {
        this.#pending = new Uint8Array(this.#recordBytes);
        this.#pending.set(head, 0);
      }
    }
    const pending = this.#pending;
    const take = Math.min(this.#recordBytes - this.#pendingLength, plain.length - at);
    const piece = plain.subarray(at, at + take);
    if (pending !== null) pending.set(piece, this.#pendingLength);
    else if (!isAllZero(piece)) {
      // Blank records carry no MAC, so only zeros are accepted (as in #openRecord).
      this.#fail('DUST_ERR_BAD_BLANK');
      return plain.length;
    }
    this.#pendingLength += take;
    at += take;
    if (this.#pendingLength < this.#recordBytes) return at;
    this.#pending = null;
    this.#pendingLength = 0;
    this.#recordBytes = 0;
    if (pending !== null) this.#openRecord(pending, delivered);
    return at;
  }

  /**
   * Bounds a decrypted length field the moment it is known; returns the record's wire size 2 + L,
   * or 0 after moving to `failed`. `recordStart` is the keystream offset of the field.
   */
  #recordSize(high: number, low: number, recordStart: number): number {
    const payloadLength = (high << 8) | low;
    if (payloadLength < MIN_PAYLOAD_LENGTH) return this.#fail('DUST_ERR_BAD_LENGTH');
    const recordBytes = LENGTH_BYTES + payloadLength;
    if (recordStart + recordBytes > KEYSTREAM_LIMIT_BYTES) return this.#fail('DUST_ERR_KEYSTREAM_EXHAUSTED');
    return recordBytes;
  }

  /**
   * Checks one whole decrypted record (L ‖ flags ‖ data ‖ code) and delivers its data as a view:
   * the record lies in a buffer no one writes to again.
   */
  #openRecord(record: Uint8Array, delivered: Uint8Array[]): void {
    const codeAt = record.length - CODE_BYTES;
    const flags = record[LENGTH_BYTES]!;
    if (flags === FLAG_DATA) {
      // The code covers L in the clear, flags and data: the record's plaintext before the code.
      const expected = this.#macFor(codeAt).codeOf(record.subarray(0, codeAt));
      if (!timingSafeEqual(expected, record.subarray(codeAt))) {
        this.#fail('DUST_ERR_BAD_MAC');
        return;
      }
      if (codeAt > HEADER_BYTES) {
        const data = record.subarray(HEADER_BYTES, codeAt);
        delivered.push(data);
      }
    } else if (flags === FLAG_BLANK) {
      // Blank records carry no MAC, so only an all-zero payload is accepted: otherwise one flipped
      // flags bit would turn a data record into a silently dropped blank one (DECISIONS.md).
      if (!isAllZero(record.subarray(LENGTH_BYTES))) this.#fail('DUST_ERR_BAD_BLANK');
    } else {
      this.#fail('DUST_ERR_BAD_FLAGS');
    }
  }

  /** A RecordMac that can take a message of `length` bytes (grown by doubling, never shrunk). */
  #macFor(length: number): RecordMac {
    const mac = this.#mac;
    if (mac !== null && mac.input.length - RecordMac.MESSAGE_OFFSET >= length) return mac;
    return (this.#mac = new RecordMac(this.#macKey, macCapacityFor(length)));
  }

  #decrypt(ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length === 0) return EMPTY;
    const plain = this.#keystream.update(ciphertext);
    if (plain.length !== ciphertext.length) throw new Error('BUG: ChaCha20 returned a short plaintext');
    this.#position += ciphertext.length;
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
  }

  /** Moves to the sticky failed state; returns 0 so size checks can `return this.#fail(...)`. */
  #fail(code: RecordFailure): 0 {
    this.#failure = code;
    this.#pending = null; // nothing more is read, so nothing more is held
    this.#pendingLength = 0;
    this.#recordBytes = 0;
    return 0;
  }
}
