/**
 * Ensemble client: one logical byte stream over many successive (or simultaneous) Dust connections
 * (seed "Ensemble Protocol"; DECISIONS.md "Ensemble"; docs/ensemble.md "Client").
 *
 * Sans-IO, quinn style: the driver owns the connections and the clock. It attaches each new
 * connection, pushes what the connection decrypted (`receive`), pulls what to encrypt next
 * (`pollSend`), reports the end of each connection, calls `handleTimeout(now)` at `nextWakeup()`,
 * and after every input drains `pollEvent()`. `connectionsWanted()` says when to open the next
 * connection (as soon as the previous one is retired or lost). The application side is
 * `write`/`read`/`close`, like a non-blocking socket.
 *
 * The first connection sends New; every later one sends Continue followed by an Ack carrying this
 * side's receive position, and waits for the server's Continue OK and Ack before it carries data,
 * so each side sends again exactly what the other lacks.
 * @module
 */
import { abytes, aint, equalBytes } from '../core/bytes.js';
import { Link, MAX_ACK_DELAY_MS, StreamEndpoint, type EndpointHost } from './endpoint.js';
import type { LinkFailure, SessionFailure } from './errors.js';
import { CODE, MAX_SEQ, type Message } from './messages.js';
import { MAX_WINDOW } from './stream.js';

/** Extend once a connection's sequence number in either direction reaches this: 3/4 of 2^16. */
export const DEFAULT_EXTEND_THRESHOLD = 0xc000;
/** Default time for New/Continue to be answered. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
/** Default time the client waits without any open connection before giving up the session. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 120_000;
/** Most simultaneous connections one session may use. */
export const MAX_WIDTH = 16;

/** Client settings; every field is optional. */
export interface EnsembleClientOptions {
  /** Most unacknowledged bytes kept for resending, i.e. how far `write` may run ahead (1 B–4 MiB, default 4 MiB). */
  window?: number;
  /** Connections to keep open at once ("ensemble width", 1–16, default 1). */
  width?: number;
  /** Per-connection sequence number at which to Extend (1–65535, default 49152). */
  extendThreshold?: number;
  /** New/Continue must be answered within this many ms (default 30 s). */
  handshakeTimeoutMs?: number;
  /** Give up when no connection has been open for this many ms (default 120 s). */
  reconnectTimeoutMs?: number;
  /** Delay for acknowledgements that would go alone (0–1000 ms, default 0: at once; endpoint.ts). */
  ackDelayMs?: number;
  /**
   * Send data right behind New, before New OK, with the all-zero id (docs/ensemble.md §3, "early
   * data"): saves a round trip before the first byte. Default false.
   */
  earlyData?: boolean;
}

/** `connecting` until New OK, `open`, then `closed` (both directions finished) or `failed`. */
export type ClientState = 'connecting' | 'open' | 'closed' | 'failed';

/** What a connection is doing, as `connectionState` reports it. */
export type ConnectionState = 'waiting' | 'handshaking' | 'open' | 'failed' | 'ended';

/** What the client reports to its driver and application. */
export type ClientEvent =
  /** New OK arrived: the session exists on the server. */
  | { type: 'opened'; id: Uint8Array }
  /** The server closed its direction; after the bytes still in `read()`, nothing more comes. */
  | { type: 'end' }
  /** Window space opened after `write` took less than it was given. */
  | { type: 'writable' }
  /** Both directions finished cleanly. */
  | { type: 'closed' }
  /** The session failed (see `failure`). */
  | { type: 'error'; code: SessionFailure }
  /** One connection stopped carrying the session; the driver may end it (after its duration). */
  | { type: 'connection-failed'; connId: number; code: LinkFailure };

/** The client end of one Ensemble session. */
export class EnsembleClient {
  readonly width: number;
  readonly handshakeTimeoutMs: number;
  readonly reconnectTimeoutMs: number;
  private readonly endpoint: StreamEndpoint;
  private readonly links = new Map<number, Link>();
  private readonly events: ClientEvent[] = [];
  private _state: ClientState = 'connecting';
  private _failure: SessionFailure | null = null;
  private latest: Uint8Array | null = null;
  private now = -Infinity;
  private noOpenSince: number | null = null;
  private readonly earlyData: boolean;

