/**
 * Drives one DustSession over one TCP socket (quinn's `drive_timer` / `drive_transmit`): the only
 * place where a session meets a clock, a timer and a socket.
 *
 * - Sending: one timer armed at `session.nextWakeup()`; when it fires, `packetCount(now)`, then for
 *   each packet `encodedReady()` and `getEncoded()` into `socket.write`. Plaintext is pulled from the
 *   upper layer (`PlaintextPeer.pull`) only when the session's own queue runs low, so memory stays
 *   bounded. If the socket's send buffer is full, due packets are skipped, not queued: the traffic
 *   then depends on the network (as any TCP sender's does), never on the data.
 * - Receiving: socket bytes go into `putEncoded`; decoded plaintext goes up through
 *   `PlaintextPeer.deliver`, which returns false to ask for a pause (the socket stops reading until
 *   `resumeReading()`).
 * - Ending: the client ends the connection when the model's duration has passed. A server that has
 *   not authenticated its peer by the server's fixed delay after the connection began — a probe,
 *   garbage, silence, or a close from the peer — closes then and not before, whatever the peer sent
 *   (DECISIONS.md "Handshake"); its sockets must be made with `allowHalfOpen: true` so that Node does
 *   not answer a peer's FIN at once. A session that fails later keeps sending shaped padding and
 *   closes one delay after the failure.
 * @module
 */
import type { Socket } from 'node:net';
import type { DustSession } from '../core/session.js';
import { WakeupTimer } from './wakeup-timer.js';

/** The layer above one connection (Ensemble, or a plain stream in tests). */
export interface PlaintextPeer {
  /** Up to `maxBytes` plaintext to send now, or null when there is none. */
  pull(maxBytes: number): Uint8Array | null;
  /** Decoded plaintext from the peer; return false to pause reading until resumeReading(). */
  deliver(data: Uint8Array): boolean;
  /** The session completed its handshake. */
  opened?(): void;
  /** The Dust session failed (it goes on sending padding until the connection ends). */
  failed?(failure: string): void;
  /** The connection is gone (after this, nothing more is pulled or delivered). */
  closed?(reason: CloseReason): void;
}

export type CloseReason =
  | 'duration' // the client's sampled duration ran out
  | 'probe-delay' // a server closed a probe (or a failed session) after its fixed delay
  | 'peer-closed' // the peer ended the connection
  | 'error' // a socket error
  | 'local'; // close() was called

export interface DustConnectionOptions {
  /** Monotonic clock in ms (default performance.now). */
  clock?: () => number;
  /** Server: how long to keep reading a probe (or a failed session) before closing, in ms. */
  probeCloseDelayMs?: number;
  /** Refill the session's plaintext queue when it falls below this many bytes. */
  plaintextLowWater?: number;
  /** Skip due packets while the socket has more than this many bytes waiting to be sent. */
  socketHighWater?: number;
}

const DEFAULT_LOW_WATER = 256 * 1024;
const DEFAULT_PROBE_CLOSE_DELAY_MS = 60_000;
/** closeWhenSent gives the last bytes this long to leave (a timed flow may be slow). */
const DEFAULT_CLOSE_GRACE_MS = 5_000;
/** How long an on-demand packet that would be mostly padding waits for more data. */
const SMALL_PACKET_DELAY_MS = 2;
/** This much plaintext arriving at once means the peer is streaming to us. */
const BULK_PLAINTEXT_BYTES = 8192;
const DEFAULT_HIGH_WATER = 1024 * 1024;
/**
 * The Ensemble acknowledgement delay the stream drivers use (ackDelayMs, src/ensemble/endpoint.ts):
 * under an on-demand flow a lone acknowledgement costs a whole packet, and a reply usually comes
 * sooner and carries it. TCP's delayed ACK waits 40 ms; the window (4 MiB) never waits for this.
 */
