/**
 * `npm run bench`: runs every benchmark group and prints one table, so that every comparison in it
 * was measured in the same run on the same machine. `npm run bench -- NAME` runs only the groups
 * whose name contains NAME. `--node-relay` runs the pt group's plain relay instead (bench/node-relay.ts).
 * @module
 */
import { curveBench } from './curve.js';
import { ensembleBench } from './ensemble.js';
import { modelsBench } from './models.js';
import { ptBench } from './pt.js';
import { recordsBench } from './records.js';
import { sessionBench } from './session.js';
import { shapingBench } from './shaping.js';
import { skeinBench } from './skein.js';
import { transportBench } from './transport.js';
import { formatTable, type BenchRow } from './table.js';
import { runNodeRelay } from './node-relay.js';

type Group = () => Promise<BenchRow[]> | BenchRow[];

const groups: Array<[string, Group]> = [
  ['skein', skeinBench],
  ['curve', curveBench],
  ['records', recordsBench],
  ['models', modelsBench],
  ['shaping', shapingBench],
  ['session', sessionBench],
  ['ensemble', ensembleBench],
  ['pt', ptBench],
  ['transport', transportBench],
];

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

// The pt group starts this bundle again as its plain-relay "PT" (bench/node-relay.ts).
if (process.argv[2] === '--node-relay') {
  runNodeRelay();
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
