/**
 * The reliable byte-stream halves under an Ensemble session (docs/ensemble.md "Streams"): one
 * {@link SendStream} and one {@link ReceiveStream} per side and session, independent of how many
 * connections carry them.
 *
 * Positions are byte offsets of one direction of the logical stream, starting at 0. The sender keeps
 * every byte from the peer's cumulative acknowledgement up to what the application wrote (at most
 * `window` bytes, the backpressure bound), remembers which ranges went out on which connection, and
 * puts a connection's ranges back in line when that connection is lost or the peer resumes. The
 * receiver delivers bytes exactly once and in order: duplicates are dropped by position, and bytes
 * that arrive ahead of a gap (possible only with several connections at once) wait in a bounded
 * reassembly list.
 * @module
 */
import { aint } from '../core/bytes.js';
import { StreamBuffer } from './byte-queue.js';

/**
 * Protocol bound on unacknowledged data: a sender never sends a byte at or beyond
 * (acknowledged position + MAX_WINDOW), so a receiver may reject any byte beyond
 * (its receive position + MAX_WINDOW). This also bounds reassembly memory. 4 MiB.
 */
export const MAX_WINDOW = 4 * 1024 * 1024;

/** Why received stream data was refused; the connection that carried it fails. */
export type ReceiveFailure = 'DUST_ERR_ENSEMBLE_WINDOW' | 'DUST_ERR_ENSEMBLE_BAD_CLOSE';

/** Sorted, disjoint half-open ranges, flattened: [a0, b0, a1, b1, ...]. */
class RangeSet {
  r: number[] = [];

  get empty(): boolean {
    return this.r.length === 0;
  }

  /** Adds [a, b), merging with neighbours. */
  add(a: number, b: number): void {
    if (a >= b) return;
    const r = this.r;
    const out: number[] = [];
    let i = 0;
    while (i < r.length && r[i + 1]! < a) {
      out.push(r[i]!, r[i + 1]!);
      i += 2;
    }
    let lo = a;
    let hi = b;
    while (i < r.length && r[i]! <= hi) {
      lo = Math.min(lo, r[i]!);
      hi = Math.max(hi, r[i + 1]!);
      i += 2;
    }
    out.push(lo, hi);
    while (i < r.length) {
      out.push(r[i]!, r[i + 1]!);
      i += 2;
    }
    this.r = out;
  }

  /** Removes everything below `p`. */
  trimBelow(p: number): void {
    const r = this.r;
    let i = 0;
    while (i < r.length && r[i + 1]! <= p) i += 2;
    if (i > 0) r.splice(0, i);
    if (r.length > 0 && r[0]! < p) r[0] = p;
  }

  /** Removes [a, b) from the front: `a` must be the first range's start. */
  takeFront(a: number, b: number): void {
    const r = this.r;
    if (r[0] !== a || b > r[1]!) throw new Error('BUG: takeFront outside the first range');
    if (b === r[1]) r.splice(0, 2);
    else r[0] = b;
  }
}

/** The sending half: buffer, window, what went out where, and the close (FIN) position. */
export class SendStream {
  /** Most unacknowledged bytes held (and so the most the application may write ahead). */
  readonly window: number;
  private readonly buffer = new StreamBuffer();
  private nextNew = 0;
  private readonly resend = new RangeSet();
  private readonly inflight = new Map<object, number[]>();
  private _finPos: number | null = null;
  private _finAcked = false;
  /** The connection (key) that carries our Close and has not failed yet, or null. */
  closeSentOn: object | null = null;
  /**
   * The connection the peer last resumed on. Bytes to send again, and the Close, go only there
   * while it lives: the other connections may be dead without anyone having noticed yet, and
   * would swallow them again.
   */
  private priority: object | null = null;

  constructor(window: number = MAX_WINDOW) {
    this.window = aint(window, 1, MAX_WINDOW, 'window');
  }

  /** Everything before this position is acknowledged by the peer. */
  get ackedPos(): number {
    return this.buffer.start;
  }

  /** Position just past the last byte the application wrote. */
  get writePos(): number {
    return this.buffer.end;
  }

  /** Highest position ever put on a connection (exclusive): the peer cannot acknowledge more. */
  get sentEnd(): number {
    return this.nextNew;
  }

  /** Stream length once the application ended its side, else null. */
  get finPos(): number | null {
    return this._finPos;
  }

  /** The peer confirmed our Close (Close OK): this direction is finished. */
  get finAcked(): boolean {
    return this._finAcked;
  }

  /** Bytes the application may write now (0 after `end()`). */
  get writable(): number {
    return this._finPos !== null ? 0 : this.window - this.buffer.length;
  }

