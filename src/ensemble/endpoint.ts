/**
 * The data phase of an Ensemble session, shared by client and server (docs/ensemble.md "Data
 * phase"): one {@link StreamEndpoint} owns the session's two stream halves and every open
 * connection ({@link Link}) that carries them. It turns Data, Position, Ack, Close, Close OK,
 * Extend/Extend OK and error messages into stream state, and builds what each connection sends
 * next. The handshakes (New, Continue) and the session table live in client.ts and server.ts.
 *
 * Per connection and direction, Data messages are numbered 0, 1, 2, ... (the seed's sequence
 * number) and carry consecutive stream bytes starting at the connection's resume position; a
 * Position message moves that implicit position (to send bytes again, or to send on several
 * connections at once). So a Data message's stream position is known without being on the wire.
 * @module
 */
import { equalBytes } from '../core/bytes.js';
import type { LinkFailure } from './errors.js';
import {
  CODE,
  DATA_HEADER_BYTES,
  ID_BYTES,
  MAX_DATA_BYTES,
  MAX_SEQ,
  MessageDecoder,
  POSITION_MESSAGE_BYTES,
  encodeMessage,
  writeDataHeader,
  type ErrorCode,
  type Message,
} from './messages.js';
import { OutputQueue } from './byte-queue.js';
import { MAX_WINDOW, ReceiveStream, SendStream } from './stream.js';

/** Acknowledge at least every this many received bytes, even while busy sending. 16 KiB. */
export const ACK_EVERY_BYTES = 16 * 1024;
/** While sending, piggyback a pending acknowledgement at least every this many sent bytes. 64 KiB. */
export const ACK_AFTER_SENT_BYTES = 64 * 1024;
/**
 * The id a client's messages carry on the connection that sent New, before New OK has told it the
 * real one ("early data", docs/ensemble.md §3). The server never issues it as a session id.
 */
export const EARLY_ID: Uint8Array = new Uint8Array(ID_BYTES);

/**
 * How much of the stream may go as early data: a first flight (tor's TLS ClientHello is about
 * 0.5 KiB). If the New is never answered, this much went to a session nobody will use. 16 KiB.
 */
export const EARLY_DATA_BYTES = 16 * 1024;

/** Longest acknowledgement delay an endpoint accepts (`ackDelayMs`). */
export const MAX_ACK_DELAY_MS = 1000;
/**
 * Data size when the caller's `maxBytes` cannot hold a Data header and one byte: the message then
 * spills over into the following `pollSend` calls instead of stalling. 1 KiB.
 */
export const SPILL_DATA_BYTES = 1024;

/** One connection as the Ensemble core sees it. Client and server keep their own handshake phase. */
export class Link {
  readonly connId: number;
  readonly decoder = new MessageDecoder();
  readonly out = new OutputQueue();
  /** Handshake phase, owned by client.ts / server.ts; 'open' while the endpoint carries data on it. */
  phase: string;
  failure: LinkFailure | null = null;
  /** The driver said this connection is about to end: no new Data or Close on it. */
  retired = false;
  /** Handshake deadline (driver time), or null. */
  deadline: number | null = null;
  /** Session id our messages carry on this connection. */
  sendId: Uint8Array | null = null;
  /** Session id the peer's messages must carry on this connection. */
  recvId: Uint8Array | null = null;
  /** (Server) id announced by our Extend OK: the peer's first message carrying it resets its seq. */
  recvPendingId: Uint8Array | null = null;
  sendSeq = 0;
  recvSeq = 0;
  /** Stream position of our next Data on this connection. */
  sendPos = 0;
  /** Stream position of the peer's next Data on this connection. */
  recvPos = 0;
  /** (Client) an Extend is out and its OK has not arrived. */
  extendPending = false;
  /** The peer's Close arrived here; answer Close OK once every byte before it is delivered. */
  closeOkOwed = false;
  /** Id named by the Continue that started this connection's resume. */
  resumeId: Uint8Array | null = null;
  /** Our receive position as announced in that resume. */
  announcedPos = 0;
  /** (Server) this connection sent the New that made its session: it may use {@link EARLY_ID}. */
  acceptsEarlyId = false;
  /** (Client) carrying early data: stream bytes below this position only, until New OK. */
  earlyLimit: number | null = null;

