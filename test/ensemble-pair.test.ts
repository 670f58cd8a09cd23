/**
 * Ensemble client and server together (seed "Ensemble Protocol"; docs/ensemble.md): one logical
 * stream over successive and simultaneous connections, checked with scripted scenarios on a
 * zero-latency pair and with thousands of random schedules on the virtual-clock simulator, where
 * connections die at random moments, each side notices late, and in-flight bytes are cut at a
 * random point. In every schedule each byte must arrive exactly once and in order, both ways.
 */
import fc from 'fast-check';
import { bytesToHex } from '../src/core/bytes.js';
import { EARLY_DATA_BYTES } from '../src/ensemble/endpoint.js';
import { MessageDecoder, encodeMessage, type Message } from '../src/ensemble/messages.js';
import { Pair, Prng, simulate, type SimParams, type SimResult } from './ensemble-sim.js';

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function decode(bytes: Uint8Array | null): Message[] {
  return bytes === null ? [] : new MessageDecoder().push(bytes);
}

function encodeAll(messages: Message[]): Uint8Array {
  return new Uint8Array(Buffer.concat(messages.map((m) => encodeMessage(m))));
}

function openedSession(pair: Pair): number {
  const e = pair.serverEvents.find((x) => x.type === 'session-opened');
  if (e === undefined || e.type !== 'session-opened') throw new Error('no session opened');
  return e.session;
}

