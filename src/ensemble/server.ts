/**
 * Ensemble server: the session table (seed "Ensemble Protocol"; DECISIONS.md "Ensemble";
 * docs/ensemble.md "Server").
 *
 * Sans-IO, quinn style. The driver accepts connections (`acceptConnection`), pushes what each one
 * decrypted (`receive`), pulls what to encrypt next (`pollSend`), reports the end of each
 * connection, runs `handleTimeout(now)` at `nextWakeup()`, and after every input drains
 * `pollEvent()`:
 *
 * - `session-opened`  → open the upstream connection (tor's ORPort) for `session`;
 * - `upstream-data`   → write `data` to that upstream;
 * - `upstream-end`    → the client closed its direction: end (half-close) the upstream's write side;
 * - `session-writable`→ `send` may take more upstream bytes again;
 * - `session-closed`  → tear the upstream down.
 *
 * Upstream bytes go the other way through `send(session, bytes)` (bounded by the per-session
 * window: backpressure), the upstream's end through `end(session)`, an upstream error through
 * `abort(session)`.
 *
 * Limits: at most `maxSessions` sessions (New beyond that gets 0xF0), a session with no
 * connection for `idleTimeoutMs` is dropped (its id then gets 0xF1), a cleanly closed session's ids
 * answer 0xF2 for `closedMemoryMs` (so a client that missed our last Close OK learns that it is
 * done); an aborted session is simply forgotten (0xF1).
 * @module
 */
import { abytes, aint, bytesToHex, equalBytes } from '../core/bytes.js';
import { systemRandom, type RandomSource } from '../core/random.js';
import { EARLY_ID, Link, MAX_ACK_DELAY_MS, StreamEndpoint, type EndpointHost } from './endpoint.js';
import type { LinkFailure } from './errors.js';
import { DeadlineQueue } from './deadline-queue.js';
import { CODE, ID_BYTES, MAX_SEQ, type ErrorCode, type Message } from './messages.js';
import { MAX_WINDOW } from './stream.js';

/** Default size of the session table. */
export const DEFAULT_MAX_SESSIONS = 1024;
/** A session with no connection is dropped after this long (default 5 minutes). */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** A connection must send New or Continue (+ Ack) within this long (default 30 s). */
export const DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS = 30_000;
/**
 * Ids one session answers to. A client extends at most once per connection and round trip, so a
 * Continue naming an id more than a few Extends old cannot happen; 64 leaves a wide margin.
 */
export const MAX_SESSION_IDS = 64;

/** Server settings; every field is optional. */
export interface EnsembleServerOptions {
  /** Source of session ids (default: the system CSPRNG). */
  random?: RandomSource;
  /** Most sessions at once (default 1024). */
  maxSessions?: number;
  /** Drop a session that has had no connection for this many ms (default 5 min). */
  idleTimeoutMs?: number;
  /** Most upstream bytes buffered per session, unacknowledged by the client (default and max 4 MiB). */
  maxBufferedPerSession?: number;
  /** Time a connection has to send New or Continue + Ack (default 30 s). */
  handshakeTimeoutMs?: number;
  /** How long a cleanly closed session's ids answer 0xF2 instead of 0xF1 (default: idleTimeoutMs). */
  closedMemoryMs?: number;
  /** Delay for acknowledgements that would go alone (0–1000 ms, default 0: at once; endpoint.ts). */
  ackDelayMs?: number;
}

/** Why a session left the table. */
export type SessionCloseReason = 'closed' | 'idle-timeout' | 'aborted' | 'peer-aborted';

/** What the server reports to its driver (see the module header for what each one asks of it). */
export type ServerEvent =
  | { type: 'session-opened'; session: number }
  | { type: 'upstream-data'; session: number; data: Uint8Array }
  | { type: 'upstream-end'; session: number }
  | { type: 'session-writable'; session: number }
  | { type: 'session-closed'; session: number; reason: SessionCloseReason }
  | { type: 'connection-failed'; connId: number; code: LinkFailure };

interface ServerSession {
  readonly handle: number;
  /**
   * Every id the session answers to, oldest first (the last is current). Extend adds one; a
   * client may still name an older one in a Continue that crossed our Extend OK, so old ids stay
   * valid until {@link MAX_SESSION_IDS} newer ones exist.
   */
  ids: Uint8Array[];
  readonly endpoint: StreamEndpoint;
  /** Since when the session has had no open connection, or null. */
  idleSince: number | null;
  /** The delayed-acknowledgement deadline last put in the queue (so each is queued once). */
  ackQueuedAt: number | null;
}

