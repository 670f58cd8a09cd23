/**
 * When packets go out: the model's flow is a distribution of *packets per second* (seed "Shaping
 * Features": "Dust does not model packet inter-arrival times, but instead models the flow rate in
 * terms of the number of packets per second").
 *
 * The schedule cuts time into one-second windows from its start. For each window it samples a
 * packet count n from the flow distribution (rounded, clamped to 0..65,535) and places the n send
 * times uniformly at random inside the window. So the count per aligned second follows the model
 * exactly, and for a Poisson flow the send times form a Poisson process. Everything comes from the
 * shaping CSPRNG, never from the data; time is passed in (monotonic ms) and must not go backwards.
 * @module
 */
import type { ShapingRng } from './prng.js';

export const WINDOW_MS = 1000;
const MAX_PACKETS_PER_WINDOW = 65_535;
/** nextWakeup() looks at most this far ahead through empty windows; the caller just asks again. */
const MAX_EMPTY_WINDOWS_SCANNED = 600;

/** Anything that can draw a number from the shaping CSPRNG. */
export interface Sampler {
  sample(rng: ShapingRng): number;
}

export class PacketSchedule {
  private windowStart: number;
  /** Send times of the current window, ascending; `next` indexes the first not yet due. */
  private times: number[] = [];
  private next = 0;
  private lastNow: number;

  constructor(
    private readonly flow: Sampler,
    private readonly rng: ShapingRng,
    startMs: number,
  ) {
    if (!Number.isFinite(startMs)) throw new RangeError(`startMs must be finite, got ${startMs}`);
    this.windowStart = startMs - WINDOW_MS; // the first fill() moves to the window at startMs
    this.lastNow = startMs;
    this.fill();
  }

  /** How many packets became due since the last call, up to and including `now`. */
  due(now: number): number {
    this.checkTime(now);
    let count = 0;
    for (;;) {
      while (this.next < this.times.length && this.times[this.next]! <= now) {
        this.next++;
        count++;
      }
      if (this.next < this.times.length || this.windowStart + WINDOW_MS > now) return count;
      this.fill();
    }
  }

  /** Forgets the packets that became due up to `now` (a side that may not send yet skips them). */
  skip(now: number): void {
    this.due(now);
  }

  /** The monotonic time of the next packet; waking earlier is harmless. */
  nextWakeup(): number {
    for (let scanned = 0; this.next >= this.times.length; scanned++) {
      if (scanned === MAX_EMPTY_WINDOWS_SCANNED) return this.windowStart + WINDOW_MS;
      this.fill();
    }
    return this.times[this.next]!;
  }

  private fill(): void {
    this.windowStart += WINDOW_MS;
    const raw = this.flow.sample(this.rng);
    const count = Number.isFinite(raw) ? Math.min(MAX_PACKETS_PER_WINDOW, Math.max(0, Math.round(raw))) : 0;
    const times = new Array<number>(count);
    for (let i = 0; i < count; i++) times[i] = this.windowStart + this.rng.nextFloat() * WINDOW_MS;
    times.sort((a, b) => a - b);
    this.times = times;
    this.next = 0;
  }

  private checkTime(now: number): void {
    if (!Number.isFinite(now)) throw new RangeError(`now must be finite, got ${now}`);
    if (now < this.lastNow) throw new RangeError(`time went backwards: ${now} < ${this.lastNow}`);
    this.lastNow = now;
  }
}

