/**
 * Ensemble server session table (seed "Ensemble Protocol": New, Continue, Extend, Close, Data,
 * errors 0xF0-0xF3; docs/ensemble.md "Server"), driven message by message by a scripted client.
 */
import { bytesToHex } from '../src/core/bytes.js';
import { MessageDecoder, encodeMessage, type Message } from '../src/ensemble/messages.js';
import { EnsembleServer, type EnsembleServerOptions, type ServerEvent } from '../src/ensemble/server.js';
import { MAX_WINDOW } from '../src/ensemble/stream.js';

/** Ids 0x01…01, 0x02…02, … from the injected source, so tests know each id in advance. */
function idSource(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => new Uint8Array(n).fill(++k);
}
const idOf = (k: number): Uint8Array => new Uint8Array(32).fill(k);
const UNKNOWN = new Uint8Array(32).fill(0xaa);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

class Harness {
  readonly server: EnsembleServer;
  readonly events: ServerEvent[] = [];
  now = 0;
  private readonly decoders = new Map<number, MessageDecoder>();
  private nextConn = 1;

  constructor(options: EnsembleServerOptions = {}) {
    this.server = new EnsembleServer({ random: idSource(), ...options });
  }

  connect(): number {
    const id = this.nextConn++;
    this.server.acceptConnection(id, this.now);
    this.decoders.set(id, new MessageDecoder());
    return id;
  }

  /** The scripted client sends `messages` on `conn`. */
  send(conn: number, ...messages: Message[]): void {
    this.server.receive(conn, new Uint8Array(Buffer.concat(messages.map((m) => encodeMessage(m)))), this.now);
    this.drain();
  }

  /** Everything the server sends on `conn` now (pulled in pieces of `max`). */
  recv(conn: number, max = 1 << 20): Message[] {
    const out: Message[] = [];
    for (let chunk = this.server.pollSend(conn, max); chunk !== null; chunk = this.server.pollSend(conn, max)) {
      out.push(...this.decoders.get(conn)!.push(chunk));
    }
    this.drain();
    return out;
  }

  close(conn: number): void {
    this.server.connectionClosed(conn, this.now);
    this.drain();
  }

  advance(ms: number): void {
    this.now += ms;
    this.server.handleTimeout(this.now);
    this.drain();
  }

  drain(): void {
    for (let e = this.server.pollEvent(); e !== null; e = this.server.pollEvent()) this.events.push(e);
  }

  upstream(session: number): string {
    return Buffer.concat(
      this.events.filter((e): e is Extract<ServerEvent, { type: 'upstream-data' }> => e.type === 'upstream-data' && e.session === session).map((e) => e.data),
    ).toString();
  }

  /** New on a fresh connection; returns [conn, session handle, id]. */
  open(): [number, number, Uint8Array] {
    const conn = this.connect();
    this.send(conn, { type: 'new' });
    const [ok] = this.recv(conn);
    if (ok?.type !== 'new-ok') throw new Error('no New OK');
    const opened = this.events.filter((e) => e.type === 'session-opened').at(-1) as Extract<ServerEvent, { type: 'session-opened' }>;
    return [conn, opened.session, ok.id];
  }
}

const data = (id: Uint8Array, seq: number, s: string): Message => ({ type: 'data', id, seq, data: text(s) });

