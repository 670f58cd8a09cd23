/**
 * The transport group (issue 4 "Benchmark"): Dust streams through the real `dust server` on
 * loopback with the `bulk` model, each row next to a plain loopback TCP baseline from the same run.
 *
 * Layout: the bench process runs the Dust client (`openDustStream`) and a TCP sink; a child
 * process runs `dust server --forward <sink>` (bundled fresh from src/main.ts), so client and
 * server never share an event loop. The baseline connects the same client code straight to the
 * same sink (one process, no relay).
 *
 * Rows: goodput up, down and both at once (one stream, {@link TRANSFER_BYTES} each way; MB/s =
 * 10^6 bytes/s; median of {@link GOODPUT_ROUNDS} rounds, range in the note); time to first byte (open, send one byte, get its echo; median); fresh streams per
 * second (open, one byte each way, close; sequential and {@link CONCURRENCY} at a time); CPU seconds
 * per GiB moved (bench process + server child, over the three transfers); RSS with
 * {@link IDLE_SESSIONS} idle sessions (the server child's RSS and heap after a gc in it, and the
 * bench process's growth, which holds the client sessions and the sink's sockets).
 *
 * The machine has two cores: anything else running (a test suite, another bench) shows up at once
 * in the goodput rows, so the group reports how much CPU other processes took while they ran
 * (/proc/stat busy time minus this process's and the server child's).
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openDustStream, type BridgeTarget } from '../src/drivers/dust-stream-client.js';
import { ModelResolver, parseBridgeLine } from '../src/pt/bridge-args.js';
import { getBuiltinModel } from '../src/shaping/builtin-models.js';
import { buildDust, stopChild } from './child-process.js';
import type { BenchRow } from './table.js';

const GROUP = 'transport';
/** Bytes moved each way in the goodput rows. */
export const TRANSFER_BYTES = 256 * 1024 * 1024;
/** Goodput rounds (each: up, down, both at once); rows give the median. */
export const GOODPUT_ROUNDS = 3;
/** Streams measured for time to first byte, one at a time. */
const TTFB_SAMPLES = 50;
/** Streams opened and closed for the rate rows (each run also stops after RATE_BUDGET_MS). */
const RATE_STREAMS = 400;
const RATE_BUDGET_MS = 4000;
const CONCURRENCY = 8;
/** Idle sessions held for the RSS rows, and how many are being opened at a time. */
export const IDLE_SESSIONS = 1000;
const IDLE_OPEN_CONCURRENCY = 16;
/** How long the idle sessions are left alone before RSS is read. */
const IDLE_WAIT_MS = 2000;
const TARGET_GOODPUT = 150;
const TARGET_RSS_MIB = 150;
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
const MiB = 1024 * 1024;

// ------------------------------------------------------------------ helpers

