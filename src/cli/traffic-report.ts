/**
 * What went over the wire, against the model: packet count, bytes, mean packet length and the
 * byte distribution (total variation distance between the observed byte frequencies and the
 * distribution the model's code implies, P(b) = 2^-len(b)). Used by `dust demo`.
 * @module
 */
import { createContentCoder } from '../shaping/coder.js';
import type { DirectionModel, DustModel } from '../shaping/model.js';

export class TrafficObserver {
  readonly byteCounts = new Float64Array(256);
  packets = 0;
  bytes = 0;

  observe(packet: Uint8Array): void {
    this.packets++;
    this.bytes += packet.length;
    const counts = this.byteCounts;
    for (let i = 0; i < packet.length; i++) counts[packet[i]!]!++;
  }
}

/** Total variation distance between observed byte frequencies and the model's code. */
export function byteDistance(observer: TrafficObserver, direction: DirectionModel): number {
  if (observer.bytes === 0) return NaN;
  const lengths = createContentCoder(direction.content).codeLengths;
  let distance = 0;
  for (let b = 0; b < 256; b++) distance += Math.abs(observer.byteCounts[b]! / observer.bytes - 2 ** -lengths[b]!);
  return distance / 2;
}

export function formatTrafficTable(
  model: DustModel,
  wire: { c2s: TrafficObserver; s2c: TrafficObserver },
  run: { virtualMs?: number; elapsedMs?: number; payloadBytes: number; connections?: number },
): string {
  const rows: string[][] = [['', 'client→server', 'server→client']];
  const both = (f: (o: TrafficObserver, d: DirectionModel) => string) => [f(wire.c2s, model.clientToServer), f(wire.s2c, model.serverToClient)];
  rows.push(['packets', ...both((o) => String(o.packets))]);
  rows.push(['wire bytes', ...both((o) => String(o.bytes))]);
  rows.push(['wire overhead', ...both((o) => `${(o.bytes / run.payloadBytes).toFixed(2)}× payload`)]);
  rows.push(['mean packet length: observed', ...both((o) => (o.packets ? (o.bytes / o.packets).toFixed(1) : '-'))]);
  rows.push(['mean packet length: model', ...both((_o, d) => d.lengthBytes.mean.toFixed(1))]);
  rows.push(['byte distribution: distance to model', ...both((o, d) => byteDistance(o, d).toFixed(4))]);
  const seconds = (run.elapsedMs ?? run.virtualMs ?? 0) / 1000;
  if (seconds > 0) {
    const label = run.elapsedMs !== undefined ? 'goodput' : 'goodput (virtual time)';
    rows.push([label, ...both(() => `${((run.payloadBytes / seconds) / 1e6).toFixed(3)} MB/s`)]);
  }
  if (run.connections !== undefined) rows.push(['connections used', String(run.connections), '']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}
