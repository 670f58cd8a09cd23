/**
 * The whole path without tor (issue 5; tor-pt.md §3, §4, §5.5): a SOCKS client (as tor's client
 * side) → client PT binary → Dust/Ensemble → server PT binary → TOR_PT_ORPORT sink or a fake
 * Extended ORPort (as tor's bridge side). Bytes must arrive intact both ways, half-close must
 * pass through, and termination must drain open streams.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocksClient } from 'socks';
import { splitSocksArgsForRfc1929 } from '../src/pt/args.js';
import { clientEnv, killAllPts, methodPort, serverEnv, startPt, type PtProcess } from './support/pt-process.js';

let root: string;
const servers: Server[] = [];
const sockets: Socket[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dust-rt-'));
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await killAllPts();
  for (const s of servers.splice(0)) s.close();
  rmSync(root, { recursive: true, force: true });
});

function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

/** A sink like tor's ORPort: echoes back the sha256 of everything received, then its own payload, then ends. */
function orSink(reply: Buffer, seen: { bytes: number; ended: boolean }[] = []): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    const record = { bytes: 0, ended: false };
    seen.push(record);
    const hash = createHash('sha256');
    s.on('data', (d) => {
      record.bytes += d.length;
      hash.update(d);
    });
    s.on('end', () => {
      record.ended = true;
      s.write(hash.digest());
      s.end(reply);
    });
  });
}

/** Starts a server PT and returns it with its SMETHOD port and ARGS (as a SOCKS argument string). */
async function startServer(env: Record<string, string>): Promise<{ pt: PtProcess; port: number; host: string; args: string }> {
  const pt = startPt(env);
  const line = await pt.line(/^SMETHOD dust /, 15_000);
  const m = /^SMETHOD dust (?:\[([^\]]+)\]|([0-9.]+)):(\d+) ARGS:(.*)$/.exec(line)!;
  // SMETHOD ARGS k=v,k=v → tor's SOCKS form k=v;k=v (our values need no escaping).
  return { pt, host: m[1] ?? m[2]!, port: Number(m[3]), args: m[4]!.replace(/,/g, ';') };
}

async function startClient(extra: Record<string, string> = {}): Promise<{ pt: PtProcess; socksPort: number }> {
  const pt = startPt(clientEnv(join(root, 'client'), extra));
  const socksPort = methodPort(await pt.line(/^CMETHOD dust /));
  await pt.line('CMETHODS DONE');
  return { pt, socksPort };
}

async function socksOpen(socksPort: number, host: string, port: number, args: string): Promise<Socket> {
  const { username, password } = splitSocksArgsForRfc1929(args);
  const info = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: socksPort, type: 5, userId: Buffer.from(username).toString('latin1'), password: Buffer.from(password).toString('latin1') },
    command: 'connect',
    destination: { host, port },
    timeout: 15_000,
  });
  sockets.push(info.socket);
  return info.socket;
}

/** Sends `payload`, half-closes, and collects everything until the other side ends. */
function exchange(socket: Socket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    socket.on('data', (d) => got.push(d));
    socket.once('end', () => resolve(Buffer.concat(got)));
    socket.once('error', reject);
    socket.end(payload);
  });
}