  constructor(options: EnsembleClientOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const window = aint(options.window ?? MAX_WINDOW, 1, MAX_WINDOW, 'options.window');
    this.width = aint(options.width ?? 1, 1, MAX_WIDTH, 'options.width');
    const extendThreshold = aint(options.extendThreshold ?? DEFAULT_EXTEND_THRESHOLD, 1, MAX_SEQ, 'options.extendThreshold');
    this.handshakeTimeoutMs = aint(options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, 1, 2 ** 31, 'options.handshakeTimeoutMs');
    this.reconnectTimeoutMs = aint(options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS, 1, 2 ** 31, 'options.reconnectTimeoutMs');
    const host: EndpointHost = {
      delivered: () => {},
      peerClosed: () => {
        this.events.push({ type: 'end' });
        this.checkFinished();
      },
      sendFinished: () => this.checkFinished(),
      writable: () => this.events.push({ type: 'writable' }),
      linkFailed: (link, code) => this.linkEnded(link, code),
      peerAborted: () => this.serverEndedSession(false),
      latestId: () => this.latest!,
      extended: (id) => {
        this.latest = id;
      },
    };
    const ackDelayMs = aint(options.ackDelayMs ?? 0, 0, MAX_ACK_DELAY_MS, 'options.ackDelayMs');
    if (options.earlyData !== undefined && typeof options.earlyData !== 'boolean') throw new TypeError('options.earlyData must be a boolean');
    this.earlyData = options.earlyData ?? false;
    this.endpoint = new StreamEndpoint('client', host, window, extendThreshold, ackDelayMs, () => this.now);
  }

  /** Lifecycle state of the logical session. */
  get state(): ClientState {
    return this._state;
  }

  /** Why the session failed, or null. */
  get failure(): SessionFailure | null {
    return this._failure;
  }

  /** The newest session id (changes with Extend), or null before New OK. */
  get sessionId(): Uint8Array | null {
    return this.latest === null ? null : this.latest.slice();
  }

  // ---- connections (driver side) ----

  /** A new connection is ready to carry the session; its first bytes will be New or Continue. */
  attachConnection(connId: number, now: number): void {
    aint(connId, 0, Number.MAX_SAFE_INTEGER, 'connId');
    this.advance(now);
    if (this.links.has(connId)) throw new Error(`connection ${connId} is already attached`);
    const link = new Link(connId, 'waiting');
    this.links.set(connId, link);
    if (this._state === 'closed' || this._state === 'failed') link.phase = 'ended';
    else if (this.latest !== null) this.startResume(link);
    else this.electOpener();
    this.tick();
  }

  /** The connection will end soon (its duration runs out): no new data on it, acknowledge now. */
  retireConnection(connId: number): void {
    const link = this.link(connId);
    link.retired = true;
    if (this.endpoint.links.has(link)) this.endpoint.retire(link); // open, or carrying early data
    // A New on a connection that is about to end may never be answered: ask on another one too.
    if (link.phase === 'opening') this.electOpener();
  }

  /** The connection ended (closed, reset, or its Dust session failed). */
  connectionClosed(connId: number, now: number): void {
    const link = this.link(connId);
    this.advance(now);
    this.links.delete(connId);
    this.endpoint.drop(link);
    if (link.phase !== 'failed') link.phase = 'ended';
    this.electOpener();
    this.tick();
  }

  /** Plaintext that the connection `connId` delivered, in any chunking. */
  receive(connId: number, bytes: Uint8Array, now: number): void {
    abytes(bytes, undefined, 'bytes');
    const link = this.link(connId);
    this.advance(now);
    if (link.phase !== 'failed' && link.phase !== 'ended') {
      for (const message of link.decoder.push(bytes)) {
        this.onMessage(link, message);
        if (link.phase === 'failed' || link.phase === 'ended') break;
      }
      if (link.decoder.failure !== null && link.phase !== 'failed' && link.phase !== 'ended') {
        this.endpoint.fail(link, 'DUST_ERR_ENSEMBLE_MALFORMED', CODE.BAD_SEQUENCE);
      }
    }
    this.tick();
  }

