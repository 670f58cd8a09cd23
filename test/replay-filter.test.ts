import { ReplayFilter, REPLAY_WINDOW_MS } from '../src/core/replay-filter.js';
import { systemRandom } from '../src/core/random.js';

describe('replay filter (DECISIONS.md: 3-hour window, bounded memory)', () => {
  test('a representative is new once, then a replay within the window', () => {
    const filter = new ReplayFilter();
    const r = systemRandom(32);
    expect(filter.testAndAdd(r, 1_000)).toBe(false);
    expect(filter.testAndAdd(r, 1_000 + REPLAY_WINDOW_MS - 1)).toBe(true);
  });

  test('the two random top bits do not make a replay new', () => {
    const filter = new ReplayFilter();
    const r = systemRandom(32);
    filter.testAndAdd(r, 0);
    for (const top of [0x00, 0x40, 0x80, 0xc0]) {
      const variant = r.slice();
      variant[31] = (variant[31]! & 0x3f) | top;
      expect(filter.testAndAdd(variant, 10)).toBe(true);
    }
  });

  test('entries expire after the window and memory stays bounded', () => {
    const filter = new ReplayFilter({ capacity: 100 });
    const first = systemRandom(32);
    filter.testAndAdd(first, 0);
    expect(filter.testAndAdd(first, REPLAY_WINDOW_MS)).toBe(false); // expired, seen anew
    for (let i = 0; i < 1000; i++) filter.testAndAdd(systemRandom(32), REPLAY_WINDOW_MS + i);
    expect(filter.size).toBe(100);
    filter.testAndAdd(systemRandom(32), 3 * REPLAY_WINDOW_MS);
    expect(filter.size).toBe(1);
  });

  test('rejects bad arguments', () => {
    expect(() => new ReplayFilter({ capacity: 0 })).toThrow(RangeError);
    expect(() => new ReplayFilter().testAndAdd(new Uint8Array(31), 0)).toThrow(RangeError);
  });
});
