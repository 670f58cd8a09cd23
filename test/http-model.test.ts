/**
 * Proof for the built-in `http` model (issue 6 "Proof"; models/http.md): Dust's own traffic with
 * the `http` model, captured on loopback with tcpdump, passes `dust model check` on packet lengths
 * (no rejection at alpha = 0.01), and `dust audit`'s GFW rule (Wu et al. 2023) flags its first
 * packets no more often than it flags the real HTTP capture the model was built from
 * (scripts/capture-http/http-requests.pcap: the client's SYNs and requests of that capture).
 *
 * `dust server` and `dust client` (the real executable, as child processes) move data through
 * several logical streams, each on its own Dust connection, while tcpdump records the bridge's
 * port; `dust model check` and `dust audit` then run on the capture.
 *
 * Needs tcpdump (Debian package) and root, or sudo without a password. Outside CI a missing one
 * skips these tests with a message; with CI set it is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { SocksClient } from 'socks';
import { systemRandom } from '../src/core/random.js';
import { buildCli } from './support/build-cli.js';

const REAL_HTTP = resolve(__dirname, '../scripts/capture-http/http-requests.pcap');
/** The bridge listens on its own loopback address, so that the capture filter matches nothing else. */
const BRIDGE_HOST = '127.0.0.2';
/** Logical streams (one Dust connection each), started this far apart. */
const STREAMS = 10;
const STREAM_SPACING_MS = 600;
/** Bytes each stream sends up and receives down. */
const UP_BYTES = 8 * 1024;
const DOWN_BYTES = 256 * 1024;
/** Transfers that take longer than this (from the start of the capture) count as failed. */
const MAX_TRANSFER_MS = 30_000;

const ci = process.env.CI;
const inCI = ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';

function findTcpdump(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) if (dir !== '' && existsSync(join(dir, 'tcpdump'))) return join(dir, 'tcpdump');
  return null;
}

/** How to run tcpdump with the right to capture: directly as root, else through `sudo -n`. */
function captureCommand(): { argv: string[]; user: string } | { missing: string } {
  const tcpdump = findTcpdump();
  if (tcpdump === null) return { missing: 'tcpdump is not installed (apt-get install -y tcpdump)' };
  if (process.getuid?.() === 0) return { argv: [tcpdump], user: 'root' };
  if (spawnSync('sudo', ['-n', 'true']).status === 0) return { argv: ['sudo', '-n', tcpdump], user: userInfo().username };
  return { missing: 'capturing needs root or passwordless sudo' };
}

const capture = captureCommand();

/** Starts tcpdump on lo and resolves once it is listening. */
function startTcpdump(file: string, filter: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  if ('missing' in capture) throw new Error(capture.missing);
  const [cmd, ...pre] = capture.argv;
  // -Z: write the file as this user (tcpdump would switch to its own user before opening it).
  const child = spawn(cmd!, [...pre, '-i', 'lo', '-n', '-s', '0', '-B', '32768', '-Z', capture.user, '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolvePromise({ child, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited with ${code}: ${err}`));
    });
  });
}