describe('Ensemble pair: scripted', () => {
  test('one connection carries both directions and a clean close', () => {
    const pair = new Pair();
    const c1 = pair.connect();
    const rng = new Prng(11);
    const up = rng.bytes(50_000);
    const down = rng.bytes(70_000);
    expect(pair.client.write(up)).toBe(up.length);
    pair.client.close();
    const hello = pair.client.pollSend(c1, 1400)!;
    expect(bytesToHex(hello)).toBe('00'); // New Request first
    pair.server.receive(c1, hello, pair.now);
    pair.pump();
    const session = openedSession(pair);
    expect(same(pair.upstreamBytes(session), up)).toBe(true);
    expect(pair.serverEvents).toContainEqual({ type: 'upstream-end', session });
    expect(pair.client.state).toBe('open'); // half-closed: the server has not closed yet
    expect(pair.server.send(session, down)).toBe(down.length);
    pair.server.end(session);
    pair.pump();
    expect(same(pair.readBytes(), down)).toBe(true);
    expect(pair.clientEvents.map((e) => e.type)).toEqual(['opened', 'end', 'closed']);
    expect(pair.client.state).toBe('closed');
    expect(pair.client.readableEnded).toBe(true);
    expect(pair.client.connectionsWanted()).toBe(0);
    expect(pair.server.sessionCount).toBe(0);
    expect(pair.serverEvents.at(-1)).toEqual({ type: 'session-closed', session, reason: 'closed' });
  });

  test('a connection killed mid-stream: the next one resumes with Continue + Ack, nothing lost or doubled', () => {
    const pair = new Pair();
    const c1 = pair.connect();
    const rng = new Prng(12);
    const up = rng.bytes(100_000);
    const down = rng.bytes(120_000);
    pair.client.write(up);
    pair.step(c1); // New
    pair.step(c1); // New OK
    const session = openedSession(pair);
    pair.server.send(session, down);
    for (let i = 0; i < 20; i++) pair.step(c1, 1400);
    // Bytes in flight when the connection dies are lost in both directions.
    expect(decode(pair.dropOutput('client', c1)).some((m) => m.type === 'data')).toBe(true);
    expect(decode(pair.dropOutput('server', c1)).some((m) => m.type === 'data')).toBe(true);
    pair.kill(c1);
    expect(pair.client.connectionsWanted()).toBe(1);
    const c2 = pair.connect();
    const helloBytes = pair.client.pollSend(c2, 1400)!;
    const id = pair.client.sessionId!;
    expect(decode(helloBytes)).toEqual([
      { type: 'continue', id },
      { type: 'ack', id, position: pair.readBytes().length },
    ]);
    pair.server.receive(c2, helloBytes, pair.now);
    const answerBytes = pair.server.pollSend(c2, 33 + 41)!;
    expect(decode(answerBytes)).toEqual([
      { type: 'continue-ok', id },
      { type: 'ack', id, position: pair.upstreamBytes(session).length },
    ]);
    pair.client.receive(c2, answerBytes, pair.now);
    pair.client.close();
    pair.server.end(session);
    pair.pump();
    expect(same(pair.upstreamBytes(session), up)).toBe(true);
    expect(same(pair.readBytes(), down)).toBe(true);
    expect(pair.client.state).toBe('closed');
    expect(pair.server.sessionCount).toBe(0);
  });

  test('a retiring connection carries no new data, acknowledges at once, and the next one takes over', () => {
    const pair = new Pair();
    const c1 = pair.connect();
    const rng = new Prng(13);
    const down = rng.bytes(30_000);
    pair.pump();
    const session = openedSession(pair);
    pair.server.send(session, down);
    pair.step(c1, 2000);
    pair.step(c1, 2000);
    pair.client.write(rng.bytes(5000));
    pair.client.retireConnection(c1);
    expect(pair.client.connectionsWanted()).toBe(1);
    const last = decode(pair.client.pollSend(c1, 5000));
    expect(last.map((m) => m.type)).toEqual(['ack']);
    expect(decode(pair.client.pollSend(c1, 5000))).toEqual([]);
    const c2 = pair.connect();
    pair.pump();
    pair.kill(c1);
    pair.pump();
    expect(same(pair.readBytes(), down)).toBe(true);
    expect(pair.upstreamBytes(session).length).toBe(5000);
  });

  test('half-close: the server keeps sending after the client closed; end comes after the last byte', () => {
    const pair = new Pair();
    pair.connect();
    pair.client.write(Uint8Array.of(1, 2, 3));
    pair.client.close();
    expect(() => pair.client.write(Uint8Array.of(4))).toThrow('write after close()');
    pair.pump();
    const session = openedSession(pair);
    expect(pair.serverEvents.filter((e) => e.type === 'upstream-end')).toHaveLength(1);
    const down = new Prng(14).bytes(40_000);
    pair.server.send(session, down);
    pair.pump(700);
    expect(pair.client.readableEnded).toBe(false);
    expect(pair.clientEvents.some((e) => e.type === 'end')).toBe(false);
    pair.server.end(session);
    pair.pump();
    const endAt = pair.clientEvents.findIndex((e) => e.type === 'end');
    expect(endAt).toBeGreaterThan(0);
    expect(same(pair.readBytes(), down)).toBe(true);
    expect(pair.client.readableEnded).toBe(true);
    expect(pair.client.state).toBe('closed');
  });

  test('backpressure: write takes at most the window; writable fires once acks free it', () => {
    const pair = new Pair({ window: 4096 }, { maxBufferedPerSession: 2048 });
    pair.connect();
    const data = new Prng(15).bytes(10_000);
    expect(pair.client.write(data)).toBe(4096);
    expect(pair.client.writable).toBe(0);
    expect(pair.client.write(data.subarray(4096))).toBe(0);
    pair.pump();
    expect(pair.clientEvents.filter((e) => e.type === 'writable')).toHaveLength(1);
    expect(pair.client.writable).toBe(4096);
    expect(pair.client.unacknowledged).toBe(0);
    const session = openedSession(pair);
    expect(pair.server.send(session, data)).toBe(2048);
    expect(pair.server.writable(session)).toBe(0);
    pair.pump();
    expect(pair.serverEvents).toContainEqual({ type: 'session-writable', session });
    expect(pair.server.writable(session)).toBe(2048);
  });

  test('ensemble width 2: two connections carry data at once, and losing one loses nothing', () => {
    const pair = new Pair({ width: 2 });
    expect(pair.client.connectionsWanted()).toBe(2);
    const c1 = pair.connect();
    const c2 = pair.connect();
    expect(pair.client.connectionState(c2)).toBe('waiting'); // waits for the session id
    const rng = new Prng(16);
    const up = rng.bytes(200_000);
    pair.client.write(up);
    const dataPerConn = new Map<number, number>([[c1, 0], [c2, 0]]);
    const decoders = new Map([[c1, new MessageDecoder()], [c2, new MessageDecoder()]]);
    for (let round = 0; round < 60; round++) {
      for (const id of [c1, c2]) {
        const out = pair.client.pollSend(id, 1400);
        if (out === null) continue;
        for (const m of decoders.get(id)!.push(out)) if (m.type === 'data') dataPerConn.set(id, dataPerConn.get(id)! + 1);
        pair.server.receive(id, out.slice(), pair.now);
        const back = pair.server.pollSend(id, 1400);
        if (back !== null) pair.client.receive(id, back.slice(), pair.now);
        pair.drain();
      }
    }
    expect(pair.client.connectionState(c2)).toBe('open');
    expect(dataPerConn.get(c1)).toBeGreaterThan(10);
    expect(dataPerConn.get(c2)).toBeGreaterThan(10);
    pair.dropOutput('client', c1);
    pair.kill(c1);
    expect(pair.client.connectionsWanted()).toBe(1);
    pair.connect();
    pair.client.close();
    pair.pump();
    const session = openedSession(pair);
    pair.server.end(session);
    pair.pump();
    expect(same(pair.upstreamBytes(session), up)).toBe(true);
    expect(pair.client.state).toBe('closed');
  });

  test('Extend: sequence numbers restart under a new id; the next connection continues with the newest id', () => {
    const pair = new Pair({ extendThreshold: 10 });
    const c1 = pair.connect();
    pair.pump();
    const first = pair.client.sessionId!;
    const rng = new Prng(17);
    const up = rng.bytes(60_000);
    pair.client.write(up);
    pair.pump(600);
    const newest = pair.client.sessionId!;
    expect(bytesToHex(newest)).not.toBe(bytesToHex(first));
    const session = openedSession(pair);
    expect(bytesToHex(pair.server.sessionId(session)!)).toBe(bytesToHex(newest));
    pair.kill(c1);
    const c2 = pair.connect();
    const hello = pair.client.pollSend(c2, 100)!;
    expect(decode(hello)[0]).toEqual({ type: 'continue', id: newest });
    pair.server.receive(c2, hello, pair.now);
    pair.client.close();
    pair.server.end(session);
    pair.pump(600);
    expect(same(pair.upstreamBytes(session), up)).toBe(true);
    expect(pair.client.state).toBe('closed');
  });

  test('aborts: the server aborting fails the client; the client aborting closes the server session', () => {
    const a = new Pair();
    a.connect();
    a.client.write(Uint8Array.of(1));
    a.pump();
    a.server.abort(openedSession(a));
    a.pump();
    expect(a.client.state).toBe('failed');
    expect(a.client.failure).toBe('DUST_ERR_ENSEMBLE_SESSION_CLOSED');
    expect(a.clientEvents.at(-1)).toEqual({ type: 'error', code: 'DUST_ERR_ENSEMBLE_SESSION_CLOSED' });
    expect(a.serverEvents.at(-1)).toMatchObject({ type: 'session-closed', reason: 'aborted' });

    const b = new Pair();
    b.connect();
    b.pump();
    b.client.abort();
    expect(b.client.state).toBe('failed');
    expect(b.client.failure).toBe('DUST_ERR_ENSEMBLE_ABORTED');
    b.pump();
    expect(b.serverEvents.at(-1)).toMatchObject({ type: 'session-closed', reason: 'peer-aborted' });
    expect(b.server.sessionCount).toBe(0);
  });

  test('a lost New OK: the next connection asks anew; the orphan session idles out', () => {
    const pair = new Pair({}, { idleTimeoutMs: 1000 });
    const c1 = pair.connect();
    pair.server.receive(c1, pair.client.pollSend(c1, 100)!, pair.now); // New arrives
    expect(decode(pair.dropOutput('server', c1))[0]!.type).toBe('new-ok'); // its answer is lost
    pair.kill(c1);
    const c2 = pair.connect();
    expect(decode(pair.client.pollSend(c2, 100))).toEqual([{ type: 'new' }]);
    pair.server.receive(c2, Uint8Array.of(0), pair.now);
    pair.pump();
    expect(pair.server.sessionCount).toBe(2);
    pair.advance(1000);
    expect(pair.server.sessionCount).toBe(1);
    expect(pair.serverEvents.filter((e) => e.type === 'session-closed')).toEqual([
      { type: 'session-closed', session: 1, reason: 'idle-timeout' },
    ]);
    expect(pair.client.state).toBe('open');
  });

  test('a late New OK for a second New (asked because the first connection retired) aborts the orphan', () => {
    const pair = new Pair();
    const c1 = pair.connect();
    pair.server.receive(c1, pair.client.pollSend(c1, 100)!, pair.now);
    pair.client.retireConnection(c1);
    const c2 = pair.connect();
    expect(decode(pair.client.pollSend(c2, 100))).toEqual([{ type: 'new' }]);
    pair.server.receive(c2, Uint8Array.of(0), pair.now);
    pair.client.receive(c2, pair.server.pollSend(c2, 100)!, pair.now); // c2's New OK wins
    pair.client.receive(c1, pair.server.pollSend(c1, 100)!, pair.now); // c1's comes late
    const abort = pair.client.pollSend(c1, 100)!;
    expect(decode(abort)).toEqual([{ type: 'error', code: 0xf2 }]);
    expect(pair.client.connectionState(c1)).toBe('ended');
    pair.server.receive(c1, abort, pair.now);
    pair.pump();
    expect(pair.serverEvents.filter((e) => e.type === 'session-closed')).toEqual([
      { type: 'session-closed', session: 1, reason: 'peer-aborted' },
    ]);
    expect(bytesToHex(pair.client.sessionId!)).toBe(bytesToHex(pair.server.sessionId(2)!));
  });

  test('timeouts: an unanswered New fails its connection; no open connection for too long fails the session', () => {
    const pair = new Pair({ handshakeTimeoutMs: 500, reconnectTimeoutMs: 2000 });
    const c1 = pair.connect();
    pair.client.pollSend(c1, 100); // the New goes nowhere
    expect(pair.client.nextWakeup()).toBe(500);
    pair.advance(499);
    expect(pair.client.connectionState(c1)).toBe('handshaking');
    pair.advance(1);
    expect(pair.client.connectionState(c1)).toBe('failed');
    expect(pair.clientEvents).toContainEqual({ type: 'connection-failed', connId: c1, code: 'DUST_ERR_ENSEMBLE_HANDSHAKE_TIMEOUT' });
    expect(pair.client.connectionsWanted()).toBe(1);
    expect(pair.client.nextWakeup()).toBe(2000);
    pair.advance(1500);
    expect(pair.client.state).toBe('failed');
    expect(pair.client.failure).toBe('DUST_ERR_ENSEMBLE_RECONNECT_TIMEOUT');
    expect(pair.client.connectionsWanted()).toBe(0);
  });

  test('a session the server forgot (idle timeout) fails the client with UNKNOWN_SESSION', () => {
    const pair = new Pair({ reconnectTimeoutMs: 10_000 }, { idleTimeoutMs: 1000 });
    const c1 = pair.connect();
    pair.pump();
    pair.kill(c1);
    pair.advance(1000);
    pair.connect();
    pair.pump();
    expect(pair.client.state).toBe('failed');
    expect(pair.client.failure).toBe('DUST_ERR_ENSEMBLE_UNKNOWN_SESSION');
  });

  test('only the last Close OK was lost: 0xF2 on Continue tells the client it is done', () => {
    const pair = new Pair();
    const c1 = pair.connect();
    pair.pump();
    const session = openedSession(pair);
    pair.client.close();
    pair.server.end(session);
    const clientClose = pair.client.pollSend(c1, 100)!;
    const serverClose = pair.server.pollSend(c1, 100)!;
    expect(decode(clientClose).map((m) => m.type)).toEqual(['close']);
    expect(decode(serverClose).map((m) => m.type)).toEqual(['close']);
    pair.server.receive(c1, clientClose, pair.now);
    pair.client.receive(c1, serverClose, pair.now);
    pair.server.receive(c1, pair.client.pollSend(c1, 100)!, pair.now); // the client's Close OK
    pair.drain();
    expect(pair.serverEvents.at(-1)).toEqual({ type: 'session-closed', session, reason: 'closed' });
    expect(decode(pair.dropOutput('server', c1)).map((m) => m.type)).toEqual(['close-ok']); // lost
    pair.kill(c1);
    expect(pair.client.state).toBe('open');
    pair.connect();
    pair.pump();
    expect(pair.client.state).toBe('closed');
    expect(pair.clientEvents.at(-1)).toEqual({ type: 'closed' });
  });
});


