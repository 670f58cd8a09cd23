/**
 * Sealing side of the record protocol (seed "Message Protocol": "Sending a message with data" and
 * "Sending a message without data"; DECISIONS.md "Record protocol"). Wire format: record-format.ts
 * and docs/records.md.
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

const HEADER_BYTES = LENGTH_BYTES + 1; // L ‖ flags: what precedes the data in the plaintext

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
  readonly #mac: RecordMac;
  /**
   * Plaintext of the record being sealed, reused: the ciphertext is the only per-record buffer. It
   * sits inside the MAC's input buffer, so the code is computed over it in place.
   */
  readonly #plain: Uint8Array;
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
    this.#mac = new RecordMac(keys.macKey, MAX_RECORD_BYTES);
    this.#plain = this.#mac.input.subarray(RecordMac.MESSAGE_OFFSET);
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
    const plain = this.#plain;
    const payloadLength = MIN_PAYLOAD_LENGTH + data.length;
    plain[0] = payloadLength >>> 8;
    plain[1] = payloadLength & 0xff;
    plain[2] = FLAG_DATA;
    plain.set(data, HEADER_BYTES);
    const codeAt = HEADER_BYTES + data.length;
    // The code covers L in the clear, then flags and data: exactly the plaintext bytes before it.
    const code = this.#mac.codeOfInput(codeAt);
    if (code.length !== CODE_BYTES) throw new Error('BUG: HMAC-SHA-256 gave a code of the wrong size');
    plain.set(code, codeAt);
    return this.#encrypt(codeAt + CODE_BYTES);
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
    const plain = this.#plain;
    const payloadLength = MIN_PAYLOAD_LENGTH + zeroBytes;
    plain[0] = payloadLength >>> 8;
    plain[1] = payloadLength & 0xff;
    const total = LENGTH_BYTES + payloadLength;
    plain.fill(FLAG_BLANK, LENGTH_BYTES, total); // flags 0 and every data and code byte 0
    return this.#encrypt(total);
  }

  #checkKeystream(): void {
    if (this.exhausted) {
      throw new Error(
        'record keystream exhausted: end the connection before 2^32 ChaCha20 blocks (check sealer.exhausted)',
      );
    }
  }

  /** Encrypts the first `total` plaintext bytes (length and payload in one update: same keystream). */
  #encrypt(total: number): Uint8Array {
    const out = this.#keystream.update(this.#plain.subarray(0, total));
    if (out.length !== total) throw new Error('BUG: ChaCha20 returned a short ciphertext');
    this.#position += total;
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}
