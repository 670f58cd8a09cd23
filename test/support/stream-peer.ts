/** A PlaintextPeer that sends a fixed payload and collects what arrives (tests only). */
import type { CloseReason, PlaintextPeer } from '../../src/drivers/dust-connection.js';

export class StreamPeer implements PlaintextPeer {
  private offset = 0;
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  closeReason: CloseReason | null = null;
  isOpen = false;
  private waiters: Array<() => void> = [];

  constructor(private payload: Uint8Array = new Uint8Array(0)) {}

  /** More to send after the payload (the connection must be told: notifyWritable). */
  append(data: Uint8Array): void {
    const joined = new Uint8Array(this.payload.length + data.length);
    joined.set(this.payload);
    joined.set(data, this.payload.length);
    this.payload = joined;
  }

  pull(maxBytes: number): Uint8Array | null {
    if (this.offset >= this.payload.length) return null;
    const chunk = this.payload.subarray(this.offset, this.offset + maxBytes);
    this.offset += chunk.length;
    return chunk;
  }
  deliver(data: Uint8Array): boolean {
    this.received.push(data.slice());
    this.receivedBytes += data.length;
    this.wake();
    return true;
  }
  opened(): void {
    this.isOpen = true;
    this.wake();
  }
  closed(reason: CloseReason): void {
    this.closeReason = reason;
    this.wake();
  }
  /**
   * Resolves when `condition` holds — checked after each of this peer's events and every 10 ms
   * (the condition may depend on other peers) — or rejects after `ms`.
   */
  until(condition: () => boolean, ms = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const poll = setInterval(() => check(), 10);
      const timer = setTimeout(() => {
        clearInterval(poll);
        reject(new Error('timed out waiting'));
      }, ms);
      let done = false;
      const check = () => {
        if (done) return;
        if (condition()) {
          done = true;
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
