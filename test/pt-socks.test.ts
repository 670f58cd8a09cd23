/**
 * pt-spec §3.5 and tor-pt.md §3 end to end: the `socks` package (as tor would) talks to the client
 * PT binary's SOCKS5 port with bridge arguments in RFC 1929 credentials; every failure gets its
 * exact RFC 1928 reply, and bad bridge arguments also a LOG line naming the argument.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocksClient } from 'socks';
import { encodeBridgeKey } from '../src/core/server-keys.js';
import { formatSocksArgs, splitSocksArgsForRfc1929 } from '../src/pt/args.js';
import { builtinModels, getBuiltinModel } from '../src/shaping/builtin-models.js';
import { modelDigest } from '../src/shaping/model-digest.js';
import { clientEnv, killAllPts, methodPort, startPt, type PtProcess } from './support/pt-process.js';

const BUILTIN_NAMES = [...builtinModels.keys()].join(', ');

const KEY = encodeBridgeKey(Uint8Array.from({ length: 32 }, (_, i) => i + 1));
let root: string;
let pt: PtProcess;
let socksPort: number;
let closedPort: number;
const servers: Server[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dust-socks-'));
  pt = startPt(clientEnv(join(root, 'state')));
  socksPort = methodPort(await pt.line(/^CMETHOD dust /));
  await pt.line(/^STATUS /);
  // A port nobody listens on: where the "bridge" refuses.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
});
afterAll(async () => {
  await killAllPts();
  for (const s of servers) s.close();
  rmSync(root, { recursive: true, force: true });
});

/** Connects through the PT's SOCKS port with tor's argument encoding; resolves with the error message or 'connected'. */
async function socksTry(args: string | undefined, host = '127.0.0.1', port = closedPort): Promise<string> {
  let auth = {};
  if (args !== undefined) {
    const { username, password } = splitSocksArgsForRfc1929(args);
    auth = { userId: Buffer.from(username).toString('latin1'), password: Buffer.from(password).toString('latin1') };
  }
  try {
    const info = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: socksPort, type: 5, ...auth },
      command: 'connect',
      destination: { host, port },
      timeout: 10_000,
    });
    info.socket.destroy();
    return 'connected';
  } catch (err) {
    return (err as Error).message;
  }
}

const logsAfter = (n: number): string[] => pt.lines.slice(n).filter((l) => l.startsWith('LOG '));
async function nextLog(before: number): Promise<string> {
  for (let i = 0; i < 100 && logsAfter(before).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  return logsAfter(before)[0] ?? '(no LOG line)';
}

test('a refused bridge: reply 05 (Connection refused) and a scrubbed LOG warning', async () => {
  const before = pt.lines.length;
  expect(await socksTry(formatSocksArgs([['key', KEY], ['model', 'bulk']]))).toBe('Socks5 proxy rejected connection - ConnectionRefused');
  const log = await nextLog(before);
  expect(log).toMatch(new RegExp(`^LOG SEVERITY=warning MESSAGE="dust\\[\\d+\\]: connection to the bridge \\[scrubbed\\]:${closedPort} failed: .*ECONNREFUSED.* \\(SOCKS reply: Connection refused\\)"$`));
  expect(log).not.toContain('127.0.0.1');
});

test('an IPv6 bridge address is used as such (refused here: 05)', async () => {
  expect(await socksTry(formatSocksArgs([['key', KEY], ['model', 'bulk']]), '::1', closedPort)).toBe('Socks5 proxy rejected connection - ConnectionRefused');
});

test.each([
  [[['model', 'bulk']], 'key', "missing argument 'key' (the bridge's public key)"],
  [[['key', KEY]], 'model', "missing argument 'model' (a built-in model name or a file in the models directory)"],
  [[['key', 'short'], ['model', 'bulk']], 'key', 'key \\"short\\": bridge key must be 43 characters of unpadded base64url (a 32-byte X25519 public key)'],
  [[['key', KEY], ['model', 'nosuch']], 'model', `model \\"nosuch\\" is not a built-in model (${BUILTIN_NAMES}) and no models directory was given (-modelsDir)`],
  [
    [['key', KEY], ['model', 'bulk'], ['model-digest', 'f'.repeat(64)]],
    'model-digest',
    `model-digest mismatch for model \\"bulk\\": the bridge line says ${'f'.repeat(64)}, the built-in model has ${modelDigest(getBuiltinModel('bulk'))}`,
  ],
] as Array<[Array<[string, string]>, string, string]>)('bad bridge arguments %j: general failure and a LOG line naming %s', async (args, argument, text) => {
  const before = pt.lines.length;
  expect(await socksTry(formatSocksArgs(args))).toBe('Socks5 proxy rejected connection - Failure');
  expect(await nextLog(before)).toMatch(new RegExp(`^LOG SEVERITY=warning MESSAGE="dust\\[\\d+\\]: bad bridge argument '${argument}': ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`));
});

test('no arguments at all (no-auth greeting): general failure naming the key', async () => {
  const before = pt.lines.length;
  expect(await socksTry(undefined)).toBe('Socks5 proxy rejected connection - Failure');
  expect(await nextLog(before)).toContain("bad bridge argument 'key': missing argument 'key'");
});

test('arguments over 255 bytes are split across UNAME and PASSWD and put back together', async () => {
  const args = formatSocksArgs([['key', KEY], ['model', 'bulk'], ['padding', 'x'.repeat(300)]]);
  expect(Buffer.byteLength(args)).toBeGreaterThan(255);
  // Parsed fine (the unknown key is ignored), so the dial happens and is refused: 05, not 01.
  expect(await socksTry(args)).toBe('Socks5 proxy rejected connection - ConnectionRefused');
});

test('malformed argument text: RFC 1929 status 01 (obfs4proxy behaviour)', async () => {
  expect(await socksTry('key')).toBe('Socks5 Authentication failed');
  expect(await socksTry('key=a\\')).toBe('Socks5 Authentication failed');
});

test('a host name target: reply 08 (Address type not supported)', async () => {
  const before = pt.lines.length;
  expect(await socksTry(formatSocksArgs([['key', KEY], ['model', 'bulk']]), 'bridge.example', 443)).toBe('Socks5 proxy rejected connection - AddressNotSupported');
  expect(await nextLog(before)).toContain("the SOCKS request names a host, not an IP address");
});

test('a SOCKS4 request is closed without a reply', async () => {
  const message = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: socksPort, type: 4 },
    command: 'connect',
    destination: { host: '127.0.0.1', port: 80 },
    timeout: 5000,
  }).then(
    () => 'connected',
    (err: Error) => err.message,
  );
  expect(message).toBe('Socket closed');
});