interface ServerLink extends Link {
  session?: ServerSession;
}

/** The server end of Ensemble: every session of every client. */
export class EnsembleServer {
  readonly maxSessions: number;
  readonly idleTimeoutMs: number;
  readonly maxBufferedPerSession: number;
  readonly handshakeTimeoutMs: number;
  readonly closedMemoryMs: number;
  readonly ackDelayMs: number;
  private readonly random: RandomSource;
  private readonly links = new Map<number, ServerLink>();
  private readonly sessions = new Map<number, ServerSession>();
  private readonly byId = new Map<string, ServerSession>();
  /** Ids of closed sessions → when to forget them; insertion order is expiry order. */
  private readonly closedIds = new Map<string, number>();
  private readonly events: ServerEvent[] = [];
  // Each kind of deadline is "now + its constant", so each comes due in order: FIFOs instead of
  // scanning every link and session on every event (deadline-queue.ts). They hold connection ids
  // and session handles, not the objects, so a finished session is not kept alive by a stale entry.
  private readonly handshakeDeadlines = new DeadlineQueue<number>((connId, at) => this.links.get(connId)?.deadline === at);
  private readonly idleDeadlines = new DeadlineQueue<number>((handle, at) => {
    const idleSince = this.sessions.get(handle)?.idleSince;
    return idleSince !== undefined && idleSince !== null && idleSince + this.idleTimeoutMs === at;
  });
  private readonly ackDeadlines = new DeadlineQueue<number>((handle, at) => this.sessions.get(handle)?.endpoint.ackDueAt() === at);
  /** Connections whose output may have changed since the driver last asked (`takeTouched`). */
  private readonly touched = new Set<number>();
  private nextHandle = 1;
  private now = -Infinity;

  constructor(options: EnsembleServerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    this.random = options.random ?? systemRandom;
    if (typeof this.random !== 'function') throw new TypeError('options.random must be a function');
    this.maxSessions = aint(options.maxSessions ?? DEFAULT_MAX_SESSIONS, 0, 1 << 24, 'options.maxSessions');
    this.idleTimeoutMs = aint(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, 1, 2 ** 31, 'options.idleTimeoutMs');
    this.maxBufferedPerSession = aint(options.maxBufferedPerSession ?? MAX_WINDOW, 1, MAX_WINDOW, 'options.maxBufferedPerSession');
    this.handshakeTimeoutMs = aint(
      options.handshakeTimeoutMs ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS,
      1,
      2 ** 31,
      'options.handshakeTimeoutMs',
    );
    this.closedMemoryMs = aint(options.closedMemoryMs ?? this.idleTimeoutMs, 0, 2 ** 31, 'options.closedMemoryMs');
    this.ackDelayMs = aint(options.ackDelayMs ?? 0, 0, MAX_ACK_DELAY_MS, 'options.ackDelayMs');
  }

  /** Sessions in the table. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Handles of the sessions in the table. */
  sessionHandles(): number[] {
    return [...this.sessions.keys()];
  }

  /** The current id of `session` (it changes with Extend), or null when it is not in the table. */
  sessionId(session: number): Uint8Array | null {
    const s = this.sessions.get(session);
    return s === undefined ? null : s.ids[s.ids.length - 1]!.slice();
  }

  // ---- connections ----

  /** A new connection finished its Dust handshake; it must now send New or Continue. */
  acceptConnection(connId: number, now: number): void {
    aint(connId, 0, Number.MAX_SAFE_INTEGER, 'connId');
    this.advance(now);
    if (this.links.has(connId)) throw new Error(`connection ${connId} is already accepted`);
    const link: ServerLink = new Link(connId, 'fresh');
    link.deadline = now + this.handshakeTimeoutMs;
    this.links.set(connId, link);
    this.handshakeDeadlines.add(link.deadline, connId);
  }