test('1 MiB each way through client PT → server PT → ORPort, with half-close', async () => {
  const seen: { bytes: number; ended: boolean }[] = [];
  const reply = randomBytes(1 << 20);
  const orPort = await listen(orSink(reply, seen));
  const server = await startServer(serverEnv(join(root, 'server'), orPort, { TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk' }));
  const client = await startClient();
  const socket = await socksOpen(client.socksPort, server.host, server.port, server.args);
  const payload = randomBytes(1 << 20);
  const got = await exchange(socket, payload);
  expect(got.subarray(0, 32).equals(createHash('sha256').update(payload).digest())).toBe(true);
  expect(got.length).toBe(32 + reply.length);
  expect(got.subarray(32).equals(reply)).toBe(true);
  expect(seen).toEqual([{ bytes: payload.length, ended: true }]);
  // Neither PT said anything to tor about it (no warnings).
  expect([...client.pt.lines, ...server.pt.lines].filter((l) => l.startsWith('LOG SEVERITY=warning'))).toEqual([]);
});

test('IPv6: server bound to [::1], client CONNECT to ::1', async () => {
  const orPort = await listen(orSink(Buffer.from('v6 ok')));
  const server = await startServer(serverEnv(join(root, 'server'), orPort, { TOR_PT_SERVER_BINDADDR: 'dust-[::1]:0', TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk' }));
  expect(server.host).toBe('::1');
  const client = await startClient();
  const got = await exchange(await socksOpen(client.socksPort, '::1', server.port, server.args), Buffer.from('hello'));
  expect(got.subarray(32).toString()).toBe('v6 ok');
});

test('Extended ORPort: SAFE_COOKIE, USERADDR of the client, TRANSPORT dust, OKAY, then the stream', async () => {
  const cookie = randomBytes(32);
  const cookieFile = join(root, 'extended_orport_auth_cookie');
  writeFileSync(cookieFile, Buffer.concat([Buffer.from('! Extended ORPort Auth Cookie !\n', 'latin1'), cookie]));
  const seen: Array<[number, string]>[] = [];
  const ext = createServer((s) => {
    sockets.push(s);
    const commands: Array<[number, string]> = [];
    seen.push(commands);
    let buf = Buffer.alloc(0);
    let stage = 0;
    let clientNonce = Buffer.alloc(0);
    let serverNonce = Buffer.alloc(0);
    const label = (l: string) => Buffer.from(`ExtORPort authentication ${l} hash`, 'latin1');
    s.write(Buffer.from([1, 0]));
    s.on('data', function onData(d: Buffer) {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (stage === 0 && buf.length >= 33) {
          clientNonce = buf.subarray(1, 33);
          buf = buf.subarray(33);
          serverNonce = randomBytes(32);
          s.write(Buffer.concat([hmac(sha256, cookie, Buffer.concat([label('server-to-client'), clientNonce, serverNonce])), serverNonce]));
          stage = 1;
        } else if (stage === 1 && buf.length >= 32) {
          const ok = Buffer.from(hmac(sha256, cookie, Buffer.concat([label('client-to-server'), clientNonce, serverNonce]))).equals(buf.subarray(0, 32));
          buf = buf.subarray(32);
          s.write(Buffer.from([ok ? 1 : 0]));
          stage = ok ? 2 : 9;
        } else if (stage === 2 && buf.length >= 4 && buf.length >= 4 + buf.readUInt16BE(2)) {
          const cmd = buf.readUInt16BE(0);
          commands.push([cmd, buf.subarray(4, 4 + buf.readUInt16BE(2)).toString('latin1')]);
          buf = buf.subarray(4 + buf.readUInt16BE(2));
          if (cmd === 0) {
            stage = 3;
            s.write(Buffer.from([0x10, 0, 0, 0])); // OKAY
          }
        } else if (stage === 3) {
          // The OR stream: echo it in upper case.
          if (buf.length > 0) s.write(buf.toString('latin1').toUpperCase());
          buf = Buffer.alloc(0);
          s.removeListener('data', onData);
          s.on('data', (more: Buffer) => s.write(more.toString('latin1').toUpperCase()));
          return;
        } else return;
      }
    });
  });
  const extPort = await listen(ext);
  const server = await startServer(
    serverEnv(join(root, 'server'), 0, {
      TOR_PT_ORPORT: '127.0.0.1:9',
      TOR_PT_EXTENDED_SERVER_PORT: `127.0.0.1:${extPort}`,
      TOR_PT_AUTH_COOKIE_FILE: cookieFile,
      TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk',
    }),
  );
  const client = await startClient();
  const socket = await socksOpen(client.socksPort, server.host, server.port, server.args);
  socket.write('through the extorport');
  const echoed = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
      if (text.length >= 21) resolve(text);
    });
  });
  expect(echoed).toBe('THROUGH THE EXTORPORT');
  expect(seen).toHaveLength(1);
  expect(seen[0]![0]![0]).toBe(1);
  expect(seen[0]![0]![1]).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(seen[0]!.slice(1)).toEqual([
    [2, 'dust'],
    [0, ''],
  ]);
});

test('through an upstream SOCKS5 proxy (TOR_PT_PROXY)', async () => {
  const orPort = await listen(orSink(Buffer.from('via proxy')));
  const server = await startServer(serverEnv(join(root, 'server'), orPort, { TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk' }));
  // A tiny no-auth SOCKS5 proxy that records CONNECT targets.
  const targets: string[] = [];
  const proxy = createServer((s) => {
    sockets.push(s);
    s.once('data', () => {
      s.write(Buffer.from([5, 0]));
      s.once('data', (req: Buffer) => {
        const host = [...req.subarray(4, 8)].join('.');
        const port = req.readUInt16BE(8);
        targets.push(`${host}:${port}`);
        const up = connect(port, host, () => {
          s.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          s.pipe(up).pipe(s);
        });
        sockets.push(up);
      });
    });
  });
  const proxyPort = await listen(proxy);
  const client = await startClient({ TOR_PT_PROXY: `socks5://127.0.0.1:${proxyPort}` });
  expect(client.pt.lines[1]).toBe('PROXY DONE');
  const got = await exchange(await socksOpen(client.socksPort, server.host, server.port, server.args), Buffer.from('x'));
  expect(got.subarray(32).toString()).toBe('via proxy');
  expect(targets.length).toBeGreaterThanOrEqual(1);
  expect(new Set(targets)).toEqual(new Set([`127.0.0.1:${server.port}`]));
});

test('SIGTERM: new connections refused, the open stream keeps working; a second SIGTERM exits at once', async () => {
  const orPort = await listen(
    createServer((s) => {
      sockets.push(s);
      s.pipe(s);
    }),
  );
  const server = await startServer(serverEnv(join(root, 'server'), orPort, { TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk' }));
  const client = await startClient();
  const socket = await socksOpen(client.socksPort, server.host, server.port, server.args);
  const echo = (text: string): Promise<string> =>
    new Promise((resolve) => {
      let got = '';
      const on = (d: Buffer): void => {
        got += d.toString();
        if (got.length >= text.length) {
          socket.removeListener('data', on);
          resolve(got);
        }
      };
      socket.on('data', on);
      socket.write(text);
    });
  expect(await echo('before')).toBe('before');
  client.pt.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  expect(client.pt.child.exitCode).toBeNull(); // draining
  expect(await echo('while draining')).toBe('while draining');
  const refused = await new Promise<string>((resolve) => {
    const s = connect(client.socksPort, '127.0.0.1');
    s.once('connect', () => resolve('accepted'));
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  expect(refused).toBe('ECONNREFUSED');
  const t0 = Date.now();
  client.pt.child.kill('SIGTERM');
  expect(await client.pt.exited).toEqual({ code: 0, signal: null });
  expect(Date.now() - t0).toBeLessThan(1500);
});

test('SIGTERM with an idle open stream: the drain ends by itself within the bound', async () => {
  const orPort = await listen(
    createServer((s) => {
      sockets.push(s);
      s.pipe(s);
    }),
  );
  const server = await startServer(serverEnv(join(root, 'server'), orPort, { TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk' }));
  const client = await startClient();
  const socket = await socksOpen(client.socksPort, server.host, server.port, server.args);
  // One echo first: the SOCKS reply can arrive before the bridge has the session (New follows it).
  socket.write('x');
  await new Promise((resolve) => socket.once('data', resolve));
  const t0 = Date.now();
  server.pt.child.kill('SIGINT');
  expect(await server.pt.exited).toEqual({ code: 0, signal: null });
  const took = Date.now() - t0;
  expect(took).toBeGreaterThan(4000);
  expect(took).toBeLessThan(8000);
});
