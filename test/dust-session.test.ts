/**
 * DustSession: the seed's Dust API over handshake, records and shaping (docs/session.md).
 */
import fc from 'fast-check';
import { concatBytes } from '../src/core/bytes.js';
import { systemRandom } from '../src/core/random.js';
import { DustSession } from '../src/core/session.js';
import { getBuiltinModel } from '../src/shaping/builtin-models.js';
import { parseModel, type DustModel } from '../src/shaping/model.js';
import { ShapingPrng } from '../src/shaping/prng.js';
import { ReplayFilter } from '../src/core/replay-filter.js';
import { serverIdentifier } from '../src/core/server-id.js';
import { generateServerIdentity } from '../src/core/server-keys.js';
import { drain, makePair, PAIR_UNIX_TIME_MS, sendDue, step, type SessionPair } from './support/session-pair.js';
import { seededRandom } from './support/seeded-random.js';

const text = getBuiltinModel('text');
const uniform = getBuiltinModel('uniform');
const bulk = getBuiltinModel('bulk');

/** Runs the pair on a virtual clock until `done()` or the step limit; returns the time reached. */
function runUntil(pair: SessionPair, done: () => boolean, stepMs = 10, maxSteps = 200_000, start = 0): number {
  let now = start;
  for (let i = 0; i < maxSteps && !done(); i++, now += stepMs) step(pair, now);
  return now;
}

function handshake(pair: SessionPair): void {
  runUntil(pair, () => pair.client.state !== 'handshaking', 5, 10_000);
  expect([pair.client.state, pair.server.state]).toEqual(['open', 'open']);
}

describe.each([
  ['uniform', uniform, 300_000],
  ['text', text, 20_000],
  ['bulk', bulk, 2_000_000],
] as const)('model %s', (_name, model, size) => {
  test('handshake, then data both ways arrives intact', () => {
    const pair = makePair(model);
    handshake(pair);
    const up = systemRandom(size);
    const down = systemRandom(size);
    pair.client.putDecoded(up);
    pair.server.putDecoded(down);
    const got = { up: [] as Uint8Array[], down: [] as Uint8Array[] };
    let upLength = 0;
    let downLength = 0;
    runUntil(pair, () => {
      const u = drain(pair.server);
      const d = drain(pair.client);
      got.up.push(u);
      got.down.push(d);
      upLength += u.length;
      downLength += d.length;
      return upLength >= size && downLength >= size;
    });
    expect(Buffer.compare(concatBytes(...got.up), up)).toBe(0);
    expect(Buffer.compare(concatBytes(...got.down), down)).toBe(0);
    expect([pair.client.state, pair.server.state]).toEqual(['open', 'open']);
  });
});

describe('traffic does not depend on data', () => {
  test('same randomness, with and without data: the same packet counts and lengths', () => {
    const trace = (withData: boolean) => {
      // The same server key too: the mark, and so the fit of the client's handshake, depends on it.
      const identity = generateServerIdentity(seededRandom(3));
      const pair = makePair(text, { clientRandom: seededRandom(1), serverRandom: seededRandom(2), identity });
      const seen: number[] = [];
      for (let now = 0; now < 20_000; now += 7) {
        if (withData && now % 700 === 0) {
          pair.client.putDecoded(systemRandom(3000));
          pair.server.putDecoded(systemRandom(9000));
        }
        for (const [from, to] of [
          [pair.client, pair.server],
          [pair.server, pair.client],
        ] as const) {
          const packets = sendDue(from, now);
          seen.push(packets.length, ...packets.map((p) => p.length));
          for (const p of packets) to.putEncoded(p);
        }
        drain(pair.client);
        drain(pair.server);
      }
      return seen;
    };
    const idle = trace(false);
    const busy = trace(true);
    expect(idle.length).toBeGreaterThan(1000);
    expect(busy).toEqual(idle);
  });
});

