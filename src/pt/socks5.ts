/**
 * A sans-IO SOCKS5 server (RFC 1928, with RFC 1929 username/password) for the client side of
 * the PT: tor connects to the CMETHOD port and asks for a CONNECT to the bridge, passing the
 * bridge line's `k=v` arguments as the RFC 1929 credentials (pt-spec §3.5, tor-pt.md §3).
 *
 * Push bytes in any chunking with `receive`, pull replies with `takeOutput`. Once the request is
 * in, the caller dials and answers with `grant` or `reject`; any bytes after the request belong to
 * the tunnelled stream and are handed back by `takeLeftover` (tor does not pipeline, so there
 * should be none, but they are the stream's, not ours). A failure is sticky: the state stays
 * `failed`, further input is ignored, and `failure` says why with a stable `DUST_ERR_SOCKS_*`
 * code. Failures that RFC 1928/1929 answer get their exact reply queued first; the driver sends
 * `takeOutput()` and then closes.
 *
 * SOCKS4/4a is not implemented: tor speaks SOCKS4 to a PT only when its CMETHOD line says
 * `socks4` (tor-pt.md §3.1), and Dust announces `socks5`. A SOCKS4 request is closed without a
 * reply, as obfs4proxy does (tor-pt.md Appendix A).
 * @module
 */
import { concatBytes } from '../core/bytes.js';
import { parseRfc1929Args } from './args.js';
import { formatIpAddress, parseIpAddress, type HostPort, type PtArgs } from './lines.js';

