/**
 * Logical Dust streams over many TCP connections on loopback (Ensemble + DustConnection):
 * large transfers, forced reconnections, connections reset at random points, many sessions at
 * once. Every byte must arrive exactly once, in order (sha256 both ways).
 */
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { systemRandom } from '../src/core/random.js';
import { generateServerIdentity } from '../src/core/server-keys.js';
import { openDustStream } from '../src/drivers/dust-stream-client.js';
import { createDustListener } from '../src/drivers/dust-stream-server.js';
import { getBuiltinModel } from '../src/shaping/builtin-models.js';
import { parseModel, type DustModel } from '../src/shaping/model.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A bulk-like model whose connections last `ms`. */
function shortLived(ms: number): DustModel {
  const definition = JSON.parse(JSON.stringify(getBuiltinModel('bulk').definition));
  definition.duration_ms = { family: 'fixed', value: ms };
  return parseModel(definition, `bulk-${ms}ms`);
}

/** Collects everything until the peer ends; resolves with what arrived. */
function collect(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Sends `payload` (then ends our direction) and collects what the peer sends. */
function exchange(stream: Duplex, payload: Uint8Array): Promise<Buffer> {
  const got = collect(stream);
  stream.end(payload);
  return got;
}

interface Bridge {
  server: Server;
  port: number;
  publicKey: Uint8Array;
  received: Promise<Buffer>[];
}

async function startBridge(model: DustModel, replyFor: (i: number) => Uint8Array): Promise<Bridge> {
  const identity = generateServerIdentity(systemRandom);
  const received: Promise<Buffer>[] = [];
  const server = createDustListener({ model, identity }, (stream) => {
    received.push(exchange(stream, replyFor(received.length)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, publicKey: identity.staticKey.publicKey, received };
}

const closeServer = (s: Server) =>
  new Promise<void>((resolve) => {
    s.close(() => resolve());
    (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });

describe('Dust streams over Ensemble', () => {
  test('64 MiB each way with the bulk model', async () => {
    const up = systemRandom(64 << 20);
    const down = systemRandom(64 << 20);
    const model = getBuiltinModel('bulk');
    const bridge = await startBridge(model, () => down);
    try {
      const stream = await openDustStream({ bridge: { host: '127.0.0.1', port: bridge.port, publicKey: bridge.publicKey, model } });
      const got = await exchange(stream, up);
      expect(sha(got)).toBe(sha(down));
      expect(sha(await bridge.received[0]!)).toBe(sha(up));
    } finally {
      await closeServer(bridge.server);
    }
  }, 120_000);

  test('150 ms connections: dozens of reconnections mid-stream, intact', async () => {
    const model = shortLived(150);
    const up = systemRandom(24 << 20);
    const down = systemRandom(24 << 20);
    const bridge = await startBridge(model, () => down);
    let connections = 0;
    try {
      const stream = await openDustStream({
        bridge: { host: '127.0.0.1', port: bridge.port, publicKey: bridge.publicKey, model },
        connect: (host, port) =>
          new Promise<Socket>((resolve, reject) => {
            connections++;
            const s = connect({ host, port }, () => resolve(s));
            s.once('error', reject);
          }),
      });
      // Slow the writer so the transfer spans many connection lifetimes.
      const got = collect(stream);
      for (let at = 0; at < up.length; at += 600_000) {
        stream.write(up.subarray(at, at + 600_000));
        await new Promise((r) => setTimeout(r, 100));
      }
      stream.end();
      expect(sha(await got)).toBe(sha(down));
      expect(sha(await bridge.received[0]!)).toBe(sha(up));
      expect(connections).toBeGreaterThanOrEqual(20);
    } finally {
      await closeServer(bridge.server);
    }
  }, 120_000);
});
