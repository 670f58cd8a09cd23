/**
 * Ephemeral keys made ahead of time. A Dust handshake needs one fresh Elligator2-representable
 * key per side, and making one costs about 0.4 ms (two tries on average, each one or two X25519
 * ladders plus a field exponentiation) — on the critical path of every connection's first byte.
 * The pool makes them when the process is quiet instead: {@link REFILL_DELAY_MS} after the last key
 * was taken (so that the handshake that took it — and its peer's answer — is not held up), then one
 * key per turn of the event loop (`setImmediate`, after pending I/O) until it holds `size` keys.
 * An empty pool makes the key on the spot, so a burst of connections costs what it would without
 * a pool, never more.
 *
 * Each key is handed out once and dropped from the pool (a handshake key must be single-use).
 * @module
 */
import { generateEphemeralKey, type EphemeralKey } from '../crypto/ephemeral-key.js';
import type { EphemeralKeySource } from '../core/handshake.js';
import { systemRandom, type RandomSource } from '../core/random.js';

/** Keys kept ready: enough for a burst of simultaneous connections, about 8 KiB of memory. */
export const DEFAULT_POOL_SIZE = 16;
/** Quiet time after the last `take` before refilling starts: a connection's opening exchange. */
export const REFILL_DELAY_MS = 10;

export class EphemeralKeyPool {
  private readonly keys: EphemeralKey[] = [];
  private refillTimer: NodeJS.Timeout | null = null;
  private refilling = false;
  private stopped = false;

  constructor(
    private readonly size = DEFAULT_POOL_SIZE,
    private readonly random: RandomSource = systemRandom,
  ) {}

  /** Keys ready now. */
  get ready(): number {
    return this.keys.length;
  }

  /** A key nobody else will get; the pool starts refilling in the background. */
  readonly take: EphemeralKeySource = () => {
    const key = this.keys.pop() ?? generateEphemeralKey(this.random);
    this.scheduleRefill(REFILL_DELAY_MS);
    return key;
  };

  /** Fills the pool in the background (e.g. when a listener starts, before the first client). */
  warm(): void {
    this.scheduleRefill(0);
  }

  /** Stops refilling and forgets the keys held. */
  stop(): void {
    this.stopped = true;
    if (this.refillTimer !== null) clearTimeout(this.refillTimer);
    this.keys.length = 0;
  }

  /** (Re)starts the quiet-time wait; every take pushes the refill back. */
  private scheduleRefill(delayMs: number): void {
    if (this.stopped || this.keys.length >= this.size) return;
    this.refilling = false;
    if (this.refillTimer !== null) clearTimeout(this.refillTimer);
    // unref: a pool waiting to refill never keeps the process alive.
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.refilling = true;
      this.refillOne();
    }, delayMs).unref();
  }

  private refillOne(): void {
    if (!this.refilling || this.stopped || this.keys.length >= this.size) return;
    this.keys.push(generateEphemeralKey(this.random));
    setImmediate(() => this.refillOne()).unref();
  }
}

/** The process's pool, shared by every Dust connection this process dials or accepts. */
export const sharedKeyPool = new EphemeralKeyPool();
