/**
 * The managed PT without tor, next to obfs4proxy in the same run (issue 5 "Benchmark"): a server
 * PT with TOR_PT_ORPORT pointing at a local sink, a client PT, and a SOCKS5 client talking to the
 * client PT as tor would. For each implementation:
 * - goodput client→sink and sink→client (MB/s, 10^6 bytes), one stream, {@link TRANSFER_BYTES};
 * - time to first byte: SOCKS connect + handshake + one byte to the sink until its echo arrives (median ms);
 * - connections per second: SOCKS connect, one byte each way, close, {@link CONCURRENCY} at a time;
 * - CPU seconds per GiB moved (both PT processes, user + system, during the two transfers);
 * - peak RSS of each PT process (VmHWM).
 * Dust uses the `bulk` model. obfs4proxy comes from Debian's `obfs4proxy` package; if it is not
 * installed its rows say so. The dust bundle is built fresh with the project's esbuild. A third
 * setup, a plain Node.js relay (bench/node-relay.ts), shows the floor that sockets alone set for
 * any Node.js PT on this machine.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { SocksClient } from 'socks';
import { buildDust, stopChild } from './child-process.js';
import type { BenchRow } from './table.js';

/** Bytes moved in each direction for the goodput rows. */
export const TRANSFER_BYTES = 128 * 1024 * 1024;
/** Connections for the rate row, and how many run at once. */
const CONNECTIONS = 300;
const CONCURRENCY = 8;
/** Connections measured for time to first byte (one at a time). */
const TTFB_SAMPLES = 30;
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
/** A connection whose first byte takes longer than this counts as stalled (and is left out of the median). */
const STALL_MS = 5_000;

interface Pt {
  child: ChildProcess;
  lines: string[];
  line(re: RegExp): Promise<string>;
}

function startProcess(command: string, args: string[], env: Record<string, string>): Pt {
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
  const lines: string[] = [];
  const waiters: Array<[RegExp, (l: string) => void]> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const l = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      lines.push(l);
      for (const w of [...waiters]) if (w[0].test(l)) (waiters.splice(waiters.indexOf(w), 1), w[1](l));
    }
  });
  return {
    child,
    lines,
    line: (re) =>
      new Promise((res, rej) => {
        const seen = lines.find((l) => re.test(l));
        if (seen !== undefined) return res(seen);
        const t = setTimeout(() => rej(new Error(`${command}: no line ${re} (got ${JSON.stringify(lines)})`)), 15_000);
        waiters.push([re, (l) => (clearTimeout(t), res(l))]);
      }),
  };
}

/** user + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Peak resident set size in MiB (/proc/PID/status VmHWM). */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** What the sink does with each ORPort connection. */
type SinkMode = { kind: 'count'; done: (bytes: number) => void; expect: number } | { kind: 'send'; bytes: number } | { kind: 'echo' };

class Sink {
  mode: SinkMode = { kind: 'echo' };
  readonly server: Server;
  port = 0;
  constructor() {
    this.server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }
  private accept(s: Socket): void {
    s.on('error', () => undefined);
    const mode = this.mode;
    if (mode.kind === 'echo') {
      // Like an ORPort answering a client's first cell. (Client first, as tor does: obfs4proxy
      // 0.0.14 was seen losing a server-first byte on about one connection in ten.)
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    } else if (mode.kind === 'count') {
      let n = 0;
      s.on('data', (d) => {
        n += d.length;
        if (n >= mode.expect) mode.done(n);
      });
      s.on('end', () => s.end());
    } else {
      let left = mode.bytes;
      const pump = (): void => {
        while (left > 0) {
          const c = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          left -= c.length;
          if (!s.write(c)) return void s.once('drain', pump);
        }
        s.end();
      };
      s.on('data', () => undefined);
      pump();
    }
  }
}

interface Setup {
  name: string;
  client: Pt;
  server: Pt;
  socksPort: number;
  bridge: { host: string; port: number };
  args: string;
}

async function socksConnect(setup: Setup): Promise<Socket> {
  const args = setup.args;
  // tor's split (pt-spec §3.5): all of it in UNAME when it fits, PASSWD a single NUL.
  const [userId, password] = Buffer.byteLength(args) > 255 ? [args.slice(0, 255), args.slice(255)] : [args, '\0'];
  const info = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: setup.socksPort, type: 5, userId, password },
    command: 'connect',
    destination: setup.bridge,
    timeout: 30_000,
  });
  info.socket.setNoDelay(true);
  // The socks package leaves the socket explicitly paused: a 'data' listener alone would not start it.
  setImmediate(() => info.socket.resume());
  return info.socket;
}