/** Rejects if `promise` has not settled after `ms` (every wait in this bench is bounded). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`transport bench: ${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** user + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15, USER_HZ 100). */
function childCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the whole machine spent busy so far (/proc/stat "cpu" line, all but idle and iowait). */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** A full garbage collection in this process (V8's gc, reached without --expose-gc on the command line). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Writes `bytes` bytes of CHUNK with backpressure; resolves when the stream has taken them all. */
function writeBytes(stream: Duplex | Socket, bytes: number): Promise<void> {
  return new Promise((res, rej) => {
    let left = bytes;
    stream.once('error', rej);
    const pump = (): void => {
      while (left > 0) {
        const c = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= c.length;
        if (!stream.write(c)) return void stream.once('drain', pump);
      }
      stream.removeListener('error', rej);
      res();
    };
    pump();
  });
}

/** Resolves when `bytes` bytes have been read from `stream`. */
function readBytes(stream: Duplex | Socket, bytes: number): Promise<void> {
  return new Promise((res, rej) => {
    let got = 0;
    const onData = (d: Buffer): void => {
      got += d.length;
      if (got >= bytes) {
        stream.removeListener('data', onData);
        res();
      }
    };
    stream.on('data', onData);
    stream.once('error', rej);
    stream.once('end', () => {
      if (got < bytes) rej(new Error(`stream ended after ${got} of ${bytes} bytes`));
    });
  });
}

// ------------------------------------------------------------------ the sink (the forward target)

/**
 * What the sink does with the next connections it accepts:
 * - `count`: counts what arrives; `done` once `expect` bytes are in;
 * - `send`: on the first byte in, sends `bytes` bytes;
 * - `both`: on the first byte in, sends `bytes` bytes, and counts `expect` bytes in (first included);
 * - `echo`: sends back what arrives, ends when the peer ends;
 * - `hold`: keeps the connection and does nothing.
 */
type SinkMode =
  | { kind: 'count'; expect: number; done: () => void }
  | { kind: 'send'; bytes: number }
  | { kind: 'both'; bytes: number; expect: number; done: () => void }
  | { kind: 'echo' }
  | { kind: 'hold' };

class Sink {
  mode: SinkMode = { kind: 'echo' };
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  accepted = 0;
  port = 0;

  constructor() {
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private accept(s: Socket): void {
    this.accepted++;
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const mode = this.mode;
    switch (mode.kind) {
      case 'hold':
        return;
      case 'echo':
        s.pipe(s);
        return;
      case 'count':
        void readBytes(s, mode.expect).then(mode.done, () => undefined);
        s.on('end', () => s.end());
        return;
      case 'send':
      case 'both':
        if (mode.kind === 'both') void readBytes(s, mode.expect).then(mode.done, () => undefined);
        else s.resume();
        s.once('data', () => void writeBytes(s, mode.bytes).catch(() => undefined));
        s.on('end', () => s.end());
        return;
    }
  }
}

// ------------------------------------------------------------------ the two ways to reach the sink

/** Opens a stream to the sink, through Dust or straight over TCP. */
type Opener = (() => Promise<Duplex>) & { label: string };

function directOpener(sink: Sink): Opener {
  const open = (): Promise<Duplex> =>
    new Promise((res, rej) => {
      const s = connect({ host: '127.0.0.1', port: sink.port, noDelay: true, allowHalfOpen: true });
      s.once('connect', () => {
        s.removeListener('error', rej);
        res(s);
      });
      s.once('error', rej);
    });
  return Object.assign(open, { label: 'tcp' });
}

function dustOpener(bridge: BridgeTarget): Opener {
  return Object.assign(() => openDustStream({ bridge }), { label: 'dust' });
}

/** Ends our side and waits until the stream is closed (for Dust: the Ensemble Close acknowledged). */
function closeStream(stream: Duplex): Promise<void> {
  return new Promise((res) => {
    if (stream.destroyed) return res();
    stream.once('close', () => res());
    stream.resume();
    stream.end();
  });
}

// ------------------------------------------------------------------ the server child

interface DustServerChild {
  child: ChildProcess;
  bridge: BridgeTarget;
  /** Where the child writes `process.memoryUsage()` after a full gc, on SIGUSR2 (see {@link GC_PRELOAD}). */
  memoryFile: string;
}

/**
 * Preloaded into the server child (`node --expose-gc --require`): on SIGUSR2 it collects garbage
 * and writes its memory usage to DUST_BENCH_MEMORY_FILE. Without it the child's RSS rows would
 * count whatever garbage it has not collected yet. dust itself does not handle SIGUSR2.
 */
const GC_PRELOAD = `process.on('SIGUSR2', () => {
  global.gc();
  const fs = require('node:fs');
  const file = process.env.DUST_BENCH_MEMORY_FILE;
  fs.writeFileSync(file + '.tmp', JSON.stringify(process.memoryUsage()));
  fs.renameSync(file + '.tmp', file); // the reader never sees a half-written file
});
`;

/** The server child's memory right after a full gc in it (MiB): RSS, and heap + ArrayBuffers. */
async function childMemoryAfterGc(server: DustServerChild): Promise<{ rss: number; heap: number }> {
  rmSync(server.memoryFile, { force: true });
  server.child.kill('SIGUSR2');
  const deadline = performance.now() + 5000;
  while (!existsSync(server.memoryFile)) {
    if (performance.now() > deadline) throw new Error('transport bench: the server child did not report its memory');
    await sleep(10);
  }
  const usage = JSON.parse(readFileSync(server.memoryFile, 'utf8')) as NodeJS.MemoryUsage;
  return { rss: usage.rss / MiB, heap: (usage.heapUsed + usage.arrayBuffers) / MiB };
}

function keygen(dust: string, state: string): void {
  const r = spawnSync(process.execPath, [dust, 'keygen', '--state', state], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`transport bench: dust keygen failed: ${r.stderr}`);
}

/** Starts `dust server` forwarding to the sink; resolves with its bridge once it prints the line. */
async function startServer(dust: string, state: string, sink: Sink): Promise<DustServerChild> {
  const preload = join(dirname(dust), 'gc-on-sigusr2.cjs');
  writeFileSync(preload, GC_PRELOAD);
  const memoryFile = join(dirname(dust), `memory-${process.hrtime.bigint()}.json`);
  const args = ['--expose-gc', '--require', preload, dust, 'server', '--state', state, '--listen', '127.0.0.1:0', '--forward', `127.0.0.1:${sink.port}`, '--model', 'bulk'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DUST_BENCH_MEMORY_FILE: memoryFile } });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => void (stderr = (stderr + d).slice(-4000)));
  const line = await within(
    new Promise<string>((res, rej) => {
      let out = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) res(out.slice(0, nl));
      });
      child.once('exit', (code) => rej(new Error(`dust server exited (${code}): ${stderr}`)));
    }),
    15_000,
    'dust server start',
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  });
  const parsed = parseBridgeLine(line, new ModelResolver());
  if (!parsed.ok) {
    child.kill('SIGKILL');
    throw new Error(`transport bench: bad bridge line ${JSON.stringify(line)}: ${parsed.error}`);
  }
  const { address, args: bridgeArgs } = parsed.value;
  return { child, bridge: { host: address.host, port: address.port, publicKey: bridgeArgs.publicKey, model: bridgeArgs.model }, memoryFile };
}

