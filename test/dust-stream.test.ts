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
  }, 240_000);

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
  }, 240_000);

  test('a proxy that resets connections at random points: nothing lost or duplicated', async () => {
    const model = getBuiltinModel('bulk');
    const up = systemRandom(24 << 20);
    const down = systemRandom(24 << 20);
    const bridge = await startBridge(model, () => down);
    // Between client and bridge: relays both ways, then resets both sides after a random number
    // of bytes (1.5 .. 4.5 MB), as a middlebox or a flaky path would.
    let resets = 0;
    const proxy = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: bridge.port });
      let budget = 1_500_000 + Math.floor(Math.random() * 3_000_000);
      const relay = (from: Socket, to: Socket) =>
        from.on('data', (chunk: Buffer) => {
          budget -= chunk.length;
          if (budget <= 0) {
            if (!inbound.destroyed) resets++;
            inbound.resetAndDestroy();
            outbound.resetAndDestroy();
            return;
          }
          to.write(chunk);
        });
      relay(inbound, outbound);
      relay(outbound, inbound);
      for (const s of [inbound, outbound]) s.on('error', () => undefined);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as AddressInfo).port;
    try {
      const stream = await openDustStream({
        bridge: { host: '127.0.0.1', port: bridge.port, publicKey: bridge.publicKey, model },
        connect: () =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect({ host: '127.0.0.1', port: proxyPort }, () => resolve(s));
            s.once('error', reject);
          }),
      });
      const got = await exchange(stream, up);
      expect(sha(got)).toBe(sha(down));
      expect(sha(await bridge.received[0]!)).toBe(sha(up));
      expect(resets).toBeGreaterThanOrEqual(20);
    } finally {
      await closeServer(proxy);
      await closeServer(bridge.server);
    }
  }, 240_000);

  test('200 concurrent sessions through one server, all intact, memory bounded', async () => {
    const model = getBuiltinModel('bulk');
    const sessions = 200;
    const size = 256 * 1024;
    const ups = Array.from({ length: sessions }, () => systemRandom(size));
    const downs = Array.from({ length: sessions }, () => systemRandom(size));
    // The server answers each session with the payload whose index the client sends first.
    const identity = generateServerIdentity(systemRandom);
    const received: Array<Promise<[number, Buffer]>> = [];
    const server = createDustListener({ model, identity }, (stream) => {
      received.push(
        new Promise((resolve, reject) => {
          const chunks: Buffer[] = [];
          let replied = false;
          stream.on('data', (c: Buffer) => {
            chunks.push(c);
            const all = Buffer.concat(chunks);
            if (!replied && all.length >= 4) {
              replied = true;
              stream.end(downs[all.readUInt32BE(0)]!);
            }
          });
          stream.on('end', () => {
            const all = Buffer.concat(chunks);
            resolve([all.readUInt32BE(0), all.subarray(4)]);
          });
          stream.on('error', reject);
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    try {
      const results = await Promise.all(
        ups.map(async (up, i) => {
          const stream = await openDustStream({ bridge: { host: '127.0.0.1', port, publicKey: identity.staticKey.publicKey, model } });
          const index = Buffer.alloc(4);
          index.writeUInt32BE(i);
          return exchange(stream, Buffer.concat([index, up]));
        }),
      );
      results.forEach((got, i) => expect(sha(got)).toBe(sha(downs[i]!)));
      const atServer = await Promise.all(received);
      expect(atServer.length).toBe(sessions);
      for (const [i, data] of atServer) expect(sha(data)).toBe(sha(ups[i]!));
      // Client and server live in this process: 200 sessions moving 100 MiB in all.
      expect(rssPeak - rssBefore).toBeLessThan(600 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
      await closeServer(server);
    }
  }, 240_000);

  test('opening fails clearly: refused, a silent server, the wrong key', async () => {
    const model = getBuiltinModel('bulk');
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const bridge = await startBridge(model, () => new Uint8Array(0));
    const open = (port: number, publicKey: Uint8Array) =>
      openDustStream({ bridge: { host: '127.0.0.1', port, publicKey, model }, openTimeoutMs: 700 });
    try {
      await expect(open(closedPort, bridge.publicKey)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(open((silent.address() as AddressInfo).port, bridge.publicKey)).rejects.toMatchObject({ code: 'DUST_ERR_HANDSHAKE_TIMEOUT' });
      await expect(open(bridge.port, systemRandom(32))).rejects.toMatchObject({ code: 'DUST_ERR_HANDSHAKE_TIMEOUT' });
    } finally {
      await closeServer(silent);
      // The bridge keeps the wrong-key connection until its probe delay (30-90 s): do not wait.
      bridge.server.close();
      bridge.server.unref();
    }
  }, 30_000);

  test('probes closed by the server after its delay leave the session table untouched', async () => {
    const model = getBuiltinModel('bulk');
    const identity = generateServerIdentity(systemRandom);
    identity.probeCloseDelayMs = 300;
    const server = createDustListener({ model, identity }, (stream) => stream.pipe(stream));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await Promise.all(
        [0, 100, 20_000].map(
          (size) =>
            new Promise<void>((resolve) => {
              const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => socket.end(systemRandom(size)));
              socket.on('error', () => undefined);
              socket.on('close', () => resolve());
              socket.resume();
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      const stream = await openDustStream({ bridge: { host: '127.0.0.1', port, publicKey: identity.staticKey.publicKey, model } });
      expect((await exchange(stream, Buffer.from('still here'))).toString()).toBe('still here');
    } finally {
      await closeServer(server);
    }
  }, 30_000);

  // The client's last Close OK (or its abort) must leave before it closes its connection, or the
  // bridge keeps the session until its idle timeout and soon refuses New with 0xF0.
  test.each([
    ['bulk', 'end'],
    ['bulk', 'destroy'],
    ['text', 'end'],
  ] as const)('%s, streams ended by %s: the bridge forgets each session at once', async (modelName, ending) => {
    const model = getBuiltinModel(modelName);
    const identity = generateServerIdentity(systemRandom);
    const server = createDustListener({ model, identity, ensemble: { maxSessions: 2 } }, (stream) => {
      stream.on('error', () => undefined);
      stream.pipe(stream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      for (let i = 0; i < 5; i++) {
        const stream = await openDustStream({ bridge: { host: '127.0.0.1', port, publicKey: identity.staticKey.publicKey, model } });
        if (ending === 'end') {
          expect((await exchange(stream, Buffer.from(`stream ${i}`))).toString()).toBe(`stream ${i}`);
          // Destroyed when the Ensemble session is over (both Close / Close OK exchanges done).
          if (!stream.destroyed) await new Promise((resolve) => stream.once('close', resolve));
        } else {
          stream.write(`stream ${i}`);
          expect(String(await new Promise((resolve) => stream.once('data', resolve)))).toBe(`stream ${i}`);
          stream.destroy();
        }
        // The server drops the session when the last Close OK (or the abort) arrives.
        await new Promise((r) => setTimeout(r, modelName === 'text' ? 1500 : 100));
      }
    } finally {
      await closeServer(server);
    }
  }, 60_000);

  test('the stream opens with the Dust handshake; a bridge that refuses the session ends it with the reason', async () => {
    const model = getBuiltinModel('bulk');
    const identity = generateServerIdentity(systemRandom);
    const server = createDustListener({ model, identity, ensemble: { maxSessions: 0 } }, () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const stream = await openDustStream({ bridge: { host: '127.0.0.1', port, publicKey: identity.staticKey.publicKey, model } });
      stream.write('written before New OK');
      const error = await new Promise<Error>((resolve) => stream.once('error', resolve));
      expect((error as Error & { code?: string }).code).toBe('DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS');
    } finally {
      await closeServer(server);
    }
  });

  test('the code awaiting the open stream runs before New is written (a SOCKS reply goes first)', async () => {
    const bridge = await startBridge(getBuiltinModel('bulk'), () => new Uint8Array(0));
    const order: string[] = [];
    let packets = 0;
    try {
      const opening = openDustStream({
        bridge: { host: '127.0.0.1', port: bridge.port, publicKey: bridge.publicKey, model: getBuiltinModel('bulk') },
        connect: (host, port) =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect({ host, port, noDelay: true }, () => resolve(s));
            const write = s.write.bind(s) as (chunk: Uint8Array) => boolean;
            // Packet 1 is the client's handshake, packet 2 carries New.
            s.write = ((chunk: Uint8Array) => (order.push(`packet ${++packets}`), write(chunk))) as typeof s.write;
            s.once('error', reject);
          }),
      });
      const stream = await opening;
      order.push('opened');
      await new Promise((r) => setTimeout(r, 50));
      const firstEvents = order.slice(0, 3);
      expect(await exchange(stream, new Uint8Array(0))).toHaveLength(0); // a clean close either way
      expect(firstEvents).toEqual(['packet 1', 'opened', 'packet 2']);
    } finally {
      await closeServer(bridge.server);
    }
  });
});
