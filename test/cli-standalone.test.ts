/**
 * The standalone CLI as a user runs it: keygen, server, client (SOCKS5) and the demo, as child
 * processes of the real bundle; bad flags give one clear line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocksClient } from 'socks';
import { systemRandom } from '../src/core/random.js';
import { buildCli } from './support/build-cli.js';

const run = (args: string[]) => spawnSync(process.execPath, [buildCli(), ...args], { encoding: 'utf8', timeout: 60_000 });

/** Starts a long-running command and resolves with its first stdout line. */
function start(args: string[]): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [buildCli(), ...args]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, line: out.slice(0, nl) });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('dust keygen / server / client', () => {
  test('a SOCKS connection through client and server reaches the forward target, both ways intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dust-cli-'));
    const state = join(dir, 'server.json');
    const keygen = run(['keygen', '--state', state]);
    expect(keygen.status).toBe(0);
    expect(keygen.stdout).toMatch(/^key=[A-Za-z0-9_-]{43}\n$/);
    expect(statSync(state).mode & 0o777).toBe(0o600);
    expect(run(['keygen', '--state', state]).stderr.split('\n')[0]).toMatch(/exists already \(use --force/);

    // The service behind the bridge echoes everything back.
    const echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const target = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
    const server = await start(['server', '--state', state, '--listen', '127.0.0.1:0', '--forward', target, '--model', 'bulk']);
    const bridgeLine = server.line;
    expect(bridgeLine).toMatch(/^127\.0\.0\.1:\d+ key=\S{43} model=bulk model-digest=[0-9a-f]{64}$/);
    // A free port for the client's SOCKS listener.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const socksPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = spawn(process.execPath, [buildCli(), 'client', '--listen', `127.0.0.1:${socksPort}`, '--bridge', bridgeLine]);
    try {
      let connected = null;
      for (let i = 0; i < 100 && connected === null; i++) {
        connected = await SocksClient.createConnection({
          proxy: { host: '127.0.0.1', port: socksPort, type: 5 },
          command: 'connect',
          destination: { host: '127.0.0.1', port: 9 },
        }).catch(() => new Promise<null>((r) => setTimeout(() => r(null), 50)));
      }
      const socket = connected!.socket;
      const payload = systemRandom(4 << 20);
      const back: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (c: Buffer) => back.push(c));
        socket.on('end', resolve);
        socket.on('error', reject);
        socket.end(payload);
      });
      const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
      expect(digest(Buffer.concat(back))).toBe(digest(payload));
    } finally {
      await stop(client);
      await stop(server.child);
      echo.close();
    }
  }, 90_000);

  test.each([
    [['server', '--listen', '127.0.0.1:0', '--forward', '127.0.0.1:1'], 2, 'dust: --state is required'],
    [['server', '--state', '/nonexistent/x.json', '--listen', '127.0.0.1:0', '--forward', '127.0.0.1:1'], 2, /^dust: cannot read --state \/nonexistent\/x.json: ENOENT/],
    [['client', '--bridge', '192.0.2.1:443 model=bulk'], 2, /^dust: --bridge: missing argument 'key'/],
    [['client', '--bridge', 'example.com:443 key=x'], 2, /^dust: --bridge: bridge address/],
    [['client', '--listen', 'localhost', '--bridge', 'x'], 2, /^dust: --listen must be HOST:PORT/],
    [['demo', '--size', 'lots'], 2, /^dust: --size must be a whole number/],
    [['frobnicate'], 2, 'dust: unknown command "frobnicate"'],
  ])('%j exits %i with one clear line', (args, status, line) => {
    const result = run(args as string[]);
    expect(result.status).toBe(status);
    const first = result.stderr.split('\n')[0]!;
    if (typeof line === 'string') expect(first).toBe(line);
    else expect(first).toMatch(line);
  });
});

describe('dust demo', () => {
  test('moves its payload both ways and says OK', () => {
    const result = run(['demo', '--size', '2000000']);
    expect(result.stdout).toMatch(/OK: both payloads arrived intact/);
    expect(result.stdout).toMatch(/byte distribution: distance to model/);
    expect(result.status).toBe(0);
  }, 60_000);

  // text gives the client 4 packets/s against the server's 25: the upload ends well after the
  // download, and the demo must wait for it while it moves (it once gave up 5 s after the download).
  test('a timed model at its default size: waits for the slower upload and says OK', () => {
    const result = run(['demo', '--model', 'text']);
    expect(result.stdout).toMatch(/OK: both payloads arrived intact/);
    expect(result.status).toBe(0);
  }, 90_000);
});