// ------------------------------------------------------------------ measurements

interface Goodput {
  /** MB/s of each round, per measurement. */
  up: number[];
  down: number[];
  bothUp: number[];
  bothDown: number[];
  /** The two directions of the bidirectional run together: 2 × bytes / time until both are done. */
  bothTotal: number[];
  /** CPU seconds over all transfers (bench process, plus the server child for Dust). */
  cpu: number;
  /** Bytes moved in those transfers. */
  moved: number;
  /** CPU seconds other processes took meanwhile, and the wall time, in seconds. */
  others: number;
  wall: number;
}

async function upload(open: Opener, sink: Sink, bytes: number): Promise<number> {
  const received = new Promise<void>((done) => (sink.mode = { kind: 'count', expect: bytes, done }));
  const stream = await within(open(), 10_000, `${open.label} open`);
  const t0 = performance.now();
  await within(Promise.all([writeBytes(stream, bytes), received]), 60_000, `${open.label} upload`);
  const seconds = (performance.now() - t0) / 1000;
  await within(closeStream(stream), 10_000, `${open.label} close`);
  return bytes / 1e6 / seconds;
}

async function download(open: Opener, sink: Sink, bytes: number): Promise<number> {
  sink.mode = { kind: 'send', bytes };
  const stream = await within(open(), 10_000, `${open.label} open`);
  const got = readBytes(stream, bytes);
  const t0 = performance.now();
  stream.write(Buffer.from([1])); // the sink starts on the first byte
  await within(got, 60_000, `${open.label} download`);
  const seconds = (performance.now() - t0) / 1000;
  await within(closeStream(stream), 10_000, `${open.label} close`);
  return bytes / 1e6 / seconds;
}

