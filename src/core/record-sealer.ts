/**
 * Sealing side of the record protocol (seed "Message Protocol": "Sending a message with data" and
 * "Sending a message without data"; DECISIONS.md "Record protocol"). Wire format: record-format.ts
 * and docs/records.md.
 *
 * Memory follows use, so that a server can hold many idle sessions: the plaintext buffer grows with
 * the largest data record sealed, and blank records (zeros under a length) are encrypted from one
 * zero buffer shared by every sealer, so an idle session's padding costs it nothing to keep.
 * @module
 */
import { abytes, aint } from './bytes.js';
import {
  akeys,
  CODE_BYTES,
  FLAG_BLANK,
  FLAG_DATA,
  KEYSTREAM_LIMIT_BYTES,
  LENGTH_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORD_DATA,
  MIN_PAYLOAD_LENGTH,
  openKeystream,
  type DirectionKeys,
  type KeystreamXor,
} from './record-format.js';
import { RecordMac } from './record-mac.js';
import { macCapacityFor } from './record-opener.js';

const HEADER_BYTES = LENGTH_BYTES + 1; // L ‖ flags: what precedes the data in the plaintext

/**
 * The plaintext of blank records for every sealer: the two length bytes are written per record,
 * every other byte stays 0 (flags 0, zero payload, zero code). Sealing is synchronous, so sharing
 * it is safe; made on first use.
 */
let blankPlaintext: Uint8Array | null = null;

/**
 * Turns data into encrypted records for one direction. One sealer per direction and connection:
 * its ChaCha20 keystream runs on across all records it seals, so records must be sent in the order
 * they were sealed.
 *
 * @example
 * const sealer = new RecordSealer({ encKey, macKey });
 * socketBytes.push(sealer.sealData(utf8('hello')), sealer.sealBlank(100));
 */
export class RecordSealer {
  readonly #keystream: KeystreamXor;
  readonly #macKey: Uint8Array;
  /** Made on the first data record and replaced by a larger one when a record does not fit. */
  #mac: RecordMac | null = null;
  /**
   * Plaintext of the data record being sealed, reused: the ciphertext is the only per-record
   * buffer. It sits inside the MAC's input buffer, so the code is computed over it in place.
   */
  #plain: Uint8Array = new Uint8Array(0);
  #position: number;

  /**
   * @param keys - this direction's `{ encKey, macKey }` (32 bytes each) from the handshake.
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

  /** Keystream bytes used so far in this direction (= wire bytes sealed, plus any start offset). */
  get keystreamBytes(): number {
    return this.#position;
  }

  /**
   * True once a maximal record (65,537 bytes) could run past 2^32 ChaCha20 blocks. From then on
   * both seal methods throw: the session must end the connection (a new one gets fresh keys).
   */
  get exhausted(): boolean {
    return this.#position > KEYSTREAM_LIMIT_BYTES - MAX_RECORD_BYTES;
  }

  /**
   * Seals one data record: flags 0x01, code = HMAC-SHA-256(macKey, L ‖ flags ‖ data).
   * @param data - 1..MAX_RECORD_DATA (65,502) bytes; not retained.
   * @returns the record as sent: 2 + L = data.length + 35 bytes of ciphertext.
   * @throws TypeError/RangeError for bad data; Error once `exhausted`.
   */
  sealData(data: Uint8Array): Uint8Array {
    abytes(data, undefined, 'data');
    if (data.length < 1 || data.length > MAX_RECORD_DATA) {
      throw new RangeError(`data must be 1..${MAX_RECORD_DATA} bytes, got ${data.length}`);
    }
    this.#checkKeystream();
    const mac = this.#macFor(HEADER_BYTES + data.length + CODE_BYTES);
    const plain = this.#plain;
    const payloadLength = MIN_PAYLOAD_LENGTH + data.length;
    plain[0] = payloadLength >>> 8;
    plain[1] = payloadLength & 0xff;
    plain[2] = FLAG_DATA;
    plain.set(data, HEADER_BYTES);
    const codeAt = HEADER_BYTES + data.length;
    // The code covers L in the clear, then flags and data: exactly the plaintext bytes before it.
    const code = mac.codeOfInput(codeAt);
    if (code.length !== CODE_BYTES) throw new Error('BUG: HMAC-SHA-256 gave a code of the wrong size');
    plain.set(code, codeAt);
    return this.#encrypt(plain, codeAt + CODE_BYTES);
  }

  /**
   * Seals one blank (padding) record: flags 0x00, `zeroBytes` zero bytes, 32 zero bytes as code.
   * Its length and payload use keystream like any record, so on the wire it looks like data.
   * @param zeroBytes - 0..MAX_RECORD_DATA; the record is zeroBytes + 35 bytes long.
   * @throws TypeError/RangeError for a bad count; Error once `exhausted`.
   */
  sealBlank(zeroBytes: number): Uint8Array {
    aint(zeroBytes, 0, MAX_RECORD_DATA, 'zeroBytes');
    this.#checkKeystream();
    // Flags (FLAG_BLANK = 0) and every data and code byte are the buffer's zeros.
    const plain = (blankPlaintext ??= new Uint8Array(MAX_RECORD_BYTES).fill(FLAG_BLANK));
    const payloadLength = MIN_PAYLOAD_LENGTH + zeroBytes;
    plain[0] = payloadLength >>> 8;
    plain[1] = payloadLength & 0xff;
    return this.#encrypt(plain, LENGTH_BYTES + payloadLength);
  }

  /** The MAC whose input buffer holds a record plaintext of `length` bytes (grown by doubling). */
  #macFor(length: number): RecordMac {
    const mac = this.#mac;
    if (mac !== null && this.#plain.length >= length) return mac;
    const bigger = new RecordMac(this.#macKey, macCapacityFor(length));
    this.#plain = bigger.input.subarray(RecordMac.MESSAGE_OFFSET);
    return (this.#mac = bigger);
  }

  #checkKeystream(): void {
    if (this.exhausted) {
      throw new Error(
        'record keystream exhausted: end the connection before 2^32 ChaCha20 blocks (check sealer.exhausted)',
      );
    }
  }

  /** Encrypts the first `total` bytes of `plain` (length and payload in one update: same keystream). */
  #encrypt(plain: Uint8Array, total: number): Uint8Array {
    const out = this.#keystream.update(plain.subarray(0, total));
    if (out.length !== total) throw new Error('BUG: ChaCha20 returned a short ciphertext');
    this.#position += total;
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}
