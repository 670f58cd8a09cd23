/**
 * The client side of the managed proxy (pt-spec §3.5; tor-pt.md §3): a SOCKS5 listener on
 * loopback for tor (announced as `CMETHOD dust socks5 127.0.0.1:PORT`). For each connection:
 *
 * 1. run the SOCKS5 handshake (socks5.ts, 5 s deadline), bridge arguments arriving as RFC 1929
 *    credentials `key=...;model=...;model-digest=...`;
 * 2. check the arguments (bridge-args.ts); a bad one gets a general-failure reply and a LOG line
 *    naming the argument, so the reason reaches tor's log and not only ours (tor-pt.md §3.2);
 * 3. the CONNECT target is the bridge (an IP literal; tor never sends names): open the Dust stream
 *    through `openDustStream` with the PT's dialer (upstream proxy, outbound bind address);
 * 4. answer with the RFC 1928 code for the failure (`replyFor`) or success, then relay both ways
 *    with backpressure and half-close.
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DustModel } from '../shaping/model.js';
import { parseBridgeArgs, type BridgeArgs, type ModelResolver } from './bridge-args.js';
import type { HostPort } from './lines.js';
import type { PtLog } from './logging.js';
import type { Dialer } from './proxy-dial.js';
import { relay, RelayTracker } from './relay.js';
import { replyFor, SOCKS5_REPLY, socks5ReplyText, Socks5Server } from './socks5.js';

/** What `openDustStream` takes (src/drivers/dust-stream-client.ts), as far as the PT uses it. */
export interface OpenStreamOptions {
  bridge: { host: string; port: number; publicKey: Uint8Array; model: DustModel };
  connect?: Dialer;
}

/** The stream opener: `openDustStream` in the binary, something simpler in tests. */
export type OpenStream = (options: OpenStreamOptions) => Promise<Duplex>;

/** Options for {@link startClientListener}. */
export interface ClientListenerOptions {
  readonly log: PtLog;
  readonly resolver: ModelResolver;
  readonly openStream: OpenStream;
  /** How the Dust connections reach the bridge (createDialer); default: the opener's own. */
  readonly dial?: Dialer;
  /** Where to listen (default 127.0.0.1, any port). */
  readonly listen?: { host: string; port: number };
  /** SOCKS handshake deadline (default 5000 ms, obfs4proxy's). */
  readonly socksTimeoutMs?: number;
  /**
   * Standalone use (`dust client --bridge`): every CONNECT goes to this bridge with these
   * arguments, whatever the SOCKS request names; the bridge's forward target decides where the
   * stream ends up.
   */
  readonly fixedBridge?: { readonly host: string; readonly port: number; readonly args: BridgeArgs };
}

/** A running SOCKS listener. */
export interface ClientListener {
  /** The bound address, for the CMETHOD line. */
  readonly address: HostPort;
  /** Connections being served (SOCKS handshakes and relays). */
  readonly tracker: RelayTracker;
  /** Stops accepting; open connections go on. */
  close(): void;
}

/**
 * Starts the SOCKS5 listener. Rejects with the listen error (e.g. `EADDRINUSE`) so the caller can
 * print a CMETHOD-ERROR.
 */
export function startClientListener(options: ClientListenerOptions): Promise<ClientListener> {
  const { log, listen = { host: '127.0.0.1', port: 0 } } = options;
  const tracker = new RelayTracker();
  let nextId = 1;
  // allowHalfOpen: tor's FIN must end only the tunnel's upstream half (relay.ts).
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    tracker.add(socket);
    serveSocks(socket, nextId++, options);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.removeListener('error', reject);
      server.on('error', (err) => log.error(`dust: SOCKS listener: ${log.err(err)}`));
      const a = server.address();
      if (a === null || typeof a === 'string') throw new Error('BUG: a TCP server without a TCP address');
      resolve({
        address: { host: a.address, port: a.port },
        tracker,
        close: () => void server.close(),
      });
    });
  });
}

