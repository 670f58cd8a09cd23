/**
 * Handshakes and in-memory DustSession pairs: the cost of the Seattle handshake per side, and how
 * fast two sessions back to back move plaintext (no sockets: shaping + records + handshake only).
 * @module
 */
import { ReplayFilter } from '../src/core/replay-filter.js';
import { systemRandom } from '../src/core/random.js';
import { serverIdentifier } from '../src/core/server-id.js';
import { generateServerIdentity } from '../src/core/server-keys.js';
import { DustSession } from '../src/core/session.js';
import { getBuiltinModel } from '../src/shaping/builtin-models.js';
import type { DustModel } from '../src/shaping/model.js';
import type { BenchRow } from './table.js';

const identity = generateServerIdentity(systemRandom);
const serverId = serverIdentifier('192.0.2.1', 443);
const unixTimeMs = Date.now();
const replayFilter = new ReplayFilter({ capacity: 1_000_000 });

function client(model: DustModel): DustSession {
  return new DustSession({ role: 'client', model, now: 0, unixTimeMs, server: { publicKey: identity.staticKey.publicKey, serverId } });
}
function server(model: DustModel): DustSession {
  return new DustSession({ role: 'server', model, now: 0, unixTimeMs, staticKey: identity.staticKey, serverId, replayFilter });
}
function packets(from: DustSession, now: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = from.packetCount(now); n > 0; n--) out.push(from.getEncoded(from.encodedReady()));
  return out;
}

function timeLoop(ms: number, fn: () => void): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

function handshakeRows(model: DustModel): BenchRow[] {
  const pairRate = timeLoop(1500, () => {
    const c = client(model);
    const s = server(model);
    for (const p of packets(c, 0)) s.putEncoded(p);
    for (const p of packets(s, 0)) c.putEncoded(p);
    if (c.state !== 'open') throw new Error('BUG: handshake failed in the bench');
  });
  // Server side alone: client messages made beforehand, then only the server's work is timed.
  const hellos = Array.from({ length: 1500 }, () => packets(client(model), 0));
  let i = 0;
  const start = performance.now();
  for (; i < hellos.length && performance.now() - start < 1500; i++) {
    const s = server(model);
    for (const p of hellos[i]!) s.putEncoded(p);
    packets(s, 0);
  }
  const serverRate = (i * 1000) / (performance.now() - start);
  return [
    { group: 'handshake', name: `client+server pair (${model.name})`, value: pairRate, unit: 'handshakes/s' },
    { group: 'handshake', name: `server side alone (${model.name})`, value: serverRate, unit: 'handshakes/s', note: 'target >= 1,000' },
  ];
}

/** Plaintext MB/s between two sessions; packets of the model's lengths, or `chunk` bytes at a time. */
function pairThroughput(model: DustModel, chunk: number | null): number {
  const c = client(model);
  const s = server(model);
  for (const p of packets(c, 0)) s.putEncoded(p);
  for (const p of packets(s, 0)) c.putEncoded(p);
  const block = systemRandom(65_536);
  let delivered = 0;
  const start = performance.now();
  while (performance.now() - start < 1500) {
    c.putDecoded(block);
    while (c.pendingPlaintext > 0) s.putEncoded(c.getEncoded(chunk ?? c.encodedReady()));
    delivered += s.getDecoded(s.decodedReady()).length;
  }
  return delivered / 1e6 / ((performance.now() - start) / 1000);
}

export function sessionBench(): BenchRow[] {
  const uniform = getBuiltinModel('uniform');
  const text = getBuiltinModel('text');
  const bulk = getBuiltinModel('bulk');
  return [
    ...handshakeRows(text),
    ...handshakeRows(bulk),
    { group: 'session pair', name: 'uniform, model packet lengths (~774 B)', value: pairThroughput(uniform, null), unit: 'MB/s plaintext' },
    { group: 'session pair', name: 'uniform, 16 KiB getEncoded', value: pairThroughput(uniform, 16_384), unit: 'MB/s plaintext', note: 'target >= 150' },
    { group: 'session pair', name: 'bulk (16 KiB packets)', value: pairThroughput(bulk, null), unit: 'MB/s plaintext', note: 'target >= 150' },
    { group: 'session pair', name: 'text, model packet lengths', value: pairThroughput(text, null), unit: 'MB/s plaintext' },
  ];
}
