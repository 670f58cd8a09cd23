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
  readonly #mac: RecordMac;
  /** Plaintext of the incomplete record at the end of the input so far (length field included). */
  readonly #pending = new Uint8Array(MAX_RECORD_BYTES);
  #pendingLength = 0;
  /** Wire size 2 + L of the pending record once its length is known, else 0. */
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
    this.#mac = new RecordMac(keys.macKey, MAX_RECORD_BYTES);
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

  /** Bytes held for an incomplete record: always below 2 + 65,535. 0 once failed. */
  get bufferedBytes(): number {
    return this.#pendingLength;
  }

  /** Keystream bytes used so far: every byte received while open (plus any start offset). */
  get keystreamBytes(): number {
    return this.#position;
  }

  /**
   * Feeds received bytes, split anywhere. Never throws on content.
   * @param chunk - any number of bytes; not retained (an incomplete record is copied).
   * @returns the data of each complete, verified data record, in order. Blank records (and a data
   *   record with no data) yield nothing, and nothing is returned once failed. The arrays are
   *   views of one buffer per push, which no one else writes to.
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
    if (this.#pendingLength > 0) at = this.#completePending(plain, delivered);
    let recordBytes = 0; // size of the record starting at `at`, once its length is read
    while (this.#failure === null && at < plain.length) {
      const left = plain.length - at;
      if (left < LENGTH_BYTES) break;
      recordBytes = this.#recordSize(plain[at]!, plain[at + 1]!, this.#position - left);
      if (recordBytes === 0 || left < recordBytes) break;
      // Common case: the whole record is inside this chunk; verify it in place.
      this.#openRecord(plain.subarray(at, at + recordBytes), false, delivered);
      at += recordBytes;
      recordBytes = 0;
    }
    if (this.#failure !== null) return delivered;
    if (at < plain.length) {
      // An incomplete record (its length already checked if 2 bytes are in): keep it for later.
      if (this.#pendingLength !== 0) throw new Error('BUG: a pending record was left incomplete mid-chunk');
      this.#pending.set(plain.subarray(at), 0);
      this.#pendingLength = plain.length - at;
      this.#recordBytes = recordBytes;
    }
    if (beyondLimit && this.#failure === null) this.#fail('DUST_ERR_KEYSTREAM_EXHAUSTED');
    return delivered;
  }

  /** Adds the start of `plain` to the pending record; returns how many bytes of `plain` it took. */
  #completePending(plain: Uint8Array, delivered: Uint8Array[]): number {
    let at = 0;
    if (this.#recordBytes === 0) {
      // Only part of the length field so far (1 byte): complete it first, then bound L.
      const take = Math.min(LENGTH_BYTES - this.#pendingLength, plain.length);
      this.#pending.set(plain.subarray(0, take), this.#pendingLength);
      this.#pendingLength += take;
      at = take;
      if (this.#pendingLength < LENGTH_BYTES) return at;
      const recordStart = this.#position - plain.length - (this.#pendingLength - take);
      this.#recordBytes = this.#recordSize(this.#pending[0]!, this.#pending[1]!, recordStart);
      if (this.#recordBytes === 0) return plain.length;
    }
    const take = Math.min(this.#recordBytes - this.#pendingLength, plain.length - at);
    this.#pending.set(plain.subarray(at, at + take), this.#pendingLength);
    this.#pendingLength += take;
    at += take;
    if (this.#pendingLength < this.#recordBytes) return at;
    const record = this.#pending.subarray(0, this.#recordBytes);
    this.#pendingLength = 0;
    this.#recordBytes = 0;
    this.#openRecord(record, true, delivered);
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
   * Checks one whole decrypted record (L ‖ flags ‖ data ‖ code) and delivers its data. `copy` is
   * set when the record sits in the reused pending buffer, so its data must be copied out.
   */
  #openRecord(record: Uint8Array, copy: boolean, delivered: Uint8Array[]): void {
    const codeAt = record.length - CODE_BYTES;
    const flags = record[LENGTH_BYTES]!;
    if (flags === FLAG_DATA) {
      // The code covers L in the clear, flags and data: the record's plaintext before the code.
      const expected = this.#mac.codeOf(record.subarray(0, codeAt));
      if (!timingSafeEqual(expected, record.subarray(codeAt))) {
        this.#fail('DUST_ERR_BAD_MAC');
        return;
      }
      if (codeAt > HEADER_BYTES) {
        const data = record.subarray(HEADER_BYTES, codeAt);
        delivered.push(copy ? data.slice() : data);
      }
    } else if (flags === FLAG_BLANK) {
      // Blank records carry no MAC, so only an all-zero payload is accepted: otherwise one flipped
      // flags bit would turn a data record into a silently dropped blank one (DECISIONS.md).
      if (!isAllZero(record.subarray(LENGTH_BYTES))) this.#fail('DUST_ERR_BAD_BLANK');
    } else {
      this.#fail('DUST_ERR_BAD_FLAGS');
    }
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
    this.#pendingLength = 0; // nothing more is read, so nothing more is held
    this.#recordBytes = 0;
    return 0;
  }
}
