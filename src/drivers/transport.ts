/**
 * Making Dust connections: a server side that wraps each accepted socket, and a client side that
 * dials a bridge. Both return a DustConnection around a fresh DustSession.
 * @module
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ReplayFilter } from '../core/replay-filter.js';
import { parseIpAddress, serverIdentifier } from '../core/server-id.js';
import type { ServerIdentity } from '../core/server-keys.js';
import { DustSession } from '../core/session.js';
import type { DustModel } from '../shaping/model.js';
import { DustConnection, type DustConnectionOptions, type PlaintextPeer } from './dust-connection.js';
import { sharedKeyPool } from './ephemeral-key-pool.js';

export interface DustServerConfig {
  model: DustModel;
  identity: ServerIdentity;
  replayFilter: ReplayFilter;
  /**
   * The address clients dial, when it is not the socket's local address (NAT, containers). It is
   * bound into the handshake, so it must be what the bridge line says.
   */
  publicAddress?: { host: string; port: number };
  connection?: DustConnectionOptions;
}

/** The server identifier for an accepted socket: the public address if set, else the local one. */
export function serverIdFor(socket: Socket, publicAddress?: { host: string; port: number }): Uint8Array {
  if (publicAddress) return serverIdentifier(publicAddress.host, publicAddress.port);
  return serverIdentifier(socket.localAddress ?? '', socket.localPort ?? 0);
}

/** Wraps an accepted socket in a server-side DustConnection. */
export function acceptDust(socket: Socket, config: DustServerConfig, peer: PlaintextPeer): DustConnection {
  const session = new DustSession({
    role: 'server',
    model: config.model,
    now: performance.now(),
    unixTimeMs: Date.now(),
    staticKey: config.identity.staticKey,
    serverId: serverIdFor(socket, config.publicAddress),
    replayFilter: config.replayFilter,
    ephemeralKeys: sharedKeyPool.take,
  });
  return new DustConnection(session, socket, peer, {
    probeCloseDelayMs: config.identity.probeCloseDelayMs,
    ...config.connection,
  });
}

/**
 * A TCP server for Dust. `allowHalfOpen` keeps Node from answering a peer's FIN at once: a server
 * must not react to what an unauthenticated peer does (DECISIONS.md "Handshake").
 */
export function createDustServer(
  config: DustServerConfig,
  peerFor: (socket: Socket) => PlaintextPeer,
  accepted?: (connection: DustConnection) => void,
): Server {
  sharedKeyPool.warm();
  return createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => undefined); // errors end the connection; the DustConnection reports them
    const connection = acceptDust(socket, config, peerFor(socket));
    accepted?.(connection);
  });
}

export interface DialOptions {
  host: string;
  port: number;
  model: DustModel;
  serverPublicKey: Uint8Array;
  peer: PlaintextPeer;
  /** An already connected socket (e.g. through an upstream proxy); otherwise we connect directly. */
  socket?: Socket;
  connectTimeoutMs?: number;
  localAddress?: string;
  connection?: DustConnectionOptions;
}

/** Dials a Dust bridge; resolves once TCP is connected (the Dust handshake then runs on its own). */
export function dialDust(options: DialOptions): Promise<DustConnection> {
  if (parseIpAddress(options.host) === null) {
    return Promise.reject(new RangeError(`a bridge address must be an IP address, got ${JSON.stringify(options.host)}`));
  }
  const start = (socket: Socket) =>
    new DustConnection(
      new DustSession({
        role: 'client',
        model: options.model,
        now: performance.now(),
        unixTimeMs: Date.now(),
        server: { publicKey: options.serverPublicKey, serverId: serverIdentifier(options.host, options.port) },
        ephemeralKeys: sharedKeyPool.take,
      }),
      socket,
      options.peer,
      options.connection,
    );
  if (options.socket) return Promise.resolve(start(options.socket));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port, localAddress: options.localAddress, noDelay: true });
    const timeout = setTimeout(() => socket.destroy(new Error(`connect to ${options.host}:${options.port} timed out`)), options.connectTimeoutMs ?? 30_000);
    socket.once('connect', () => {
      clearTimeout(timeout);
      socket.removeListener('error', reject);
      socket.on('error', () => undefined);
      resolve(start(socket));
    });
    socket.once('error', (err) => {
      clearTimeout(timeout);
      reject(err);
    });
  });
}
