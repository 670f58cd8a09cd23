/**
 * The record verification code: HMAC-SHA-256 (RFC 2104) under one direction's 32-byte MAC key
 * (DECISIONS.md "Record protocol"), shaped for the record hot path.
 *
 * Why not `createHmac`: every record needs a fresh Hmac object (key setup, a stream wrapper and
 * three calls into C++), which costs about as much as hashing 1 KiB here. The key is fixed per
 * direction, so the two padded key blocks are computed once, and each code is two one-shot
 * `crypto.hash` calls: inner = SHA-256((K ⊕ ipad) ‖ message) over a buffer whose first 64 bytes
 * already hold K ⊕ ipad, then SHA-256((K ⊕ opad) ‖ inner). Tests check it against `createHmac`.
 * @module
 */
import { hash } from 'node:crypto';
import { abytes } from './bytes.js';

/** SHA-256 block size: RFC 2104's B. */
const BLOCK_BYTES = 64;
const IPAD = 0x36;
const OPAD = 0x5c;

/** HMAC-SHA-256 under a fixed 32-byte key, computed in one-shot calls. Not for concurrent reuse. */
export class RecordMac {
  /** Offset of the message inside `input`: the bytes before it hold K ⊕ ipad and must not change. */
  static readonly MESSAGE_OFFSET = BLOCK_BYTES;
  /**
   * The inner hash input: K ⊕ ipad, then room for a message of up to `capacity` bytes. Callers may
   * write the message straight into `input.subarray(MESSAGE_OFFSET)` and call `codeOfInput`.
   */
  readonly input: Uint8Array;
  /** K ⊕ opad, then the 32-byte inner hash. */
  readonly #outer = new Uint8Array(BLOCK_BYTES + 32);

  /**
   * @param macKey - 32 bytes (shorter than the block, so RFC 2104 only zero-pads it).
   * @param capacity - the longest message this instance will authenticate.
   */
  constructor(macKey: Uint8Array, capacity: number) {
    abytes(macKey, 32, 'macKey');
    this.input = new Uint8Array(BLOCK_BYTES + capacity);
    for (let i = 0; i < BLOCK_BYTES; i++) {
      const k = i < macKey.length ? macKey[i]! : 0;
      this.input[i] = k ^ IPAD;
      this.#outer[i] = k ^ OPAD;
    }
  }

  /** The code of the `length` message bytes already written at `input[MESSAGE_OFFSET..]`. */
  codeOfInput(length: number): Buffer {
    const inner = hash('sha256', this.input.subarray(0, BLOCK_BYTES + length), 'buffer');
    this.#outer.set(inner, BLOCK_BYTES);
    return hash('sha256', this.#outer, 'buffer');
  }

  /** The code of `message` (copied into `input` first; at most `capacity` bytes). */
  codeOf(message: Uint8Array): Buffer {
    this.input.set(message, BLOCK_BYTES);
    return this.codeOfInput(message.length);
  }
}
