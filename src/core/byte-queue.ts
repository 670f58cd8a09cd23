/**
 * A FIFO of bytes kept as a list of chunks plus a count (the ws receiver's habit): appending never
 * copies the whole queue, and taking copies only across chunk boundaries.
 * @module
 */
import { aint } from './bytes.js';

const EMPTY = new Uint8Array(0);

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Offset of the first unread byte in chunks[0]. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Appends `bytes` without copying: the caller must not modify them afterwards. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.count += bytes.length;
  }

  /** Removes and returns the first `n` bytes (a view when they lie in one chunk). */
  take(n: number): Uint8Array {
    aint(n, 0, this.count, 'n');
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const step = Math.min(n - filled, chunk.length - this.head);
      out.set(chunk.subarray(this.head, this.head + step), filled);
      filled += step;
      this.advance(step);
    }
    return out;
  }

  /** Drops everything. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.count = 0;
  }

  private advance(n: number): void {
    this.head += n;
    this.count -= n;
    if (this.head === this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
