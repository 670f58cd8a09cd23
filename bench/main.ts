/**
 * `npm run bench`: runs every benchmark group and prints one table.
 * Groups are listed here in the order of the layers.
 * @module
 */
import { formatTable, type BenchRow } from './table.js';

type Group = () => Promise<BenchRow[]> | BenchRow[];

const groups: Array<[string, Group]> = [];

async function main(): Promise<void> {
  const only = process.argv[2];
  const rows: BenchRow[] = [];
  for (const [name, run] of groups) {
    if (only && !name.includes(only)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    rows.push(...(await run()));
  }
  console.log(formatTable(rows));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