describe('the client handshake follows the model', () => {
  test('its first packets have exactly the lengths the model samples (text model)', () => {
    const runs = 40;
    for (let seed = 0; seed < runs; seed++) {
      const random = seededRandom(1000 + seed);
      // An independent replay of the session's shaping draws: the seed comes first.
      const shadowRandom = seededRandom(1000 + seed);
      const rng = new ShapingPrng(shadowRandom(32));
      text.durationMs.sample(rng);
      const pair = makePair(text, { clientRandom: random });
      const packets = sendDue(pair.client, 0);
      const expected = packets.map(() => text.clientToServer.lengthBytes.sample(rng));
      const lengths = packets.map((p) => p.length);
      expect(lengths.slice(0, -1)).toEqual(expected.slice(0, -1));
      expect(lengths.at(-1)).toBe(expected.at(-1));
      for (const p of packets) pair.server.putEncoded(p);
      expect(pair.server.state).toBe('open'); // the handshake packets alone authenticate the client
      expect(pair.client.packetCount(1)).toBe(0); // and then it waits for the answer
    }
  });

  test('with packets longer than any handshake (bulk), one short first packet', () => {
    const pair = makePair(bulk);
    const packets = sendDue(pair.client, 0);
    expect(packets.map((p) => p.length)).toEqual([32 + 16 + 32]);
  });
});

describe('failure and probes', () => {
  test('a tampered record fails the session: nothing more is delivered, padding goes on', () => {
    const pair = makePair(uniform);
    handshake(pair);
    pair.server.putDecoded(new Uint8Array(5000).fill(1));
    let now = 1000;
    let tampered = false;
    for (; now < 20_000 && !tampered; now += 10) {
      for (const packet of sendDue(pair.server, now)) {
        if (pair.client.state === 'open' && packet.length > 20) {
          packet[10]! ^= 0x04;
          tampered = true;
        }
        pair.client.putEncoded(packet);
      }
    }
    expect(pair.client.state).toBe('failed');
    expect(pair.client.failure).toMatch(/^DUST_ERR_BAD_(MAC|LENGTH|FLAGS|BLANK)$/);
    const delivered = pair.client.decodedReady();
    pair.client.putDecoded(new Uint8Array(100));
    let sent = 0;
    for (let t = now; t < now + 5000; t += 10) {
      for (const packet of sendDue(pair.client, t)) sent += packet.length;
      for (const packet of sendDue(pair.server, t)) pair.client.putEncoded(packet);
    }
    expect(sent).toBeGreaterThan(10_000); // ~20 packets/s of ~770 bytes for 5 s
    expect(pair.client.decodedReady()).toBe(delivered);
  });

  test('garbage makes the server a silent probe', () => {
    const pair = makePair(text);
    pair.server.putEncoded(systemRandom(20_000));
    expect([pair.server.state, pair.server.failure, pair.server.silent]).toEqual(['failed', 'DUST_ERR_PROBE', true]);
    for (let now = 0; now < 10_000; now += 100) expect(pair.server.packetCount(now)).toBe(0);
    expect(() => pair.server.getEncoded(10)).toThrow(RangeError);
    expect(pair.server.nextWakeup()).toBe(Infinity);
  });

  test('a server with another key stays silent towards a client', () => {
    const a = makePair(uniform);
    const b = makePair(uniform);
    for (const p of sendDue(a.client, 0)) b.server.putEncoded(p);
    expect(b.server.packetCount(10)).toBe(0);
    b.server.putEncoded(systemRandom(9000)); // no mark by byte 8,240
    expect([b.server.silent, b.server.failure]).toEqual([true, 'DUST_ERR_PROBE']);
  });

  test('a client that dialled another address fails the confirmation and keeps sending padding', () => {
    const identity = generateServerIdentity(systemRandom);
    const common = { model: uniform, now: 0, unixTimeMs: PAIR_UNIX_TIME_MS };
    const client = new DustSession({
      ...common,
      role: 'client',
      server: { publicKey: identity.staticKey.publicKey, serverId: serverIdentifier('198.51.100.7', 443) },
    });
    const server = new DustSession({
      ...common,
      role: 'server',
      staticKey: identity.staticKey,
      serverId: serverIdentifier('192.0.2.1', 443),
      replayFilter: new ReplayFilter(),
    });
    runUntil({ client, server }, () => client.state !== 'handshaking', 10, 1000);
    expect([client.state, client.failure]).toEqual(['failed', 'DUST_ERR_SERVER_MISMATCH']);
    let sent = 0;
    for (let now = 10_000; now < 15_000; now += 10) for (const p of sendDue(client, now)) sent += p.length;
    expect(sent).toBeGreaterThan(10_000);
  });

  test('garbage into a client never throws and never delivers', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 10 }), (chunks) => {
        const pair = makePair(uniform);
        handshake(pair);
        for (const c of chunks) pair.client.putEncoded(c);
        expect(['open', 'failed']).toContain(pair.client.state);
        expect(pair.client.decodedReady()).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  test('API misuse throws: reading more than is ready, time going backwards', () => {
    const pair = makePair(text);
    expect(() => pair.server.getDecoded(1)).toThrow(RangeError);
    pair.client.packetCount(100);
    expect(() => pair.client.packetCount(50)).toThrow(/backwards/);
    expect(() => pair.client.getEncoded(1_000_000)).toThrow(/before the handshake completes/);
  });
});