describe('Ensemble server: opening and resuming', () => {
  test('New: New OK carries a fresh 32-byte id from the injected source; session-opened', () => {
    const h = new Harness();
    const conn = h.connect();
    h.send(conn, { type: 'new' });
    expect(h.recv(conn)).toEqual([{ type: 'new-ok', id: idOf(1) }]);
    expect(h.events).toEqual([{ type: 'session-opened', session: 1 }]);
    expect(h.server.sessionCount).toBe(1);
    expect(bytesToHex(h.server.sessionId(1)!)).toBe(bytesToHex(idOf(1)));
    h.send(conn, data(idOf(1), 0, 'hello '), data(idOf(1), 1, 'upstream'));
    expect(h.upstream(1)).toBe('hello upstream');
  });

  test('takeTouched names only the connections whose output may have changed', () => {
    const h = new Harness({ ackDelayMs: 10 });
    const [c1, s1] = h.open();
    const [c2, s2, id2] = h.open();
    h.connect(); // an idle connection, never touched
    h.server.takeTouched();
    expect(h.server.takeTouched()).toEqual([]); // forgotten once taken
    h.server.send(s1, text('down'));
    expect(h.server.takeTouched()).toEqual([c1]);
    h.send(c2, data(id2, 0, 'up'));
    expect(h.server.takeTouched()).toEqual([c2]);
    h.server.end(s2);
    expect(h.server.takeTouched()).toEqual([c2]);
    // A delayed acknowledgement that falls due touches its session's connection.
    h.advance(10);
    expect(h.server.takeTouched()).toEqual([c2]);
    // A connection lost: the session's other connections resend; an aborted session's get 0xF2.
    const c3 = h.connect();
    h.send(c3, { type: 'continue', id: idOf(1) }, { type: 'ack', id: idOf(1), position: 0 });
    h.server.takeTouched();
    h.close(c1);
    expect(h.server.takeTouched()).toEqual([c3]);
    h.server.abort(s1);
    expect(h.server.takeTouched()).toEqual([c3]); // exact lists: the idle connection is never named
  });

  test('too many sessions: New beyond maxSessions gets 0xF0 and fails only that connection', () => {
    const h = new Harness({ maxSessions: 2 });
    h.open();
    h.open();
    const conn = h.connect();
    h.send(conn, { type: 'new' });
    expect(h.recv(conn)).toEqual([{ type: 'error', code: 0xf0 }]);
    expect(h.events.at(-1)).toEqual({ type: 'connection-failed', connId: conn, code: 'DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS' });
    expect(h.server.sessionCount).toBe(2);
    h.send(conn, { type: 'new' }); // a failed connection ignores everything
    expect(h.recv(conn)).toEqual([]);
  });

  test('unknown session: Continue for an id never issued gets 0xF1', () => {
    const h = new Harness();
    const conn = h.connect();
    h.send(conn, { type: 'continue', id: UNKNOWN }, { type: 'ack', id: UNKNOWN, position: 0 });
    expect(h.recv(conn)).toEqual([{ type: 'error', code: 0xf1 }]);
    expect(h.events).toEqual([{ type: 'connection-failed', connId: conn, code: 'DUST_ERR_ENSEMBLE_UNKNOWN_SESSION' }]);
  });

  test('Continue must be followed by its Ack; Data before New is refused', () => {
    const h = new Harness();
    const [, , id] = h.open();
    const a = h.connect();
    h.send(a, { type: 'continue', id }, data(id, 0, 'x'));
    expect(h.recv(a)).toEqual([{ type: 'error', code: 0xf3 }]);
    const b = h.connect();
    h.send(b, data(id, 0, 'x'));
    expect(h.recv(b)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.events.filter((e) => e.type === 'connection-failed').map((e) => (e as { code: string }).code)).toEqual([
      'DUST_ERR_ENSEMBLE_UNEXPECTED',
      'DUST_ERR_ENSEMBLE_UNEXPECTED',
    ]);
    expect(h.server.sessionCount).toBe(1);
  });

  test('Continue + Ack resumes: Continue OK, the server\'s position, then exactly the bytes the client lacks', () => {
    const h = new Harness();
    const [c1, s, id] = h.open();
    h.send(c1, data(id, 0, 'abc'), data(id, 1, 'defg'));
    expect(h.server.send(s, text('hello world'))).toBe(11);
    expect(h.recv(c1, 37 + 5)).toEqual([
      data(id, 0, 'hello'),
      data(id, 1, ' worl'),
      data(id, 2, 'd'),
      { type: 'ack', id, position: 7 },
    ]);
    h.close(c1); // the client got only "hello"
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 5 });
    expect(h.recv(c2)).toEqual([
      { type: 'continue-ok', id },
      { type: 'ack', id, position: 7 },
      data(id, 0, ' world'),
    ]);
    // The client resends from 7 on the new connection, duplicates included: only new bytes go up.
    h.send(c2, { type: 'position', id, position: 4 }, data(id, 0, 'efg!'), data(id, 1, '?'));
    expect(h.upstream(s)).toBe('abcdefg!?');
  });

  test('a resume naming more bytes than were ever sent fails that connection', () => {
    const h = new Harness();
    const [c1, s, id] = h.open();
    h.server.send(s, text('abc'));
    h.recv(c1);
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 4 });
    expect(h.recv(c2)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.events.at(-1)).toMatchObject({ type: 'connection-failed', code: 'DUST_ERR_ENSEMBLE_BAD_ACK' });
  });
});

