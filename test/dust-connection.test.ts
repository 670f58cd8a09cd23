/**
 * One DustSession per TCP connection on loopback: data both ways, the client's duration, and the
 * server's behaviour towards probes (DECISIONS.md "Handshake": silence, read and discard, close
 * after the fixed delay whatever was sent).
 */
import { createHash } from 'node:crypto';
import { connect, type AddressInfo, type Server } from 'node:net';
import { ReplayFilter } from '../src/core/replay-filter.js';
import { systemRandom } from '../src/core/random.js';
import { serverIdentifier } from '../src/core/server-id.js';
import { generateServerIdentity, type ServerIdentity } from '../src/core/server-keys.js';
import { DustSession } from '../src/core/session.js';
import { createDustServer, dialDust } from '../src/drivers/transport.js';
import { getBuiltinModel } from '../src/shaping/builtin-models.js';
import { parseModel, type DustModel } from '../src/shaping/model.js';
import { StreamPeer } from './support/stream-peer.js';

const sha = (chunks: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

interface Harness {
  server: Server;
  port: number;
  identity: ServerIdentity;
  serverPeers: StreamPeer[];
}

async function startServer(model: DustModel, payload: Uint8Array, probeCloseDelayMs?: number): Promise<Harness> {
  const identity = generateServerIdentity(systemRandom);
  if (probeCloseDelayMs !== undefined) identity.probeCloseDelayMs = probeCloseDelayMs;
  const serverPeers: StreamPeer[] = [];
  const server = createDustServer({ model, identity, replayFilter: new ReplayFilter() }, () => {
    const peer = new StreamPeer(payload);
    serverPeers.push(peer);
    return peer;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, identity, serverPeers };
}

const stop = (h: Harness) => new Promise<void>((resolve) => h.server.close(() => resolve()));

/** A client connection to `h` whose driver reads time from `clock`. */
const dialWithClock = (h: Harness, model: DustModel, peer: StreamPeer, clock: () => number) =>
  dialDust({ host: '127.0.0.1', port: h.port, model, serverPublicKey: h.identity.staticKey.publicKey, peer, connection: { clock } });

describe('Dust over one TCP connection', () => {
  test('bulk model: 8 MiB each way arrive intact', async () => {
    const model = getBuiltinModel('bulk');
    const down = systemRandom(8 << 20);
    const up = systemRandom(8 << 20);
    const h = await startServer(model, down);
    const clientPeer = new StreamPeer(up);
    const connection = await dialDust({ host: '127.0.0.1', port: h.port, model, serverPublicKey: h.identity.staticKey.publicKey, peer: clientPeer });
    try {
      await clientPeer.until(() => clientPeer.receivedBytes >= down.length && (h.serverPeers[0]?.receivedBytes ?? 0) >= up.length);
      expect(sha(clientPeer.received)).toBe(sha([down]));
      expect(sha(h.serverPeers[0]!.received)).toBe(sha([up]));
    } finally {
      connection.close();
      await stop(h);
    }
  });

  // The handshake packet carries no data, so it must not count as "streaming": a first small
  // message under on_demand flow goes at once, not after the small-packet wait. With the client's
  // clock frozen, a held packet would never leave.
  test('on_demand: a small first message is not held back behind the handshake', async () => {
    const model = getBuiltinModel('bulk');
    const h = await startServer(model, new Uint8Array(0));
    const frozen = performance.now() + 1000;
    const clientPeer = new StreamPeer(Buffer.from('hello, bridge'));
    const connection = await dialWithClock(h, model, clientPeer, () => frozen);
    try {
      await clientPeer.until(() => (h.serverPeers[0]?.receivedBytes ?? 0) >= 13);
      expect(Buffer.concat(h.serverPeers[0]!.received).toString()).toBe('hello, bridge');
    } finally {
      connection.close();
      await stop(h);
    }
  });

  test('on_demand: an idle connection gives its packet buffers back once, and still sends after', async () => {
    const model = getBuiltinModel('bulk');
    const h = await startServer(model, new Uint8Array(0));
    let skipped = 1000; // the client's clock runs ahead by this much: time can be skipped
    const clientPeer = new StreamPeer(systemRandom(20_000));
    const connection = await dialWithClock(h, model, clientPeer, () => performance.now() + skipped);
    try {
      await clientPeer.until(() => (h.serverPeers[0]?.receivedBytes ?? 0) >= 20_000);
      const trim = jest.spyOn(connection.session, 'trimBuffers');
      connection.notifyWritable();
      expect(trim).not.toHaveBeenCalled(); // not idle long enough
      skipped += 2500;
      connection.notifyWritable();
      connection.notifyWritable();
      expect(trim).toHaveBeenCalledTimes(1);
      clientPeer.append(Buffer.from('after the trim'));
      connection.notifyWritable();
      await clientPeer.until(() => h.serverPeers[0]!.receivedBytes >= 20_014);
      expect(Buffer.concat(h.serverPeers[0]!.received).subarray(20_000).toString()).toBe('after the trim');
    } finally {
      connection.close();
      await stop(h);
    }
  });

  test('the client closes when the model duration has passed', async () => {
    const definition = JSON.parse(JSON.stringify(getBuiltinModel('uniform').definition));
    definition.duration_ms = { family: 'fixed', value: 700 };
    const model = parseModel(definition, 'short');
    const h = await startServer(model, Buffer.from('hello'));
    const clientPeer = new StreamPeer(Buffer.from('world'));
    const started = performance.now();
    await dialDust({ host: '127.0.0.1', port: h.port, model, serverPublicKey: h.identity.staticKey.publicKey, peer: clientPeer });
    await clientPeer.until(() => clientPeer.closeReason !== null);
    const elapsed = performance.now() - started;
    expect(clientPeer.closeReason).toBe('duration');
    expect(elapsed).toBeGreaterThan(650);
    expect(elapsed).toBeLessThan(1500);
    expect(Buffer.concat(clientPeer.received).toString()).toBe('hello');
    await h.serverPeers[0]!.until(() => h.serverPeers[0]!.closeReason !== null);
    expect(Buffer.concat(h.serverPeers[0]!.received).toString()).toBe('world');
    await stop(h);
  });
});

describe('probes see the same server whatever they send', () => {
  const DELAY = 600;

  /** Connects, runs `act`, and reports what came back and when the server closed. */
  function probe(port: number, act: (send: (b: Uint8Array) => void, end: () => void) => void) {
    return new Promise<{ bytesBack: number; closedAfterMs: number }>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      let bytesBack = 0;
      let started = 0;
      socket.on('connect', () => {
        started = performance.now();
        act(
          (b) => socket.write(b),
          () => socket.end(),
        );
      });
      socket.on('data', (d) => (bytesBack += d.length));
      socket.on('error', () => undefined);
      socket.on('end', () => {
        resolve({ bytesBack, closedAfterMs: performance.now() - started });
        socket.destroy();
      });
    });
  }

  test('random bytes, long garbage, silence, an early FIN and a replayed handshake', async () => {
    const model = getBuiltinModel('text');
    const h = await startServer(model, Buffer.from('secret'), DELAY);
    // A genuine client hello for this server, sent once (the server answers it), then replayed.
    const hello = new DustSession({
      role: 'client',
      model,
      now: 0,
      unixTimeMs: Date.now(),
      server: { publicKey: h.identity.staticKey.publicKey, serverId: serverIdentifier('127.0.0.1', h.port) },
    });
    const firstPackets = Buffer.concat(Array.from({ length: hello.packetCount(0) }, () => hello.getEncoded(hello.encodedReady())));
    const answered = await new Promise<number>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: h.port }, () => socket.write(firstPackets));
      socket.once('data', (d) => {
        resolve(d.length);
        socket.destroy();
      });
    });
    expect(answered).toBeGreaterThan(0);
    const cases: Array<[string, (send: (b: Uint8Array) => void, end: () => void) => void]> = [
      ['random 100 bytes', (send) => send(systemRandom(100))],
      ['random 20,000 bytes', (send) => send(systemRandom(20_000))],
      ['nothing at all', () => undefined],
      ['50 bytes then FIN', (send, end) => (send(systemRandom(50)), end())],
      ['a replayed client hello', (send) => send(firstPackets)],
    ];
    const results = await Promise.all(cases.map(([, act]) => probe(h.port, act)));
    for (const [i, [name]] of cases.entries()) {
      const r = results[i]!;
      expect({ name, bytesBack: r.bytesBack }).toEqual({ name, bytesBack: 0 });
      expect(r.closedAfterMs).toBeGreaterThan(DELAY - 50);
      expect(r.closedAfterMs).toBeLessThan(DELAY + 300);
    }
    await stop(h);
  });
});