async function startPair(name: 'dust' | 'obfs4' | 'relay', command: string, commandArgs: string[], dir: string, sink: Sink): Promise<Setup> {
  const common = { TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_EXIT_ON_STDIN_CLOSE: '1' };
  const server = startProcess(command, commandArgs, {
    ...common,
    TOR_PT_STATE_LOCATION: join(dir, `${name}-server`),
    TOR_PT_SERVER_TRANSPORTS: name,
    TOR_PT_SERVER_BINDADDR: `${name}-127.0.0.1:0`,
    TOR_PT_ORPORT: `127.0.0.1:${sink.port}`,
    TOR_PT_EXTENDED_SERVER_PORT: '',
    ...(name === 'dust' && { TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk' }),
  });
  const smethod = await server.line(new RegExp(`^SMETHOD ${name} `));
  const m = /^SMETHOD \S+ ([0-9.]+):(\d+) ARGS:(.*)$/.exec(smethod)!;
  const client = startProcess(command, commandArgs, { ...common, TOR_PT_STATE_LOCATION: join(dir, `${name}-client`), TOR_PT_CLIENT_TRANSPORTS: name });
  const cmethod = await client.line(new RegExp(`^CMETHOD ${name} socks5 `));
  return {
    name,
    client,
    server,
    socksPort: Number(/:(\d+)$/.exec(cmethod)![1]),
    bridge: { host: m[1]!, port: Number(m[2]) },
    args: m[3]!.replace(/,/g, ';'),
  };
}

async function upload(setup: Setup, sink: Sink, bytes: number): Promise<number> {
  const received = new Promise<void>((r) => (sink.mode = { kind: 'count', expect: bytes, done: () => r() }));
  const socket = await socksConnect(setup);
  const t0 = performance.now();
  let left = bytes;
  await new Promise<void>((res) => {
    const pump = (): void => {
      while (left > 0) {
        left -= CHUNK.length;
        if (!socket.write(CHUNK)) return void socket.once('drain', pump);
      }
      res();
    };
    pump();
  });
  await received;
  const seconds = (performance.now() - t0) / 1000;
  socket.destroy();
  return bytes / 1e6 / seconds;
}

async function download(setup: Setup, sink: Sink, bytes: number): Promise<number> {
  sink.mode = { kind: 'send', bytes };
  const socket = await socksConnect(setup);
  const t0 = performance.now();
  let got = 0;
  await new Promise<void>((res) => {
    socket.on('data', (d) => {
      got += d.length;
      if (got >= bytes) res();
    });
    socket.on('end', () => res());
  });
  const seconds = (performance.now() - t0) / 1000;
  socket.destroy();
  if (got < bytes) throw new Error(`${setup.name}: download got ${got} of ${bytes} bytes`);
  return bytes / 1e6 / seconds;
}

/** Resolves with true when the socket's first byte arrives, false if none within {@link STALL_MS}. */
function firstByte(socket: Socket): Promise<boolean> {
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), STALL_MS);
    socket.once('data', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

/** SOCKS connect, one byte out, until its echo from the sink arrives (NaN if it never came). */
async function firstByteMs(setup: Setup, sink: Sink): Promise<number> {
  sink.mode = { kind: 'echo' };
  const t0 = performance.now();
  const socket = await socksConnect(setup);
  socket.write(Buffer.from([1]));
  const ok = await firstByte(socket);
  const ms = performance.now() - t0;
  socket.destroy();
  return ok ? ms : NaN;
}

/**
 * Connections per second: SOCKS connect, one byte to the sink and its echo back, then the socket
 * is destroyed (obfs4proxy does not pass a half-close on, so waiting for an orderly close would hang).
 */
async function connectionRate(setup: Setup, sink: Sink): Promise<{ rate: number; stalled: number }> {
  sink.mode = { kind: 'echo' };
  let next = 0;
  let stalled = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < CONNECTIONS) {
      next++;
      const socket = await socksConnect(setup);
      socket.write(Buffer.from([2]));
      if (!(await firstByte(socket))) stalled++;
      socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { rate: CONNECTIONS / ((performance.now() - t0) / 1000), stalled };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(setup: Setup, sink: Sink, group: string, note: string): Promise<BenchRow[]> {
  const pids = [setup.client.child.pid!, setup.server.child.pid!];
  const say = (what: string): boolean => process.stderr.write(`bench pt: ${setup.name}: ${what}\n`);
  say('warm-up');
  await download(setup, sink, 4 * 1024 * 1024);
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  say('upload');
  const up = await upload(setup, sink, TRANSFER_BYTES);
  say('download');
  const down = await download(setup, sink, TRANSFER_BYTES);
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
  say('time to first byte');
  const samples: number[] = [];
  for (let i = 0; i < TTFB_SAMPLES; i++) samples.push(await firstByteMs(setup, sink));
  const ttfb = samples.filter((x) => !Number.isNaN(x));
  say('connection rate');
  const [clientCpu0, serverCpu0] = pids.map(cpuSeconds);
  const { rate, stalled } = await connectionRate(setup, sink);
  const [clientCpuMs, serverCpuMs] = pids.map((pid, i) => ((cpuSeconds(pid) - [clientCpu0!, serverCpu0!][i]!) * 1000) / CONNECTIONS);
  const stalls = samples.length - ttfb.length + stalled;
  const gib = (2 * TRANSFER_BYTES) / 2 ** 30;
  return [
    { group, name: `${setup.name}: goodput client→server`, value: up, unit: 'MB/s', note },
    { group, name: `${setup.name}: goodput server→client`, value: down, unit: 'MB/s', note },
    { group, name: `${setup.name}: time to first byte (median of ${ttfb.length})`, value: median(ttfb), unit: 'ms', note },
    { group, name: `${setup.name}: connections (${CONCURRENCY} at a time)`, value: rate, unit: 'conn/s', note },
    { group, name: `${setup.name}: CPU per connection, client PT`, value: clientCpuMs!, unit: 'ms', note },
    { group, name: `${setup.name}: CPU per connection, server PT`, value: serverCpuMs!, unit: 'ms', note },
    { group, name: `${setup.name}: CPU per GiB moved (both PTs)`, value: cpu / gib, unit: 's/GiB', note },
    { group, name: `${setup.name}: peak RSS, client PT`, value: peakRssMiB(pids[0]!), unit: 'MiB', note },
    { group, name: `${setup.name}: peak RSS, server PT`, value: peakRssMiB(pids[1]!), unit: 'MiB', note },
    { group, name: `${setup.name}: connections without a first byte in ${STALL_MS / 1000} s`, value: stalls, unit: `of ${TTFB_SAMPLES + CONNECTIONS}`, note },
  ];
}

/** The `pt` row group: Dust (bulk), a plain Node.js relay and obfs4proxy, same machine, same run. */
export async function ptBench(): Promise<BenchRow[]> {
  const group = 'pt';
  const dir = mkdtempSync(join(tmpdir(), 'dust-ptbench-'));
  const sink = new Sink();
  await sink.start();
  const rows: BenchRow[] = [];
  const running: Setup[] = [];
  try {
    const dust = await startPair('dust', process.execPath, [buildDust(dir)], dir, sink);
    running.push(dust);
    const dustRows = await measure(dust, sink, group, 'model bulk');
    rows.push(...dustRows);
    // The floor: what Node.js sockets alone cost (bench/node-relay.ts, this bundle started again).
    const relay = await startPair('relay', process.execPath, [process.argv[1]!, '--node-relay'], dir, sink);
    running.push(relay);
    const relayRows = await measure(relay, sink, group, 'plain Node.js relay: no crypto, no shaping');
    rows.push(...relayRows);
    const obfs4 = onPath('obfs4proxy');
    if (obfs4 === undefined) {
      rows.push({ group, name: 'obfs4proxy: not installed (apt-get install obfs4proxy)', value: NaN, unit: '', note: 'no baseline' });
      return rows;
    }
    const o = await startPair('obfs4', obfs4, [], dir, sink);
    running.push(o);
    const obfsRows = await measure(o, sink, group, 'obfs4proxy, iat-mode=0');
    rows.push(...obfsRows);
    // Ratios for the targets: goodput and connection rate ≥ 0.75×, first byte on par.
    for (const i of [0, 1, 3]) rows.push({ group, name: `ratio dust/obfs4: ${dustRows[i]!.name.slice(6)}`, value: dustRows[i]!.value / obfsRows[i]!.value, unit: '×', note: 'target ≥ 0.75' });
    rows.push({ group, name: 'ratio dust/obfs4: time to first byte', value: dustRows[2]!.value / obfsRows[2]!.value, unit: '×', note: 'target ≈ 1' });
    for (const [i, what] of [[3, `connections (${CONCURRENCY} at a time)`], [2, 'time to first byte']] as const) {
      rows.push({ group, name: `ratio relay/obfs4: ${what}`, value: relayRows[i]!.value / obfsRows[i]!.value, unit: '×', note: 'what Node.js sockets alone reach' });
    }
    return rows;
  } finally {
    for (const s of running) await Promise.all([stopChild(s.client.child), stopChild(s.server.child)]);
    await new Promise((r) => sink.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}