describe('early data (earlyData)', () => {
  const ZERO_ID = '00'.repeat(32);

  test('data rides right behind New with the all-zero id, and reaches the upstream before New OK returns', () => {
    const pair = new Pair({ earlyData: true });
    const c1 = pair.connect();
    expect(pair.client.write(new TextEncoder().encode('GET /'))).toBe(5);
    const first = decode(pair.client.pollSend(c1, 1400));
    expect(first.map((m) => m.type)).toEqual(['new', 'data']);
    expect(bytesToHex((first[1] as { id: Uint8Array }).id)).toBe(ZERO_ID);
    pair.server.receive(c1, encodeAll(first), pair.now);
    pair.drain();
    const session = openedSession(pair);
    expect(new TextDecoder().decode(pair.upstreamBytes(session))).toBe('GET /');
    pair.pump();
    expect(pair.client.state).toBe('open');
    // After New OK the real id; the server still acknowledges the early bytes.
    pair.client.write(new TextEncoder().encode(' HTTP/1.1'));
    const later = decode(pair.client.pollSend(c1, 1400));
    expect(later.map((m) => m.type)).toEqual(['data']);
    expect(bytesToHex((later[0] as { id: Uint8Array }).id)).toBe(bytesToHex(pair.client.sessionId!));
    pair.server.receive(c1, encodeAll(later), pair.now);
    pair.pump();
    expect(new TextDecoder().decode(pair.upstreamBytes(session))).toBe('GET / HTTP/1.1');
    expect(pair.client.unacknowledged).toBe(0);
  });

  test('early data is the first 16 KiB only; the rest waits for New OK', () => {
    const pair = new Pair({ earlyData: true });
    const c1 = pair.connect();
    pair.client.write(new Uint8Array(40_000).fill(7));
    const early = decode(pair.client.pollSend(c1, 1 << 20));
    const data = early.filter((m): m is Extract<Message, { type: 'data' }> => m.type === 'data');
    expect(data.reduce((n, m) => n + m.data.length, 0)).toBe(EARLY_DATA_BYTES);
    expect(pair.client.pollSend(c1, 1 << 20)).toBeNull();
    pair.server.receive(c1, encodeAll(early), pair.now);
    pair.pump(1 << 20);
    expect(pair.upstreamBytes(openedSession(pair)).length).toBe(40_000);
  });

  test('a second New wins: what the first carried goes again on the winner; the orphan is aborted', () => {
    const pair = new Pair({ earlyData: true, width: 1 });
    const c1 = pair.connect();
    pair.client.write(new TextEncoder().encode('abc'));
    const toOrphan = pair.client.pollSend(c1, 1400)!; // New + "abc", held back: its answer comes late
    pair.client.retireConnection(c1);
    const c2 = pair.connect();
    pair.client.write(new TextEncoder().encode('def'));
    pair.step(c2); // New + "def" on c2; New OK comes back first
    expect(pair.client.state).toBe('open');
    pair.pump();
    const winner = openedSession(pair);
    expect(new TextDecoder().decode(pair.upstreamBytes(winner))).toBe('abcdef');
    // The first New arrives now: an orphan session, which the client aborts on its New OK.
    pair.server.receive(c1, toOrphan, pair.now);
    pair.pump();
    expect(pair.serverEvents).toContainEqual(expect.objectContaining({ type: 'session-closed', reason: 'peer-aborted' }));
    expect(new TextDecoder().decode(pair.upstreamBytes(winner))).toBe('abcdef');
    expect(pair.client.state).toBe('open');
  });
});

