/**
 * `dust model build|check|plot` (issue 6): the dispatcher, and `build`, which turns captures into
 * a `dust-model/1` file (src/tools/model-build.ts; docs/model-tools.md). `check` and `plot` live in
 * ./model-check-cmd.ts and ./model-plot-cmd.ts.
 *
 * Flag problems are UsageErrors (one line plus the usage, exit 2, printed by ./cli.ts). A capture
 * or model problem prints one line and exits 1, from here, because only this command knows its
 * error types.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { reassembleFlows, type FlowFilter, type FlowPacket, type TcpFlow } from '../tools/flows.js';
import { buildModel, formatModelJson, ModelBuildError } from '../tools/model-build.js';
import { CaptureError, canonicalIp, readCapture, type CapturedSegment } from '../tools/pcap.js';
import { ModelError, type DirectionJson } from '../shaping/model.js';
import { MODEL_CHECK_USAGE, runModelCheck } from './model-check-cmd.js';
import { MODEL_PLOT_USAGE, runModelPlot } from './model-plot-cmd.js';
import { UsageError } from './usage-error.js';

export const MODEL_BUILD_USAGE = `usage: dust model build CAPTURE... -o MODEL.json [--port N] [--host IP] [--name NAME] [--description TEXT]
  Reads pcap/pcapng captures, reassembles their TCP flows (only flows with port N or address IP at
  one end, when given) and writes a dust-model/1 model of them. The name defaults to MODEL's file name.`;

export const MODEL_USAGE = `usage: dust model <build|check|plot> ...

${MODEL_BUILD_USAGE}

${MODEL_CHECK_USAGE}

${MODEL_PLOT_USAGE}`;

/** Where the command writes; tests pass their own. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress then updates one line in place). */
  stderrIsTTY: boolean;
}

const processIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  get stderrIsTTY() {
    return process.stderr.isTTY === true;
  },
};

/** Files at least this big get a progress display on stderr. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
/** The model name rule of docs/models.md (parseModel checks it again); checked before any reading. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `dust model <sub> ...` */
export async function runModel(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'build':
      return runModelBuild(rest, io);
    case 'check':
      return runModelCheck(rest);
    case 'plot':
      return runModelPlot(rest);
    case undefined:
      throw new UsageError('missing subcommand: build, check or plot');
    default:
      throw new UsageError(`unknown model subcommand ${JSON.stringify(sub)} (expected build, check or plot)`);
  }
}

interface BuildArgs {
  captures: string[];
  output: string;
  name: string;
  description: string | undefined;
  filter: FlowFilter;
}