  /** Takes up to `writable` bytes of `bytes`; returns how many. */
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.writable);
    if (n > 0) this.buffer.append(n === bytes.length ? bytes : bytes.subarray(0, n));
    return n;
  }

  /** Ends this direction: the stream length is fixed at `writePos`. Idempotent. */
  end(): void {
    if (this._finPos === null) this._finPos = this.buffer.end;
  }

  /** True when some range waits to be sent on connection `key`. */
  hasPending(key: object): boolean {
    return this.peekStart(key) !== null;
  }

  /** Start of the range `take(…, key)` would return, or null when nothing is pending for `key`. */
  peekStart(key: object): number | null {
    if (this.mayResend(key)) return this.resend.r[0]!;
    return this.nextNew < this.buffer.end ? this.nextNew : null;
  }

  /**
   * Takes the lowest range pending for connection `key`, at most `maxLength` bytes, and records
   * it as carried by `key`. Bytes to send again go before new bytes. Returns [start, end) or null.
   */
  take(maxLength: number, key: object): [number, number] | null {
    if (maxLength < 1) return null;
    let start: number;
    let end: number;
    if (this.mayResend(key)) {
      start = this.resend.r[0]!;
      end = Math.min(this.resend.r[1]!, start + maxLength);
      this.resend.takeFront(start, end);
    } else if (this.nextNew < this.buffer.end) {
      start = this.nextNew;
      end = Math.min(this.buffer.end, start + maxLength);
      this.nextNew = end;
    } else {
      return null;
    }
    let list = this.inflight.get(key);
    if (list === undefined) this.inflight.set(key, (list = []));
    if (list.length > 0 && list[list.length - 1] === start) list[list.length - 1] = end;
    else list.push(start, end);
    return [start, end];
  }

  /** Copies stream bytes [from, to) (held: not yet acknowledged) into `out` at `offset`. */
  copyOut(from: number, to: number, out: Uint8Array, offset: number): void {
    this.buffer.copyOut(from, to, out, offset);
  }

  /**
   * The peer received everything before `position`. Returns 'advanced' when that frees bytes,
   * 'stale' for an old acknowledgement, 'invalid' when it claims bytes never sent.
   */
  ack(position: number): 'advanced' | 'stale' | 'invalid' {
    if (position > this.nextNew) return 'invalid';
    if (position <= this.buffer.start) return 'stale';
    this.buffer.dropBefore(position);
    this.resend.trimBelow(position);
    for (const [key, list] of this.inflight) {
      const kept = trimRanges(list, position);
      if (kept.length === 0) this.inflight.delete(key);
      else this.inflight.set(key, kept);
    }
    return 'advanced';
  }

  private mayResend(key: object): boolean {
    return !this.resend.empty && (this.priority === null || this.priority === key);
  }

  /** Connection `key` will not carry data any more (retiring): it loses its priority. */
  retired(key: object): void {
    if (this.priority === key) this.priority = null;
  }

  /** The connection `key` is gone: its unacknowledged ranges (and our Close) must go out again. */
  lost(key: object): void {
    if (this.priority === key) this.priority = null;
    const list = this.inflight.get(key);
    if (list !== undefined) {
      this.inflight.delete(key);
      const acked = this.buffer.start;
      for (let i = 0; i < list.length; i += 2) this.resend.add(Math.max(list[i]!, acked), list[i + 1]!);
    }
    if (this.closeSentOn === key) this.closeSentOn = null;
  }

  /**
   * The peer resumed on connection `key` and told us exactly what it has: whatever is in flight
   * anywhere may be lost with the connection the peer left, so all of it goes out again, on `key`
   * (duplicates are harmless).
   */
  resumedOn(key: object): void {
    for (const other of [...this.inflight.keys()]) this.lost(other);
    this.closeSentOn = null;
    this.priority = key;
  }

  /** Our Close may be sent on connection `key` now: the application ended and every byte was sent at least once. */
  closeReady(key: object): boolean {
    return (
      this._finPos !== null &&
      !this._finAcked &&
      this.nextNew === this._finPos &&
      this.closeSentOn === null &&
      (this.priority === null || this.priority === key)
    );
  }

  /** Close OK from the peer: it has all `finPos` bytes. False when we never sent a Close. */
  closeAcknowledged(): boolean {
    if (this._finPos === null || this.nextNew !== this._finPos) return false;
    if (this._finAcked) return true;
    this.ack(this._finPos);
    this._finAcked = true;
    this.closeSentOn = null;
    return true;
  }
}

