/**
 * ext-orport-spec over real sockets (tor-pt.md §4): the server PT's connection to a fake tor
 * Extended ORPort written here (HMACs from @noble/hashes), with the cookie file re-read for every
 * connection, USERADDR/TRANSPORT/DONE, nothing sent before OKAY; and the plain TOR_PT_ORPORT path.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dialOrPort, type OrPortConfig } from '../src/pt/orport-dial.js';

const HEADER = Buffer.from('! Extended ORPort Auth Cookie !\n', 'latin1');
const servers: Server[] = [];
const sockets: Socket[] = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dust-extor-'));
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  commands: Array<[number, string]>;
  bytesBeforeOkay: number;
  hashOk?: boolean;
}

/** Reads exact byte counts from a socket. */
function reader(socket: Socket): (n: number) => Promise<Buffer> {
  let buf = Buffer.alloc(0);
  let want: { n: number; resolve: (b: Buffer) => void } | null = null;
  const check = (): void => {
    if (want && buf.length >= want.n) {
      const out = buf.subarray(0, want.n);
      buf = buf.subarray(want.n);
      const w = want;
      want = null;
      w.resolve(out);
    }
  };
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    check();
  });
  return (n) => new Promise((resolve) => {
    want = { n, resolve };
    check();
  });
}

/** A fake tor Extended ORPort. `cookie()` is read per connection, as tor's current cookie. */
async function fakeExtOrPort(cookie: () => Buffer, behaviour: { reply?: 'okay' | 'deny' | 'silent'; afterOkay?: string } = {}): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(async (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    const record: Seen = { commands: [], bytesBeforeOkay: 0 };
    seen.push(record);
    if (behaviour.reply === 'silent') return;
    const read = reader(s);
    const key = cookie();
    s.write(Buffer.from([0x01, 0x00]));
    const [type] = await read(1);
    expect(type).toBe(1);
    const clientNonce = await read(32);
    const serverNonce = randomBytes(32);
    const label = (l: string) => Buffer.from(`ExtORPort authentication ${l} hash`, 'latin1');
    s.write(Buffer.concat([hmac(sha256, key, Buffer.concat([label('server-to-client'), clientNonce, serverNonce])), serverNonce]));
    const got = await read(32);
    record.hashOk = Buffer.from(hmac(sha256, key, Buffer.concat([label('client-to-server'), clientNonce, serverNonce]))).equals(got);
    s.write(Buffer.from([record.hashOk ? 1 : 0]));
    if (!record.hashOk) return void s.end();
    for (;;) {
      const head = await read(4);
      const body = await read(head.readUInt16BE(2));
      record.commands.push([head.readUInt16BE(0), body.toString('latin1')]);
      if (head.readUInt16BE(0) === 0) break;
    }
    // tor requires an empty buffer after DONE: anything the PT sends before OKAY is counted.
    let early = 0;
    const count = (d: Buffer): void => void (early += d.length);
    s.on('data', count);
    await new Promise((r) => setTimeout(r, 50));
    s.removeListener('data', count);
    record.bytesBeforeOkay = early;
    if (behaviour.reply === 'deny') return void s.write(Buffer.from([0x10, 0x01, 0, 0]));
    s.write(Buffer.concat([Buffer.from([0x10, 0x00, 0, 0]), Buffer.from(behaviour.afterOkay ?? '')]));
    s.removeAllListeners('data');
    s.pipe(s);
  });
  servers.push(server);
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return { port, seen };
}

function cookieFile(cookie: Buffer, name = 'cookie'): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([HEADER, cookie]));
  return path;
}

function extConfig(port: number, authCookieFile: string): OrPortConfig {
  return { extOrPort: { host: '127.0.0.1', port, family: 4 }, authCookieFile };
}

async function echoBack(socket: Socket, text: string): Promise<string> {
  sockets.push(socket);
  socket.resume();
  socket.write(text);
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) resolve(got);
    });
  });
}