function parseBuildArgs(argv: string[]): BuildArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      output: { type: 'string', short: 'o' },
      port: { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('model build needs at least one capture file');
  if (values.output === undefined || values.output === '') throw new UsageError('model build needs -o MODEL.json');
  const filter: FlowFilter = {};
  if (values.port !== undefined) {
    const port = /^[0-9]{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new UsageError(`--port must be a TCP port number 1..65535, got ${JSON.stringify(values.port)}`);
    filter.port = port;
  }
  if (values.host !== undefined) {
    if (canonicalIp(values.host) === null) throw new UsageError(`--host must be an IPv4 or IPv6 address, got ${JSON.stringify(values.host)}`);
    filter.host = values.host;
  }
  const name = values.name ?? basename(values.output).replace(/\.json$/i, '');
  if (!MODEL_NAME.test(name)) {
    throw new UsageError(
      `${values.name === undefined ? `the model name taken from the file name (${JSON.stringify(name)})` : '--name'} must be 1 to 64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit${values.name === undefined ? '; give --name' : `, got ${JSON.stringify(name)}`}`,
    );
  }
  return { captures: positionals, output: values.output, name, description: values.description, filter };
}

/** `dust model build CAPTURE... -o MODEL.json [--port N] [--host IP] [--name NAME] [--description TEXT]` */
export async function runModelBuild(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseBuildArgs(argv);
  try {
    let segments: CapturedSegment[] = [];
    for (const path of args.captures) {
      const bytes = readInput(path);
      const segs = readCapture(bytes, path, bytes.length >= PROGRESS_MIN_BYTES ? progressReporter(path, io) : undefined);
      // All files together: a capture rotated into several files (tcpdump -C/-G) has flows that
      // span two of them. Connections from unrelated files stay apart by 4-tuple and SYN.
      segments = segments.length === 0 ? segs : segments.concat(segs);
    }
    const flows: TcpFlow[] = reassembleFlows(segments, args.filter);
    const where = describeFilter(args.filter);
    if (flows.length === 0) {
      throw new ModelBuildError(`no TCP flows${where} in ${plural(args.captures.length, 'capture')} (${plural(segments.length, 'TCP segment')} read)`);
    }
    const holed = flows.filter((f) => (f.missingBytes ?? 0) > 0);
    if (holed.length > 0) {
      const missing = holed.reduce((sum, f) => sum + f.missingBytes!, 0);
      io.stderr(
        `dust: warning: the capture lacks ${plural(missing, 'byte')} of stream data in ${holed.length} of ${plural(flows.length, 'flow')} ` +
          '(packets dropped while capturing?); lengths and packet rates from those flows are skewed\n',
      );
    }
    const definition = buildModel(flows, { name: args.name, ...(args.description !== undefined ? { description: args.description } : {}) });
    try {
      writeFileSync(args.output, formatModelJson(definition));
    } catch (err) {
      throw new ModelBuildError(`cannot write ${args.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const used = flows.filter((f) => f.c2s.length > 0 || f.s2c.length > 0);
    io.stdout(
      `wrote ${args.output}: model "${definition.name}" from ${plural(used.length, 'TCP flow')}${where}; ` +
        `client to server ${describeDirection(used.map((f) => f.c2s), definition.client_to_server)}; ` +
        `server to client ${describeDirection(used.map((f) => f.s2c), definition.server_to_client)}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof CaptureError || err instanceof ModelBuildError || err instanceof ModelError) {
      io.stderr(`dust: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function readInput(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'ERR_FS_FILE_TOO_LARGE' ? 'the file is larger than 2 GiB' : (code ?? (err as Error).message);
    throw new ModelBuildError(`cannot read ${path}: ${why}`);
  }
}

/** Percent on one line in a terminal; 25% steps as separate lines in a log. */
function progressReporter(path: string, io: CommandIo): (fraction: number) => void {
  let shown = -1;
  return (fraction) => {
    const percent = Math.floor(fraction * 100);
    if (io.stderrIsTTY) {
      if (percent === shown) return;
      shown = percent;
      io.stderr(`\rreading ${path}: ${percent}%${percent === 100 ? '\n' : ''}`);
    } else {
      const step = Math.floor(percent / 25) * 25;
      if (step <= shown || step === 0) return;
      shown = step;
      io.stderr(`reading ${path}: ${step}%\n`);
    }
  };
}

function describeFilter(filter: FlowFilter): string {
  const parts = [filter.port !== undefined ? `port ${filter.port}` : '', filter.host !== undefined ? `host ${filter.host}` : ''].filter(Boolean);
  return parts.length > 0 ? ` with ${parts.join(' and ')}` : '';
}

function describeDirection(packets: FlowPacket[][], d: DirectionJson): string {
  let count = 0;
  let bytes = 0;
  for (const list of packets) {
    count += list.length;
    for (const p of list) bytes += p.payload.length;
  }
  const prefix = d.prefix === undefined ? 'no prefix' : `prefix ${JSON.stringify(Buffer.from(d.prefix.hex, 'hex').toString('latin1'))}`;
  return `${plural(count, 'packet')}, ${plural(bytes, 'byte')}, ${prefix}`;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
