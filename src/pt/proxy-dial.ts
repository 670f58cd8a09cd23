/**
 * Outgoing TCP connections of the client PT (pt-spec §3.2.1, §3.2.2; tor-pt.md §1, prop 232):
 * directly, or through the upstream proxy tor names in `TOR_PT_PROXY` (`socks5`, `socks4a` with
 * the `socks` package, `http` CONNECT written here), with the source address bound to
 * `TOR_PT_OUTBOUND_BIND_ADDRESS_V4/V6` except for loopback destinations. This is the `connect`
 * function handed to `openDustStream`.
 *
 * Errors keep a Node-style `.code` so the SOCKS front end can answer tor with the matching RFC
 * 1928 reply (`replyFor`): the TCP connection to the proxy is made here, so its errors are the
 * socket's own; a proxy's refusal is mapped from its reply (SOCKS REP, HTTP status). pt-spec §4:
 * fail closed, never fall back to a direct connection when a proxy is configured.
 * @module
 */
import { connect, type Socket } from 'node:net';
import { SocksClient } from 'socks';
import { outboundBindAddressFor, type ManagedEnvCommon, type UpstreamProxy } from './env.js';
import { formatHostPort, parseIpAddress } from './lines.js';

/** How long a dial may take, TCP and proxy handshake together (obfs4proxy's client handshake allows 60 s; this is only the dial). */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000;
/** An HTTP proxy's response head larger than this is refused. */
const MAX_HTTP_HEAD_BYTES = 16 * 1024;

/** A dial failure, with a code `replyFor` understands (`ECONNREFUSED`, `ETIMEDOUT`, ...) or `DUST_ERR_PROXY`. */
export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link createDialer}. */
export interface DialerOptions {
  /** `TOR_PT_PROXY`, parsed; omitted, connections go direct. */
  readonly proxy?: UpstreamProxy;
  /** The outbound bind addresses (a ClientEnv fits). */
  readonly bind?: Pick<ManagedEnvCommon, 'outboundBindAddressV4' | 'outboundBindAddressV6'>;
  /** Deadline for one dial, in ms (default {@link DEFAULT_DIAL_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** Opens a TCP connection to `host:port` (an IP literal); resolves with the connected socket. */
export type Dialer = (host: string, port: number) => Promise<Socket>;

/**
 * Makes the dialer. Each call checks its target, binds the source address for the first hop's
 * family (the proxy's when there is one), and applies one deadline to the whole dial.
 */
export function createDialer(options: DialerOptions = {}): Dialer {
  const { proxy, bind = {}, timeoutMs = DEFAULT_DIAL_TIMEOUT_MS } = options;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) throw new RangeError('options.timeoutMs must be a positive number');
  return async (host, port) => {
    const target = parseIpAddress(host);
    if (target === undefined) throw new DialError('EINVAL', `bridge address must be an IP literal, got ${JSON.stringify(host)}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DialError('EINVAL', `bridge port must be in 1..65535, got ${port}`);
    const deadline = Date.now() + timeoutMs;
    if (proxy === undefined) return tcpConnect(host, port, outboundBindAddressFor(bind as ManagedEnvCommon, target), timeoutMs);
    if (proxy.scheme === 'socks4a' && target.family === 6) {
      // SOCKS4 carries only IPv4 addresses (and 4a names); tor says the same ("SOCKS4 client is incompatible with IPv6").
      throw new DialError('EAFNOSUPPORT', 'a SOCKS4a proxy cannot reach an IPv6 bridge');
    }
    const proxyIp = parseIpAddress(proxy.host)!;
    const socket = await tcpConnect(proxy.host, proxy.port, outboundBindAddressFor(bind as ManagedEnvCommon, proxyIp), timeoutMs);
    const left = Math.max(1, deadline - Date.now());
    try {
      if (proxy.scheme === 'http') return await httpConnect(socket, proxy, host, port, left);
      return await socksConnect(socket, proxy, host, port, left);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  };
}

/**
 * A plain TCP connection with a deadline (`DialError` `ETIMEDOUT`); other errors are the
 * socket's own, with their `.code`. `localAddress` binds the source address.
 */
export function tcpConnect(host: string, port: number, localAddress: string | undefined, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true, ...(localAddress !== undefined && { localAddress }) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DialError('ETIMEDOUT', `connect to ${formatHostPort({ host, port })} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

/** The `code` for a refusal in the `socks` package's message (it keeps only the reply's name). */
function socksErrorCode(message: string): string {
  if (/ConnectionRefused/.test(message)) return 'ECONNREFUSED';
  if (/HostUnreachable|RejectedOrFailed/.test(message)) return 'EHOSTUNREACH';
  if (/NetworkUnreachable/.test(message)) return 'ENETUNREACH';
  if (/TTLExpired|timed out/i.test(message)) return 'ETIMEDOUT';
  if (/NotAllowed|Authentication failed|no accepted authentication/i.test(message)) return 'EACCES';
  if (/AddressNotSupported/.test(message)) return 'EAFNOSUPPORT';
  return 'DUST_ERR_PROXY';
}

async function socksConnect(socket: Socket, proxy: UpstreamProxy, host: string, port: number, timeoutMs: number): Promise<Socket> {
  try {
    const info = await SocksClient.createConnection({
      proxy: {
        host: proxy.host,
        port: proxy.port,
        type: proxy.scheme === 'socks5' ? 5 : 4,
        ...(proxy.username !== undefined && { userId: proxy.username }),
        ...(proxy.password !== undefined && { password: proxy.password }),
      },
      command: 'connect',
      destination: { host, port },
      existing_socket: socket,
      timeout: timeoutMs,
    });
    return info.socket;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DialError(socksErrorCode(message), `${proxy.scheme} proxy: ${message}`);
  }
}

/**
 * HTTP CONNECT (RFC 9110 §9.3.6) with optional Basic credentials (`http://user:pass@...`, taken
 * verbatim as tor gives them). Any 2xx is success; bytes after the response head are put back
 * into the socket for the caller.
 */
function httpConnect(socket: Socket, proxy: UpstreamProxy, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const authority = formatHostPort({ host, port });
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (proxy.username !== undefined) {
    const credentials = Buffer.from(`${proxy.username}:${proxy.password ?? ''}`, 'utf8').toString('base64');
    head += `Proxy-Authorization: Basic ${credentials}\r\n`;
  }
  head += '\r\n';
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err) reject(err);
    };
    const timer = setTimeout(() => finish(new DialError('ETIMEDOUT', 'http proxy: no answer to CONNECT in time')), timeoutMs);
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new DialError('ECONNRESET', 'http proxy: closed the connection during CONNECT'));
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > MAX_HTTP_HEAD_BYTES) finish(new DialError('DUST_ERR_PROXY', 'http proxy: response head too large'));
        return;
      }
      const statusLine = received.subarray(0, received.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (m === null) return finish(new DialError('DUST_ERR_PROXY', `http proxy: bad status line ${JSON.stringify(statusLine.slice(0, 80))}`));
      const status = Number(m[1]);
      if (status < 200 || status > 299) {
        const code = status === 403 || status === 407 ? 'EACCES' : status === 502 ? 'EHOSTUNREACH' : status === 504 ? 'ETIMEDOUT' : 'DUST_ERR_PROXY';
        return finish(new DialError(code, `http proxy: CONNECT refused: ${status} ${m[2] ?? ''}`.trimEnd()));
      }
      finish(null);
      socket.pause();
      const rest = received.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(head);
  });
}
