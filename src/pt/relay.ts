/**
 * Joining two byte streams both ways (the SOCKS socket and the Dust stream on the client; the Dust
 * stream and the ORPort socket on the server), and counting the joins so that a graceful shutdown
 * (tor-pt.md §5.5) knows when the last one is over.
 *
 * `pipe` gives backpressure (a full destination pauses its source) and half-close (a source's
 * end ends the other side's writable half, like TCP's FIN). A side that has ended both ways is
 * left to close by itself: a socket does so at once, a Dust stream only once the Ensemble Close
 * is acknowledged, so destroying it early could drop the last bytes. A side that errors, or closes
 * before both of its halves ended, takes the other one down with it.
 * @module
 */
import type { Duplex } from 'node:stream';

/** How a relay ended: `done` (both sides ended both ways and closed), or the first error or early close. */
export type RelayEnd = { readonly reason: 'done' } | { readonly reason: 'error'; readonly error: Error } | { readonly reason: 'closed' };

/**
 * Pipes `a` into `b` and `b` into `a`. Both must allow half-open operation (sockets made with
 * `allowHalfOpen: true`), or a FIN from one peer would close the other direction early.
 * `onEnd` runs exactly once, when both sides have closed.
 */
export function relay(a: Duplex, b: Duplex, onEnd: (end: RelayEnd) => void = () => undefined): void {
  if (a.destroyed || b.destroyed) {
    a.destroy();
    b.destroy();
    onEnd({ reason: 'closed' });
    return;
  }
  let outcome: RelayEnd | undefined;
  let closed = 0;
  const abort = (end: RelayEnd): void => {
    if (outcome !== undefined) return;
    outcome = end;
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    let halves = 0; // 'end' and 'finish' seen
    s.once('end', () => void halves++);
    s.once('finish', () => void halves++);
    s.on('error', (error: Error) => abort({ reason: 'error', error }));
    s.once('close', () => {
      if (halves < 2) abort({ reason: 'closed' });
      if (++closed === 2) onEnd(outcome ?? { reason: 'done' });
    });
  }
  a.pipe(b);
  b.pipe(a);
}

/**
 * Counts live relays (and connections still being set up) for shutdown: `idle()` resolves when
 * the count reaches zero; `destroyAll()` ends them at once.
 */
export class RelayTracker {
  private readonly live = new Set<Duplex>();
  private waiters: Array<() => void> = [];

  /** How many connections are being served. */
  get size(): number {
    return this.live.size;
  }

  /** Tracks `stream` until it closes. */
  add(stream: Duplex): void {
    if (this.live.has(stream)) return;
    this.live.add(stream);
    const forget = (): void => {
      this.live.delete(stream);
      if (this.live.size === 0) for (const w of this.waiters.splice(0)) w();
    };
    if (stream.destroyed) forget();
    else stream.once('close', forget);
  }

  /** Resolves once nothing is tracked. */
  idle(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Destroys everything tracked. */
  destroyAll(): void {
    for (const s of [...this.live]) s.destroy();
  }
}
