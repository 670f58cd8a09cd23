/**
 * `dust model check MODEL CAPTURE...`: compares captured Dust traffic with its model, per
 * direction (lengths, bytes, packets per second) and per connection (durations), and exits 1 when
 * a test rejects at the chosen level (issue 6; src/tools/model-check.ts says how each test works).
 * @module
 */
import { parseArgs } from 'node:util';
import { checkModel, formatCheckReport } from '../tools/model-check.js';
import { CAPTURE_FILTER_OPTIONS, parseFlowFilter, readFlows, reportInputError } from './audit-cmd.js';
import { resolveModel } from './model-arg.js';
import { UsageError } from './usage-error.js';

export const MODEL_CHECK_USAGE = `usage: dust model check MODEL CAPTURE... [--port N] [--host ADDRESS] [--alpha A]
  Compares the Dust traffic in the pcap/pcapng CAPTURE files with MODEL (a built-in name or a
  model file), per direction: packet lengths (KS), bytes against the model's code (chi-square),
  packets per second (chi-square; not for on_demand), and connection durations (KS).
  --port N, --host ADDRESS  keep only flows with an end on that port / address
  --alpha A                 significance level of each test (default 0.01)
  Exit status: 0 when no test rejects, 1 when one does, 2 on bad arguments or input.`;

/** `dust model check`; argv is what follows the word "check". Resolves to the exit status. */
export async function runModelCheck(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...CAPTURE_FILTER_OPTIONS, alpha: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(MODEL_CHECK_USAGE + '\n');
      return 0;
    }
    if (positionals.length < 2) throw new UsageError('model check needs a MODEL and at least one CAPTURE file');
    const alpha = values.alpha === undefined ? 0.01 : Number(values.alpha);
    if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be a number between 0 and 1, got ${JSON.stringify(values.alpha)}`);
    const filter = parseFlowFilter(values);
    const model = resolveModel(positionals[0]!);
    const flows = readFlows(positionals.slice(1), filter);
    const report = checkModel(model, flows, { alpha });
    process.stdout.write(formatCheckReport(report) + '\n');
    return report.rejected ? 1 : 0;
  } catch (err) {
    return reportInputError(err, MODEL_CHECK_USAGE);
  }
}