/** Both directions at once on one stream; returns [up MB/s, down MB/s, both together MB/s]. */
async function bidirectional(open: Opener, sink: Sink, bytes: number): Promise<[number, number, number]> {
  let upDone = 0;
  const received = new Promise<void>((done) => (sink.mode = { kind: 'both', bytes, expect: bytes, done }));
  const stream = await within(open(), 10_000, `${open.label} open`);
  const t0 = performance.now();
  let downDone = 0;
  const down = readBytes(stream, bytes).then(() => void (downDone = performance.now()));
  const up = Promise.all([writeBytes(stream, bytes), received]).then(() => void (upDone = performance.now()));
  await within(Promise.all([up, down]), 90_000, `${open.label} bidirectional`);
  await within(closeStream(stream), 10_000, `${open.label} close`);
  const rate = (end: number): number => bytes / 1e6 / ((end - t0) / 1000);
  return [rate(upDone), rate(downDone), (2 * bytes) / 1e6 / ((Math.max(upDone, downDone) - t0) / 1000)];
}

async function goodput(open: Opener, sink: Sink, childPid: number | null): Promise<Goodput> {
  await download(open, sink, 8 * MiB); // warm up (JIT, socket buffers)
  const cpu = (): number => ownCpuSeconds() + (childPid === null ? 0 : childCpuSeconds(childPid));
  const cpu0 = cpu();
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const g: Goodput = { up: [], down: [], bothUp: [], bothDown: [], bothTotal: [], cpu: 0, moved: 0, others: 0, wall: 0 };
  for (let round = 0; round < GOODPUT_ROUNDS; round++) {
    g.up.push(await upload(open, sink, TRANSFER_BYTES));
    g.down.push(await download(open, sink, TRANSFER_BYTES));
    const [bothUp, bothDown, bothTotal] = await bidirectional(open, sink, TRANSFER_BYTES);
    g.bothUp.push(bothUp);
    g.bothDown.push(bothDown);
    g.bothTotal.push(bothTotal);
    g.moved += 4 * TRANSFER_BYTES;
  }
  g.cpu = cpu() - cpu0;
  g.others = Math.max(0, machineBusySeconds() - busy0 - g.cpu);
  g.wall = (performance.now() - t0) / 1000;
  return g;
}

/** Open a stream, send one byte, wait for its echo: ms from the start of the open. */
async function firstByteMs(open: Opener, sink: Sink): Promise<number> {
  sink.mode = { kind: 'echo' };
  const t0 = performance.now();
  const stream = await within(open(), 10_000, `${open.label} open`);
  const echoed = new Promise<void>((res) => stream.once('data', () => res()));
  stream.write(Buffer.from([7]));
  await within(echoed, 10_000, `${open.label} first byte`);
  const ms = performance.now() - t0;
  await within(closeStream(stream), 10_000, `${open.label} close`);
  return ms;
}

