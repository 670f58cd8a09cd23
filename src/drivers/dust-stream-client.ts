/**
 * The client end of a logical Dust stream: one EnsembleClient over a succession of Dust
 * connections to one bridge (docs/ensemble.md §9, "Driver loop"). The application sees a Node
 * Duplex: what it writes reaches the bridge's upstream, what the upstream sends comes out, and
 * `end()` half-closes like TCP.
 *
 * - A connection is dialled whenever the Ensemble asks for one (`connectionsWanted`), attached when
 *   its Dust handshake completes, retired shortly before the model's duration ends (so the next one
 *   is dialled in time) and reported closed when it ends.
 * - Backpressure both ways: `write` takes what the Ensemble window allows, the rest waits for its
 *   `writable` event; received bytes stop being read from the sockets while the Duplex's readable
 *   buffer is full.
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { EnsembleClient, type EnsembleClientOptions } from '../ensemble/client.js';
import type { DustModel } from '../shaping/model.js';
import { DRIVER_ACK_DELAY_MS, type DustConnection, type PlaintextPeer } from './dust-connection.js';
import { WakeupTimer } from './wakeup-timer.js';
import { dialDust } from './transport.js';

export interface BridgeTarget {
  host: string;
  port: number;
  publicKey: Uint8Array;
  model: DustModel;
}

export interface DustStreamOptions {
  bridge: BridgeTarget;
  /** Opens the TCP connection to the bridge (default: direct). */
  connect?: (host: string, port: number) => Promise<Socket>;
  ensemble?: EnsembleClientOptions;
  /** Give up when the stream is not open after this many ms (default 30 s). */
  openTimeoutMs?: number;
}

/** A connection is retired this long before its duration ends (at most a quarter of it). */
const RETIRE_LEAD_MS = 2000;
const DEFAULT_OPEN_TIMEOUT_MS = 30_000;
/** After a failed dial once the stream is open, wait this long before the next one. */
const REDIAL_DELAY_MS = 1000;

/** An error from the Dust or Ensemble layer, with a stable code. */
export class DustStreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DustStreamError';
  }
}

/**
 * Opens a logical stream through the bridge; resolves once the first Dust connection has completed
 * its handshake (the Ensemble session opens right behind it: see `settleOpen`).
 */
export function openDustStream(options: DustStreamOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => new ClientStream(options, resolve, reject));
}

const directConnect = (host: string, port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });

class ClientStream {
  private readonly ensemble: EnsembleClient;
  private readonly connections = new Map<number, DustConnection>();
  private readonly paused = new Set<DustConnection>();
  private nextConnId = 1;
  private dialling = 0;
  private readonly timer = new WakeupTimer(() => this.service());
  private redialTimer: NodeJS.Timeout | null = null;
  private settled = false;
  private openTimer: NodeJS.Timeout;
  private finished = false;
  private readonly duplex: Duplex;
  /** Bytes the application wrote that the window did not take yet, with the write's callback. */
  private pendingWrite: { data: Uint8Array; callback: (err?: Error | null) => void } | null = null;

  constructor(
    private readonly options: DustStreamOptions,
    private readonly resolve: (stream: Duplex) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.ensemble = new EnsembleClient({ ackDelayMs: DRIVER_ACK_DELAY_MS, earlyData: true, ...options.ensemble });
    this.duplex = new Duplex({
      allowHalfOpen: true,
      // Ending both directions is not the end of the session: our Close must still be
      // acknowledged. The Duplex is destroyed when the Ensemble says the session is closed.
      autoDestroy: false,
      write: (chunk: Buffer, _encoding, callback) => {
        this.pendingWrite = { data: chunk, callback };
        this.flushWrite();
      },
      final: (callback) => {
        this.ensemble.close();
        this.service();
        callback();
      },
      read: () => {
        for (const connection of this.paused) connection.resumeReading();
        this.paused.clear();
      },
      destroy: (err, callback) => {
        if (!this.finished) this.ensemble.abort();
        this.service();
        this.shutDown();
        callback(err);
      },
    });
    // A bridge that never answers (wrong key or model, or not a Dust server: it stays silent by
    // design) would otherwise keep the caller waiting for the whole connection duration.
    this.openTimer = setTimeout(() => {
      if (!this.settled) {
        this.fail(new DustStreamError('DUST_ERR_HANDSHAKE_TIMEOUT', `no answer from the bridge within ${this.openTimeoutMs / 1000} s (wrong key, model or address, or not a Dust bridge)`));
      }
    }, this.openTimeoutMs);
    this.service();
  }

  private get openTimeoutMs(): number {
    return this.options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  }

  private get now(): number {
    return performance.now();
  }

  /** After every input: dial what is wanted, handle events, pump connections, re-arm the timer. */
  private service(): void {
    if (this.finished) return;
    this.ensemble.handleTimeout(this.now);
    this.handleEvents();
    if (this.finished) return;
    while (this.ensemble.connectionsWanted() > this.dialling && this.redialTimer === null) this.dial();
    this.moveReceived();
    for (const connection of this.connections.values()) connection.notifyWritable();
    this.timer.arm(this.ensemble.nextWakeup(), this.now);
  }