/** RFC 1928 §6 reply codes (REP). */
export const SOCKS5_REPLY = {
  /** X'00' succeeded */
  SUCCEEDED: 0x00,
  /** X'01' general SOCKS server failure */
  GENERAL_FAILURE: 0x01,
  /** X'02' connection not allowed by ruleset */
  NOT_ALLOWED: 0x02,
  /** X'03' Network unreachable */
  NETWORK_UNREACHABLE: 0x03,
  /** X'04' Host unreachable */
  HOST_UNREACHABLE: 0x04,
  /** X'05' Connection refused */
  CONNECTION_REFUSED: 0x05,
  /** X'06' TTL expired */
  TTL_EXPIRED: 0x06,
  /** X'07' Command not supported */
  COMMAND_NOT_SUPPORTED: 0x07,
  /** X'08' Address type not supported */
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

export type Socks5ReplyCode = (typeof SOCKS5_REPLY)[keyof typeof SOCKS5_REPLY];

/** The reason text tor logs for each reply code (tor `reasons.c`), for our own logs. */
export function socks5ReplyText(code: number): string {
  switch (code) {
    case 0x00: return 'succeeded';
    case 0x01: return 'general SOCKS server failure';
    case 0x02: return 'connection not allowed by ruleset';
    case 0x03: return 'Network unreachable';
    case 0x04: return 'Host unreachable';
    case 0x05: return 'Connection refused';
    case 0x06: return 'TTL expired';
    case 0x07: return 'Command not supported';
    case 0x08: return 'Address type not supported';
    default: return 'unknown reason';
  }
}

/**
 * Maps a connection error (a Node `Error` with `.code`, or the code string) to the reply tor
 * should see. obfs4proxy's table (`socks5.ErrorToReplyCode`, tor-pt.md §3.1) plus the codes Node
 * adds for DNS and permissions; anything else is a general failure.
 */
export function replyFor(error: unknown): Socks5ReplyCode {
  const code =
    typeof error === 'string' ? error
      : typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
        ? (error as { code: string }).code
        : undefined;
  switch (code) {
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return SOCKS5_REPLY.NETWORK_UNREACHABLE;
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_AGAIN':
      return SOCKS5_REPLY.HOST_UNREACHABLE;
    case 'ECONNREFUSED':
    case 'ECONNRESET':
      return SOCKS5_REPLY.CONNECTION_REFUSED;
    case 'ETIMEDOUT':
      return SOCKS5_REPLY.TTL_EXPIRED;
    case 'EACCES':
    case 'EPERM':
      return SOCKS5_REPLY.NOT_ALLOWED;
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED;
    default:
      return SOCKS5_REPLY.GENERAL_FAILURE;
  }
}

/**
 * Encodes a reply `05 REP 00 ATYP BND.ADDR BND.PORT` (RFC 1928 §6). The bound address defaults to
 * `0.0.0.0:0`, as obfs4proxy sends: tor ignores it, and the real one would say nothing useful.
 * Failure replies are complete too, because tor waits for the whole reply (tor-pt.md §3.1).
 */
export function encodeSocks5Reply(code: number, bound: HostPort = { host: '0.0.0.0', port: 0 }): Uint8Array {
  if (!Number.isInteger(code) || code < 0 || code > 0xff) throw new RangeError(`code must be a byte, got ${String(code)}`);
  const ip = parseIpAddress(bound.host);
  if (ip === undefined) throw new RangeError(`bound.host must be an IP literal, got ${JSON.stringify(bound.host)}`);
  if (!Number.isInteger(bound.port) || bound.port < 0 || bound.port > 65535) throw new RangeError('bound.port must be in [0, 65535]');
  const out = new Uint8Array(4 + ip.bytes.length + 2);
  out.set([0x05, code, 0x00, ip.family === 4 ? ATYP_IPV4 : ATYP_IPV6]);
  out.set(ip.bytes, 4);
  out[out.length - 2] = bound.port >> 8;
  out[out.length - 1] = bound.port & 0xff;
  return out;
}

/** Stable failure codes. */
export type Socks5ErrorCode =
  | 'DUST_ERR_SOCKS_BAD_VERSION'
  | 'DUST_ERR_SOCKS_NO_ACCEPTABLE_METHOD'
  | 'DUST_ERR_SOCKS_BAD_AUTH_VERSION'
  | 'DUST_ERR_SOCKS_BAD_AUTH_LENGTH'
  | 'DUST_ERR_SOCKS_BAD_ARGS'
  | 'DUST_ERR_SOCKS_BAD_COMMAND'
  | 'DUST_ERR_SOCKS_BAD_RESERVED'
  | 'DUST_ERR_SOCKS_BAD_ADDRESS_TYPE'
  | 'DUST_ERR_SOCKS_BAD_ADDRESS'
  | 'DUST_ERR_SOCKS_BAD_PORT'
  | 'DUST_ERR_SOCKS_TIMEOUT'
  | 'DUST_ERR_SOCKS_REJECTED';

/** Why the handshake failed; `reply` is the REP (or RFC 1929 STATUS / method byte) that was queued, if any. */
export interface Socks5Failure {
  readonly code: Socks5ErrorCode;
  readonly message: string;
  readonly reply?: number;
}

/** A CONNECT request, once fully received. */
export interface Socks5Request {
  readonly command: 'connect';
  readonly addressType: 'ipv4' | 'ipv6' | 'domain';
  /** Canonical IP text (no brackets), or the domain name as sent. */
  readonly host: string;
  readonly port: number;
  /** The PT arguments from RFC 1929 (empty when the client chose no authentication). */
  readonly args: PtArgs;
  /** True when RFC 1929 username/password authentication was used. */
  readonly authenticated: boolean;
}

/**
 * `greeting` → (`auth`) → `request` → `awaiting-reply` → `connected`; any failure → `failed`.
 */
export type Socks5ServerState = 'greeting' | 'auth' | 'request' | 'awaiting-reply' | 'connected' | 'failed';

/** Options for {@link Socks5Server}. */
export interface Socks5ServerOptions {
  /** Current monotonic time in ms; with it, the handshake gets a deadline (see `nextDeadline`). */
  readonly now?: number;
  /** How long the client may take to send greeting, credentials and request (default 5000 ms, obfs4proxy's). */
  readonly timeoutMs?: number;
}

const SOCKS_VERSION = 0x05;
const AUTH_NONE = 0x00;
const AUTH_USERPASS = 0x02;
const AUTH_NO_ACCEPTABLE = 0xff;
const USERPASS_VERSION = 0x01;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;
// RFC 1035 letters, digits, hyphen and dot, plus underscore (seen in real names).
const DOMAIN = /^[A-Za-z0-9_.-]+$/;

/**
 * The server side of one SOCKS5 handshake.
 *
 * @example
 * const s = new Socks5Server({ now: performance.now() });
 * s.receive(chunk); socket.write(s.takeOutput());
 * if (s.state === 'awaiting-reply') { dial(s.request!); ... s.grant(); socket.write(s.takeOutput()); }
 */
export class Socks5Server {
  private _state: Socks5ServerState = 'greeting';
  private _failure: Socks5Failure | undefined;
  private _request: Socks5Request | undefined;
  private buf: Uint8Array = new Uint8Array(0);
  private output: Uint8Array[] = [];
  private leftover: Uint8Array[] = [];
  private args: PtArgs = [];
  private authenticated = false;
  private readonly deadline: number | undefined;

  constructor(options: Socks5ServerOptions = {}) {
    const { now, timeoutMs = 5000 } = options;
    if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) throw new TypeError('options.now must be a finite number');
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError('options.timeoutMs must be a positive number');
    this.deadline = now === undefined ? undefined : now + timeoutMs;
  }

  /** Where the handshake stands. */
  get state(): Socks5ServerState {
    return this._state;
  }

  /** Why it failed, once `state` is `failed`. */
  get failure(): Socks5Failure | undefined {
    return this._failure;
  }

  /** The request, from `awaiting-reply` on. */
  get request(): Socks5Request | undefined {
    return this._request;
  }

  /** The time by which the client must have sent its request, while it has not (else undefined). */
  nextDeadline(): number | undefined {
    return this.inHandshake() ? this.deadline : undefined;
  }

  /** Fails with `DUST_ERR_SOCKS_TIMEOUT` (no reply) if the deadline has passed; early calls are harmless. */
  handleTimeout(now: number): void {
    if (typeof now !== 'number' || Number.isNaN(now)) throw new TypeError('now must be a number');
    if (this.deadline !== undefined && this.inHandshake() && now >= this.deadline) {
      this.fail('DUST_ERR_SOCKS_TIMEOUT', 'SOCKS handshake timed out');
    }
  }

  /** Feeds bytes from the client, in any chunking. Never throws on their content. */
  receive(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array');
    if (chunk.length === 0 || this._state === 'failed') return;
    if (!this.inHandshake()) {
      this.leftover.push(chunk.slice());
      return;
    }
    this.buf = this.buf.length === 0 ? chunk.slice() : concatBytes(this.buf, chunk);
    while (this.inHandshake() && this.step()) {
      // each step consumes one whole message
    }
    if (this._state === 'awaiting-reply' && this.buf.length > 0) {
      // Bytes after the request are the start of the tunnelled stream.
      this.leftover.push(this.buf.slice());
    }
    if (!this.inHandshake()) this.buf = new Uint8Array(0);
  }

  /** Returns (and forgets) the bytes to send to the client. */
  takeOutput(): Uint8Array {
    const out = this.output.length === 1 ? this.output[0]! : concatBytes(...this.output);
    this.output = [];
    return out;
  }

  /** Returns (and forgets) stream bytes that arrived after the request. */
  takeLeftover(): Uint8Array {
    const out = this.leftover.length === 1 ? this.leftover[0]! : concatBytes(...this.leftover);
    this.leftover = [];
    return out;
  }

  /** Queues the success reply; the tunnel is open. Only in `awaiting-reply`. */
  grant(bound?: HostPort): void {
    this.expectAwaiting('grant');
    this.output.push(encodeSocks5Reply(SOCKS5_REPLY.SUCCEEDED, bound));
    this._state = 'connected';
  }

  /**
   * Queues a failure reply (use {@link replyFor} for dial errors, GENERAL_FAILURE for bad bridge
   * arguments) and fails with `DUST_ERR_SOCKS_REJECTED`. Only in `awaiting-reply`.
   */
  reject(reply: number, reason?: string): void {
    this.expectAwaiting('reject');
    if (!Number.isInteger(reply) || reply < 0x01 || reply > 0x08) throw new RangeError(`reply must be an RFC 1928 failure code 0x01..0x08, got ${String(reply)}`);
    if (reason !== undefined && typeof reason !== 'string') throw new TypeError('reason must be a string');
    this.output.push(encodeSocks5Reply(reply));
    this._state = 'failed';
    this._failure = { code: 'DUST_ERR_SOCKS_REJECTED', message: reason ?? socks5ReplyText(reply), reply };
  }

  private inHandshake(): boolean {
    return this._state === 'greeting' || this._state === 'auth' || this._state === 'request';
  }

  private expectAwaiting(what: string): void {
    if (this._state !== 'awaiting-reply') throw new Error(`${what}() is only valid in state awaiting-reply, not ${this._state}`);
  }

  private fail(code: Socks5ErrorCode, message: string, reply?: Uint8Array): void {
    if (reply !== undefined) this.output.push(reply);
    this._state = 'failed';
    // The status byte is the second one in all three reply shapes (method, RFC 1929, RFC 1928).
    const byte = reply?.[1];
    this._failure = { code, message, ...(byte !== undefined && { reply: byte }) };
    this.buf = new Uint8Array(0);
  }

  private consume(n: number): Uint8Array {
    const head = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return head;
  }

  /** Runs one parsing step; returns false when more bytes are needed. */
  private step(): boolean {
    switch (this._state) {
      case 'greeting': return this.readGreeting();
      case 'auth': return this.readAuth();
      case 'request': return this.readRequest();
      default: throw new Error(`BUG: step() in state ${this._state}`);
    }
  }

  /** RFC 1928 §3: VER(1)=5 NMETHODS(1) METHODS(1..255). */
  private readGreeting(): boolean {
    const b = this.buf;
    if (b.length < 1) return false;
    // A SOCKS4 request (04 ...) or anything else: close without a reply, as obfs4proxy does.
    if (b[0] !== SOCKS_VERSION) {
      this.fail('DUST_ERR_SOCKS_BAD_VERSION', `greeting has version ${b[0]}, not 5`);
      return false;
    }
    if (b.length < 2) return false;
    const n = b[1]!;
    if (b.length < 2 + n) return false;
    const methods = this.consume(2 + n).subarray(2);
    // Pick username/password whenever offered: if we answered "no auth" while tor has bridge
    // arguments, tor would go on without sending them (tor-pt.md §3.1).
    if (methods.includes(AUTH_USERPASS)) {
      this.output.push(Uint8Array.of(SOCKS_VERSION, AUTH_USERPASS));
      this._state = 'auth';
    } else if (methods.includes(AUTH_NONE)) {
      this.output.push(Uint8Array.of(SOCKS_VERSION, AUTH_NONE));
      this._state = 'request';
    } else {
      // RFC 1928 §3: "If the selected METHOD is X'FF', none of the methods listed by the client
      // are acceptable, and the client MUST close the connection." (NMETHODS = 0 lands here too.)
      this.fail('DUST_ERR_SOCKS_NO_ACCEPTABLE_METHOD', 'client offers neither no-auth nor username/password', Uint8Array.of(SOCKS_VERSION, AUTH_NO_ACCEPTABLE));
      return false;
    }
    return true;
  }

  /** RFC 1929 §2: VER(1)=1 ULEN(1) UNAME(1..255) PLEN(1) PASSWD(1..255). */
  private readAuth(): boolean {
    const b = this.buf;
    const failure = Uint8Array.of(USERPASS_VERSION, 0x01);
    if (b.length < 1) return false;
    if (b[0] !== USERPASS_VERSION) {
      this.fail('DUST_ERR_SOCKS_BAD_AUTH_VERSION', `username/password version ${b[0]}, not 1`, failure);
      return false;
    }
    if (b.length < 2) return false;
    const ulen = b[1]!;
    if (ulen === 0) {
      this.fail('DUST_ERR_SOCKS_BAD_AUTH_LENGTH', 'empty RFC 1929 username', failure);
      return false;
    }
    if (b.length < 3 + ulen) return false;
    const plen = b[2 + ulen]!;
    if (plen === 0) {
      this.fail('DUST_ERR_SOCKS_BAD_AUTH_LENGTH', 'empty RFC 1929 password', failure);
      return false;
    }
    if (b.length < 3 + ulen + plen) return false;
    const msg = this.consume(3 + ulen + plen);
    const parsed = parseRfc1929Args(msg.subarray(2, 2 + ulen), msg.subarray(3 + ulen));
    if (!parsed.ok) {
      // obfs4proxy answers malformed arguments with status 01 and closes (tor-pt.md Appendix A).
      this.fail('DUST_ERR_SOCKS_BAD_ARGS', `bad PT arguments: ${parsed.error}`, failure);
      return false;
    }
    this.args = parsed.value;
    this.authenticated = true;
    // RFC 1929 §2: "A STATUS field of X'00' indicates success."
    this.output.push(Uint8Array.of(USERPASS_VERSION, 0x00));
    this._state = 'request';
    return true;
  }

  /** RFC 1928 §4: VER(1)=5 CMD(1) RSV(1)=0 ATYP(1) DST.ADDR DST.PORT(2). */
  private readRequest(): boolean {
    const b = this.buf;
    const failWith = (code: Socks5ErrorCode, message: string, rep: number): false => {
      this.fail(code, message, encodeSocks5Reply(rep));
      return false;
    };
    if (b.length < 1) return false;
    if (b[0] !== SOCKS_VERSION) return failWith('DUST_ERR_SOCKS_BAD_VERSION', `request has version ${b[0]}, not 5`, SOCKS5_REPLY.GENERAL_FAILURE);
    if (b.length < 2) return false;
    // Only CONNECT: BIND and UDP ASSOCIATE make no sense for a PT (tor sends only CONNECT).
    if (b[1] !== CMD_CONNECT) return failWith('DUST_ERR_SOCKS_BAD_COMMAND', `unsupported command ${b[1]}`, SOCKS5_REPLY.COMMAND_NOT_SUPPORTED);
    if (b.length < 3) return false;
    if (b[2] !== 0x00) return failWith('DUST_ERR_SOCKS_BAD_RESERVED', `reserved byte is ${b[2]}, not 0`, SOCKS5_REPLY.GENERAL_FAILURE);
    if (b.length < 4) return false;
    const atyp = b[3]!;
    let addrLen: number;
    let addrStart = 4;
    if (atyp === ATYP_IPV4) addrLen = 4;
    else if (atyp === ATYP_IPV6) addrLen = 16;
    else if (atyp === ATYP_DOMAIN) {
      if (b.length < 5) return false;
      addrLen = b[4]!;
      addrStart = 5;
      if (addrLen === 0) return failWith('DUST_ERR_SOCKS_BAD_ADDRESS', 'empty domain name', SOCKS5_REPLY.GENERAL_FAILURE);
    } else {
      return failWith('DUST_ERR_SOCKS_BAD_ADDRESS_TYPE', `unsupported address type ${atyp}`, SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED);
    }
    if (b.length < addrStart + addrLen + 2) return false;
    const msg = this.consume(addrStart + addrLen + 2);
    const addr = msg.subarray(addrStart, addrStart + addrLen);
    const port = (msg[addrStart + addrLen]! << 8) | msg[addrStart + addrLen + 1]!;
    let host: string;
    if (atyp === ATYP_DOMAIN) {
      host = String.fromCharCode(...addr);
      if (!DOMAIN.test(host)) return failWith('DUST_ERR_SOCKS_BAD_ADDRESS', 'domain name has characters outside [A-Za-z0-9_.-]', SOCKS5_REPLY.GENERAL_FAILURE);
    } else {
      host = formatIpAddress(addr);
    }
    if (port === 0) return failWith('DUST_ERR_SOCKS_BAD_PORT', 'destination port 0', SOCKS5_REPLY.GENERAL_FAILURE);
    this._request = {
      command: 'connect',
      addressType: atyp === ATYP_IPV4 ? 'ipv4' : atyp === ATYP_IPV6 ? 'ipv6' : 'domain',
      host,
      port,
      args: this.args,
      authenticated: this.authenticated,
    };
    this._state = 'awaiting-reply';
    return false;
  }
}
