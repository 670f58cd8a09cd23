/**
 * Randomness is injected, never read from a global inside the sans-IO core: production passes
 * `systemRandom`, tests pass a fixed stream to reproduce vectors byte for byte.
 * @module
 */
import { randomFillSync } from 'node:crypto';

/** Returns `n` fresh random bytes. */
export type RandomSource = (n: number) => Uint8Array;

/** The operating system's CSPRNG (OpenSSL via node:crypto). */
export const systemRandom: RandomSource = (n) => randomFillSync(new Uint8Array(n));

/**
 * A source that hands out the given byte strings in order and then throws: for tests that feed
 * the exact inputs of a vector (a private key, then a tweak, then an IV ...).
 */
export function scriptedRandom(...chunks: Uint8Array[]): RandomSource {
  const queue = chunks.map((c) => c.slice());
  return (n) => {
    const next = queue.shift();
    if (next === undefined) throw new Error(`BUG: scripted random source exhausted (asked for ${n})`);
    if (next.length !== n) {
      throw new Error(`BUG: scripted random source expected a request for ${next.length} bytes, got ${n}`);
    }
    return next;
  };
}