describe('Ensemble server: limits and timeouts', () => {
  test('idle timeout: a session without connections is dropped after idleTimeoutMs; then its id is unknown', () => {
    const h = new Harness({ idleTimeoutMs: 1000 });
    const [c1, s, id] = h.open();
    h.advance(5000);
    expect(h.server.sessionCount).toBe(1); // a connection is attached: never idle
    expect(h.server.nextWakeup()).toBeNull();
    h.close(c1);
    expect(h.server.nextWakeup()).toBe(6000);
    h.advance(999);
    expect(h.server.sessionCount).toBe(1);
    h.advance(1);
    expect(h.server.sessionCount).toBe(0);
    expect(h.events.at(-1)).toEqual({ type: 'session-closed', session: s, reason: 'idle-timeout' });
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    expect(h.recv(c2)).toEqual([{ type: 'error', code: 0xf1 }]);
  });

  test('a returning connection stops the idle clock', () => {
    const h = new Harness({ idleTimeoutMs: 1000 });
    const [c1, , id] = h.open();
    h.close(c1);
    h.advance(900);
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    h.advance(5000);
    expect(h.server.sessionCount).toBe(1);
  });

  test('handshake timeout: a connection that never sends New or Continue fails', () => {
    const h = new Harness({ handshakeTimeoutMs: 300 });
    const conn = h.connect();
    expect(h.server.nextWakeup()).toBe(300);
    h.advance(300);
    expect(h.events).toEqual([{ type: 'connection-failed', connId: conn, code: 'DUST_ERR_ENSEMBLE_HANDSHAKE_TIMEOUT' }]);
    expect(h.recv(conn)).toEqual([]);
  });

  test('backpressure: send takes at most maxBufferedPerSession unacknowledged bytes', () => {
    const h = new Harness({ maxBufferedPerSession: 10 });
    const [c1, s, id] = h.open();
    expect(h.server.send(s, text('0123456789abc'))).toBe(10);
    expect(h.server.writable(s)).toBe(0);
    h.recv(c1);
    h.send(c1, { type: 'ack', id, position: 4 });
    expect(h.events.at(-1)).toEqual({ type: 'session-writable', session: s });
    expect(h.server.writable(s)).toBe(4);
  });

  test('data beyond the receive window fails the connection, not the session', () => {
    const h = new Harness();
    const [c1, , id] = h.open();
    h.send(c1, { type: 'position', id, position: MAX_WINDOW }, data(id, 0, 'x'));
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.events.at(-1)).toMatchObject({ type: 'connection-failed', code: 'DUST_ERR_ENSEMBLE_WINDOW' });
    expect(h.server.sessionCount).toBe(1);
  });
});

