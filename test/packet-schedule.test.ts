import { PacketSchedule, WINDOW_MS } from '../src/shaping/packet-schedule.js';
import { ShapingPrng } from '../src/shaping/prng.js';

const seeded = (b: number) => new ShapingPrng(new Uint8Array(32).fill(b));
const fixed = (n: number) => ({ sample: () => n });

describe('packet schedule (flow = packets per second)', () => {
  test('a fixed flow puts exactly that many packets in every aligned second', () => {
    const schedule = new PacketSchedule(fixed(7), seeded(1), 5_000);
    for (let second = 1; second <= 20; second++) {
      expect(schedule.due(5_000 + second * WINDOW_MS - 0.001)).toBe(7);
    }
  });

  test('counts do not depend on how often the caller asks', () => {
    const coarse = new PacketSchedule({ sample: (rng) => rng.nextBelow(30) }, seeded(2), 0);
    const fine = new PacketSchedule({ sample: (rng) => rng.nextBelow(30) }, seeded(2), 0);
    let fineTotal = 0;
    for (let t = 0; t <= 10_000; t += 3.7) fineTotal += fine.due(t);
    fineTotal += fine.due(10_000);
    expect(fineTotal).toBe(coarse.due(10_000));
  });

  test('nextWakeup is the next send time: nothing is due before it, something at it', () => {
    const schedule = new PacketSchedule(fixed(3), seeded(3), 0);
    for (let i = 0; i < 30; i++) {
      const wake = schedule.nextWakeup();
      expect(schedule.due(Math.max(0, wake - 0.0001))).toBe(0);
      expect(schedule.due(wake)).toBeGreaterThanOrEqual(1);
    }
  });

  test('send times are spread uniformly within the second', () => {
    const schedule = new PacketSchedule(fixed(100), seeded(4), 0);
    const quarters = [0, 0, 0, 0];
    let last = 0;
    for (let i = 0; i < 100 * 50; i++) {
      const t = schedule.nextWakeup();
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
      quarters[Math.floor((t % WINDOW_MS) / 250)]!++;
      schedule.due(t);
    }
    for (const q of quarters) expect(Math.abs(q - 1250)).toBeLessThan(200); // ~5.7 sigma
  });

  test('a flow of zero never wakes anyone in a hot loop and never sends', () => {
    const schedule = new PacketSchedule(fixed(0), seeded(5), 0);
    expect(schedule.nextWakeup()).toBeGreaterThanOrEqual(60_000);
    expect(schedule.due(1e6)).toBe(0);
  });

  test('negative, fractional and non-finite samples are rounded and clamped', () => {
    expect(new PacketSchedule(fixed(-3), seeded(6), 0).due(999)).toBe(0);
    expect(new PacketSchedule(fixed(2.6), seeded(6), 0).due(999.999)).toBe(3);
    expect(new PacketSchedule(fixed(Number.NaN), seeded(6), 0).due(999)).toBe(0);
  });

  test('skip drops what is due; time must not go backwards', () => {
    const schedule = new PacketSchedule(fixed(10), seeded(7), 0);
    schedule.skip(2_500);
    expect(schedule.due(2_999.999)).toBeLessThanOrEqual(10);
    expect(() => schedule.due(100)).toThrow(/backwards/);
  });
});
