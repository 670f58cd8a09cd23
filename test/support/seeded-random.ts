/** A deterministic RandomSource for tests: the ChaCha20 keystream of a key made from `seed`. */
import { createCipheriv } from 'node:crypto';
import type { RandomSource } from '../../src/core/random.js';

export function seededRandom(seed: number): RandomSource {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, seed >>> 0);
  const cipher = createCipheriv('chacha20', key, new Uint8Array(16));
  return (n) => new Uint8Array(cipher.update(new Uint8Array(n)));
}