/** Streams per second: open, one byte there and back, close; `concurrency` at a time. */
async function streamRate(open: Opener, sink: Sink, concurrency: number): Promise<number> {
  sink.mode = { kind: 'echo' };
  let started = 0;
  let finished = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (started < RATE_STREAMS && performance.now() - t0 < RATE_BUDGET_MS) {
      started++;
      const stream = await within(open(), 10_000, `${open.label} open`);
      const echoed = new Promise<void>((res) => stream.once('data', () => res()));
      stream.write(Buffer.from([7]));
      await within(echoed, 10_000, `${open.label} echo`);
      await within(closeStream(stream), 10_000, `${open.label} close`);
      finished++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return finished / ((performance.now() - t0) / 1000);
}

interface IdleRss {
  /** The server child's memory after a full gc in it, before and after the idle sessions opened. */
  serverBefore: { rss: number; heap: number };
  serverAfter: { rss: number; heap: number };
  clientGrowth: number;
  clientHeapGrowth: number;
  /** Median time to first byte of fresh streams while the idle sessions are held. */
  loadedTtfb: number;
}

/** Opens IDLE_SESSIONS streams that then send nothing; reads both processes' RSS. */
async function idleRss(server: DustServerChild, sink: Sink): Promise<IdleRss> {
  const open = dustOpener(server.bridge);
  // One stream first, so that the lazily built parts (model coders, JIT) are in the baseline.
  sink.mode = { kind: 'echo' };
  await firstByteMs(open, sink);
  await sleep(500);
  collectGarbage();
  const serverBefore = await childMemoryAfterGc(server);
  const clientBefore = process.memoryUsage();
  sink.mode = { kind: 'hold' };
  const acceptedBefore = sink.accepted;
  const streams: Duplex[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < IDLE_SESSIONS) {
      next++;
      streams.push(await within(open(), 15_000, 'idle session open'));
    }
  };
  try {
    await within(Promise.all(Array.from({ length: IDLE_OPEN_CONCURRENCY }, worker)), 60_000, `opening ${IDLE_SESSIONS} sessions`);
    // Every session's upstream connection reached the sink: the server holds them all.
    const deadline = performance.now() + 10_000;
    while (sink.accepted - acceptedBefore < IDLE_SESSIONS && performance.now() < deadline) await sleep(20);
    if (sink.accepted - acceptedBefore < IDLE_SESSIONS) throw new Error(`transport bench: only ${sink.accepted - acceptedBefore} upstream connections arrived`);
    await sleep(IDLE_WAIT_MS);
    collectGarbage();
    const clientAfter = process.memoryUsage();
    const serverAfter = await childMemoryAfterGc(server);
    // A bridge's cost per event must not grow with the sessions it holds.
    const ttfb: number[] = [];
    for (let i = 0; i < TTFB_SAMPLES; i++) ttfb.push(await firstByteMs(open, sink));
    return {
      serverBefore,
      serverAfter,
      clientGrowth: (clientAfter.rss - clientBefore.rss) / MiB,
      clientHeapGrowth: (clientAfter.heapUsed + clientAfter.arrayBuffers - clientBefore.heapUsed - clientBefore.arrayBuffers) / MiB,
      loadedTtfb: median(ttfb),
    };
  } finally {
    for (const s of streams) s.destroy();
  }
}

// ------------------------------------------------------------------ the group