  constructor(connId: number, phase: string) {
    this.connId = connId;
    this.phase = phase;
  }

  /** Queues one message for this connection. */
  send(message: Message): void {
    this.out.push(encodeMessage(message));
  }
}

/** What the endpoint reports to its owner (client or server). */
export interface EndpointHost {
  /** In-order bytes became available in `endpoint.recv`. */
  delivered(): void;
  /** The peer's Close arrived and every byte before it was delivered. Called once. */
  peerClosed(): void;
  /** The peer confirmed our Close. Called once. */
  sendFinished(): void;
  /** Window space opened after a short write. */
  writable(): void;
  /** A connection failed (the endpoint already let go of it). */
  linkFailed(link: Link, code: LinkFailure): void;
  /** The peer sent 0xF2 on an open connection: it closed or aborted the session. */
  peerAborted(link: Link): void;
  /** (Server) the peer asked to Extend with `id`; answer with the connection's new id, or null. */
  extend?(link: Link, id: Uint8Array): Uint8Array | null;
  /** (Client) the newest session id known, which Extend and Continue carry. */
  latestId?(): Uint8Array;
  /** (Client) an Extend OK brought `id`. */
  extended?(id: Uint8Array): void;
}

/** The session's streams plus its open connections. */
export class StreamEndpoint {
  readonly send: SendStream;
  readonly recv = new ReceiveStream();
  readonly links = new Set<Link>();
  private lastAckSent = 0;
  /** When the oldest byte not yet acknowledged arrived (host time), or null when none is owed. */
  private ackOwedSince: number | null = null;
  private sentSinceAck = 0;
  private ackForced = false;
  private peerClosedReported = false;
  private sendFinishedReported = false;
  private writeBlocked = false;

  constructor(
    private readonly role: 'client' | 'server',
    private readonly host: EndpointHost,
    window: number,
    /** (Client) ask for an Extend once a connection's seq in either direction reaches this. */
    private readonly extendThreshold: number = MAX_SEQ,
    /**
     * 0: acknowledge as soon as nothing else is being sent. More: an owed acknowledgement rides
     * with the next data, and goes alone only this many ms after the first unacknowledged byte
     * (or once ACK_EVERY_BYTES are owed) — like TCP's delayed ACK. Under an on-demand flow a lone
     * acknowledgement costs a whole packet; the reply it would precede usually comes sooner.
     */
    private readonly ackDelayMs = 0,
    /** The host's current time (ms), for the acknowledgement delay. */
    private readonly clock: () => number = () => 0,
  ) {
    this.send = new SendStream(window);
  }

  /** Application bytes into the send stream; returns how many fitted in the window. */
  write(bytes: Uint8Array): number {
    const n = this.send.write(bytes);
    if (n < bytes.length) this.writeBlocked = true;
    return n;
  }

  /** True once both directions are finished: our Close confirmed, the peer's Close delivered. */
  get finished(): boolean {
    return this.send.finAcked && this.recv.finished;
  }

  /**
   * (Client, early data) Starts carrying the session on `link` right after its New, with
   * {@link EARLY_ID}: the link keeps its handshake phase until New OK, then `promote` gives it the
   * real id. Sequence numbers and positions start at 0 as after New OK.
   */
  openEarly(link: Link): void {
    link.earlyLimit = EARLY_DATA_BYTES;
    link.sendId = EARLY_ID;
    link.recvId = EARLY_ID;
    link.sendSeq = 0;
    link.recvSeq = 0;
    link.sendPos = 0;
    link.recvPos = 0;
    this.links.add(link);
  }