describe('delayed acknowledgements (ackDelayMs)', () => {
  test('a lone acknowledgement waits for the delay; the reply carries it when it comes first', () => {
    const pair = new Pair({ ackDelayMs: 25 }, { ackDelayMs: 25 });
    const c1 = pair.connect();
    pair.pump();
    const session = openedSession(pair);
    pair.client.write(Uint8Array.of(1, 2, 3));
    pair.step(c1);
    expect(pair.upstreamBytes(session)).toEqual(Uint8Array.of(1, 2, 3));
    // Nothing to say but an acknowledgement: the server keeps quiet, and wakes up at the deadline.
    expect(pair.server.pollSend(c1, 1400)).toBeNull();
    expect(pair.server.nextWakeup()).toBe(pair.now + 25);
    // The upstream answers within the delay: the acknowledgement rides with the data.
    pair.advance(10);
    pair.server.send(session, Uint8Array.of(9));
    const reply = pair.server.pollSend(c1, 1400)!;
    expect(decode(reply.slice()).map((m) => m.type)).toEqual(['ack', 'data']);
    expect(pair.client.unacknowledged).toBe(3);
    pair.client.receive(c1, reply, pair.now);
    expect(pair.client.unacknowledged).toBe(0);
    // The client's own acknowledgement of that byte goes alone, 25 ms after it arrived.
    expect(pair.client.pollSend(c1, 1400)).toBeNull();
    expect(pair.client.nextWakeup()).toBe(pair.now + 25);
    pair.advance(24);
    expect(pair.client.pollSend(c1, 1400)).toBeNull();
    pair.advance(1);
    expect(decode(pair.client.pollSend(c1, 1400)).map((m) => m.type)).toEqual(['ack']);
    expect(pair.client.nextWakeup()).toBeNull();
  });

  test('a deadline that passes with nothing able to send is not reported again (no busy wake-ups)', () => {
    const pair = new Pair({ ackDelayMs: 5 }, { ackDelayMs: 5 });
    const c1 = pair.connect();
    pair.pump();
    pair.client.write(Uint8Array.of(7));
    pair.step(c1);
    expect(pair.server.nextWakeup()).toBe(pair.now + 5);
    pair.advance(6); // nobody pulled from the server at its deadline
    const next = pair.server.nextWakeup();
    expect(next === null || next > pair.now + 1000).toBe(true);
    expect(decode(pair.server.pollSend(c1, 1400)).map((m) => m.type)).toEqual(['ack']); // due: goes with the next pull
  });

  test('16 KiB owed goes at once, whatever the delay', () => {
    const pair = new Pair({ ackDelayMs: 1000 }, { ackDelayMs: 1000 });
    const c1 = pair.connect();
    pair.pump();
    pair.client.write(new Uint8Array(16 * 1024));
    for (let i = 0; i < 20; i++) pair.step(c1, 4096);
    expect(pair.client.unacknowledged).toBe(0);
    expect(() => new Pair({ ackDelayMs: 1001 })).toThrow(RangeError);
  });
});