test('SAFE_COOKIE, USERADDR, TRANSPORT, DONE; nothing before OKAY; bytes after OKAY kept', async () => {
  const cookie = randomBytes(32);
  const tor = await fakeExtOrPort(() => cookie, { afterOkay: 'tor-first' });
  const conn = await dialOrPort(extConfig(tor.port, cookieFile(cookie)), { client: { host: '198.51.100.4', port: 40554 } });
  expect(conn.extended).toBe(true);
  expect(Buffer.from(conn.leftover).toString()).toBe('tor-first');
  expect(tor.seen[0]).toEqual({
    hashOk: true,
    commands: [
      [0x0001, '198.51.100.4:40554'],
      [0x0002, 'dust'],
      [0x0000, ''],
    ],
    bytesBeforeOkay: 0,
  });
  expect(await echoBack(conn.socket, 'payload')).toBe('payload');
});

test('IPv6 clients are bracketed, IPv4-mapped ones sent as IPv4, non-IP ones omitted', async () => {
  const cookie = randomBytes(32);
  const tor = await fakeExtOrPort(() => cookie);
  const config = extConfig(tor.port, cookieFile(cookie));
  sockets.push((await dialOrPort(config, { client: { host: '2001:db8::7', port: 1 } })).socket);
  sockets.push((await dialOrPort(config, { client: { host: '::ffff:192.0.2.9', port: 2 } })).socket);
  sockets.push((await dialOrPort(config, { client: { host: 'unknown', port: 3 } })).socket);
  expect(tor.seen.map((s) => s.commands[0])).toEqual([
    [1, '[2001:db8::7]:1'],
    [1, '192.0.2.9:2'],
    [2, 'dust'],
  ]);
});

test('the cookie file is read again for every connection', async () => {
  let cookie = randomBytes(32);
  const tor = await fakeExtOrPort(() => cookie);
  const path = cookieFile(cookie);
  sockets.push((await dialOrPort(extConfig(tor.port, path))).socket);
  cookie = randomBytes(32); // tor restarted and rewrote the file
  cookieFile(cookie);
  sockets.push((await dialOrPort(extConfig(tor.port, path))).socket);
  expect(tor.seen.map((s) => s.hashOk)).toEqual([true, true]);
});

test.each([
  ['a wrong cookie', 'DUST_ERR_EXTOR_BAD_SERVER_HASH'],
  ['a missing cookie file', 'DUST_ERR_EXTOR_BAD_COOKIE_FILE'],
  ['a cookie file without the header', 'DUST_ERR_EXTOR_BAD_COOKIE_FILE'],
  ['DENY', 'DUST_ERR_EXTOR_DENIED'],
  ['silence', 'DUST_ERR_EXTOR_TIMEOUT'],
])('%s fails with %s', async (what, code) => {
  const cookie = randomBytes(32);
  const tor = await fakeExtOrPort(() => cookie, { reply: what === 'DENY' ? 'deny' : what === 'silence' ? 'silent' : 'okay' });
  let path = cookieFile(what === 'a wrong cookie' ? randomBytes(32) : cookie);
  if (what === 'a missing cookie file') path = join(dir, 'absent');
  if (what === 'a cookie file without the header') writeFileSync(path, Buffer.concat([Buffer.alloc(32, 0x41), cookie]));
  await expect(dialOrPort(extConfig(tor.port, path), { timeoutMs: 300 })).rejects.toMatchObject({ code });
  if (what.includes('cookie file')) expect(tor.seen).toEqual([]); // never connected
});

test('plain ORPort: just a TCP connection; refused keeps its code', async () => {
  const orport = createServer((s) => {
    sockets.push(s);
    s.pipe(s);
  });
  servers.push(orport);
  const port = await new Promise<number>((resolve) => orport.listen(0, '127.0.0.1', () => resolve((orport.address() as AddressInfo).port)));
  const conn = await dialOrPort({ orPort: { host: '127.0.0.1', port, family: 4 }, outboundBindAddressV4: '192.0.2.1' });
  expect(conn.extended).toBe(false);
  expect(await echoBack(conn.socket, 'or')).toBe('or');
  orport.close();
  servers.pop();
  conn.socket.destroy();
  await new Promise((r) => orport.once('close', r));
  await expect(dialOrPort({ orPort: { host: '127.0.0.1', port, family: 4 } })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});