  private handleEvents(): void {
    for (let event = this.ensemble.pollEvent(); event !== null; event = this.ensemble.pollEvent()) {
      switch (event.type) {
        case 'opened':
          this.settleOpen();
          break;
        case 'writable':
          this.flushWrite();
          break;
        case 'end':
          this.moveReceived();
          this.duplex.push(null);
          break;
        case 'closed':
          this.shutDown();
          this.duplex.destroy();
          break;
        case 'error':
          this.fail(new DustStreamError(event.code, `Dust stream failed: ${event.code}`));
          break;
        case 'connection-failed':
          break; // the connection keeps shaping padding until its duration ends
      }
    }
  }

  /**
   * The stream is handed to the application once the bridge has proved itself (its Dust answer
   * checked out), not only once the Ensemble's New OK is back: what the application writes meanwhile
   * goes right behind New as early data (its first 16 KiB; the rest after New OK). Tor's first cell
   * then travels with New instead of one SOCKS reply and one round trip later. A bridge that
   * refuses the session (0xF0 when full) then ends the stream with an error instead of failing the
   * open.
   */
  private settleOpen(): void {
    if (this.settled || this.finished) return;
    this.settled = true;
    clearTimeout(this.openTimer);
    this.resolve(this.duplex);
  }

  private flushWrite(): void {
    const pending = this.pendingWrite;
    if (pending === null) return;
    const taken = this.ensemble.write(pending.data);
    if (taken < pending.data.length) {
      pending.data = pending.data.subarray(taken);
      if (taken > 0) for (const connection of this.connections.values()) connection.notifyWritable();
      return;
    }
    this.pendingWrite = null;
    for (const connection of this.connections.values()) connection.notifyWritable();
    pending.callback();
  }

  /** Received bytes go to the Duplex; when it is full, the connection that delivered pauses. */
  private moveReceived(from?: DustConnection): boolean {
    let room = true;
    while (this.ensemble.readable > 0) room = this.duplex.push(this.ensemble.read());
    if (!room && from) this.paused.add(from);
    return room;
  }

  private dial(): void {
    const connId = this.nextConnId++;
    this.dialling++;
    const { bridge } = this.options;
    let connection: DustConnection | null = null;
    let retire: NodeJS.Timeout | null = null;
    let attached = false;
    const peer: PlaintextPeer = {
      pull: (maxBytes) => this.ensemble.pollSend(connId, maxBytes),
      deliver: (data) => {
        this.ensemble.receive(connId, data, this.now);
        const room = this.moveReceived(connection ?? undefined);
        this.service();
        return room;
      },
      opened: () => {
        attached = true;
        this.ensemble.attachConnection(connId, this.now);
        const duration = connection!.session.durationMs;
        retire = setTimeout(() => {
          this.ensemble.retireConnection(connId);
          this.service();
        }, Math.max(0, duration - Math.min(RETIRE_LEAD_MS, duration / 4)));
        this.settleOpen();
        // New (and any early data) goes out after the code awaiting the open stream has run, so
        // that a SOCKS reply is written first instead of waiting behind New's packet.
        queueMicrotask(() => this.service());
      },
      failed: (failure) => {
        if (!this.settled && failure === 'DUST_ERR_SERVER_MISMATCH') {
          this.fail(new DustStreamError(failure, 'bridge key or address mismatch (the server answered, but not as the bridge line says)'));
        }
      },
      closed: () => {
        if (retire !== null) clearTimeout(retire);
        this.connections.delete(connId);
        this.paused.delete(connection!);
        // A connection that ended before its Dust handshake completed never carried the session.
        if (attached) this.ensemble.connectionClosed(connId, this.now);
        this.service();
      },
    };
    const socket = (this.options.connect ?? directConnect)(bridge.host, bridge.port);
    socket
      .then((s) =>
        dialDust({ host: bridge.host, port: bridge.port, model: bridge.model, serverPublicKey: bridge.publicKey, peer, socket: s }),
      )
      .then(
        (c) => {
          this.dialling--;
          if (this.finished) return c.close();
          connection = c;
          this.connections.set(connId, c);
        },
        (err: Error) => {
          this.dialling--;
          if (!this.settled) return this.fail(err);
          // Open already: the Ensemble's reconnect timeout decides when to give up.
          this.redialTimer = setTimeout(() => {
            this.redialTimer = null;
            this.service();
          }, REDIAL_DELAY_MS);
        },
      );
  }


  private fail(err: Error): void {
    clearTimeout(this.openTimer);
    if (!this.settled) {
      this.settled = true;
      this.shutDown();
      this.reject(err);
      return;
    }
    this.shutDown();
    this.duplex.destroy(err);
  }

  /**
   * Stops timers and ends every connection once what the Ensemble still has for it (a last Close
   * OK, an abort) has been sent.
   */
  private shutDown(): void {
    if (this.finished) return;
    this.finished = true;
    this.timer.clear();
    if (this.redialTimer !== null) clearTimeout(this.redialTimer);
    for (const connection of this.connections.values()) connection.closeWhenSent();
    this.connections.clear();
  }
}