  /** Plaintext that connection `connId` delivered, in any chunking. */
  receive(connId: number, bytes: Uint8Array, now: number): void {
    abytes(bytes, undefined, 'bytes');
    const link = this.link(connId);
    this.advance(now);
    if (link.phase === 'failed' || link.phase === 'ended') return;
    this.touched.add(connId);
    try {
      for (const message of link.decoder.push(bytes)) {
        this.onMessage(link, message);
        if (link.phase === 'failed' || link.phase === 'ended') return;
      }
      if (link.decoder.failure !== null) this.failLink(link, 'DUST_ERR_ENSEMBLE_MALFORMED', CODE.BAD_SEQUENCE);
    } finally {
      const s = link.session;
      if (s !== undefined) {
        // An Ack or a Close here can make the session's other connections send (resends, Close OK).
        this.touchSession(s);
        const ackAt = s.endpoint.ackDueAt();
        if (ackAt !== null && ackAt !== s.ackQueuedAt) {
          s.ackQueuedAt = ackAt;
          this.ackDeadlines.add(ackAt, s.handle);
        }
      }
    }
  }

  /** Up to `maxBytes` of plaintext for connection `connId`, or null when it has nothing. */
  pollSend(connId: number, maxBytes: number): Uint8Array | null {
    aint(maxBytes, 1, Number.MAX_SAFE_INTEGER, 'maxBytes');
    const link = this.link(connId);
    if (link.phase === 'open' && link.session !== undefined) {
      const budget = maxBytes - link.out.length;
      if (budget > 0) link.session.endpoint.generate(link, budget);
    }
    return link.out.take(maxBytes);
  }

  /** The connection will end soon: no new data on it. */
  retireConnection(connId: number): void {
    const link = this.link(connId);
    link.retired = true;
    this.touched.add(connId);
    if (link.phase === 'open' && link.session !== undefined) link.session.endpoint.retire(link);
  }

  /** The connection ended. Its unacknowledged data goes out again on the session's next one. */
  connectionClosed(connId: number, now: number): void {
    const link = this.link(connId);
    this.advance(now);
    this.links.delete(connId);
    if (link.phase !== 'failed') link.phase = 'ended';
    const s = link.session;
    this.touched.delete(connId);
    if (s !== undefined && this.sessions.get(s.handle) === s) {
      s.endpoint.drop(link);
      this.updateIdle(s);
      this.touchSession(s); // its unacknowledged data goes out on the others
    }
  }

  // ---- upstream side ----

  /** Queues upstream bytes for `session`; returns how many fitted (0: wait for `session-writable`). */
  send(session: number, bytes: Uint8Array): number {
    abytes(bytes, undefined, 'bytes');
    const s = this.session(session);
    if (s === null) return 0;
    if (s.endpoint.send.finPos !== null) throw new Error(`send after end() on session ${session}`);
    this.touchSession(s);
    return s.endpoint.write(bytes);
  }

  /** Bytes `send(session, …)` would take now (0 for a session no longer in the table). */
  writable(session: number): number {
    const s = this.session(session);
    return s === null ? 0 : s.endpoint.send.writable;
  }

  /** The upstream ended: a Close follows its last byte. Idempotent. */
  end(session: number): void {
    const s = this.session(session);
    if (s === null) return;
    s.endpoint.send.end();
    this.touchSession(s);
  }

  /** Drops `session` at once (upstream error): 0xF2 to the client, `session-closed` 'aborted'. */
  abort(session: number): void {
    const s = this.session(session);
    if (s !== null) this.removeSession(s, 'aborted');
  }

  // ---- time and events ----

  /**
   * Runs the timers due at `now`: handshake deadlines, idle sessions, delayed acknowledgements,
   * closed-id memory. Costs O(1) when nothing is due, however many sessions there are.
   */
  handleTimeout(now: number): void {
    this.advance(now);
    for (const connId of this.handshakeDeadlines.takeDue(now)) this.failLink(this.links.get(connId)!, 'DUST_ERR_ENSEMBLE_HANDSHAKE_TIMEOUT', null);
    for (const handle of this.idleDeadlines.takeDue(now)) this.removeSession(this.sessions.get(handle)!, 'idle-timeout');
    // Reported once: if no connection pulls the acknowledgement now, it goes with the next pull.
    for (const handle of this.ackDeadlines.takeDue(now)) this.touchSession(this.sessions.get(handle)!);
    for (const [key, expiry] of this.closedIds) {
      if (expiry > now) break;
      this.closedIds.delete(key);
    }
  }

  /** When `handleTimeout` should next run, or null. */
  nextWakeup(): number | null {
    let next: number | null = null;
    for (const t of [this.handshakeDeadlines.next(), this.idleDeadlines.next(), this.ackDeadlines.next(), this.closedIds.values().next().value]) {
      if (t !== null && t !== undefined && (next === null || t < next)) next = t;
    }
    return next;
  }

