/**
 * The server's long-term identity: its static X25519 key pair and the per-server constants chosen
 * once at key generation (the probe close delay, DECISIONS.md "Handshake"), with the two encodings
 * an operator meets:
 *
 * - bridge lines carry only the public key, as `key=` followed by 43 characters of unpadded
 *   base64url (RFC 4648 §5) — safe in torrc, SOCKS arguments and URLs;
 * - the server's state file is JSON (format "dust-server-state/1"), private key in hex.
 *
 * See docs/protocol.md "Server keys".
 * @module
 */
import { x25519PublicKey } from '../crypto/x25519.js';
import { aint, bytesToHex, hexToBytes } from './bytes.js';
import type { ServerStaticKey } from './handshake.js';
import type { RandomSource } from './random.js';

export const STATE_FORMAT = 'dust-server-state/1';
export const MIN_PROBE_CLOSE_DELAY_MS = 30_000;
export const MAX_PROBE_CLOSE_DELAY_MS = 90_000;

export interface ServerIdentity {
  staticKey: ServerStaticKey;
  /** How long the server keeps reading and discarding before it closes a probe connection. */
  probeCloseDelayMs: number;
}

/** Makes a fresh identity from the given randomness source. */
export function generateServerIdentity(random: RandomSource): ServerIdentity {
  const privateKey = random(32);
  const span = MAX_PROBE_CLOSE_DELAY_MS - MIN_PROBE_CLOSE_DELAY_MS + 1;
  return {
    staticKey: { privateKey, publicKey: x25519PublicKey(privateKey) },
    probeCloseDelayMs: MIN_PROBE_CLOSE_DELAY_MS + uniformBelow(span, random),
  };
}

/** Unbiased integer in [0, n) by rejection sampling over 32-bit draws. */
function uniformBelow(n: number, random: RandomSource): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    const b = random(4);
    const value = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (value < limit) return value % n;
  }
}

/** The `key=` value of a bridge line. */
export function encodeBridgeKey(publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('base64url');
}

/** Parses a `key=` value; throws RangeError saying what is wrong. */
export function decodeBridgeKey(text: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(text)) {
    throw new RangeError('bridge key must be 43 characters of unpadded base64url (a 32-byte X25519 public key)');
  }
  const key = new Uint8Array(Buffer.from(text, 'base64url'));
  // 43 characters carry 258 bits; the last two must be zero for a canonical encoding.
  if (encodeBridgeKey(key) !== text) throw new RangeError('bridge key is not canonical base64url');
  return key;
}

/** The state file's text (JSON, one object, newline-terminated). Contains the private key. */
export function serializeServerState(identity: ServerIdentity): string {
  const state = {
    format: STATE_FORMAT,
    private_key: bytesToHex(identity.staticKey.privateKey),
    public_key: encodeBridgeKey(identity.staticKey.publicKey),
    probe_close_delay_ms: identity.probeCloseDelayMs,
  };
  return JSON.stringify(state, null, 2) + '\n';
}

/** Parses a state file; throws an Error naming the field that is wrong. */
export function parseServerState(text: string, source = 'state file'): ServerIdentity {
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new Error(`${source}: must be a JSON object`);
  }
  const fields = state as Record<string, unknown>;
  if (fields.format !== STATE_FORMAT) {
    throw new Error(`${source}: format must be "${STATE_FORMAT}", got ${JSON.stringify(fields.format)}`);
  }
  let privateKey: Uint8Array;
  try {
    privateKey = hexToBytes(String(fields.private_key ?? ''), 'private_key');
    if (privateKey.length !== 32) throw new RangeError('must be 32 bytes');
  } catch {
    throw new Error(`${source}: private_key must be 64 hex digits`);
  }
  const publicKey = x25519PublicKey(privateKey);
  if (fields.public_key !== undefined && fields.public_key !== encodeBridgeKey(publicKey)) {
    throw new Error(`${source}: public_key does not match private_key`);
  }
  let probeCloseDelayMs: number;
  try {
    probeCloseDelayMs = aint(fields.probe_close_delay_ms, MIN_PROBE_CLOSE_DELAY_MS, MAX_PROBE_CLOSE_DELAY_MS, 'probe_close_delay_ms');
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  return { staticKey: { privateKey, publicKey }, probeCloseDelayMs };
}