/** SIGINT makes tcpdump flush its file and print its counts. */
function stopTcpdump(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
    child.once('exit', () => resolvePromise());
    child.kill('SIGINT');
  });
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Starts a long-running `dust` command; resolves with the child once `ready` matches its output. */
function startDust(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [buildCli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`dust ${args[0]} did not start: ${out}`)), 10_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, match });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dust ${args[0]} exited with ${code}: ${out}`));
    });
  });
}

/** SIGTERM (dust server and client exit at once on it), SIGKILL if that takes over 5 s. */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

/** Rejects after `ms`, so that a stalled transfer fails instead of hanging the test. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

interface DustRun {
  port: number;
  pcap: string;
  tcpdumpStderr: string;
  /** Streams whose bytes arrived intact both ways. */
  intact: number;
}

/**
 * Captures Dust with the `http` model: `dust server` and `dust client` (the real executable, as
 * child processes) carry STREAMS logical streams, each sending UP_BYTES and receiving DOWN_BYTES,
 * while tcpdump records the bridge's port until all of them are done (5 to 15 s). Everything it
 * starts is stopped before it resolves; the Dust ends live in their own processes, so nothing of
 * theirs can outlive the test in this one.
 */
async function captureDust(dir: string): Promise<DustRun> {
  const up = systemRandom(UP_BYTES);
  const down = systemRandom(DOWN_BYTES);
  const upHashes: string[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  // The service behind the bridge: sends `down` to each stream and hashes what comes up.
  const sink = createServer({ allowHalfOpen: true }, (socket) => {
    track(socket);
    const hash = createHash('sha256');
    socket.on('data', (chunk: Buffer) => hash.update(chunk));
    socket.on('end', () => upHashes.push(hash.digest('hex')));
    socket.on('error', () => undefined);
    socket.end(down);
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const children: ChildProcess[] = [];
  let tcpdump: ChildProcess | null = null;
  try {
    const state = join(dir, 'server.json');
    const keygen = cli(['keygen', '--state', state]);
    if (keygen.status !== 0) throw new Error(`dust keygen failed: ${keygen.stderr}`);
    const server = await startDust(
      ['server', '--state', state, '--listen', `${BRIDGE_HOST}:0`, '--forward', `127.0.0.1:${(sink.address() as AddressInfo).port}`, '--model', 'http'],
      /^(127\.0\.0\.2:(\d+) key=\S+ model=http model-digest=[0-9a-f]{64})$/m,
    );
    children.push(server.child);
    const bridgeLine = server.match[1]!;
    const port = Number(server.match[2]);
    const client = await startDust(['client', '--listen', '127.0.0.1:0', '--bridge', bridgeLine], /SOCKS5 listener on 127\.0\.0\.1:(\d+)/);
    children.push(client.child);
    const socksPort = Number(client.match[1]);

    const pcap = join(dir, 'dust-http.pcap');
    const started = await startTcpdump(pcap, `host ${BRIDGE_HOST} and tcp port ${port}`);
    tcpdump = started.child;
    const t0 = performance.now();

    const stream = async (i: number): Promise<boolean> => {
      await new Promise((r) => setTimeout(r, i * STREAM_SPACING_MS));
      const { socket } = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port: socksPort, type: 5 },
        command: 'connect',
        destination: { host: '127.0.0.1', port: 9 }, // the bridge's --forward decides
        timeout: 20_000,
      });
      track(socket);
      const got: Buffer[] = [];
      await new Promise<void>((res, rej) => {
        socket.on('data', (c: Buffer) => got.push(c));
        socket.on('end', res);
        socket.on('error', rej);
        socket.end(up);
      });
      return sha256(Buffer.concat(got)) === sha256(down);
    };
    const results = await Promise.all(Array.from({ length: STREAMS }, (_, i) => within(stream(i), MAX_TRANSFER_MS).catch(() => false)));
    // The last bytes up may still be on their way to the sink (the client's rate is the lower one).
    while (upHashes.length < STREAMS && performance.now() - t0 < MAX_TRANSFER_MS) await new Promise((r) => setTimeout(r, 100));
    // The client ends each Dust connection once its stream is closed; let the FINs be captured.
    await new Promise((r) => setTimeout(r, 300));
    await stopTcpdump(tcpdump);
    tcpdump = null;
    const upOk = upHashes.filter((h) => h === sha256(up)).length;
    return { port, pcap, tcpdumpStderr: started.stderr(), intact: Math.min(upOk, results.filter(Boolean).length) };
  } finally {
    if (tcpdump !== null) await stopTcpdump(tcpdump);
    await Promise.all(children.map(stopChild));
    sink.close();
    // A reset, not a FIN: a socket whose peer has already sent its FIN (allowHalfOpen) would
    // otherwise wait for its own side to end.
    for (const socket of sockets) socket.resetAndDestroy();
  }
}

const cli = (args: string[]) => spawnSync(process.execPath, [buildCli(), ...args], { encoding: 'utf8', timeout: 60_000 });

interface CheckRowText {
  direction: string;
  test: string;
  n: number;
  result: string;
  /** The bytes rows' effect size ("TV 0.0046" in the observed column); NaN elsewhere. */
  tv: number;
}

/** The rows of `dust model check`'s table. */
function checkRows(stdout: string): CheckRowText[] {
  const rows: CheckRowText[] = [];
  for (const m of stdout.matchAll(/^(client→server|server→client|connection)\s+(lengths|bytes|packets\/s|duration)\s+(\d+)\s+.*?\s(ok|REJECT|skipped)\s+(.*)$/gm)) {
    const tv = m[5]!.match(/^TV (\d+\.\d+)\s/);
    rows.push({ direction: m[1]!, test: m[2]!, n: Number(m[3]), result: m[4]!, tv: tv ? Number(tv[1]) : NaN });
  }
  return rows;
}

/** `dust audit`'s summary line for the GFW rule: flagged and all flows. */
function gfwSummary(stdout: string): { flagged: number; flows: number } {
  const m = stdout.match(/^GFW fully-encrypted rule \(Wu et al\. 2023\)\s+(\d+)\s+(\d+)\s/m);
  if (!m) throw new Error(`no GFW summary in:\n${stdout}`);
  return { flagged: Number(m[1]), flows: Number(m[2]) };
}

if ('missing' in capture && !inCI) {
  console.log(`http-model.test.ts skipped: ${capture.missing}. With CI=true this is a failure instead.`);
  describe.skip('the http model on the wire (needs tcpdump)', () => {
    test('Dust traffic with the http model passes dust model check on lengths and dust audit', () => {});
  });
} else {
  describe('the http model on the wire', () => {
    let dir: string;
    let run: DustRun;

    beforeAll(async () => {
      if ('missing' in capture) throw new Error(capture.missing); // in CI: fail, do not skip
      dir = mkdtempSync(join(tmpdir(), 'dust-http-model-'));
      run = await captureDust(dir);
    }, 45_000);

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('tcpdump captured every packet, and the data crossed intact', () => {
      expect(run.tcpdumpStderr).toMatch(/^0 packets dropped by kernel$/m);
      expect(readFileSync(run.pcap).length).toBeGreaterThan(1_000_000);
      expect(run.intact).toBe(STREAMS);
    });

    test('dust model check: packet lengths are not rejected at alpha = 0.01 in either direction', () => {
      const r = cli(['model', 'check', 'http', run.pcap, '--host', BRIDGE_HOST, '--port', String(run.port), '--alpha', '0.01']);
      // Nothing on stderr but the progress lines of a large capture.
      expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('reading '))).toEqual([]);
      const rows = checkRows(r.stdout);
      expect(r.stdout).toMatch(new RegExp(`^model http, ${STREAMS} flow\\(s\\)$`, 'm'));
      const lengths = rows.filter((row) => row.test === 'lengths');
      expect(lengths.map((row) => row.direction)).toEqual(['client→server', 'server→client']);
      // Hundreds to thousands of packets each way (the model's rates vary a lot from second to
      // second): enough for the KS test to notice packets that TCP merged or split.
      for (const row of lengths) expect(row.n).toBeGreaterThan(400);
      // The criterion. Traffic that follows the model fails it in at most 1% of runs per
      // direction (the discrete KS p-value is conservative; the server's lengths, 98% one value,
      // give p = 1 in practice).
      expect(lengths.map((row) => `${row.direction} ${row.result}`)).toEqual(['client→server ok', 'server→client ok']);
      // Bytes follow the model's code too (the prefixes left out): their chi-square would reject in
      // 1% of good runs at this level, so the test looks at the effect size instead. The total
      // variation distance from the code's distribution is a few thousandths; bytes shaped with the
      // wrong code, or not at all, are tenths away.
      const bytes = rows.filter((row) => row.test === 'bytes');
      expect(bytes.map((row) => row.direction)).toEqual(['client→server', 'server→client']);
      for (const row of bytes) expect(row.tv).toBeLessThan(0.02);
    });

    test('dust audit: the GFW rule flags Dust\'s first packets no more often than the real HTTP capture', () => {
      const dust = cli(['audit', run.pcap, '--host', BRIDGE_HOST, '--port', String(run.port)]);
      const real = cli(['audit', REAL_HTTP, '--port', '80']);
      expect([dust.status, real.status]).toEqual([0, 0]);
      const d = gfwSummary(dust.stdout);
      const h = gfwSummary(real.stdout);
      expect(d.flows).toBe(STREAMS);
      expect(h.flows).toBe(44);
      expect(d.flagged / d.flows).toBeLessThanOrEqual(h.flagged / h.flows);
      // Every Dust connection opens with the model's prefix, as every captured request did.
      const firstPackets = [...dust.stdout.matchAll(/^127\.0\.0\.\d+:\d+ → 127\.0\.0\.2:\d+\s+\d+ B\s+(pass|FLAG)\s+(\S+)/gm)];
      expect(firstPackets).toHaveLength(STREAMS);
      for (const m of firstPackets) expect(m[2]).toContain('Ex5');
    });
  });
}

// The plot option works with any model; `uniform` is used because its steady client rate moves the
// payload up in well under the 5 s the demo waits for it once the download is done (the `http`
// client's rate varies from second to second, so a small upload can take longer than that).
describe('dust demo --plot', () => {
  test('moves its payload, writes the model-vs-observed SVG and says where in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dust-demo-plot-'));
    try {
      const svgPath = join(dir, 'demo.svg');
      const r = cli(['demo', '--model', 'uniform', '--size', '4096', '--plot', svgPath]);
      expect(r.stdout).toMatch(/^OK: both payloads arrived intact/m);
      expect(r.stdout.split('\n').filter((l) => l.startsWith('plot: '))).toEqual([
        `plot: model against observed bytes and packet lengths written to ${svgPath}`,
      ]);
      expect(r.status).toBe(0);
      const svg = readFileSync(svgPath, 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/m);
      expect(svg).toContain('<title>Dust model &quot;uniform&quot; vs capture dust demo');
      // Four panels, each with the model; observed bars in all four (both directions carried data).
      expect(svg.match(/<g class="panel"/g)).toHaveLength(4);
      expect(svg.match(/data-series="model"/g)).toHaveLength(4);
      expect(svg.match(/data-series="observed"/g)).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('a plot that cannot be written is one line and exit status 1', () => {
    const r = cli(['demo', '--model', 'uniform', '--size', '1024', '--plot', '/nonexistent-dir/demo.svg']);
    expect(r.stdout).toMatch(/^OK: both payloads arrived intact/m);
    expect(r.stdout).toMatch(/^plot: cannot write \/nonexistent-dir\/demo\.svg: ENOENT$/m);
    expect(r.status).toBe(1);
  }, 60_000);
});