  /**
   * The connections that may have something new to send since the last call (then forgotten):
   * the driver polls these instead of every connection, so the cost of an event does not grow with
   * the number of sessions. A connection's own packet schedule still polls it whenever it sends.
   */
  takeTouched(): number[] {
    const ids = [...this.touched];
    this.touched.clear();
    return ids;
  }

  /** Next event for the driver, or null. */
  pollEvent(): ServerEvent | null {
    return this.events.shift() ?? null;
  }

  // ---- internals ----

  private link(connId: number): ServerLink {
    const link = this.links.get(connId);
    if (link === undefined) throw new Error(`connection ${String(connId)} is not accepted`);
    return link;
  }

  private session(handle: number): ServerSession | null {
    aint(handle, 1, Number.MAX_SAFE_INTEGER, 'session');
    if (handle >= this.nextHandle) throw new RangeError(`session ${handle} never existed`);
    return this.sessions.get(handle) ?? null;
  }

  private advance(now: number): void {
    if (typeof now !== 'number' || Number.isNaN(now)) throw new TypeError('now must be a number');
    if (now < this.now) throw new RangeError(`now must not go backwards (${now} < ${this.now})`);
    this.now = now;
  }

  private onMessage(link: ServerLink, m: Message): void {
    switch (link.phase) {
      case 'open':
        return link.session!.endpoint.handle(link, m);
      case 'fresh':
        if (m.type === 'new') return this.openSession(link);
        if (m.type === 'continue') {
          const s = this.byId.get(bytesToHex(m.id));
          if (s === undefined) return this.refuse(link, m.id);
          link.session = s;
          link.resumeId = m.id;
          link.phase = 'resume-ack';
          return;
        }
        return this.failLink(link, 'DUST_ERR_ENSEMBLE_UNEXPECTED', CODE.BAD_SEQUENCE);
      case 'resume-ack': {
        if (m.type !== 'ack' || !equalBytes(m.id, link.resumeId!)) {
          return this.failLink(link, 'DUST_ERR_ENSEMBLE_UNEXPECTED', CODE.BAD_SEQUENCE);
        }
        const s = link.session!;
        if (this.sessions.get(s.handle) !== s) return this.refuse(link, m.id);
        if (!s.endpoint.peerResumed(link, m.position)) return this.failLink(link, 'DUST_ERR_ENSEMBLE_BAD_ACK', CODE.BAD_SEQUENCE);
        const id = link.resumeId!;
        const position = s.endpoint.resumePosition();
        link.send({ type: 'continue-ok', id });
        link.send({ type: 'ack', id, position });
        s.endpoint.open(link, id, m.position, position);
        s.idleSince = null;
        return;
      }
      default:
        return;
    }
  }

  private openSession(link: ServerLink): void {
    if (this.sessions.size >= this.maxSessions) {
      return this.failLink(link, 'DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS', CODE.TOO_MANY_SESSIONS);
    }
    const id = this.freshId();
    const handle = this.nextHandle++;
    const host: EndpointHost = {
      delivered: () => {
        for (const data of s.endpoint.recv.takeDelivered()) this.events.push({ type: 'upstream-data', session: handle, data });
      },
      peerClosed: () => {
        this.events.push({ type: 'upstream-end', session: handle });
        this.maybeFinish(s);
      },
      sendFinished: () => this.maybeFinish(s),
      writable: () => this.events.push({ type: 'session-writable', session: handle }),
      linkFailed: (failed, code) => {
        this.events.push({ type: 'connection-failed', connId: failed.connId, code });
        if (this.sessions.get(handle) === s) this.updateIdle(s);
      },
      peerAborted: () => this.removeSession(s, 'peer-aborted'),
      extend: (onLink, requested) => this.extend(s, onLink, requested),
    };
    const s: ServerSession = {
      handle,
      ids: [id],
      endpoint: new StreamEndpoint('server', host, this.maxBufferedPerSession, MAX_SEQ, this.ackDelayMs, () => this.now),
      idleSince: null,
      ackQueuedAt: null,
    };
    this.sessions.set(handle, s);
    this.byId.set(bytesToHex(id), s);
    link.session = s;
    link.send({ type: 'new-ok', id });
    s.endpoint.open(link, id, 0, 0);
    link.acceptsEarlyId = true; // the client may have sent data behind its New already
    this.events.push({ type: 'session-opened', session: handle });
  }

