/**
 * `dust model plot MODEL [CAPTURE...] -o OUT.svg`: writes one SVG with the model's byte and
 * packet-length distributions per direction, and what the captures observed next to them
 * (issue 6 "Plots"; src/tools/plot.ts draws it).
 * @module
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { observeTraffic, renderModelPlot } from '../tools/plot.js';
import { CAPTURE_FILTER_OPTIONS, parseFlowFilter, readFlows, reportInputError } from './audit-cmd.js';
import { resolveModel } from './model-arg.js';
import { UsageError } from './usage-error.js';

export const MODEL_PLOT_USAGE = `usage: dust model plot MODEL [CAPTURE...] -o OUT.svg [--port N] [--host ADDRESS]
  Writes an SVG of MODEL's byte distribution and packet-length distribution per direction; with
  pcap/pcapng CAPTURE files, what they observed is drawn next to the model.
  -o, --output OUT.svg      where to write the picture (required)
  --port N, --host ADDRESS  keep only flows with an end on that port / address
  Exit status: 0 when written, 1 when OUT.svg cannot be written, 2 on bad arguments or input.`;

/** `dust model plot`; argv is what follows the word "plot". Resolves to the exit status. */
export async function runModelPlot(argv: string[]): Promise<number> {
  let svg: string;
  let output: string;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...CAPTURE_FILTER_OPTIONS, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(MODEL_PLOT_USAGE + '\n');
      return 0;
    }
    if (positionals.length < 1) throw new UsageError('model plot needs a MODEL');
    if (!values.output) throw new UsageError('-o OUT.svg is required');
    output = values.output;
    const filter = parseFlowFilter(values);
    const model = resolveModel(positionals[0]!);
    const captures = positionals.slice(1);
    const observed = captures.length
      ? observeTraffic(model, readFlows(captures, filter), captures.map((c) => basename(c)).join(', '))
      : undefined;
    svg = renderModelPlot(model, observed);
  } catch (err) {
    return reportInputError(err, MODEL_PLOT_USAGE);
  }
  try {
    writeFileSync(output, svg);
  } catch (err) {
    process.stderr.write(`dust: cannot write ${output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`wrote ${output}\n`);
  return 0;
}