describe('Ensemble server: sequence numbers and Extend', () => {
  test('a wrong sequence number gets 0xF3; the session goes on over a new connection', () => {
    const h = new Harness();
    const [c1, s, id] = h.open();
    h.send(c1, data(id, 0, 'a'), data(id, 2, 'b'));
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.events.at(-1)).toMatchObject({ type: 'connection-failed', code: 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE' });
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    expect(h.recv(c2)).toEqual([{ type: 'continue-ok', id }, { type: 'ack', id, position: 1 }]);
    h.send(c2, data(id, 0, 'b'));
    expect(h.upstream(s)).toBe('ab');
  });

  test('Extend: a new id; the server restarts at seq 0 after Extend OK, the client after its first new-id message', () => {
    const h = new Harness();
    const [c1, s, a] = h.open();
    h.send(c1, data(a, 0, 'x'));
    h.server.send(s, text('1'));
    h.send(c1, { type: 'extend', id: a });
    const b = idOf(2);
    expect(h.recv(c1)).toEqual([{ type: 'extend-ok', id: b }, data(b, 0, '1'), { type: 'ack', id: b, position: 1 }]);
    expect(bytesToHex(h.server.sessionId(s)!)).toBe(bytesToHex(b));
    // Sent before the client saw Extend OK: old id, next seq.
    h.send(c1, data(a, 1, 'y'));
    // After: new id from seq 0; from then on the old id is wrong on this connection.
    h.send(c1, data(b, 0, 'z'));
    expect(h.upstream(s)).toBe('xyz');
    h.send(c1, data(a, 2, '!'));
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.server.sessionCount).toBe(1);
    // The old id still finds the session (a Continue may cross an Extend OK).
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id: a }, { type: 'ack', id: a, position: 1 });
    expect(h.recv(c2).slice(0, 1)).toEqual([{ type: 'continue-ok', id: a }]);
  });

  test('Extend naming an id the session never had gets 0xF1 on that connection', () => {
    const h = new Harness();
    const [c1] = h.open();
    h.send(c1, { type: 'extend', id: UNKNOWN });
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf1 }]);
    expect(h.server.sessionCount).toBe(1);
  });

  test('a connection never wraps: the server stops at seq 65535 until the client extends', () => {
    const h = new Harness();
    const [c1, s, a] = h.open();
    const payload = new Uint8Array(70_000).fill(0x61);
    expect(h.server.send(s, payload)).toBe(payload.length);
    let count = 0;
    let inOrder = true;
    let lastSeq = -1;
    const decoder = new MessageDecoder();
    for (let chunk = h.server.pollSend(c1, 38); chunk !== null; chunk = h.server.pollSend(c1, 38)) {
      for (const m of decoder.push(chunk)) {
        if (m.type !== 'data' || m.seq !== lastSeq + 1) inOrder = false;
        else {
          lastSeq = m.seq;
          count += m.data.length;
        }
      }
    }
    expect(inOrder).toBe(true);
    expect(lastSeq).toBe(65535);
    expect(count).toBe(65536); // one byte per 38-byte message, and then nothing
    h.send(c1, { type: 'extend', id: a });
    const after = new MessageDecoder().push(h.server.pollSend(c1, 1 << 20)!);
    expect(after[0]).toEqual({ type: 'extend-ok', id: idOf(2) });
    expect(after[1]).toMatchObject({ type: 'data', id: idOf(2), seq: 0 });
    expect(after.slice(1).reduce((n, m) => n + (m.type === 'data' ? m.data.length : 0), 0)).toBe(70_000 - 65536);
  });
});

describe('Ensemble server: close and abort', () => {
  test('Close OK waits for every byte before the Close, even bytes still on another connection', () => {
    const h = new Harness();
    const [c1, s, id] = h.open();
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    h.recv(c2);
    // Bytes 5..9 and the Close (stream length 10) arrive on c2 before bytes 0..4 on c1.
    h.send(c2, { type: 'position', id, position: 5 }, data(id, 0, '56789'), { type: 'close', id });
    expect(h.recv(c2)).toEqual([]);
    expect(h.events.some((e) => e.type === 'upstream-end')).toBe(false);
    h.send(c1, data(id, 0, '01234'));
    expect(h.upstream(s)).toBe('0123456789');
    expect(h.events.at(-1)).toEqual({ type: 'upstream-end', session: s });
    expect(h.recv(c2)).toEqual([{ type: 'ack', id, position: 10 }, { type: 'close-ok', id }]);
  });

  test('a closed session answers 0xF2 for closedMemoryMs, then 0xF1', () => {
    const h = new Harness({ closedMemoryMs: 1000 });
    const [c1, s, id] = h.open();
    h.send(c1, { type: 'close', id });
    expect(h.recv(c1)).toEqual([{ type: 'close-ok', id }]);
    h.server.end(s);
    expect(h.recv(c1)).toEqual([{ type: 'close', id }]);
    h.send(c1, { type: 'close-ok', id });
    expect(h.events.at(-1)).toEqual({ type: 'session-closed', session: s, reason: 'closed' });
    expect(h.server.sessionCount).toBe(0);
    expect(h.server.send(s, text('late'))).toBe(0);
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    expect(h.recv(c2)).toEqual([{ type: 'error', code: 0xf2 }]);
    h.advance(1000);
    const c3 = h.connect();
    h.send(c3, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    expect(h.recv(c3)).toEqual([{ type: 'error', code: 0xf1 }]);
  });

  test('contradicting a Close fails the connection: Close OK for no Close, data past the end', () => {
    const h = new Harness();
    const [c1, , id] = h.open();
    h.send(c1, { type: 'close-ok', id });
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.events.at(-1)).toMatchObject({ code: 'DUST_ERR_ENSEMBLE_BAD_CLOSE' });
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    h.recv(c2);
    h.send(c2, { type: 'close', id }, data(id, 0, 'x'));
    expect(h.recv(c2).at(-1)).toEqual({ type: 'error', code: 0xf3 });
    expect(h.events.at(-1)).toMatchObject({ code: 'DUST_ERR_ENSEMBLE_BAD_CLOSE' });
  });

  test('abort: 0xF2 on every open connection, session-closed, and the id is forgotten', () => {
    const h = new Harness();
    const [c1, s, id] = h.open();
    const c2 = h.connect();
    h.send(c2, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    h.recv(c2);
    h.server.send(s, text('pending'));
    h.server.abort(s);
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf2 }]);
    expect(h.recv(c2)).toEqual([{ type: 'error', code: 0xf2 }]);
    expect(h.events.at(-1)).toEqual({ type: 'session-closed', session: s, reason: 'aborted' });
    const c3 = h.connect();
    h.send(c3, { type: 'continue', id }, { type: 'ack', id, position: 0 });
    expect(h.recv(c3)).toEqual([{ type: 'error', code: 0xf1 }]);
  });

  test('0xF2 from the client on an open connection aborts the session', () => {
    const h = new Harness();
    const [c1, s] = h.open();
    h.send(c1, { type: 'error', code: 0xf2 });
    expect(h.events.at(-1)).toEqual({ type: 'session-closed', session: s, reason: 'peer-aborted' });
    expect(h.server.sessionCount).toBe(0);
  });
});