/** Drops ranges (flat pairs) entirely below `p` and clips the rest. */
function trimRanges(list: number[], p: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < list.length; i += 2) {
    const b = list[i + 1]!;
    if (b <= p) continue;
    out.push(Math.max(list[i]!, p), b);
  }
  return out;
}

/** The receiving half: receive position, reassembly, in-order delivery and the peer's Close. */
export class ReceiveStream {
  private _recvPos = 0;
  private _finPos: number | null = null;
  /** Bytes ahead of a gap: sorted by start, disjoint, every start > recvPos. */
  private segments: Array<{ start: number; data: Uint8Array }> = [];
  private delivered: Uint8Array[] = [];
  private deliveredBytes = 0;

  /** Every byte before this position was received (and delivered in order). */
  get recvPos(): number {
    return this._recvPos;
  }

  /** The peer's stream length, once its Close arrived. */
  get finPos(): number | null {
    return this._finPos;
  }

  /** The peer closed and every byte before its Close was delivered. */
  get finished(): boolean {
    return this._finPos !== null && this._recvPos === this._finPos;
  }

  /** Bytes held ahead of a gap (for tests and limits). */
  get reassemblyBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.data.length;
    return n;
  }

  /** Delivered bytes not yet taken by the owner. */
  get pendingBytes(): number {
    return this.deliveredBytes;
  }

  /**
   * Stream bytes [start, start + data.length) arrived. Returns null when accepted (new bytes are
   * delivered, old ones dropped), or why they break the protocol.
   */
  receive(start: number, data: Uint8Array): ReceiveFailure | null {
    const end = start + data.length;
    if (end > this._recvPos + MAX_WINDOW) return 'DUST_ERR_ENSEMBLE_WINDOW';
    if (this._finPos !== null && end > this._finPos) return 'DUST_ERR_ENSEMBLE_BAD_CLOSE';
    if (end <= this._recvPos) return null;
    if (start <= this._recvPos) {
      this.deliver(data.subarray(this._recvPos - start));
      this.drainSegments();
    } else {
      this.insertSegment(start, data);
    }
    return null;
  }

  /** The peer's Close puts its stream end at `position`. */
  close(position: number): ReceiveFailure | null {
    if (this._finPos !== null) return this._finPos === position ? null : 'DUST_ERR_ENSEMBLE_BAD_CLOSE';
    if (position < this._recvPos) return 'DUST_ERR_ENSEMBLE_BAD_CLOSE';
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.start + last.data.length > position) return 'DUST_ERR_ENSEMBLE_BAD_CLOSE';
    this._finPos = position;
    return null;
  }

  /** Takes every delivered chunk, in order. */
  takeDelivered(): Uint8Array[] {
    const out = this.delivered;
    this.delivered = [];
    this.deliveredBytes = 0;
    return out;
  }

  /** Takes up to `max` delivered bytes as one array. */
  read(max: number): Uint8Array {
    const n = Math.min(max, this.deliveredBytes);
    if (n === 0) return new Uint8Array(0);
    const first = this.delivered[0]!;
    if (first.length === n) {
      this.delivered.shift();
      this.deliveredBytes -= n;
      return first;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.delivered[0]!;
      const piece = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, piece), filled);
      filled += piece;
      if (piece === chunk.length) this.delivered.shift();
      else this.delivered[0] = chunk.subarray(piece);
    }
    this.deliveredBytes -= n;
    return out;
  }

  private deliver(bytes: Uint8Array): void {
    this.delivered.push(bytes);
    this.deliveredBytes += bytes.length;
    this._recvPos += bytes.length;
  }

  private drainSegments(): void {
    while (this.segments.length > 0 && this.segments[0]!.start <= this._recvPos) {
      const { start, data } = this.segments.shift()!;
      const end = start + data.length;
      if (end > this._recvPos) this.deliver(data.subarray(this._recvPos - start));
    }
  }

  /** Stores [start, end) ahead of the gap, keeping bytes already held (they are the same bytes). */
  private insertSegment(start: number, data: Uint8Array): void {
    const end = start + data.length;
    const next: Array<{ start: number; data: Uint8Array }> = [];
    let cursor = start;
    for (const seg of this.segments) {
      const segEnd = seg.start + seg.data.length;
      if (segEnd <= cursor || seg.start >= end) {
        next.push(seg);
        continue;
      }
      if (seg.start > cursor) next.push({ start: cursor, data: data.slice(cursor - start, seg.start - start) });
      next.push(seg);
      cursor = Math.max(cursor, segEnd);
    }
    if (cursor < end) next.push({ start: cursor, data: data.slice(cursor - start) });
    next.sort((a, b) => a.start - b.start);
    this.segments = next;
  }
}
