/**
 * X25519 (RFC 7748 §5) on OpenSSL through `node:crypto`, with raw 32-byte keys in and out
 * (`vectors/README.md` "X25519"; `toolchain.md` §3: about 16x faster than noble's BigInt ladder).
 *
 * Raw keys reach OpenSSL as JWK, the only fast raw import Node 20 has (PKCS#8/SPKI DER go through
 * the slow decoder framework). Keys are always built from bytes we hold, never with
 * `generateKeyPair*`: that returns pre-clamped private keys (no dirty component, `tor-pt.md` §7)
 * and, combined with a JWK export, deadlocks Node 20.20 after ~10k calls (`toolchain.md` §3).
 * @module
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { abytes, equalBytes, isAllZero } from '../core/bytes.js';

/** RFC 7748 key and u-coordinate size. */
const KEY_BYTES = 32;

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

/**
 * Imported private keys, by the array that held them. Importing costs a full ladder (OpenSSL
 * derives the public key at import), as much as the DH itself, and the same arrays come back: the
 * server's static key on every handshake, an ephemeral key from its generation to its DH. The copy
 * of the bytes is compared on every hit, so an array changed in place is imported again; a WeakMap
 * lets each entry go with its array. Until then the entry (a KeyObject and a copy of the bytes)
 * keeps the secret even if the array is zeroised, as any KeyObject would.
 */
const imported = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();

/**
 * The OpenSSL key for 32 private bytes. OpenSSL clamps them itself (RFC 7748 §5
 * decodeScalar25519), so callers pass the raw, unclamped bytes. Node requires a JWK private key to
 * carry `x` but only checks that it is a string; the public key OpenSSL derives from `d` is the one
 * used and exported, so we do not pay a second ladder to compute a real `x`.
 */
function importPrivateKey(privateKey: Uint8Array, remember = true): KeyObject {
  const hit = imported.get(privateKey);
  if (hit !== undefined && equalBytes(hit.bytes, privateKey)) return hit.key;
  const key = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: base64url(privateKey), x: '' },
    format: 'jwk',
  });
  if (remember) imported.set(privateKey, { bytes: privateKey.slice(), key });
  return key;
}

function basePointMultiple(privateKey: Uint8Array, remember: boolean): Uint8Array {
  // OpenSSL derives the public key when the private key is imported; exporting it is cheap.
  const jwk = importPrivateKey(privateKey, remember).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('BUG: X25519 JWK without x');
  const out = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  if (out.length !== KEY_BYTES) throw new Error(`BUG: X25519 public key of ${out.length} bytes`);
  return out;
}

/**
 * RFC 7748 X25519 shared secret. The private key is clamped; bit 255 of the peer's u is ignored
 * and a non-canonical u (>= 2^255 - 19) is reduced, as §5 requires. Peers given by dirty public
 * keys (`ephemeral-key.ts`) give the same secret as their clean keys, because a clamped scalar is
 * a multiple of 8.
 * @param privateKey - 32 bytes, not clamped by the caller (not modified)
 * @param publicKey - the peer's u-coordinate, 32 bytes little-endian (not modified)
 * @returns the 32-byte shared secret, or null when OpenSSL refuses the peer or the result is all
 *   zero (a low-order peer); callers treat null as a failed handshake
 * @throws TypeError / RangeError if an argument is not a 32-byte Uint8Array
 */
export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  abytes(privateKey, KEY_BYTES, 'privateKey');
  abytes(publicKey, KEY_BYTES, 'publicKey');
  const own = importPrivateKey(privateKey);
  // RFC 7748 §5: "implementations of X25519 MUST mask the most significant bit". OpenSSL does too;
  // masking here keeps the behaviour independent of the OpenSSL build.
  const peerU = publicKey.slice();
  peerU[31]! &= 0x7f;
  let shared: Buffer;
  try {
    const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: base64url(peerU) }, format: 'jwk' });
    // OpenSSL fails the derivation (ERR_OSSL_FAILED_DURING_DERIVATION) when the result is zero.
    shared = diffieHellman({ privateKey: own, publicKey: peer });
  } catch {
    return null;
  }
  const out = new Uint8Array(shared);
  if (out.length !== KEY_BYTES) throw new Error(`BUG: X25519 returned ${out.length} bytes`);
  return isAllZero(out) ? null : out;
}

/**
 * The clean X25519 public key `X25519(k, 9)` (RFC 7748 §6.1), e.g. the server's static key B.
 * It lies in the prime-order subgroup; ephemeral keys use `generateEphemeralKey` instead.
 * @param privateKey - 32 bytes, not clamped by the caller (not modified)
 * @returns the 32-byte little-endian u-coordinate
 * @throws TypeError / RangeError if `privateKey` is not a 32-byte Uint8Array
 */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  abytes(privateKey, KEY_BYTES, 'privateKey');
  return basePointMultiple(privateKey, true);
}

/**
 * `x25519PublicKey` for a throwaway scalar: its import is not remembered (key generation's
 * auxiliary ladder, which would only churn the cache).
 * @internal
 */
export function _x25519BaseOnce(scalar: Uint8Array): Uint8Array {
  abytes(scalar, KEY_BYTES, 'scalar');
  return basePointMultiple(scalar, false);
}