  /** Up to `maxBytes` of plaintext to put into connection `connId`, or null when it has nothing. */
  pollSend(connId: number, maxBytes: number): Uint8Array | null {
    aint(maxBytes, 1, Number.MAX_SAFE_INTEGER, 'maxBytes');
    const link = this.link(connId);
    if (link.phase === 'open' || (link.phase === 'opening' && this.endpoint.links.has(link))) {
      const budget = maxBytes - link.out.length;
      if (budget > 0) this.endpoint.generate(link, budget);
    }
    return link.out.take(maxBytes);
  }

  /** How many more connections the driver should open now (0 once the session is over). */
  connectionsWanted(): number {
    if (this._state === 'closed' || this._state === 'failed') return 0;
    let usable = 0;
    for (const link of this.links.values()) {
      if (!link.retired && link.phase !== 'failed' && link.phase !== 'ended' && link.phase !== 'orphan') usable++;
    }
    return Math.max(0, this.width - usable);
  }

  /** What connection `connId` is doing. */
  connectionState(connId: number): ConnectionState {
    const phase = this.link(connId).phase;
    if (phase === 'opening' || phase === 'resuming' || phase === 'resume-ack') return 'handshaking';
    if (phase === 'orphan') return 'ended';
    return phase as ConnectionState;
  }

  /** Why connection `connId` failed, or null. */
  connectionFailure(connId: number): LinkFailure | null {
    return this.link(connId).failure;
  }

  // ---- application side ----

  /**
   * Queues application bytes; returns how many fitted into the window (0 when it is full: wait
   * for a `writable` event). Returns 0 once the session is over.
   * @throws Error after `close()`.
   */
  write(bytes: Uint8Array): number {
    abytes(bytes, undefined, 'bytes');
    if (this.endpoint.send.finPos !== null && this._state !== 'failed') throw new Error('write after close()');
    if (this._state === 'closed' || this._state === 'failed') return 0;
    return this.endpoint.write(bytes);
  }

  /** Bytes `write` would take now. */
  get writable(): number {
    return this._state === 'closed' || this._state === 'failed' ? 0 : this.endpoint.send.writable;
  }

  /** Bytes written but not yet acknowledged by the server. */
  get unacknowledged(): number {
    return this.endpoint.send.writePos - this.endpoint.send.ackedPos;
  }

  /** In-order bytes from the server waiting for `read`. */
  get readable(): number {
    return this.endpoint.recv.pendingBytes;
  }

  /** Takes up to `max` received bytes (all by default). */
  read(max: number = Number.MAX_SAFE_INTEGER): Uint8Array {
    aint(max, 0, Number.MAX_SAFE_INTEGER, 'max');
    return this.endpoint.recv.read(max);
  }

  /** The server closed its direction and every byte before that was read. */
  get readableEnded(): boolean {
    return this.endpoint.recv.finished && this.endpoint.recv.pendingBytes === 0;
  }

  /**
   * Ends the client's direction (like TCP's FIN): a Close follows the last written byte. Reading
   * goes on until the server closes too. Idempotent.
   */
  close(): void {
    if (this._state === 'failed') return;
    this.endpoint.send.end();
  }

  /** Drops the session at once: tells the server (0xF2 on open connections) and fails locally. */
  abort(): void {
    if (this._state === 'closed' || this._state === 'failed') return;
    for (const link of this.links.values()) {
      if (link.phase === 'open') {
        link.out.truncateToBoundary();
        link.send({ type: 'error', code: CODE.CONNECTION_CLOSED });
      }
    }
    this.failSession('DUST_ERR_ENSEMBLE_ABORTED', false);
  }

  // ---- time and events ----

  /** Runs timers due at `now` (a spurious call is harmless). */
  handleTimeout(now: number): void {
    this.advance(now);
    this.tick();
  }