export const DRIVER_ACK_DELAY_MS = 25;
/** An on-demand connection that has sent nothing for this long gives back its packet buffers. */
const IDLE_TRIM_MS = 2000;
/** setTimeout's largest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DustConnection {
  private readonly timer = new WakeupTimer(() => this.pump());
  private endTimer: NodeJS.Timeout | null = null;
  private finished = false;
  private closing = false;
  private opened = false;
  private readingPaused = false;
  private failureReported = false;
  private pumpScheduled = false;
  private holdUntil: number | null = null;
  private lastFullSentAt = -Infinity;
  private lastSentAt = -Infinity;
  private trimmed = true;
  private lastBulkReceivedAt = -Infinity;
  private readonly clock: () => number;
  private readonly lowWater: number;
  private readonly highWater: number;

  constructor(
    readonly session: DustSession,
    readonly socket: Socket,
    private readonly peer: PlaintextPeer,
    private readonly options: DustConnectionOptions = {},
  ) {
    this.clock = options.clock ?? (() => performance.now());
    this.lowWater = options.plaintextLowWater ?? DEFAULT_LOW_WATER;
    this.highWater = options.socketHighWater ?? DEFAULT_HIGH_WATER;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('end', () => this.onPeerEnd());
    socket.on('close', () => this.finish('peer-closed'));
    socket.on('error', () => this.finish('error'));
    if (session.role === 'client') this.armEnd(session.durationMs, 'duration');
    else this.armEnd(this.probeDelay, 'probe-delay');
    this.pump();
  }

  /** True once the session's handshake completed. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** The upper layer has new plaintext: send at once if the flow allows it. */
  notifyWritable(): void {
    if (!this.finished) this.pump();
  }

  /** The upper layer can take data again after deliver() returned false. */
  resumeReading(): void {
    if (this.finished || !this.readingPaused) return;
    this.readingPaused = false;
    this.flushDecoded();
    if (!this.readingPaused) this.socket.resume();
  }

  /** Closes the connection now. */
  close(): void {
    this.finish('local');
  }

  /**
   * Closes once everything the upper layer has queued — and every record already sealed — has
   * left in packets (the flow decides when), or after `graceMs`. An Ensemble's last Close OK or
   * abort must reach the peer, or the bridge keeps the session until its idle timeout.
   */
  closeWhenSent(graceMs = DEFAULT_CLOSE_GRACE_MS): void {
    if (this.finished || this.closing) return;
    this.closing = true;
    this.armEnd(graceMs, 'local');
    this.pump();
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    const session = this.session;
    session.putEncoded(chunk);
    if (session.silent) return; // a probe: read and discard until the fixed delay has passed
    if (session.state === 'failed' && !this.failureReported) {
      this.failureReported = true;
      if (this.opened && session.role === 'server') this.armEnd(this.probeDelay, 'probe-delay');
      this.peer.failed?.(session.failure ?? 'DUST_ERR_FAILED');
    }
    if (!this.opened && session.state === 'open') {
      this.opened = true;
      this.peer.opened?.();
    }
    this.flushDecoded();
    this.schedulePump();
  }

  /**
   * Pumps once after the current batch of socket events: input that arrives in several chunks in
   * one turn of the event loop then costs one acknowledgement packet, not one per chunk (which
   * under an on-demand flow would each be padded to a full packet).
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private flushDecoded(): void {
    const session = this.session;
    if (session.decodedReady() >= BULK_PLAINTEXT_BYTES) this.lastBulkReceivedAt = this.clock();
    while (!this.readingPaused && session.decodedReady() > 0) {
      if (!this.peer.deliver(session.getDecoded(session.decodedReady()))) {
        this.readingPaused = true;
        this.socket.pause();
      }
    }
  }

  private onPeerEnd(): void {
    this.session.endOfInput();
    // A server gives an unauthenticated peer no reaction to its close either: it closes at its
    // fixed time. Everyone else closes when the peer does.
    if (this.session.role === 'server' && !this.opened) return;
    this.finish('peer-closed');
  }

  /** Sends every packet that is due, then arms the timer for the next one. */
  private pump(): void {
    if (this.finished) return;
    const session = this.session;
    this.timer.clear();
    if (session.silent) return;
    if (session.state === 'closed') return this.finish('local');
    this.refill();
    const now = this.clock();
    if (this.holdSmallPacket(now)) return;
    for (let due = session.packetCount(now); due > 0 && !this.finished; due = this.moreDue(now)) {
      for (; due > 0; due--) {
        if (this.socket.writableLength > this.highWater) continue; // congested: skip, never queue
        this.refill();
        // Well filled with data (a handshake packet, or one of padding, carries none).
        const pending = session.pendingPlaintext;
        const full = pending > 0 && pending * 4 >= pending + session.plaintextRoom();
        this.socket.write(session.getEncoded(session.encodedReady()));
        this.lastSentAt = now;
        this.trimmed = false;
        if (full) this.lastFullSentAt = now;
      }
    }
    if (this.closing && (session.state !== 'open' || !session.sendPending)) return this.finish('local');
    if (this.holdUntil !== null) return; // a held packet's timer is armed
    this.timer.arm(this.trimIfIdle(session.nextWakeup(), now), this.clock());
  }

  /**
   * With nothing to send (an idle on-demand flow), wake once more after IDLE_TRIM_MS and give the
   * session's packet buffers back: a `bulk` session holds 32 KiB otherwise, per idle session.
   */
  private trimIfIdle(next: number, now: number): number {
    if (Number.isFinite(next) || this.trimmed || this.session.state !== 'open') return next;
    if (now - this.lastSentAt < IDLE_TRIM_MS) return this.lastSentAt + IDLE_TRIM_MS;
    this.session.trimBuffers();
    this.trimmed = true;
    return next;
  }

  /**
   * Under an on-demand flow every packet has the model's full length, so a packet carrying only a
   * few bytes (typically an Ensemble acknowledgement) is nearly all padding. Such a packet waits up
   * to SMALL_PACKET_DELAY_MS for more to send while packets are flowing; acknowledgements are
   * cumulative, so the wait merges them. Timed flows send on their schedule regardless.
   */
  private holdSmallPacket(now: number): boolean {
    const session = this.session;
    const pending = session.pendingPlaintext;
    // Only while data is streaming (a well-filled packet went out, or much plaintext came in, just
    // now): a lone request or echo goes at once.
    const busy = now - Math.max(this.lastFullSentAt, this.lastBulkReceivedAt) < SMALL_PACKET_DELAY_MS;
    if (!busy || this.closing || !session.flowOnDemand || session.state !== 'open' || pending === 0 || pending * 4 >= pending + session.plaintextRoom()) {
      this.holdUntil = null;
      return false;
    }
    this.holdUntil ??= now + SMALL_PACKET_DELAY_MS;
    if (now >= this.holdUntil) {
      this.holdUntil = null;
      return false;
    }
    this.timer.arm(this.holdUntil, now);
    return true;
  }

  /** With on-demand flow, packets keep coming while there is data and the socket takes it. */
  private moreDue(now: number): number {
    if (this.socket.writableLength > this.highWater) return 0;
    this.refill();
    const due = this.session.packetCount(now);
    // The tail of a write should not go out alone in a packet of padding while data streams.
    return due > 0 && this.holdSmallPacket(now) ? 0 : due;
  }

  /**
   * Pulls plaintext just in time: as much as the next packet can carry (at least one byte, so
   * that a tiny packet still moves data), up to the low-water mark.
   */
  private refill(): void {
    const session = this.session;
    if (session.state !== 'open') return;
    for (;;) {
      const room = Math.min(this.lowWater - session.pendingPlaintext, Math.max(1, session.plaintextRoom()));
      if (room <= 0 || (session.pendingPlaintext > 0 && session.plaintextRoom() === 0)) return;
      const data = this.peer.pull(room);
      if (data === null || data.length === 0) return;
      session.putDecoded(data);
    }
  }

  private get probeDelay(): number {
    return this.options.probeCloseDelayMs ?? DEFAULT_PROBE_CLOSE_DELAY_MS;
  }

  private armEnd(ms: number, reason: CloseReason): void {
    if (this.endTimer !== null) clearTimeout(this.endTimer);
    this.endTimer = setTimeout(() => {
      this.endTimer = null;
      // The probe deadline passes harmlessly for a server that authenticated its client in time.
      if (reason === 'probe-delay' && this.opened && this.session.state === 'open') return;
      this.finish(reason);
    }, Math.min(MAX_TIMER_MS, ms));
  }

  private finish(reason: CloseReason): void {
    if (this.finished) return;
    this.finished = true;
    this.timer.clear();
    if (this.endTimer !== null) clearTimeout(this.endTimer);
    this.endTimer = null;
    // Our side ends too (sockets are half-open capable, so nothing ends it for us).
    if (reason === 'error') this.socket.destroy();
    else this.socket.end();
    this.socket.resume(); // let the close complete even if reading was paused
    this.peer.closed?.(reason);
  }
}