  /** (Client, early data) New OK came for `link`: its messages carry the real id from now on. */
  promote(link: Link, id: Uint8Array): void {
    link.earlyLimit = null;
    link.phase = 'open';
    link.deadline = null;
    link.sendId = id;
    link.recvId = id;
  }

  /** Starts carrying the session on `link` (after New/New OK or a completed resume). */
  open(link: Link, id: Uint8Array, sendPos: number, recvPos: number): void {
    link.phase = 'open';
    link.deadline = null;
    link.sendId = id;
    link.recvId = id;
    link.recvPendingId = null;
    link.sendSeq = 0;
    link.recvSeq = 0;
    link.sendPos = sendPos;
    link.recvPos = recvPos;
    this.links.add(link);
  }

  /**
   * The peer resumed with receive position `position`: everything in flight may have been lost
   * with the connection it left, so it all goes out again from there. False for an impossible
   * position (more than was ever sent).
   */
  peerResumed(link: Link, position: number): boolean {
    this.send.resumedOn(link);
    const result = this.send.ack(position);
    if (result === 'invalid') return false;
    if (result === 'advanced') this.afterAck();
    return true;
  }

  /** Our receive position, for a resume acknowledgement; counts as an acknowledgement sent. */
  resumePosition(): number {
    this.ackSent(this.recv.recvPos);
    this.ackForced = false;
    return this.recv.recvPos;
  }

  /** When the owed delayed acknowledgement falls due (host time, past or not), or null when none is owed. */
  ackDueAt(): number | null {
    return this.ackDelayMs > 0 && this.ackOwedSince !== null ? this.ackOwedSince + this.ackDelayMs : null;
  }

  /**
   * When a delayed acknowledgement falls due (host time), or null when none is waiting. Once that
   * time has come the acknowledgement goes with the next `generate` on any connection, and this
   * returns null: a session that has no connection able to send right now (between connections, or
   * waiting for its packet slot) must not make its driver spin on a deadline in the past.
   */
  ackDeadline(): number | null {
    const due = this.ackDueAt();
    return due !== null && due > this.clock() ? due : null;
  }

  /** The connection ended or failed: its unacknowledged ranges go back in line. */
  drop(link: Link): void {
    if (!this.links.delete(link)) return;
    this.send.lost(link);
    // The last acknowledgement may have gone out on it and never arrive: repeat it elsewhere, or
    // a peer whose window is full would wait for it until another connection ends.
    this.ackForced = true;
  }

  /** Marks `link` failed, queues `reply` (an error code) on it, and lets go of it. */
  fail(link: Link, code: LinkFailure, reply: ErrorCode | null): void {
    if (link.failure !== null) return;
    link.failure = code;
    link.phase = 'failed';
    link.deadline = null;
    link.out.truncateToBoundary();
    if (reply !== null) link.send({ type: 'error', code: reply });
    this.drop(link);
    this.host.linkFailed(link, code);
  }

  /** The driver says `link` ends soon: stop putting data on it, and acknowledge what we have. */
  retire(link: Link): void {
    link.retired = true;
    this.send.retired(link);
    this.ackForced = true;
  }

