/**
 * Two byte containers of the Ensemble core (docs/ensemble.md "Buffers"):
 *
 * - {@link StreamBuffer}: the unacknowledged part of one direction of the logical stream, addressed
 *   by absolute stream position, so any range can be copied out again for retransmission.
 * - {@link OutputQueue}: serialized messages waiting to leave on one connection, handed out in
 *   pieces of any size.
 *
 * Both keep a list of chunks plus an index of the first live chunk (ws style), so appending and
 * dropping from the front are O(1) amortized and nothing is joined until it is read.
 * @module
 */

/** Bytes [start, end) of one direction of the stream, kept as chunks. */
export class StreamBuffer {
  private chunks: Uint8Array[] = [];
  /** Stream position of `chunks[i][0]`. */
  private starts: number[] = [];
  private head = 0;
  private _start = 0;
  private _end = 0;

  /** Position of the first byte held. */
  get start(): number {
    return this._start;
  }

  /** Position just past the last byte held. */
  get end(): number {
    return this._end;
  }

  get length(): number {
    return this._end - this._start;
  }

  /** Appends a copy of `bytes` at position `end`. */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes.slice());
    this.starts.push(this._end);
    this._end += bytes.length;
  }

  /** Forgets every byte before `position` (clamped to [start, end]). */
  dropBefore(position: number): void {
    const target = Math.min(Math.max(position, this._start), this._end);
    while (this.head < this.chunks.length) {
      const chunkEnd = this.starts[this.head]! + this.chunks[this.head]!.length;
      if (chunkEnd > target) break;
      this.head++;
    }
    this._start = target;
    // Compact once the dead prefix dominates, so memory follows the live bytes.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.starts = this.starts.slice(this.head);
      this.head = 0;
    }
  }

  /** Copies stream bytes [from, to) into `out` at `offset`. The range must be held. */
  copyOut(from: number, to: number, out: Uint8Array, offset: number): void {
    if (from < this._start || to > this._end || from > to) {
      throw new Error(`BUG: copyOut [${from}, ${to}) outside the buffer [${this._start}, ${this._end})`);
    }
    let i = this.findChunk(from);
    let pos = from;
    while (pos < to) {
      const chunk = this.chunks[i]!;
      const chunkStart = this.starts[i]!;
      const a = pos - chunkStart;
      const b = Math.min(chunk.length, to - chunkStart);
      out.set(chunk.subarray(a, b), offset);
      offset += b - a;
      pos += b - a;
      i++;
    }
  }

  /** Index of the chunk holding `position` (binary search over the live chunks). */
  private findChunk(position: number): number {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Whole messages queued for one connection, handed out in pieces of any size. */
export class OutputQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Bytes of `chunks[head]` already handed out. */
  private offset = 0;
  private _length = 0;

  get length(): number {
    return this._length;
  }

  /** Queues one serialized message (kept by reference: the caller must not modify it). */
  push(message: Uint8Array): void {
    if (message.length === 0) return;
    this.chunks.push(message);
    this._length += message.length;
  }

  /** Hands out up to `max` bytes, or null when empty or `max` is 0. */
  take(max: number): Uint8Array | null {
    if (this._length === 0 || max <= 0) return null;
    const n = Math.min(max, this._length);
    const first = this.chunks[this.head]!;
    let out: Uint8Array;
    if (first.length - this.offset >= n) {
      // Common case: the piece lies inside one message, so hand out a view without copying.
      out = first.subarray(this.offset, this.offset + n);
      this.advance(n);
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.head]!;
        const piece = Math.min(chunk.length - this.offset, n - filled);
        out.set(chunk.subarray(this.offset, this.offset + piece), filled);
        filled += piece;
        this.advance(piece);
      }
    }
    return out;
  }

  /**
   * Drops every queued message except the rest of one already partly handed out, so that whatever
   * is queued next starts on a message boundary in the peer's decoder.
   */
  truncateToBoundary(): void {
    if (this._length === 0) return;
    if (this.offset > 0) {
      const current = this.chunks[this.head]!;
      this.chunks = [current];
      this._length = current.length - this.offset;
    } else {
      this.chunks = [];
      this._length = 0;
      this.offset = 0;
    }
    this.head = 0;
  }

  private advance(n: number): void {
    this.offset += n;
    this._length -= n;
    while (this.head < this.chunks.length && this.offset >= this.chunks[this.head]!.length) {
      this.offset -= this.chunks[this.head]!.length;
      this.head++;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
      this.offset = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
