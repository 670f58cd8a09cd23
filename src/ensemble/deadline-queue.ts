/**
 * Deadlines of one kind, each "now + the same constant": they come due in the order they were
 * set, so a FIFO replaces a scan of every session on every event. Cancelling is free — an entry
 * whose deadline is no longer in force (`inForce` says so) is skipped when it reaches the head —
 * and setting, peeking and expiring cost O(1) amortized.
 * @module
 */

interface Entry<T> {
  at: number;
  item: T;
}

/** Compact the backing array once this many entries have been consumed from its front. */
const COMPACT_AFTER = 1024;

export class DeadlineQueue<T> {
  private entries: Entry<T>[] = [];
  private head = 0;

  /** @param inForce - whether `item`'s deadline is still `at` (not cancelled, not moved) */
  constructor(private readonly inForce: (item: T, at: number) => boolean) {}

  /** Adds a deadline; `at` must not be earlier than any deadline added before. */
  add(at: number, item: T): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && at < last.at) throw new RangeError(`deadlines must be added in order (${at} < ${last.at})`);
    this.entries.push({ at, item });
  }

  /** The earliest deadline still in force, or null. */
  next(): number | null {
    this.skipCancelled();
    return this.head < this.entries.length ? this.entries[this.head]!.at : null;
  }

  /** Removes and returns the items whose deadline in force is at or before `now`, earliest first. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    for (this.skipCancelled(); this.head < this.entries.length && this.entries[this.head]!.at <= now; this.skipCancelled()) {
      due.push(this.entries[this.head++]!.item);
    }
    this.compact();
    return due;
  }

  /** Entries held, cancelled ones included (for tests). */
  get size(): number {
    return this.entries.length - this.head;
  }

  private skipCancelled(): void {
    while (this.head < this.entries.length) {
      const { at, item } = this.entries[this.head]!;
      if (this.inForce(item, at)) return;
      this.head++;
    }
    this.compact();
  }

  private compact(): void {
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
