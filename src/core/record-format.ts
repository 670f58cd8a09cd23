/**
 * Record wire format shared by the sealer and the opener (seed "Message Protocol"; DECISIONS.md
 * "Record protocol"; docs/records.md byte by byte):
 *
 * ```
 * enc(L: 2 bytes big-endian) ‖ enc(flags: 1 ‖ data ‖ code: 32)      L = 1 + len(data) + 32
 * data record:  flags 0x01, code = HMAC-SHA-256(macKey, L ‖ flags ‖ data)   (L in the clear)
 * blank record: flags 0x00, data = n zero bytes, code = 32 zero bytes
 * ```
 *
 * `enc` is one ChaCha20 keystream per direction (RFC 8439 block function, nonce 0, counter from 0)
 * running on without a break over every length and payload of that direction.
 * @module
 */
import { createCipheriv } from 'node:crypto';
import { abytes, aint } from './bytes.js';

/** Bytes of the encrypted length field. */
export const LENGTH_BYTES = 2;
/** Bytes of the flags field. */
export const FLAGS_BYTES = 1;
/** Bytes of the verification code (HMAC-SHA-256 output; all zero in a blank record). */
export const CODE_BYTES = 32;
/** Wire bytes a record adds to its data: 2 length + 1 flags + 32 code. */
export const RECORD_OVERHEAD = LENGTH_BYTES + FLAGS_BYTES + CODE_BYTES; // 35
/** Largest payload length L: the length field has 2 bytes. */
export const MAX_PAYLOAD_LENGTH = 0xffff; // 65535
/** Smallest payload length L: flags and code with no data (a blank record with 0 zero bytes). */
export const MIN_PAYLOAD_LENGTH = FLAGS_BYTES + CODE_BYTES; // 33
/** Most data bytes one record carries: MAX_PAYLOAD_LENGTH - 33. */
export const MAX_RECORD_DATA = MAX_PAYLOAD_LENGTH - MIN_PAYLOAD_LENGTH; // 65502
/** Wire bytes of the largest record: the most an opener ever needs to hold. */
export const MAX_RECORD_BYTES = LENGTH_BYTES + MAX_PAYLOAD_LENGTH; // 65537

/** Flags value of a data record (bit 0 = data present; bits 1-7 reserved, zero). */
export const FLAG_DATA = 0x01;
/** Flags value of a blank (padding) record. */
export const FLAG_BLANK = 0x00;

/**
 * Keystream bytes one direction may use: 2^32 ChaCha20 blocks of 64 bytes (256 GiB). OpenSSL carries
 * a 32-bit counter overflow into the nonce word instead of stopping, so the record layer enforces
 * the RFC 8439 limit itself (DECISIONS.md). 2^38 is still an exact JS integer.
 */
export const KEYSTREAM_LIMIT_BYTES = 2 ** 32 * 64;

/** The per-direction keys derived by the handshake (HMAC-Skein-256, see DECISIONS.md). */
export interface DirectionKeys {
  /** 32-byte ChaCha20 key of this direction. */
  encKey: Uint8Array;
  /** 32-byte HMAC-SHA-256 key of this direction. */
  macKey: Uint8Array;
}

/**
 * Why an opener failed. Stable strings for logs and tests; the failure is sticky.
 * - `DUST_ERR_BAD_LENGTH`: decrypted L below 33 (no room for flags and code).
 * - `DUST_ERR_BAD_FLAGS`: flags other than 0 (blank) or 1 (data).
 * - `DUST_ERR_BAD_MAC`: the verification code of a data record does not match.
 * - `DUST_ERR_BAD_BLANK`: a blank record with a non-zero data or code byte.
 * - `DUST_ERR_KEYSTREAM_EXHAUSTED`: the record would run past 2^32 keystream blocks.
 */
export type RecordFailure =
  | 'DUST_ERR_BAD_LENGTH'
  | 'DUST_ERR_BAD_FLAGS'
  | 'DUST_ERR_BAD_MAC'
  | 'DUST_ERR_BAD_BLANK'
  | 'DUST_ERR_KEYSTREAM_EXHAUSTED';

/** Checks the shape of a DirectionKeys argument (both keys 32 bytes); returns it. */
export function akeys(keys: unknown): DirectionKeys {
  if (typeof keys !== 'object' || keys === null) {
    throw new TypeError(`keys must be an object { encKey, macKey }, got ${keys === null ? 'null' : typeof keys}`);
  }
  const { encKey, macKey } = keys as Partial<DirectionKeys>;
  abytes(encKey, 32, 'keys.encKey');
  abytes(macKey, 32, 'keys.macKey');
  return keys as DirectionKeys;
}

/** The one operation the record layer needs from a ChaCha20 stream: XOR the next bytes. */
export interface KeystreamXor {
  update(data: Uint8Array): Buffer;
}

/**
 * Opens the direction's keystream at block `startBlock` (0 in production; tests start near the
 * 2^32-block limit). The 16-byte node:crypto IV is the 4-byte little-endian block counter followed
 * by the 12-byte nonce, which Dust fixes at zero. Sealing and opening use the same XOR, so both
 * sides take a Cipher. Successive `update` calls continue the keystream at any byte offset.
 */
export function openKeystream(encKey: Uint8Array, startBlock: number): KeystreamXor {
  aint(startBlock, 0, 2 ** 32 - 1, 'startBlock');
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(0, startBlock, true);
  return createCipheriv('chacha20', encKey, iv);
}