  /** When `handleTimeout` should next run, or null when no timer is armed. */
  nextWakeup(): number | null {
    let next: number | null = null;
    for (const link of this.links.values()) {
      if (link.deadline !== null && (next === null || link.deadline < next)) next = link.deadline;
    }
    if (this.noOpenSince !== null && (this._state === 'connecting' || this._state === 'open')) {
      const t = this.noOpenSince + this.reconnectTimeoutMs;
      if (next === null || t < next) next = t;
    }
    const ack = this._state === 'open' ? this.endpoint.ackDeadline() : null;
    if (ack !== null && (next === null || ack < next)) next = ack;
    return next;
  }

  /** Next event, or null. */
  pollEvent(): ClientEvent | null {
    return this.events.shift() ?? null;
  }

  // ---- internals ----

  private link(connId: number): Link {
    const link = this.links.get(connId);
    if (link === undefined) throw new Error(`connection ${String(connId)} is not attached`);
    return link;
  }

  private advance(now: number): void {
    if (typeof now !== 'number' || Number.isNaN(now)) throw new TypeError('now must be a number');
    if (now < this.now) throw new RangeError(`now must not go backwards (${now} < ${this.now})`);
    this.now = now;
  }

  private startNew(link: Link): void {
    link.send({ type: 'new' });
    link.phase = 'opening';
    link.deadline = this.now + this.handshakeTimeoutMs;
    if (this.earlyData) this.endpoint.openEarly(link);
  }

  private startResume(link: Link): void {
    const id = this.latest!;
    const position = this.endpoint.resumePosition();
    link.send({ type: 'continue', id });
    link.send({ type: 'ack', id, position });
    link.resumeId = id;
    link.announcedPos = position;
    link.phase = 'resuming';
    link.deadline = this.now + this.handshakeTimeoutMs;
  }

  /**
   * Before the session exists, exactly one connection that is not retiring should be asking for
   * it: when none is (the asker died, failed or is retiring), the newest waiting connection sends
   * New. A retiring asker keeps waiting for its answer; whichever New OK comes first wins, and a
   * later one names an orphan session, which the client aborts (0xF2) at once.
   */
  private electOpener(): void {
    if (this._state !== 'connecting') return;
    let candidate: Link | null = null;
    for (const link of this.links.values()) {
      if (link.phase === 'opening' && !link.retired) return;
      if (link.phase === 'waiting' && !link.retired) candidate = link;
    }
    if (candidate !== null) this.startNew(candidate);
  }

  private onMessage(link: Link, m: Message): void {
    switch (link.phase) {
      case 'open':
        return this.endpoint.handle(link, m);
      case 'opening':
        if (m.type === 'new-ok') {
          if (this.latest !== null) return this.abortOrphan(link);
          this.latest = m.id.slice();
          this._state = 'open';
          if (this.endpoint.links.has(link)) this.endpoint.promote(link, this.latest);
          else this.endpoint.open(link, this.latest, 0, 0);
          this.events.push({ type: 'opened', id: m.id.slice() });
          for (const other of this.links.values()) {
            if (other.phase === 'waiting') this.startResume(other);
            else if (other.phase === 'opening') {
              // Its New will create a second session; abort that one when its New OK comes. What
              // it carried as early data went to that session: send it again on this one.
              other.phase = 'orphan';
              this.endpoint.drop(other);
            }
          }
          return;
        }
        if (m.type === 'error' && m.code === CODE.TOO_MANY_SESSIONS) {
          return this.failSession('DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS', true);
        }
        return this.handshakeError(link, m);
      case 'orphan':
        if (m.type === 'new-ok') return this.abortOrphan(link);
        link.phase = 'ended';
        link.deadline = null;
        return;
      case 'resuming':
        if (m.type === 'continue-ok' && sameId(m.id, link.resumeId)) {
          link.phase = 'resume-ack';
          return;
        }
        return this.handshakeError(link, m);
      case 'resume-ack':
        if (m.type === 'ack' && sameId(m.id, link.resumeId)) {
          if (!this.endpoint.peerResumed(link, m.position)) {
            return this.endpoint.fail(link, 'DUST_ERR_ENSEMBLE_BAD_ACK', CODE.BAD_SEQUENCE);
          }
          return this.endpoint.open(link, link.resumeId!, m.position, link.announcedPos);
        }
        return this.handshakeError(link, m);
      default:
        // 'waiting': the server speaks only after New or Continue.
        return this.endpoint.fail(link, 'DUST_ERR_ENSEMBLE_UNEXPECTED', CODE.BAD_SEQUENCE);
    }
  }

