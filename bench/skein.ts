/**
 * Benchmarks for Skein-256-256 and HMAC-Skein-256 (group "crypto"). Skein is used only in the
 * handshake, so the per-call rates on small inputs matter more than bulk MB/s; the bulk figure is
 * there to compare with the ~25 MB/s of the throwaway prototype in toolchain.md §4.
 * @module
 */
import { hmacSkein256 } from '../src/crypto/hmac-skein.js';
import { skein256 } from '../src/crypto/skein.js';
import { megabytesPerSecond, opsPerSecond, type BenchRow } from './table.js';

/** Deterministic, non-trivial input bytes (the content does not affect Skein's speed). */
function filler(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff);
}

/** Skein-256 MB/s on 16 KiB messages, ops/s on 64-byte messages, HMAC-Skein-256 ops/s on 64 bytes. */
export function skeinBench(): BenchRow[] {
  const big = filler(16 * 1024);
  const small = filler(64);
  const key = filler(32);
  // Keep a result alive so the calls cannot be optimised away.
  let sink = 0;
  const bulk = megabytesPerSecond(() => { sink ^= skein256(big)[0]!; }, big.length);
  const hash64 = opsPerSecond(() => { sink ^= skein256(small)[0]!; });
  const mac64 = opsPerSecond(() => { sink ^= hmacSkein256(key, small)[0]!; });
  if (sink > 255) throw new Error('BUG: impossible sink value');
  return [
    { group: 'crypto', name: 'Skein-256-256, 16 KiB messages', value: bulk, unit: 'MB/s',
      note: 'toolchain.md §4 prototype (locals, new Function): 23-28 MB/s' },
    { group: 'crypto', name: 'Skein-256-256, 64-byte message', value: hash64, unit: 'ops/s' },
    { group: 'crypto', name: 'HMAC-Skein-256, 32-byte key, 64-byte message', value: mac64, unit: 'ops/s',
      note: '2 Skein passes: 3 + 2 message blocks, 2 output blocks' },
  ];
}
