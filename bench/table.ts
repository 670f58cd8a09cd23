/**
 * The benchmark table: every group adds rows; `npm run bench` prints them together so that
 * comparisons come from the same run on the same machine.
 * @module
 */
export interface BenchRow {
  group: string;
  name: string;
  value: number;
  unit: string;
  /** What the row is compared with (a target or a baseline measured in the same run). */
  note?: string;
}

/** Runs `fn` repeatedly for at least `minMs` and returns operations per second. */
export function opsPerSecond(fn: () => void, minMs = 1000): number {
  for (let i = 0; i < 3; i++) fn(); // warm up
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    ops++;
    elapsed = performance.now() - start;
  }
  return (ops * 1000) / elapsed;
}

/** Runs `fn` (processing `bytesPerCall` bytes) for at least `minMs`; returns MB/s (10^6 bytes). */
export function megabytesPerSecond(fn: () => void, bytesPerCall: number, minMs = 1000): number {
  return (opsPerSecond(fn, minMs) * bytesPerCall) / 1e6;
}

export function formatTable(rows: BenchRow[]): string {
  const header = ['group', 'measurement', 'value', 'unit', 'note'];
  const body = rows.map((r) => [r.group, r.name, formatNumber(r.value), r.unit, r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(1);
  return value.toPrecision(3);
}