/** One SOCKS connection from tor, from greeting to relay. */
function serveSocks(socket: Socket, id: number, options: ClientListenerOptions): void {
  const { log, resolver, openStream, dial, socksTimeoutMs = 5000 } = options;
  const tag = `dust[${id}]`;
  const socks = new Socks5Server({ now: performance.now(), timeoutMs: socksTimeoutMs });
  socket.on('error', (err) => log.debug(`${tag}: SOCKS socket: ${log.err(err)}`));
  const timer = setTimeout(() => {
    socks.handleTimeout(performance.now());
    if (socks.state === 'failed') {
      log.info(`${tag}: ${socks.failure!.message}`);
      socket.destroy();
    }
  }, socksTimeoutMs);

  /** Sends what the SOCKS server queued; after a failure, closes once it is written. */
  const flush = (): void => {
    const out = socks.takeOutput();
    if (socks.state === 'failed') {
      clearTimeout(timer);
      socket.end(out);
      socket.resume(); // ignore anything more; the close follows the FIN exchange
    } else if (out.length > 0) {
      socket.write(out);
    }
  };

  const onData = (chunk: Buffer): void => {
    socks.receive(chunk);
    if (socks.state === 'failed') {
      socket.removeListener('data', onData);
      log.info(`${tag}: SOCKS handshake failed: ${socks.failure!.message}`);
      return flush();
    }
    flush();
    if (socks.state === 'awaiting-reply') {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.pause();
      void connectBridge();
    }
  };
  socket.on('data', onData);
  socket.once('end', () => {
    if (socks.state !== 'connected') socket.destroy();
  });
  socket.once('close', () => clearTimeout(timer));

  const refuse = (reply: number, why: string): void => {
    socks.reject(reply, why);
    flush();
  };

  const connectBridge = async (): Promise<void> => {
    const request = socks.request!;
    const fixed = options.fixedBridge;
    if (fixed !== undefined) return openBridge({ host: fixed.host, port: fixed.port }, fixed.args);
    if (request.addressType === 'domain') {
      log.warn(`${tag}: the SOCKS request names a host, not an IP address: the bridge line must give the bridge's IP`);
      return refuse(SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED, 'host names are not supported');
    }
    const args = parseBridgeArgs(request.args, resolver);
    if (!args.ok) {
      log.warn(`${tag}: bad bridge argument '${args.argument}': ${args.error}`);
      return refuse(SOCKS5_REPLY.GENERAL_FAILURE, args.error);
    }
    if (args.value.ignored.length > 0) log.info(`${tag}: ignoring unknown bridge arguments: ${args.value.ignored.join(', ')}`);
    return openBridge({ host: request.host, port: request.port }, args.value);
  };

  const openBridge = async (bridge: { host: string; port: number }, bridgeArgs: BridgeArgs): Promise<void> => {
    const args = { value: bridgeArgs };
    log.debug(`${tag}: connecting to ${log.addr(bridge)} (model ${args.value.modelName})`);
    let stream: Duplex;
    try {
      stream = await openStream({
        bridge: { ...bridge, publicKey: args.value.publicKey, model: args.value.model },
        ...(dial !== undefined && { connect: dial }),
      });
    } catch (err) {
      const reply = replyFor(err);
      log.warn(`${tag}: connection to the bridge ${log.addr(bridge)} failed: ${log.err(err)} (SOCKS reply: ${socks5ReplyText(reply)})`);
      if (!socket.destroyed) refuse(reply, String(err));
      return;
    }
    if (socket.destroyed) {
      // tor gave up while we dialled.
      stream.destroy();
      return;
    }
    socks.grant();
    socket.write(socks.takeOutput());
    const early = socks.takeLeftover();
    if (early.length > 0) stream.write(early);
    log.debug(`${tag}: connected`);
    relay(socket, stream, (end) => {
      if (end.reason === 'error') log.info(`${tag}: closed: ${log.err(end.error)}`);
      else log.debug(`${tag}: closed (${end.reason})`);
    });
    socket.resume();
  };
}
