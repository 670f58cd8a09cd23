/**
 * The server PT's connection to tor (pt-spec §3.2.3; ext-orport-spec; tor-pt.md §4): for each
 * client stream, a TCP connection to the Extended ORPort with SAFE_COOKIE authentication,
 * USERADDR (the client's address) and TRANSPORT `dust`, ready once tor said OKAY; or, without an
 * Extended ORPort, a plain connection to `TOR_PT_ORPORT`.
 *
 * The cookie file is read again for every connection, since tor may rewrite it after the PT
 * started (tor bug 15240; goptlib does the same). Nothing but the handshake is written before
 * OKAY: tor closes a connection whose buffer is not empty after DONE. The source address follows
 * `TOR_PT_OUTBOUND_BIND_ADDRESS_*`, which is ignored for loopback (where tor's ports usually are).
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { systemRandom, type RandomSource } from '../core/random.js';
import { outboundBindAddressFor, type ServerEnv } from './env.js';
import { ExtOrPortClient } from './extorport.js';
import { parseIpAddress, type HostPort } from './lines.js';
import { DialError, tcpConnect } from './proxy-dial.js';

/** Deadline for the TCP connect and for the ExtORPort exchange, each (goptlib uses 5 s for the exchange). */
export const OR_DIAL_TIMEOUT_MS = 5_000;

/** A failure of the ExtORPort exchange, with its stable `DUST_ERR_EXTOR_*` code. */
export class OrPortError extends Error {
  override readonly name = 'OrPortError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the dial needs from the server environment. */
export type OrPortConfig = Pick<ServerEnv, 'orPort' | 'extOrPort' | 'authCookieFile' | 'outboundBindAddressV4' | 'outboundBindAddressV6'>;

/** Options for {@link dialOrPort}. */
export interface OrPortDialOptions {
  /** The Dust client's address, for USERADDR; omitted or not an IP literal, no USERADDR is sent. */
  readonly client?: HostPort;
  /** Transport name for TRANSPORT (default `dust`). */
  readonly transport?: string;
  /** Source of the ExtORPort client nonce (default the system CSPRNG). */
  readonly random?: RandomSource;
  /** Deadline for each step, in ms (default {@link OR_DIAL_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** A ready connection to tor: write the client's bytes to `socket`; `leftover` is what tor sent after OKAY. */
export interface OrPortConnection {
  readonly socket: Socket;
  readonly leftover: Uint8Array;
  /** True when it went through the Extended ORPort. */
  readonly extended: boolean;
}

/**
 * Connects to tor for one client stream. Rejects with a socket error (with `.code`), a
 * `DialError`, or an `OrPortError` (`DUST_ERR_EXTOR_*`: bad cookie file, wrong hash, DENY, timeout).
 */
export async function dialOrPort(config: OrPortConfig, options: OrPortDialOptions = {}): Promise<OrPortConnection> {
  const { transport = 'dust', random = systemRandom, timeoutMs = OR_DIAL_TIMEOUT_MS } = options;
  const target = config.extOrPort ?? config.orPort;
  if (target === undefined) throw new Error('BUG: a server config without ORPort or Extended ORPort');
  const localAddress = outboundBindAddressFor(config as ServerEnv, parseIpAddress(target.host)!);
  if (config.extOrPort === undefined) {
    return { socket: await tcpConnect(target.host, target.port, localAddress, timeoutMs), leftover: new Uint8Array(0), extended: false };
  }
  if (config.authCookieFile === undefined) throw new Error('BUG: an Extended ORPort without a cookie file');
  let cookieFile: Uint8Array;
  try {
    cookieFile = new Uint8Array(await readFile(config.authCookieFile));
  } catch (err) {
    throw new OrPortError('DUST_ERR_EXTOR_BAD_COOKIE_FILE', `cannot read the auth cookie file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const client = options.client;
  const userAddress = client !== undefined && parseIpAddress(client.host) !== undefined ? client : undefined;
  const ext = new ExtOrPortClient({ cookieFile, random, transport, now: performance.now(), timeoutMs, ...(userAddress && { userAddress }) });
  cookieFile.fill(0);
  if (ext.state === 'failed') throw new OrPortError(ext.failure!.code, ext.failure!.message);
  const socket = await tcpConnect(target.host, target.port, localAddress, timeoutMs);
  return new Promise((resolve, reject) => {
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err === null) {
        socket.pause();
        resolve({ socket, leftover: ext.takeLeftover(), extended: true });
      } else {
        socket.destroy();
        reject(err);
      }
    };
    const onData = (chunk: Buffer): void => {
      ext.receive(chunk);
      const out = ext.takeOutput();
      if (out.length > 0) socket.write(out);
      if (ext.state === 'open') finish(null);
      else if (ext.state === 'failed') finish(new OrPortError(ext.failure!.code, ext.failure!.message));
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new DialError('ECONNRESET', 'the Extended ORPort closed the connection during the handshake'));
    const timer = setTimeout(() => {
      ext.handleTimeout(performance.now());
      finish(new OrPortError(ext.failure?.code ?? 'DUST_ERR_EXTOR_TIMEOUT', ext.failure?.message ?? 'Extended ORPort handshake timed out'));
    }, Math.max(1, (ext.nextDeadline() ?? performance.now() + timeoutMs) - performance.now()));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
