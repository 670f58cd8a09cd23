/**
 * `dust demo`: the main job for a newcomer. Starts a Dust server and client on loopback with a
 * built-in model, moves a random payload both ways through the client's SOCKS port (sha256
 * checked), shows progress, and ends with a table of what went over the wire against the model;
 * with `--plot FILE.svg` also the picture `dust model plot` draws (issue 6 "Plots"), from the
 * packets the client's connections sent and received. The exit status says whether both payloads
 * arrived intact (and, with --plot, whether the picture was written).
 * @module
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { SocksClient } from 'socks';
import { systemRandom } from '../core/random.js';
import { generateServerIdentity } from '../core/server-keys.js';
import type { TcpFlow } from '../tools/flows.js';
import { observeTraffic, renderModelPlot } from '../tools/plot.js';
import type { DustModel } from '../shaping/model.js';
import { resolveModel } from './model-arg.js';
import { startStandaloneClient, startStandaloneServer, stderrLog } from './standalone.js';
import { formatTrafficTable, TrafficObserver } from './traffic-report.js';
import { UsageError } from './usage-error.js';

/** The demo gives up on the upload when no byte of it has arrived for this long. */
const UPLOAD_STALL_MS = 10_000;

export const DEMO_USAGE = `usage: dust demo [--model NAME|FILE] [--size BYTES] [--plot FILE.svg] [--in-memory]
  --model     built-in model (uniform, text, bulk, http) or a model file (default: bulk)
  --size      payload bytes each way (default: 32 MiB for bulk, 16 KiB for timed models)
  --plot      also write an SVG of the model's byte and length distributions against what the
              client's connections sent and received, as "dust model plot" draws them (TCP runs)
  --in-memory run two sessions back to back on a virtual clock instead of TCP`;

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'bulk' },
      size: { type: 'string' },
      plot: { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const model = resolveModel(values.model!);
  const timed = model.clientToServer.flowPacketsPerSecond !== 'on_demand';
  const size = values.size === undefined ? (timed ? 16 * 1024 : 32 << 20) : Number(values.size);
  if (!Number.isInteger(size) || size < 1 || size > 1 << 30) {
    throw new UsageError(`--size must be a whole number of bytes in 1..1073741824, got ${JSON.stringify(values.size)}`);
  }
  const out = (line: string) => process.stdout.write(line + '\n');
  const up = systemRandom(size);
  const down = systemRandom(size);
  const upHash = createHash('sha256');
  const downHash = createHash('sha256');
  let upGot = 0;
  let downGot = 0;
  let upMovedAt = performance.now();

  // The service behind the bridge: sends `down`, hashes what comes up.
  const sink = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (chunk: Buffer) => {
      upHash.update(chunk);
      upGot += chunk.length;
      upMovedAt = performance.now();
    });
    socket.on('error', () => undefined);
    socket.end(down);
  });
  await listen(sink);
  const log = stderrLog(false, true);
  const identity = generateServerIdentity(systemRandom);
  const server = await startStandaloneServer({
    identity,
    model,
    modelName: model.name,
    listen: { host: '127.0.0.1', port: 0 },
    forward: { host: '127.0.0.1', port: (sink.address() as AddressInfo).port },
    log,
  });
  // The wire, as the client's connections see it; with --plot, every packet too.
  const wire = { c2s: new TrafficObserver(), s2c: new TrafficObserver() };
  const flows: TcpFlow[] = [];
  let connections = 0;
  const dial = (host: string, port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const flow = values.plot === undefined ? null : newFlow(flows, host, port);
      const socket = connect({ host, port, noDelay: true }, () => {
        if (flow) flow.client = { ip: socket.localAddress ?? '127.0.0.1', port: socket.localPort ?? 0 };
        resolve(socket);
      });
      socket.once('error', reject);
      connections++;
      const write = socket.write.bind(socket) as (chunk: Uint8Array) => boolean;
      socket.write = ((chunk: Uint8Array) => {
        wire.c2s.observe(chunk);
        // A copy: the caller may reuse its buffer once write() returns.
        if (flow) record(flow, flow.c2s, chunk.slice());
        return write(chunk);
      }) as typeof socket.write;
      socket.on('data', (chunk: Buffer) => {
        wire.s2c.observe(chunk);
        if (flow) record(flow, flow.s2c, chunk);
      });
    });
  const client = await startStandaloneClient({ listen: { host: '127.0.0.1', port: 0 }, bridgeLine: server.bridgeLine, log, dial });

  out(`dust demo: model "${model.name}", ${size} bytes each way over loopback`);
  out(`  bridge line: ${server.bridgeLine}`);
  const started = performance.now();
  const progress = setInterval(() => out(`  ${((performance.now() - started) / 1000).toFixed(0)} s: up ${percent(upGot, size)}, down ${percent(downGot, size)}, connections ${connections}`), 1000);
  let firstByteMs = NaN;
  let ok = false;
  try {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: client.address.port, type: 5 },
      command: 'connect',
      destination: { host: '127.0.0.1', port: 9 }, // the bridge decides where streams go
      timeout: 30_000,
    });
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        if (downGot === 0) firstByteMs = performance.now() - started;
        downHash.update(chunk);
        downGot += chunk.length;
      });
      socket.on('end', resolve);
      socket.on('error', reject);
      socket.end(up);
    });
    // The download can end long before the upload: timed models often give the client far fewer
    // packets per second than the server. Wait while the upload still moves.
    while (upGot < size && performance.now() - upMovedAt < UPLOAD_STALL_MS) await new Promise((r) => setTimeout(r, 50));
    ok =
      upGot === size &&
      downGot === size &&
      upHash.digest('hex') === createHash('sha256').update(up).digest('hex') &&
      downHash.digest('hex') === createHash('sha256').update(down).digest('hex');
  } catch (err) {
    out(`  failed: ${(err as Error).message}`);
  } finally {
    clearInterval(progress);
  }
  const elapsedMs = performance.now() - started;
  out('');
  out(formatTrafficTable(model, wire, { elapsedMs, payloadBytes: size, connections }));
  out(`time to first byte down: ${firstByteMs.toFixed(1)} ms; total ${(elapsedMs / 1000).toFixed(2)} s`);
  out('(client→server packet lengths are exact; server→client is what TCP delivered, so packets may be merged)');
  let plotted = true;
  if (values.plot !== undefined) plotted = writePlot(values.plot, model, flows, out);
  out('');
  out(ok ? 'OK: both payloads arrived intact (sha256 match)' : `FAILED: up ${upGot}/${size}, down ${downGot}/${size}`);
  client.close();
  server.server.close();
  sink.close();
  const status = ok && plotted ? 0 : 1;
  setTimeout(() => process.exit(status), 50).unref();
  return status;
}

