/**
 * Replay filter for client handshakes (DECISIONS.md "Handshake", probe resistance): a client
 * representative seen in the last 3 hours is a replay, and the server treats it as a probe.
 *
 * Keyed on the representative with its two random top bits masked off, so a replay that only flips
 * those bits is caught here too (it would also fail the mark, which covers the raw bytes).
 * Memory is bounded: entries expire after the window, and past `capacity` the oldest entry is
 * dropped first (an attacker who floods the filter with *authenticated* handshakes — which needs
 * the bridge line — can at worst make the oldest ones replayable again).
 * Time comes in as a value; the filter reads no clock.
 * @module
 */
import { abytes, aint, bytesToHex } from './bytes.js';

export const REPLAY_WINDOW_MS = 3 * 60 * 60 * 1000;
export const DEFAULT_REPLAY_CAPACITY = 100_000;

export class ReplayFilter {
  /** Insertion-ordered: the first entry is always the oldest. Value = time seen (unix ms). */
  private readonly seen = new Map<string, number>();
  readonly capacity: number;
  readonly windowMs: number;

  constructor(options: { capacity?: number; windowMs?: number } = {}) {
    this.capacity = aint(options.capacity ?? DEFAULT_REPLAY_CAPACITY, 1, 10_000_000, 'capacity');
    this.windowMs = aint(options.windowMs ?? REPLAY_WINDOW_MS, 1, Number.MAX_SAFE_INTEGER, 'windowMs');
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Records `representative` as seen at `nowUnixMs`. Returns true when it had already been seen
   * within the window (a replay), false when it is new.
   */
  testAndAdd(representative: Uint8Array, nowUnixMs: number): boolean {
    abytes(representative, 32, 'representative');
    this.expire(nowUnixMs);
    const key = replayKey(representative);
    const when = this.seen.get(key);
    if (when !== undefined && nowUnixMs - when < this.windowMs) return true;
    // Re-insert so the map stays ordered by time seen.
    this.seen.delete(key);
    this.seen.set(key, nowUnixMs);
    while (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return false;
  }

  private expire(nowUnixMs: number): void {
    for (const [key, when] of this.seen) {
      if (nowUnixMs - when < this.windowMs) break;
      this.seen.delete(key);
    }
  }
}

function replayKey(representative: Uint8Array): string {
  const masked = representative.slice();
  masked[31]! &= 0x3f;
  return bytesToHex(masked);
}
