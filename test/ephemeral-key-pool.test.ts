/**
 * The ephemeral key pool (src/drivers/ephemeral-key-pool.ts): keys made ahead of time, each handed
 * out once, refilled only after a quiet time, made on the spot when the pool is empty.
 */
import { elligator2Decode } from '../src/crypto/elligator2.js';
import { EphemeralKeyPool, REFILL_DELAY_MS } from '../src/drivers/ephemeral-key-pool.js';
import { seededRandom } from './support/seeded-random.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const waitUntil = async (condition: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('EphemeralKeyPool', () => {
  test('an empty pool makes keys on the spot, then refills to its size after a quiet time', async () => {
    const pool = new EphemeralKeyPool(4, seededRandom(1));
    expect(pool.ready).toBe(0);
    const key = pool.take();
    // A usable key: its representative decodes to its public key.
    expect(hex(elligator2Decode(key.representative))).toBe(hex(key.publicKey));
    expect(pool.ready).toBe(0); // nothing is made while a handshake may still be running
    await waitUntil(() => pool.ready === 4);
    await new Promise((r) => setTimeout(r, REFILL_DELAY_MS * 3));
    expect(pool.ready).toBe(4); // never beyond its size
    pool.stop();
  });

  test('every key is handed out once, whether it came from the pool or was made on the spot', async () => {
    const pool = new EphemeralKeyPool(3, seededRandom(2));
    pool.warm();
    await waitUntil(() => pool.ready === 3);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const key = pool.take();
      seen.add(hex(key.privateKey));
      seen.add(hex(key.representative));
    }
    expect(seen.size).toBe(20);
    expect(pool.ready).toBe(0);
    pool.stop();
  });

  test('each take pushes the refill back; stop forgets the keys and ends refilling', () => {
    jest.useFakeTimers();
    try {
      const pool = new EphemeralKeyPool(2, seededRandom(3));
      pool.take();
      for (let i = 0; i < 5; i++) {
        jest.advanceTimersByTime(REFILL_DELAY_MS - 1);
        expect(pool.ready).toBe(0);
        pool.take();
      }
      jest.advanceTimersByTime(REFILL_DELAY_MS);
      expect(pool.ready).toBeGreaterThan(0); // quiet at last: the first key is made
      jest.advanceTimersByTime(10);
      expect(pool.ready).toBe(2);
      pool.stop();
      expect(pool.ready).toBe(0);
      pool.take();
      jest.advanceTimersByTime(REFILL_DELAY_MS * 3);
      expect(pool.ready).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