/**
 * A flow record for one connection the client dials, in the form the capture tools take: client→
 * server packets are the client's writes (exactly the packets Dust sent); server→client packets
 * are what each socket read returned, so TCP may have merged several of them.
 */
function newFlow(flows: TcpFlow[], host: string, port: number): TcpFlow {
  const now = performance.now();
  const flow: TcpFlow = { client: { ip: '127.0.0.1', port: 0 }, server: { ip: host, port }, startMs: now, endMs: now, c2s: [], s2c: [] };
  flows.push(flow);
  return flow;
}

function record(flow: TcpFlow, packets: TcpFlow['c2s'], payload: Uint8Array): void {
  if (payload.length === 0) return;
  const timeMs = performance.now();
  packets.push({ timeMs, payload });
  flow.endMs = timeMs;
}

/** Writes the model-vs-observed SVG and prints where; false (with a line saying why) on failure. */
function writePlot(path: string, model: DustModel, flows: readonly TcpFlow[], out: (line: string) => void): boolean {
  const svg = renderModelPlot(model, observeTraffic(model, flows, 'dust demo'));
  try {
    writeFileSync(path, svg);
  } catch (err) {
    out(`plot: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return false;
  }
  out(`plot: model against observed bytes and packet lengths written to ${path}`);
  return true;
}

function listen(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function percent(got: number, size: number): string {
  return `${((100 * got) / size).toFixed(0)}%`;
}