describe('Ensemble pair: random schedules on a virtual clock', () => {
  const arbSchedule = (harsh: boolean): fc.Arbitrary<SimParams> =>
    fc.record({
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      c2sBytes: fc.integer({ min: 1, max: 16_000 }),
      s2cBytes: fc.integer({ min: 0, max: 16_000 }),
      width: fc.integer({ min: 1, max: harsh ? 4 : 3 }),
      window: fc.integer({ min: harsh ? 8 : 10, max: 16 }).map((b) => 2 ** b),
      extendThreshold: fc.integer({ min: 1, max: harsh ? 20 : 200 }),
      ackDelayMs: fc.constantFrom(0, 0, 5, 25),
      earlyData: fc.boolean(),
      latencyMs: fc.integer({ min: 1, max: harsh ? 60 : 40 }),
      maxPacket: fc.integer({ min: harsh ? 50 : 100, max: harsh ? 5000 : 3000 }),
      minDurationMs: fc.integer({ min: 20, max: harsh ? 100 : 300 }),
      kills: fc.array(fc.integer({ min: 0, max: harsh ? 5000 : 3000 }), { maxLength: harsh ? 40 : 10 }),
      serverDetectMs: fc.integer({ min: 0, max: harsh ? 5000 : 2000 }),
      clientDetectMs: fc.integer({ min: 0, max: harsh ? 1000 : 100 }),
    });

  function check(p: SimParams, harsh: boolean): SimResult {
    const r = simulate({
      ...p,
      maxDurationMs: p.minDurationMs! + (harsh ? 300 : 1000),
      ...(harsh ? { server: { idleTimeoutMs: 10_000 }, client: { handshakeTimeoutMs: 1500 } } : {}),
    });
    const summary = { state: r.clientState, failure: r.clientFailure, errors: r.clientErrors, c2s: [r.sentC2S.length, r.gotC2S.length], s2c: [r.sentS2C.length, r.gotS2C.length] };
    expect(summary).toEqual({ state: 'closed', failure: null, errors: [], c2s: [r.sentC2S.length, r.sentC2S.length], s2c: [r.sentS2C.length, r.sentS2C.length] });
    expect(same(r.gotC2S, r.sentC2S)).toBe(true);
    expect(same(r.gotS2C, r.sentS2C)).toBe(true);
    expect(r.clientEnded && r.upstreamEnded).toBe(true);
    expect(r.maxUnacknowledged).toBeLessThanOrEqual(p.window!);
    return r;
  }

  test('every byte arrives exactly once and in order, both ways, whatever dies when (2000 schedules)', () => {
    let connections = 0;
    let extendsSeen = 0;
    fc.assert(
      fc.property(arbSchedule(false), (p) => {
        const r = check(p, false);
        connections += r.connections;
        extendsSeen += r.extends;
      }),
      { numRuns: 2000 },
    );
    // The schedules did exercise what they are about.
    expect(connections).toBeGreaterThan(2000 * 2);
    expect(extendsSeen).toBeGreaterThan(100);
  });

  test('the same under harsh schedules: short connections, many deaths, deaths noticed seconds late (300 schedules)', () => {
    fc.assert(
      fc.property(arbSchedule(true), (p) => {
        check(p, true);
      }),
      { numRuns: 300 },
    );
  });
});