  /** Continue (or its Ack) for an id not in the table: 0xF2 if it was closed, else 0xF1. */
  private refuse(link: ServerLink, id: Uint8Array): void {
    if (this.closedIds.has(bytesToHex(id))) {
      return this.failLink(link, 'DUST_ERR_ENSEMBLE_SESSION_CLOSED', CODE.CONNECTION_CLOSED);
    }
    this.failLink(link, 'DUST_ERR_ENSEMBLE_UNKNOWN_SESSION', CODE.UNKNOWN_SESSION);
  }

  /**
   * Extend on `link` naming `requested` (any id of the session). The answer must differ from the
   * id the connection uses now, so that the peer's first message with it marks the reset: the
   * current id when the connection is not on it yet (a client that missed an Extend OK on another
   * connection learns it this way), else a fresh one. An id the session never had gets 0xF1.
   */
  private extend(s: ServerSession, link: ServerLink, requested: Uint8Array): Uint8Array | null {
    if (this.byId.get(bytesToHex(requested)) !== s) {
      s.endpoint.fail(link, 'DUST_ERR_ENSEMBLE_UNKNOWN_SESSION', CODE.UNKNOWN_SESSION);
      return null;
    }
    const current = s.ids[s.ids.length - 1]!;
    if (!equalBytes(link.sendId!, current) && !equalBytes(link.recvId!, current)) return current;
    const fresh = this.freshId();
    s.ids.push(fresh);
    this.byId.set(bytesToHex(fresh), s);
    if (s.ids.length > MAX_SESSION_IDS) this.byId.delete(bytesToHex(s.ids.shift()!));
    return fresh;
  }

  private freshId(): Uint8Array {
    for (;;) {
      const id = abytes(this.random(ID_BYTES), ID_BYTES, 'random output').slice();
      const key = bytesToHex(id);
      if (!this.byId.has(key) && !this.closedIds.has(key) && !equalBytes(id, EARLY_ID)) return id;
    }
  }

  private failLink(link: ServerLink, code: LinkFailure, reply: ErrorCode | null): void {
    const s = link.session;
    if (s !== undefined && link.phase === 'open') {
      s.endpoint.fail(link, code, reply);
      return;
    }
    if (link.failure !== null) return;
    link.failure = code;
    link.phase = 'failed';
    link.deadline = null;
    link.out.truncateToBoundary();
    if (reply !== null) link.send({ type: 'error', code: reply });
    this.events.push({ type: 'connection-failed', connId: link.connId, code });
  }

  private touchSession(s: ServerSession): void {
    for (const link of s.endpoint.links) this.touched.add(link.connId);
  }

  private updateIdle(s: ServerSession): void {
    if (s.endpoint.links.size > 0) {
      s.idleSince = null;
    } else if (s.idleSince === null) {
      s.idleSince = this.now;
      this.idleDeadlines.add(s.idleSince + this.idleTimeoutMs, s.handle);
    }
  }

  private maybeFinish(s: ServerSession): void {
    if (s.endpoint.finished && this.sessions.get(s.handle) === s) this.removeSession(s, 'closed');
  }

  private removeSession(s: ServerSession, reason: SessionCloseReason): void {
    if (this.sessions.get(s.handle) !== s) return;
    this.sessions.delete(s.handle);
    for (const id of s.ids) {
      const key = bytesToHex(id);
      this.byId.delete(key);
      if (reason === 'closed' && this.closedMemoryMs > 0) this.rememberClosed(key);
    }
    for (const link of [...s.endpoint.links]) {
      this.touched.add(link.connId);
      if (reason === 'closed') {
        s.endpoint.flushOwed(link);
      } else if (reason === 'aborted') {
        link.out.truncateToBoundary();
        link.send({ type: 'error', code: CODE.CONNECTION_CLOSED });
      }
      link.phase = 'ended';
      s.endpoint.drop(link);
    }
    // Connections still in their resume handshake for this session will be refused at their Ack.
    this.events.push({ type: 'session-closed', session: s.handle, reason });
  }

  private rememberClosed(key: string): void {
    this.closedIds.delete(key);
    this.closedIds.set(key, this.now + this.closedMemoryMs);
    // Bounded: past four times the table size, forget the oldest first.
    const cap = Math.max(16, 4 * this.maxSessions);
    while (this.closedIds.size > cap) this.closedIds.delete(this.closedIds.keys().next().value!);
  }
}