/** The `transport` rows: Dust client + `dust server` child (model bulk) vs plain loopback TCP. */
export async function transportBench(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dust-transport-bench-'));
  const sink = new Sink();
  const children: ChildProcess[] = [];
  const rows: BenchRow[] = [];
  const row = (name: string, value: number, unit: string, note?: string): void =>
    void rows.push({ group: GROUP, name, value, unit, ...(note !== undefined && { note }) });
  try {
    await sink.start();
    const dust = buildDust(dir);
    const state = join(dir, 'server-state');
    keygen(dust, state);
    if (getBuiltinModel('bulk').name !== 'bulk') throw new Error('BUG: no bulk model');

    // Memory first, on a fresh server, so that no transfer has grown either heap yet.
    const fresh = await startServer(dust, state, sink);
    children.push(fresh.child);
    const idle = await idleRss(fresh, sink);
    await stopChild(fresh.child);

    const server = await startServer(dust, state, sink);
    children.push(server.child);
    const dustOpen = dustOpener(server.bridge);
    const tcpOpen = directOpener(sink);

    const tcp = await goodput(tcpOpen, sink, null);
    const dustRate = await goodput(dustOpen, sink, server.child.pid!);
    const mb = TRANSFER_BYTES / MiB;
    const range = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
    const pair = (what: string, d: number[], t: number[], target: boolean): void => {
      const ratio = `${((100 * median(d)) / median(t)).toFixed(0)}% of TCP`;
      row(`dust: goodput ${what}`, median(d), 'MB/s', `${target ? `target ≥ ${TARGET_GOODPUT}; ` : ''}${ratio}; ${range(d)}`);
      row(`tcp: goodput ${what}`, median(t), 'MB/s', `baseline; ${range(t)}`);
    };
    pair(`up, one stream, ${mb} MiB (median of ${GOODPUT_ROUNDS})`, dustRate.up, tcp.up, true);
    pair(`down, one stream, ${mb} MiB`, dustRate.down, tcp.down, true);
    pair('both at once, up', dustRate.bothUp, tcp.bothUp, true);
    pair('both at once, down', dustRate.bothDown, tcp.bothDown, true);
    pair('both at once, sum', dustRate.bothTotal, tcp.bothTotal, false);
    row('dust: CPU per GiB moved', dustRate.cpu / (dustRate.moved / 2 ** 30), 's/GiB', 'bench process (client + sink) + server child');
    const others = (dustRate.others / dustRate.wall) * 100;
    row('other processes\' CPU during the dust goodput rounds', others, '% of 1 core', 'of 200%; above ~10 the goodput rows are shared with them');
    row('tcp: CPU per GiB moved', tcp.cpu / (tcp.moved / 2 ** 30), 's/GiB', 'baseline: both ends in the bench process');

    const ttfb = async (open: Opener): Promise<number> => {
      const samples: number[] = [];
      for (let i = 0; i < TTFB_SAMPLES; i++) samples.push(await firstByteMs(open, sink));
      return median(samples);
    };
    const dustTtfb = await ttfb(dustOpen);
    const tcpTtfb = await ttfb(tcpOpen);
    row(`dust: time to first byte (open, 1-byte echo; median of ${TTFB_SAMPLES})`, dustTtfb, 'ms', `${(dustTtfb / tcpTtfb).toFixed(0)}× TCP`);
    row(`tcp: time to first byte (median of ${TTFB_SAMPLES})`, tcpTtfb, 'ms', 'baseline');

    for (const concurrency of [1, CONCURRENCY]) {
      const d = await streamRate(dustOpen, sink, concurrency);
      const t = await streamRate(tcpOpen, sink, concurrency);
      const how = concurrency === 1 ? 'sequential' : `${concurrency} at a time`;
      row(`dust: streams opened and closed per second, ${how}`, d, 'streams/s', `${((100 * d) / t).toFixed(1)}% of TCP`);
      row(`tcp: connections opened and closed per second, ${how}`, t, 'conn/s', 'baseline');
    }

    const { serverBefore: before, serverAfter: after } = idle;
    row(`dust: server child RSS, ${IDLE_SESSIONS} idle sessions`, after.rss, 'MiB', `target ≤ ${TARGET_RSS_MIB}; after a gc in the child; ${before.rss.toFixed(0)} MiB before`);
    row(`dust: server child RSS growth per idle session`, ((after.rss - before.rss) * 1024) / IDLE_SESSIONS, 'KiB', '(after - before) / sessions');
    row(`dust: server child heap + ArrayBuffers per idle session`, ((after.heap - before.heap) * 1024) / IDLE_SESSIONS, 'KiB', 'what the sessions keep, after a gc');
    row(`dust: bench process RSS growth, ${IDLE_SESSIONS} idle sessions`, idle.clientGrowth, 'MiB', 'client sessions + sink sockets, after gc');
    row(`dust: bench process heap + ArrayBuffers growth, ${IDLE_SESSIONS} idle`, idle.clientHeapGrowth, 'MiB', 'after gc');
    row(`dust: time to first byte with ${IDLE_SESSIONS} idle sessions held`, idle.loadedTtfb, 'ms', `median of ${TTFB_SAMPLES}; ${dustTtfb.toFixed(1)} ms without`);
    return rows;
  } finally {
    await Promise.all(children.map(stopChild));
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