  /** Handles one data-phase message that arrived on open `link`. */
  handle(link: Link, m: Message): void {
    switch (m.type) {
      case 'data': {
        if (!this.checkId(link, m.id) || m.seq !== link.recvSeq) {
          return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE', CODE.BAD_SEQUENCE);
        }
        link.recvSeq++;
        const start = link.recvPos;
        const failure = this.recv.receive(start, m.data);
        if (failure !== null) return this.fail(link, failure, CODE.BAD_SEQUENCE);
        link.recvPos = start + m.data.length;
        if (this.ackOwedSince === null && this.recv.recvPos > this.lastAckSent) this.ackOwedSince = this.clock();
        if (this.recv.pendingBytes > 0) this.host.delivered();
        this.checkPeerClosed();
        return;
      }
      case 'position':
        if (!this.checkId(link, m.id)) return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE', CODE.BAD_SEQUENCE);
        if (m.position > this.recv.recvPos + MAX_WINDOW) {
          return this.fail(link, 'DUST_ERR_ENSEMBLE_WINDOW', CODE.BAD_SEQUENCE);
        }
        link.recvPos = m.position;
        return;
      case 'ack': {
        if (!this.checkId(link, m.id)) return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE', CODE.BAD_SEQUENCE);
        const result = this.send.ack(m.position);
        if (result === 'invalid') return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_ACK', CODE.BAD_SEQUENCE);
        if (result === 'advanced') this.afterAck();
        return;
      }
      case 'close': {
        if (!this.checkId(link, m.id)) return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE', CODE.BAD_SEQUENCE);
        const failure = this.recv.close(link.recvPos);
        if (failure !== null) return this.fail(link, failure, CODE.BAD_SEQUENCE);
        link.closeOkOwed = true;
        this.checkPeerClosed();
        return;
      }
      case 'close-ok':
        if (!this.checkId(link, m.id)) return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE', CODE.BAD_SEQUENCE);
        if (!this.send.closeAcknowledged()) return this.fail(link, 'DUST_ERR_ENSEMBLE_BAD_CLOSE', CODE.BAD_SEQUENCE);
        this.afterAck();
        if (!this.sendFinishedReported) {
          this.sendFinishedReported = true;
          this.host.sendFinished();
        }
        return;
      case 'extend': {
        // The client asks again on a connection only after our previous Extend OK there arrived,
        // so from now on its messages here carry that id, even if this Extend names a newer one.
        if (link.recvPendingId !== null) this.switchToPending(link);
        const newId = this.role === 'server' && this.host.extend ? this.host.extend(link, m.id) : null;
        if (newId === null) {
          if (link.failure === null) this.fail(link, 'DUST_ERR_ENSEMBLE_UNEXPECTED', CODE.BAD_SEQUENCE);
          return;
        }
        // Our Data from here on: new id, seq from 0. The peer's: from its first message with the new id.
        link.send({ type: 'extend-ok', id: newId });
        link.sendId = newId;
        link.sendSeq = 0;
        link.recvPendingId = equalBytes(newId, link.recvId!) ? null : newId;
        return;
      }
      case 'extend-ok':
        if (this.role !== 'client' || !link.extendPending) {
          return this.fail(link, 'DUST_ERR_ENSEMBLE_UNEXPECTED', CODE.BAD_SEQUENCE);
        }
        // The server's messages after its Extend OK, and ours from now on, carry the new id, seq 0.
        link.extendPending = false;
        link.sendId = m.id;
        link.recvId = m.id;
        link.sendSeq = 0;
        link.recvSeq = 0;
        this.host.extended?.(m.id);
        return;
      case 'error':
        if (m.code === CODE.CONNECTION_CLOSED) return this.host.peerAborted(link);
        return this.fail(link, 'DUST_ERR_ENSEMBLE_PEER_ERROR', null);
      default:
        return this.fail(link, 'DUST_ERR_ENSEMBLE_UNEXPECTED', CODE.BAD_SEQUENCE);
    }
  }

