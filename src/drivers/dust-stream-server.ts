/**
 * The server end of logical Dust streams: one EnsembleServer (the session table) fed by every Dust
 * connection a listener accepts (docs/ensemble.md §9). Each Ensemble session becomes a Node Duplex
 * handed to `onStream` — the PT forwards it to tor's ORPort, `dust server` to its --forward target.
 * Reading from the Duplex gives what the client sent; writing to it sends to the client; the
 * Duplex ends when the client half-closes, and is destroyed when the session goes away.
 * @module
 */
import type { Server, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { EnsembleServer, type EnsembleServerOptions } from '../ensemble/server.js';
import { ReplayFilter } from '../core/replay-filter.js';
import type { ServerIdentity } from '../core/server-keys.js';
import type { DustModel } from '../shaping/model.js';
import { DRIVER_ACK_DELAY_MS, type DustConnection, type PlaintextPeer } from './dust-connection.js';
import { WakeupTimer } from './wakeup-timer.js';
import { createDustServer } from './transport.js';

export interface DustListenerOptions {
  model: DustModel;
  identity: ServerIdentity;
  /** What the bridge line says, when it is not the local address (NAT, containers). */
  publicAddress?: { host: string; port: number };
  replayFilter?: ReplayFilter;
  ensemble?: EnsembleServerOptions;
}

export interface ClientAddress {
  address: string;
  port: number;
}

interface SessionStream {
  duplex: Duplex;
  pendingWrite: { data: Uint8Array; callback: (err?: Error | null) => void } | null;
}

/** A net.Server (call `.listen` yourself) whose Ensemble sessions come out as Duplex streams. */
export function createDustListener(
  options: DustListenerOptions,
  onStream: (stream: Duplex, client: ClientAddress) => void,
): Server {
  const hub = new ServerHub(onStream, options.ensemble);
  const config = {
    model: options.model,
    identity: options.identity,
    replayFilter: options.replayFilter ?? new ReplayFilter(),
    publicAddress: options.publicAddress,
  };
  const server = createDustServer(
    config,
    (socket) => hub.peerFor(socket),
    (connection) => hub.accepted(connection),
  );
  server.on('close', () => hub.stop());
  return server;
}

class ServerHub {
  private readonly ensemble: EnsembleServer;
  private readonly connections = new Map<number, DustConnection>();
  private readonly clientOf = new Map<number, ClientAddress>();
  private readonly streams = new Map<number, SessionStream>();
  private readonly paused = new Set<number>();
  private readonly idOfSocket = new WeakMap<Socket, number>();
  private nextConnId = 1;
  /** The connection whose input is being handled: a new session belongs to its client. */
  private current: number | null = null;
  private readonly timer = new WakeupTimer(() => this.service(), false);

  constructor(
    private readonly onStream: (stream: Duplex, client: ClientAddress) => void,
    options?: EnsembleServerOptions,
  ) {
    this.ensemble = new EnsembleServer({ ackDelayMs: DRIVER_ACK_DELAY_MS, ...options });
  }

  private get now(): number {
    return performance.now();
  }

  peerFor(socket: Socket): PlaintextPeer {
    const connId = this.nextConnId++;
    this.idOfSocket.set(socket, connId);
    this.clientOf.set(connId, { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
    let accepted = false;
    return {
      pull: (maxBytes) => (accepted ? this.ensemble.pollSend(connId, maxBytes) : null),
      deliver: (data) => {
        if (!accepted) return true;
        this.current = connId;
        this.ensemble.receive(connId, data, this.now);
        this.service();
        this.current = null;
        return !this.paused.has(connId);
      },
      opened: () => {
        accepted = true;
        this.ensemble.acceptConnection(connId, this.now);
        this.service();
      },
      closed: () => {
        this.connections.delete(connId);
        this.clientOf.delete(connId);
        this.paused.delete(connId);
        // A probe, or a client gone before its Dust handshake completed, never reached the Ensemble.
        if (accepted) this.ensemble.connectionClosed(connId, this.now);
        this.service();
      },
    };
  }

  /** The DustConnection made around a socket that peerFor has seen. */
  accepted(connection: DustConnection): void {
    const connId = this.idOfSocket.get(connection.socket);
    if (connId !== undefined) this.connections.set(connId, connection);
  }

  stop(): void {
    this.timer.clear();
  }

  private service(): void {
    this.ensemble.handleTimeout(this.now);
    for (let event = this.ensemble.pollEvent(); event !== null; event = this.ensemble.pollEvent()) {
      switch (event.type) {
        case 'session-opened':
          this.openStream(event.session);
          break;
        case 'upstream-data': {
          const stream = this.streams.get(event.session);
          if (stream && !stream.duplex.push(event.data) && this.current !== null) this.paused.add(this.current);
          break;
        }
        case 'upstream-end':
          this.streams.get(event.session)?.duplex.push(null);
          break;
        case 'session-writable':
          this.flushWrite(event.session);
          break;
        case 'session-closed': {
          const stream = this.streams.get(event.session);
          this.streams.delete(event.session);
          if (stream && !stream.duplex.destroyed) {
            if (event.reason === 'closed') stream.duplex.destroy();
            else stream.duplex.destroy(new Error(`Dust session ended: ${event.reason}`));
          }
          break;
        }
        case 'connection-failed':
          break; // the connection keeps shaping padding until it ends
      }
    }
    this.pumpTouched();
    this.timer.arm(this.ensemble.nextWakeup(), this.now);
  }

  /** Lets the connections the Ensemble touched send (never all of them: that grew with the table). */
  private pumpTouched(): void {
    for (const connId of this.ensemble.takeTouched()) this.connections.get(connId)?.notifyWritable();
  }

  private openStream(session: number): void {
    const client = (this.current !== null && this.clientOf.get(this.current)) || { address: '', port: 0 };
    const stream: SessionStream = { duplex: null as unknown as Duplex, pendingWrite: null };
    stream.duplex = new Duplex({
      allowHalfOpen: true,
      // Destroyed when the Ensemble session closes, not when both directions have ended.
      autoDestroy: false,
      write: (chunk: Buffer, _encoding, callback) => {
        stream.pendingWrite = { data: chunk, callback };
        this.flushWrite(session);
      },
      final: (callback) => {
        this.ensemble.end(session);
        this.service();
        callback();
      },
      read: () => {
        if (this.paused.size === 0) return;
        const paused = [...this.paused];
        this.paused.clear();
        for (const connId of paused) this.connections.get(connId)?.resumeReading();
      },
      destroy: (err, callback) => {
        if (this.streams.has(session)) {
          this.streams.delete(session);
          this.ensemble.abort(session);
          this.service();
        }
        callback(err);
      },
    });
    this.streams.set(session, stream);
    this.onStream(stream.duplex, client);
  }

  private flushWrite(session: number): void {
    const stream = this.streams.get(session);
    const pending = stream?.pendingWrite;
    if (!stream || !pending) return;
    const taken = this.ensemble.send(session, pending.data);
    this.pumpTouched();
    if (taken < pending.data.length) {
      pending.data = pending.data.subarray(taken);
      return;
    }
    stream.pendingWrite = null;
    pending.callback();
  }

}
