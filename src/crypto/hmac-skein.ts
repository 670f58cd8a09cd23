/**
 * HMAC-Skein-256: RFC 2104 HMAC with Skein-256-256 as H, block size B = 32 bytes, 32-byte output
 * (`DECISIONS.md` "Crypto suite"; `vectors/README.md` "HMAC-Skein-256"). This is *not* Skein's own
 * keyed mode (Skein-MAC). Dust uses it for the mark, the confirmation code and the record keys.
 * @module
 */
import { abytes } from '../core/bytes.js';
import { Skein256, skein256 } from './skein.js';

/** HMAC block size B for Skein-256 (RFC 2104 §2): one Skein-256 block. */
const BLOCK_BYTES = 32;
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * HMAC-Skein-256 of the concatenation of the `message` parts.
 *
 * Key handling (RFC 2104 §2): a key longer than 32 bytes is replaced by its Skein-256-256 digest;
 * a shorter one is zero-padded to 32 bytes; a 32-byte key (DH2, K) is used as it is.
 * @param key - any length, including 0; not modified
 * @param message - pieces MACed as if concatenated (none = the empty message)
 * @returns the 32-byte MAC; callers that need fewer bytes (the 16-byte mark) truncate it
 * @throws TypeError if `key` or a message part is not a Uint8Array
 * @example
 * const mark = hmacSkein256(dh2, representative, utf8('dust-mark'), u64be(epochHour)).subarray(0, 16);
 */
export function hmacSkein256(key: Uint8Array, ...message: Uint8Array[]): Uint8Array {
  abytes(key, undefined, 'key');
  message.forEach((part, i) => abytes(part, undefined, `message[${i}]`));
  const pad = new Uint8Array(BLOCK_BYTES);
  if (key.length > BLOCK_BYTES) {
    const hashedKey = skein256(key);
    pad.set(hashedKey);
    hashedKey.fill(0);
  } else {
    pad.set(key);
  }
  // pad holds the key block; turn it into k ^ ipad, later into k ^ opad (ipad ^ opad flips it).
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] ^= IPAD;
  const inner = new Skein256().update(pad);
  for (const part of message) inner.update(part);
  const innerHash = inner.digest();
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] ^= IPAD ^ OPAD;
  const mac = skein256(pad, innerHash);
  pad.fill(0); // the key block is as secret as the key
  return mac;
}