describe('model prefixes', () => {
  const withPrefix = (c2s: string, s2c: string): DustModel => {
    const definition = JSON.parse(JSON.stringify(text.definition));
    definition.client_to_server.prefix = { ascii: c2s };
    definition.server_to_client.prefix = { ascii: s2c };
    return parseModel(definition, 'test-prefix');
  };

  test('each direction starts with its prefix, and the receiver strips it', () => {
    const model = withPrefix('GET / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n');
    const pair = makePair(model);
    const first = sendDue(pair.client, 0);
    expect(Buffer.from(first[0]!.subarray(0, 16)).toString()).toBe('GET / HTTP/1.1\r\n');
    for (const p of first) pair.server.putEncoded(p);
    const answer = sendDue(pair.server, 1);
    expect(Buffer.from(answer[0]!.subarray(0, 17)).toString()).toBe('HTTP/1.1 200 OK\r\n');
    for (const p of answer) pair.client.putEncoded(p);
    expect(pair.client.state).toBe('open');
    pair.client.putDecoded(Buffer.from('hello'));
    const got: Uint8Array[] = [];
    runUntil(pair, () => (got.push(drain(pair.server)), Buffer.concat(got).length >= 5), 10, 10_000, 2);
    expect(Buffer.concat(got).toString()).toBe('hello');
  });

  test('a client with another prefix is a probe to the server', () => {
    const server = makePair(withPrefix('GET / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n')).server;
    const client = makePair(withPrefix('POST / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n')).client;
    for (const p of sendDue(client, 0)) server.putEncoded(p);
    expect([server.silent, server.failure]).toEqual([true, 'DUST_ERR_PROBE']);
  });
});

describe('chunking', () => {
  test('the handshake and records survive any split of the shaped stream', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }), (sizes) => {
        const pair = makePair(text);
        const split = (bytes: Uint8Array, to: DustSession) => {
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const size = sizes[i % sizes.length]!;
            to.putEncoded(bytes.subarray(at, at + size));
            at += size;
          }
        };
        const message = Buffer.from('split me any way you like');
        pair.client.putDecoded(message);
        let now = 0;
        const got: Uint8Array[] = [];
        for (; now < 60_000 && Buffer.concat(got).length < message.length; now += 20) {
          split(concatBytes(...sendDue(pair.client, now)), pair.server);
          split(concatBytes(...sendDue(pair.server, now)), pair.client);
          got.push(drain(pair.server));
        }
        expect(Buffer.concat(got).toString()).toBe(message.toString());
      }),
      { numRuns: 25 },
    );
  });
});
