/**
 * Record layer throughput (DECISIONS.md "Record protocol"): sealing and opening 16 KiB and 1 KiB
 * data records, against the target of 500 MB/s for seal+open of 16 KiB records. The same run also
 * times the bare node:crypto primitives each record needs (two ChaCha20 passes and two SHA-256
 * passes for seal+open), a floor under the cost of any implementation of this format on this
 * machine. The machine is shared, so compare rows of one run, not across runs.
 * @module
 */
import { createCipheriv, hash, randomBytes } from 'node:crypto';
import { RecordOpener, RecordSealer, type DirectionKeys } from '../src/core/record.js';
import { megabytesPerSecond, type BenchRow } from './table.js';

const GROUP = 'records';
const KIB16 = 16 * 1024;

/**
 * Best of three short runs of each case, the cases taking turns: the machine is shared, the best
 * run is the least disturbed, and taking turns exposes every case to the same load.
 */
function bestMBps(cases: Array<[fn: () => void, bytesPerCall: number]>): number[] {
  const best = cases.map(() => 0);
  for (let round = 0; round < 3; round++) {
    cases.forEach(([fn, bytes], i) => {
      best[i] = Math.max(best[i]!, megabytesPerSecond(fn, bytes, 400));
    });
  }
  return best;
}

function keys(): DirectionKeys {
  return { encKey: new Uint8Array(randomBytes(32)), macKey: new Uint8Array(randomBytes(32)) };
}

type Case = [fn: () => void, bytesPerCall: number];

/** Data bytes through a sealer and an opener, one record per push (as from a socket). */
function sealOpen(size: number): Case {
  const k = keys();
  const sealer = new RecordSealer(k);
  const opener = new RecordOpener(k);
  const data = new Uint8Array(randomBytes(size));
  return [
    () => {
      if (opener.push(sealer.sealData(data)).length !== 1) throw new Error('BUG: bench record not delivered');
    },
    size,
  ];
}

function sealOnly(size: number): Case {
  const sealer = new RecordSealer(keys());
  const data = new Uint8Array(randomBytes(size));
  return [() => sealer.sealData(data), size];
}

/** Opens a pre-sealed batch (fresh opener per batch: the keystream starts over with the sealer's). */
function openOnly(size: number): Case {
  const k = keys();
  const sealer = new RecordSealer(k);
  const data = new Uint8Array(randomBytes(size));
  const batch = Array.from({ length: 256 }, () => sealer.sealData(data));
  const open = () => {
    const opener = new RecordOpener(k);
    for (const record of batch) opener.push(record);
    if (opener.state !== 'open') throw new Error('BUG: bench records failed to open');
  };
  return [open, size * batch.length];
}

/** Blank records are most of the padding: opening them checks every byte is zero. */
function openBlank(size: number): Case {
  const k = keys();
  const sealer = new RecordSealer(k);
  const batch = Array.from({ length: 256 }, () => sealer.sealBlank(size));
  const open = () => {
    const opener = new RecordOpener(k);
    for (const record of batch) opener.push(record);
  };
  return [open, size * batch.length];
}

/**
 * A floor, not a competitor: node:crypto alone doing the least work seal+open must do per record,
 * ChaCha20 twice and SHA-256 over the record twice (an HMAC is that plus two short hashes).
 */
function primitivesFloor(size: number): Case {
  const k = keys();
  const cipher = createCipheriv('chacha20', k.encKey, new Uint8Array(16));
  const data = new Uint8Array(randomBytes(size + 35));
  const message = data.subarray(0, size + 3);
  const work = () => {
    cipher.update(data);
    cipher.update(data);
    hash('sha256', message, 'buffer');
    hash('sha256', message, 'buffer');
  };
  return [work, size];
}

/** The `records` group of `npm run bench`. */
export function recordsBench(): BenchRow[] {
  const row = (name: string, value: number, note?: string): BenchRow => ({ group: GROUP, name, value, unit: 'MB/s', note });
  const [pair16, pair1, seal16, open16, blank16, floor16] = bestMBps([
    sealOpen(KIB16),
    sealOpen(1024),
    sealOnly(KIB16),
    openOnly(KIB16),
    openBlank(KIB16),
    primitivesFloor(KIB16),
  ]);
  return [
    row('seal+open, 16 KiB records', pair16!, 'target >= 500; bounded by the floor row'),
    row('seal+open, 1 KiB records', pair1!),
    row('seal alone, 16 KiB records', seal16!),
    row('open alone, 16 KiB records', open16!),
    row('open alone, 16 KiB blank records', blank16!, 'zero check instead of HMAC'),
    row('floor: 2x ChaCha20 + 2x SHA-256, 16 KiB', floor16!, 'node:crypto alone, same run'),
  ];
}