  /** A New OK for a session we do not need (another New won): abort it on the server. */
  private abortOrphan(link: Link): void {
    this.endpoint.drop(link);
    link.out.truncateToBoundary();
    link.send({ type: 'error', code: CODE.CONNECTION_CLOSED });
    link.phase = 'ended';
    link.deadline = null;
  }

  /** An answer other than OK to New or Continue. */
  private handshakeError(link: Link, m: Message): void {
    if (m.type === 'error' && m.code === CODE.UNKNOWN_SESSION && link.phase !== 'opening') {
      return this.failSession('DUST_ERR_ENSEMBLE_UNKNOWN_SESSION', true);
    }
    if (m.type === 'error' && m.code === CODE.CONNECTION_CLOSED) return this.serverEndedSession(link.phase !== 'opening');
    const code: LinkFailure = m.type === 'error' ? 'DUST_ERR_ENSEMBLE_PEER_ERROR' : 'DUST_ERR_ENSEMBLE_UNEXPECTED';
    this.endpoint.fail(link, code, m.type === 'error' ? null : CODE.BAD_SEQUENCE);
  }

  /**
   * The server sent 0xF2. In answer to Continue it means the session was closed cleanly: the server
   * removes a session only after it got our Close with every byte before it and we confirmed its
   * Close, so only its Close OK went missing. On an open connection it means the server aborted
   * the session, which is clean only if both directions were already finished.
   */
  private serverEndedSession(inAnswerToContinue: boolean): void {
    const send = this.endpoint.send;
    const clean = inAnswerToContinue
      ? this.endpoint.recv.finished && send.finPos !== null && send.sentEnd === send.finPos
      : this.endpoint.finished;
    if (clean) {
      if (this._state === 'open') {
        this._state = 'closed';
        this.events.push({ type: 'closed' });
      }
      for (const link of this.links.values()) this.endLink(link);
      return;
    }
    this.failSession('DUST_ERR_ENSEMBLE_SESSION_CLOSED', true);
  }

  private checkFinished(): void {
    if (this.endpoint.finished && this._state === 'open') {
      this._state = 'closed';
      this.events.push({ type: 'closed' });
    }
  }

  private linkEnded(link: Link, code: LinkFailure): void {
    this.events.push({ type: 'connection-failed', connId: link.connId, code });
    this.electOpener();
  }

  private endLink(link: Link): void {
    if (link.phase !== 'failed') link.phase = 'ended';
    link.deadline = null;
    this.endpoint.drop(link);
  }

  private failSession(code: SessionFailure, emit: boolean): void {
    if (this._state === 'closed' || this._state === 'failed') return;
    this._state = 'failed';
    this._failure = code;
    for (const link of this.links.values()) this.endLink(link);
    if (emit) this.events.push({ type: 'error', code });
  }

  /** Timers and the reconnect clock, after every input. */
  private tick(): void {
    const now = this.now;
    for (const link of [...this.links.values()]) {
      if (link.deadline !== null && now >= link.deadline) {
        this.endpoint.fail(link, 'DUST_ERR_ENSEMBLE_HANDSHAKE_TIMEOUT', null);
      }
    }
    if (this._state !== 'connecting' && this._state !== 'open') {
      this.noOpenSince = null;
      return;
    }
    let anyOpen = false;
    for (const link of this.links.values()) if (link.phase === 'open') anyOpen = true;
    if (anyOpen) {
      this.noOpenSince = null;
    } else {
      this.noOpenSince ??= now;
      if (now - this.noOpenSince >= this.reconnectTimeoutMs) this.failSession('DUST_ERR_ENSEMBLE_RECONNECT_TIMEOUT', true);
    }
  }
}

function sameId(a: Uint8Array, b: Uint8Array | null): boolean {
  return b !== null && equalBytes(a, b);
}
