/**
 * DeadlineQueue (src/ensemble/deadline-queue.ts): deadlines of one kind come due in the order they
 * were set; cancelled ones are skipped; a model (a plain list scanned every time) agrees with it.
 */
import fc from 'fast-check';
import { DeadlineQueue } from '../src/ensemble/deadline-queue.js';

interface Timer {
  name: string;
  at: number | null;
}

describe('DeadlineQueue', () => {
  test('due items come out earliest first; cancelled and moved ones are skipped', () => {
    const a: Timer = { name: 'a', at: 10 };
    const b: Timer = { name: 'b', at: 20 };
    const c: Timer = { name: 'c', at: 30 };
    const q = new DeadlineQueue<Timer>((t, at) => t.at === at);
    q.add(10, a);
    q.add(20, b);
    q.add(30, c);
    expect(q.next()).toBe(10);
    a.at = null; // cancelled
    expect(q.next()).toBe(20);
    b.at = 40; // moved: a fresh entry is added for the new time
    q.add(40, b);
    expect(q.takeDue(35).map((t) => t.name)).toEqual(['c']);
    expect(q.next()).toBe(40);
    expect(q.takeDue(39)).toEqual([]);
    expect(q.takeDue(40).map((t) => t.name)).toEqual(['b']);
    expect(q.next()).toBeNull();
    expect(q.size).toBe(0);
  });

  test('deadlines added out of order are refused', () => {
    const q = new DeadlineQueue<string>(() => true);
    q.add(5, 'x');
    expect(() => q.add(4, 'y')).toThrow(RangeError);
  });

  test('agrees with scanning every timer, over random schedules (and stays compact)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('add', 'cancel', 'tick'), fc.nat(50)), { maxLength: 3000 }),
        (ops) => {
          const timers: Timer[] = [];
          const q = new DeadlineQueue<Timer>((t, at) => t.at === at);
          let now = 0;
          for (const [op, n] of ops) {
            if (op === 'add') {
              const t: Timer = { name: String(timers.length), at: now + 100 };
              timers.push(t);
              q.add(t.at!, t);
            } else if (op === 'cancel' && timers.length > 0) {
              timers[n % timers.length]!.at = null;
            } else {
              now += n;
              const expected = timers.filter((t) => t.at !== null && t.at <= now).sort((x, y) => x.at! - y.at!);
              const due = q.takeDue(now);
              expect(due.map((t) => t.name)).toEqual(expected.map((t) => t.name));
              for (const t of due) t.at = null;
            }
            const pending = timers.filter((t) => t.at !== null).map((t) => t.at!);
            expect(q.next()).toBe(pending.length === 0 ? null : Math.min(...pending));
          }
          expect(q.size).toBeLessThanOrEqual(Math.max(2048, 2 * timers.filter((t) => t.at !== null).length + 1024));
        },
      ),
      { numRuns: 50 },
    );
  });
});
