/**
 * Seattle key schedule (seed "Creating a shared key" / "Creating a confirmation code", DECISIONS.md
 * "Handshake" and "Record protocol"; vectors: test/vectors/seattle.json):
 *
 *   E    = floor(unix seconds / 3600), 8 bytes big-endian
 *   mark = HMAC-Skein-256(DH2, R_X ‖ "dust-mark" ‖ E)[0..16]
 *   K    = Skein-256-256(DH1 ‖ DH2 ‖ server_id ‖ B ‖ X ‖ Y ‖ "ntor")
 *   code = HMAC-Skein-256(K, server_id ‖ Y ‖ X ‖ "ntor" ‖ "server")
 *   per direction D ∈ {"c2s", "s2c"} with that direction's IV:
 *     enc_key = HMAC-Skein-256(K, "dust-encrypt-" ‖ D ‖ IV)
 *     mac_key = HMAC-Skein-256(K, "dust-mac-" ‖ D ‖ IV)
 * @module
 */
import { hmacSkein256 } from '../crypto/hmac-skein.js';
import { skein256 } from '../crypto/skein.js';
import { u64be, utf8 } from './bytes.js';
import type { DirectionKeys } from './record.js';

export const MARK_BYTES = 16;
const MS_PER_HOUR = 3_600_000;

const LABEL_MARK = utf8('dust-mark');
const LABEL_NTOR = utf8('ntor');
const LABEL_SERVER = utf8('server');
const LABEL_ENCRYPT = utf8('dust-encrypt-');
const LABEL_MAC = utf8('dust-mac-');

export type Direction = 'c2s' | 's2c';
const DIRECTION_LABEL: Record<Direction, Uint8Array> = { c2s: utf8('c2s'), s2c: utf8('s2c') };

/** Hours since the Unix epoch: the E of the mark. */
export function epochHour(unixTimeMs: number): number {
  return Math.floor(unixTimeMs / MS_PER_HOUR);
}

/** The 16-byte mark that authenticates a client to a server that knows b. */
export function handshakeMark(dh2: Uint8Array, representative: Uint8Array, hour: number): Uint8Array {
  return hmacSkein256(dh2, representative, LABEL_MARK, u64be(hour)).slice(0, MARK_BYTES);
}

/** The session's shared key K. X and Y are the (dirty) u-coordinates the representatives decode to. */
export function sharedKey(
  dh1: Uint8Array,
  dh2: Uint8Array,
  serverId: Uint8Array,
  serverStaticPublic: Uint8Array,
  clientPublic: Uint8Array,
  serverPublic: Uint8Array,
): Uint8Array {
  return skein256(dh1, dh2, serverId, serverStaticPublic, clientPublic, serverPublic, LABEL_NTOR);
}

/** The server's confirmation code, which the client checks in constant time. */
export function confirmationCode(
  key: Uint8Array,
  serverId: Uint8Array,
  clientPublic: Uint8Array,
  serverPublic: Uint8Array,
): Uint8Array {
  return hmacSkein256(key, serverId, serverPublic, clientPublic, LABEL_NTOR, LABEL_SERVER);
}

/** Record keys for one direction; the label keeps an attacker from reflecting a side's own records. */
export function directionKeys(key: Uint8Array, direction: Direction, iv: Uint8Array): DirectionKeys {
  const label = DIRECTION_LABEL[direction];
  return {
    encKey: hmacSkein256(key, LABEL_ENCRYPT, label, iv),
    macKey: hmacSkein256(key, LABEL_MAC, label, iv),
  };
}
