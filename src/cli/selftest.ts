/**
 * The in-memory self-test behind `dust demo` until the TCP transport exists: a client and a
 * server DustSession back to back on a virtual clock, a random payload each way, sha256 checked,
 * then a short table of what went over the "wire" against the model.
 * @module
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ReplayFilter } from '../core/replay-filter.js';
import { systemRandom } from '../core/random.js';
import { serverIdentifier } from '../core/server-id.js';
import { generateServerIdentity } from '../core/server-keys.js';
import { DustSession } from '../core/session.js';
import { resolveModel } from './model-arg.js';
import { TrafficObserver, formatTrafficTable } from './traffic-report.js';
import { UsageError } from './usage-error.js';

const STEP_MS = 10;
const MAX_VIRTUAL_MS = 24 * 3600 * 1000;

export async function runSelfTest(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string', default: 'uniform' }, size: { type: 'string', default: '1048576' } },
    strict: true,
  });
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 1 || size > 256 * 1024 * 1024) {
    throw new UsageError(`--size must be a whole number of bytes in 1..268435456, got ${JSON.stringify(values.size)}`);
  }
  const model = resolveModel(values.model!);
  const out = (line: string) => process.stdout.write(line + '\n');
  out(`dust demo (in memory): model "${model.name}", ${size} bytes each way`);

  const identity = generateServerIdentity(systemRandom);
  const serverId = serverIdentifier('127.0.0.1', 443);
  const unixTimeMs = Date.now();
  const client = new DustSession({ role: 'client', model, now: 0, unixTimeMs, server: { publicKey: identity.staticKey.publicKey, serverId } });
  const server = new DustSession({ role: 'server', model, now: 0, unixTimeMs, staticKey: identity.staticKey, serverId, replayFilter: new ReplayFilter() });
  const up = systemRandom(size);
  const down = systemRandom(size);
  const upHash = createHash('sha256');
  const downHash = createHash('sha256');
  let upGot = 0;
  let downGot = 0;
  const wire = { c2s: new TrafficObserver(), s2c: new TrafficObserver() };
  let queued = false;
  let now = 0;
  let lastReport = 0;
  for (; now < MAX_VIRTUAL_MS && (upGot < size || downGot < size); now += STEP_MS) {
    if (!queued && client.state === 'open') {
      client.putDecoded(up);
      server.putDecoded(down);
      queued = true;
      out(`  handshake done at ${now} ms (virtual): client ${client.state}, server ${server.state}`);
    }
    for (let n = client.packetCount(now); n > 0; n--) {
      const packet = client.getEncoded(client.encodedReady());
      wire.c2s.observe(packet);
      server.putEncoded(packet);
    }
    for (let n = server.packetCount(now); n > 0; n--) {
      const packet = server.getEncoded(server.encodedReady());
      wire.s2c.observe(packet);
      client.putEncoded(packet);
    }
    const atServer = server.getDecoded(server.decodedReady());
    const atClient = client.getDecoded(client.decodedReady());
    upHash.update(atServer);
    downHash.update(atClient);
    upGot += atServer.length;
    downGot += atClient.length;
    if (now - lastReport >= 10_000) {
      lastReport = now;
      out(`  ${(now / 1000).toFixed(0)} s: up ${percent(upGot, size)}, down ${percent(downGot, size)}`);
    }
    if (client.state === 'failed' || server.state === 'failed') break;
  }
  const ok =
    upGot === size &&
    downGot === size &&
    upHash.digest('hex') === createHash('sha256').update(up).digest('hex') &&
    downHash.digest('hex') === createHash('sha256').update(down).digest('hex');
  out('');
  out(formatTrafficTable(model, wire, { virtualMs: now, payloadBytes: size }));
  out('');
  out(ok ? 'OK: both payloads arrived intact (sha256 match)' : `FAILED: client ${client.state} ${client.failure ?? ''}, server ${server.state} ${server.failure ?? ''}`);
  return ok ? 0 : 1;
}

function percent(got: number, size: number): string {
  return `${((100 * got) / size).toFixed(0)}%`;
}
