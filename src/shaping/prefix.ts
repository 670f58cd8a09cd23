/**
 * Model prefixes (DECISIONS.md "Shaping": "A model may name fixed strings that each direction
 * sends at the start of a connection; the receiver checks and removes them"). The sender writes
 * the prefix bytes before its first shaped byte; the receiver uses `PrefixChecker`. Unlike
 * Dust2015, which skipped the prefix unchecked (dust-original.md §4.1), a byte that differs is a
 * failure: a peer that does not know the model is not speaking Dust.
 * @module
 */
import { abytes } from '../core/bytes.js';

/** Stable failure code for a received prefix that differs from the model's. */
export const DUST_ERR_BAD_PREFIX = 'DUST_ERR_BAD_PREFIX';

const EMPTY = new Uint8Array(0);

/**
 * Receiver side: checks and strips the expected prefix, in any chunking. Peer input never throws:
 * a differing byte moves the checker to the sticky `failed` state.
 * @example
 * const check = new PrefixChecker(utf8('INCOMING'));
 * const rest = check.push(chunk); // bytes after the prefix, [] while still inside it
 */
export class PrefixChecker {
  private readonly expected: Uint8Array;
  private matched = 0;
  private status: 'checking' | 'done' | 'failed';

  /** @param expected - the prefix; empty means there is nothing to check (`done` at once) */
  constructor(expected: Uint8Array) {
    this.expected = abytes(expected, undefined, 'expected').slice();
    this.status = this.expected.length === 0 ? 'done' : 'checking';
  }

  /** 'checking' while inside the prefix; 'done' once it matched; 'failed' (sticky) on a mismatch. */
  get state(): 'checking' | 'done' | 'failed' {
    return this.status;
  }

  /** `DUST_ERR_BAD_PREFIX` after a mismatch, else null. */
  get failure(): string | null {
    return this.status === 'failed' ? DUST_ERR_BAD_PREFIX : null;
  }

  /** Bytes of the prefix still expected (0 once done). */
  get remaining(): number {
    return this.status === 'checking' ? this.expected.length - this.matched : 0;
  }

  /**
   * @param chunk - received bytes
   * @returns the bytes after the prefix (a view into `chunk` once the prefix is done); an empty
   *   array while inside the prefix or after a failure
   */
  push(chunk: Uint8Array): Uint8Array {
    abytes(chunk, undefined, 'chunk');
    if (this.status === 'done') return chunk.subarray(0);
    if (this.status === 'failed') return EMPTY;
    const expected = this.expected;
    const take = Math.min(chunk.length, expected.length - this.matched);
    for (let k = 0; k < take; k++) {
      if (chunk[k] !== expected[this.matched + k]) {
        this.status = 'failed';
        return EMPTY;
      }
    }
    this.matched += take;
    if (this.matched < expected.length) return EMPTY;
    this.status = 'done';
    return chunk.subarray(take);
  }
}