describe('Ensemble server: robustness and argument checks', () => {
  test('malformed bytes fail that connection only; the others and the session carry on', () => {
    const h = new Harness();
    const [c1, s, id] = h.open();
    const [c2, s2, id2] = h.open();
    h.server.receive(c1, Uint8Array.of(0x0f, ...id, 0, 0, 0, 0), h.now); // zero-length Data
    h.drain();
    expect(h.recv(c1)).toEqual([{ type: 'error', code: 0xf3 }]);
    expect(h.events.at(-1)).toMatchObject({ connId: c1, code: 'DUST_ERR_ENSEMBLE_MALFORMED' });
    h.send(c2, data(id2, 0, 'fine'));
    expect(h.upstream(s2)).toBe('fine');
    expect(h.server.sessionCount).toBe(2);
    expect(s).not.toBe(s2);
  });

  test('random garbage on fresh connections never throws', () => {
    const h = new Harness();
    let seed = 7;
    for (let i = 0; i < 300; i++) {
      const conn = h.connect();
      const junk = new Uint8Array(1 + (i % 97)).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
      expect(() => h.server.receive(conn, junk, h.now)).not.toThrow();
      h.recv(conn);
    }
    expect(h.server.sessionCount).toBeLessThanOrEqual(300);
  });

  test('API misuse throws', () => {
    expect(() => new EnsembleServer({ maxSessions: -1 })).toThrow(RangeError);
    expect(() => new EnsembleServer({ idleTimeoutMs: 1.5 })).toThrow(TypeError);
    expect(() => new EnsembleServer({ maxBufferedPerSession: MAX_WINDOW + 1 })).toThrow(RangeError);
    expect(() => new EnsembleServer({ random: 5 as never })).toThrow(TypeError);
    const h = new Harness();
    expect(() => h.server.receive(99, new Uint8Array(1), 0)).toThrow('not accepted');
    expect(() => h.server.pollSend(99, 10)).toThrow('not accepted');
    const [c1, s] = h.open();
    expect(() => h.connect() && h.server.acceptConnection(c1, 0)).toThrow('already accepted');
    expect(() => h.server.pollSend(c1, 0)).toThrow(RangeError);
    expect(() => h.server.send(99, new Uint8Array(1))).toThrow('never existed');
    expect(() => h.server.receive(c1, 'x' as never, 0)).toThrow(TypeError);
    h.advance(10);
    expect(() => h.server.handleTimeout(5)).toThrow('backwards');
    h.server.end(s);
    expect(() => h.server.send(s, new Uint8Array(1))).toThrow('after end()');
  });

  test('the random source must give 32 bytes', () => {
    const server = new EnsembleServer({ random: () => new Uint8Array(16) });
    server.acceptConnection(1, 0);
    expect(() => server.receive(1, Uint8Array.of(0), 0)).toThrow(RangeError);
  });
});
