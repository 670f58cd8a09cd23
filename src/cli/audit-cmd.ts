/**
 * `dust audit CAPTURE...`: runs the published passive censor detectors of detection.md (the GFW
 * fully-encrypted-traffic rule of Wu et al. 2023, Wang et al. 2015's entropy and nibble tests) on
 * every TCP flow of one or more captures and prints which flows each would flag (issue 6).
 * Also holds the capture loading shared by `dust model check` and `dust model plot`.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { auditFlows, formatAuditReport } from '../tools/audit.js';
import { reassembleFlows, type FlowFilter, type TcpFlow } from '../tools/flows.js';
import { readCapture, type CapturedSegment } from '../tools/pcap.js';
import { UsageError } from './usage-error.js';

export const AUDIT_USAGE = `usage: dust audit CAPTURE... [--port N] [--host ADDRESS]
  Runs published censor detectors on the first client payload of each TCP flow in the pcap/pcapng
  CAPTURE files: the GFW fully-encrypted-traffic rule (Wu et al. 2023: popcount, exemptions
  Ex1-Ex5, block probability 0.263) and Wang et al. 2015's entropy and nibble KS tests.
  --port N, --host ADDRESS  keep only flows with an end on that port / address
  Exit status: 0 when the audit ran, 2 on bad arguments or an unreadable capture.`;

/** Files above this size report their reading progress on a terminal. */
const PROGRESS_BYTES = 8 * 1024 * 1024;

/** Flags shared by the capture commands. */
export const CAPTURE_FILTER_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
} as const;

/** Turns --port/--host values into a FlowFilter; a bad port is a UsageError. */
export function parseFlowFilter(values: { port?: string | undefined; host?: string | undefined }): FlowFilter {
  const filter: { port?: number; host?: string } = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port must be an integer 0..65535, got ${JSON.stringify(values.port)}`);
    filter.port = port;
  }
  if (values.host !== undefined) filter.host = values.host;
  return filter;
}

/**
 * Reads pcap/pcapng files and reassembles their TCP flows (in file order, then time order).
 * Throws CaptureError for a bad capture, UsageError for an unreadable file or a bad filter.
 */
export function readFlows(paths: readonly string[], filter: FlowFilter): TcpFlow[] {
  // All files are reassembled together (as dust model build does), so a capture rotated with
  // tcpdump -C still gives whole flows.
  const segments: CapturedSegment[] = [];
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read capture ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    // Like `dust model build`: one line updated in place on a terminal, 25% steps otherwise.
    const showProgress = statSync(path).size >= PROGRESS_BYTES;
    const tty = process.stderr.isTTY === true;
    let shown = -1;
    const onProgress = showProgress
      ? (fraction: number): void => {
          const percent = tty ? Math.floor(fraction * 100) : 25 * Math.floor(fraction * 4);
          if (percent === shown) return;
          shown = percent;
          process.stderr.write(tty ? `\rreading ${path}: ${percent}%` : `reading ${path}: ${percent}%\n`);
        }
      : undefined;
    for (const segment of readCapture(bytes, path, onProgress)) segments.push(segment);
    if (showProgress && tty) process.stderr.write('\n');
  }
  try {
    return reassembleFlows(segments, filter);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Prints an error the way the capture commands do and returns their exit status: 2 for bad
 * input (arguments, capture files, model files), rethrowing anything else (a bug).
 */
export function reportInputError(err: unknown, usage: string): number {
  if (err instanceof UsageError || isParseArgsError(err)) {
    process.stderr.write(`dust: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const name = (err as Error | null)?.name;
  if (name === 'CaptureError' || name === 'ModelError' || err instanceof RangeError) {
    process.stderr.write(`dust: ${(err as Error).message}\n`);
    return 2;
  }
  throw err;
}

/** node:util parseArgs errors carry an ERR_PARSE_ARGS_* code (checked by code, not by class). */
function isParseArgsError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** `dust audit`; argv is what follows the word "audit". Resolves to the exit status. */
export async function runAudit(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...CAPTURE_FILTER_OPTIONS, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(AUDIT_USAGE + '\n');
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('audit needs at least one CAPTURE file');
    const flows = readFlows(positionals, parseFlowFilter(values));
    process.stdout.write(formatAuditReport(auditFlows(flows)) + '\n');
    return 0;
  } catch (err) {
    return reportInputError(err, AUDIT_USAGE);
  }
}
