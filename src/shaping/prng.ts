/**
 * The shaping CSPRNG: a deterministic ChaCha20 keystream (RFC 8439, via node:crypto/OpenSSL) that
 * drives every sample of packet length, packet rate and connection duration.
 *
 * Seed "Shaping Layer": properties that are not transferred losslessly (timing, lengths) "are
 * sampled using a separate secure PRNG rather than the encrypted byte stream"; DECISIONS.md
 * "Shaping": the CSPRNG is independent of the data. So each session seeds its own generator with 32
 * bytes from its injected RandomSource, and nothing it outputs ever touches the record keystream.
 *
 * The keystream is produced 4 KiB at a time (one OpenSSL call per 1,024 words) and read as
 * little-endian 32-bit words.
 * @module
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { abytes, aint } from '../core/bytes.js';
import type { RandomSource } from '../core/random.js';

/** Bytes of keystream fetched per refill. */
const BLOCK_BYTES = 4096;
const BLOCK_WORDS = BLOCK_BYTES / 4;
const ZEROS = new Uint8Array(BLOCK_BYTES);
/** node:crypto's chacha20 IV: 4-byte little-endian block counter, then the 12-byte nonce (both 0). */
const CHACHA_IV = new Uint8Array(16);
const TWO_POW_26 = 2 ** 26;
const TWO_POW_32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;
/** Words are little-endian by definition; typed arrays use the platform's order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bswap32(x: number): number {
  return ((x & 0xff) << 24 | (x & 0xff00) << 8 | (x >>> 8) & 0xff00 | x >>> 24) >>> 0;
}

/** What a distribution needs from a random generator (tests may pass their own). */
export interface ShapingRng {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform multiple of 2^-53 in [0, 1). */
  nextFloat(): number;
  /** A uniform integer in [0, n), without modulo bias; 1 <= n <= 2^53. */
  nextBelow(n: number): number;
}

/**
 * Deterministic CSPRNG for shaping samples: ChaCha20 keyed with a 32-byte seed, nonce 0.
 * @example
 * const rng = ShapingPrng.fromRandom(systemRandom);
 * const length = model.clientToServer.lengthBytes.sample(rng);
 */
export class ShapingPrng implements ShapingRng {
  readonly #cipher: Cipher;
  #words: Uint32Array = new Uint32Array(0);
  #pos = 0;

  /** @param seed 32 bytes; the same seed always gives the same sequence. */
  constructor(seed: Uint8Array) {
    abytes(seed, 32, 'seed');
    this.#cipher = createCipheriv('chacha20', seed, CHACHA_IV);
  }

  /** Seeds a generator with 32 bytes read from `random` (one request of exactly 32 bytes). */
  static fromRandom(random: RandomSource): ShapingPrng {
    if (typeof random !== 'function') throw new TypeError('random must be a RandomSource function');
    return new ShapingPrng(random(32));
  }

  nextUint32(): number {
    if (this.#pos === this.#words.length) this.#refill();
    return this.#words[this.#pos++]!;
  }

  nextFloat(): number {
    // 27 high bits of one word and 26 of the next: every multiple of 2^-53 in [0, 1) equally likely.
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  nextBelow(n: number): number {
    aint(n, 1, TWO_POW_53, 'n');
    if (n <= TWO_POW_32) {
      // Reject the top (2^32 mod n) values so that every residue is equally likely.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = this.nextUint32();
        if (x < limit) return x % n;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % n);
    for (;;) {
      const x = this.nextFloat() * TWO_POW_53; // an integer in [0, 2^53)
      if (x < limit) return x % n;
    }
  }

  #refill(): void {
    const block = this.#cipher.update(ZEROS);
    if (block.length !== BLOCK_BYTES) throw new Error('BUG: short ChaCha20 keystream block');
    const words = new Uint32Array(BLOCK_WORDS);
    new Uint8Array(words.buffer).set(block); // a copy, so the word view is aligned
    if (!LITTLE_ENDIAN) for (let i = 0; i < BLOCK_WORDS; i++) words[i] = bswap32(words[i]!);
    this.#words = words;
    this.#pos = 0;
  }
}