  /** Builds up to about `budget` bytes of messages for open `link` into its output queue. */
  generate(link: Link, budget: number): void {
    let used = 0;
    const push = (bytes: Uint8Array): void => {
      link.out.push(bytes);
      used += bytes.length;
    };
    const id = link.sendId!;
    if (
      this.role === 'client' &&
      link.phase === 'open' && // not on early data: no id to extend yet
      !link.extendPending &&
      (link.sendSeq >= this.extendThreshold || link.recvSeq >= this.extendThreshold)
    ) {
      push(encodeMessage({ type: 'extend', id: this.host.latestId!() }));
      link.extendPending = true;
    }
    const dataAllowed = (): boolean => !link.retired && link.sendSeq <= MAX_SEQ;
    const recvPos = this.recv.recvPos;
    if ((this.ackForced && recvPos > 0) || (recvPos > this.lastAckSent && this.ackDue(dataAllowed() && this.send.hasPending(link)))) {
      push(encodeMessage({ type: 'ack', id, position: recvPos }));
      this.ackSent(recvPos);
      this.sentSinceAck = 0;
      this.ackForced = false;
    }
    while (dataAllowed()) {
      const start = this.send.peekStart(link);
      if (start === null) break;
      const jump = start !== link.sendPos;
      let room = budget - used - DATA_HEADER_BYTES - (jump ? POSITION_MESSAGE_BYTES : 0);
      if (room < 1) {
        if (used > 0) break;
        room = SPILL_DATA_BYTES;
      }
      if (link.earlyLimit !== null) {
        // Early data is for the first flight only: a New that is never answered wastes no more.
        if (start >= link.earlyLimit) break;
        room = Math.min(room, link.earlyLimit - start);
      }
      const range = this.send.take(Math.min(room, MAX_DATA_BYTES), link)!;
      const [a, b] = range;
      if (jump) push(encodeMessage({ type: 'position', id, position: a }));
      const message = new Uint8Array(DATA_HEADER_BYTES + (b - a));
      writeDataHeader(message, 0, id, link.sendSeq, b - a);
      this.send.copyOut(a, b, message, DATA_HEADER_BYTES);
      push(message);
      link.sendSeq++;
      link.sendPos = b;
      this.sentSinceAck += b - a;
    }
    if (!link.retired && this.send.closeReady(link)) {
      const fin = this.send.finPos!;
      if (link.sendPos !== fin) push(encodeMessage({ type: 'position', id, position: fin }));
      link.sendPos = fin;
      push(encodeMessage({ type: 'close', id }));
      this.send.closeSentOn = link;
    }
    if (link.closeOkOwed && this.recv.finished) {
      push(encodeMessage({ type: 'close-ok', id }));
      link.closeOkOwed = false;
    }
  }

  /**
   * Queues what `link` owes even if nothing more will be generated on it (the session is over):
   * the Close OK for a Close whose bytes are all delivered.
   */
  flushOwed(link: Link): void {
    if (link.closeOkOwed && this.recv.finished && link.sendId !== null) {
      link.send({ type: 'close-ok', id: link.sendId });
      link.closeOkOwed = false;
    }
  }

  /** Should the owed acknowledgement go now, given whether data is about to be sent? */
  private ackDue(sendingData: boolean): boolean {
    if (this.recv.recvPos - this.lastAckSent >= ACK_EVERY_BYTES || this.sentSinceAck >= ACK_AFTER_SENT_BYTES) return true;
    if (this.ackDelayMs === 0) return !sendingData;
    return sendingData || this.clock() >= this.ackDueAt()!;
  }

  private ackSent(position: number): void {
    this.lastAckSent = Math.max(this.lastAckSent, position);
    if (this.recv.recvPos <= this.lastAckSent) this.ackOwedSince = null;
  }

  private afterAck(): void {
    if (this.writeBlocked && this.send.writable > 0) {
      this.writeBlocked = false;
      this.host.writable();
    }
  }

  private checkPeerClosed(): void {
    if (!this.peerClosedReported && this.recv.finished) {
      this.peerClosedReported = true;
      this.host.peerClosed();
    }
  }

  /** Is `id` the one the peer must use on `link`? (Server: the first use of a pending id switches.) */
  private checkId(link: Link, id: Uint8Array): boolean {
    if (equalBytes(id, link.recvId!)) return true;
    if (link.acceptsEarlyId && equalBytes(id, EARLY_ID)) return true;
    if (link.recvPendingId !== null && equalBytes(id, link.recvPendingId)) {
      this.switchToPending(link);
      return true;
    }
    return false;
  }

  private switchToPending(link: Link): void {
    link.recvId = link.recvPendingId;
    link.recvPendingId = null;
    link.recvSeq = 0;
  }
}
