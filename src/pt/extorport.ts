/**
 * A sans-IO Extended ORPort client (ext-orport-spec; proposals 196 and 217; tor-pt.md §4): what
 * the server PT speaks to tor's ExtORPort before relaying a client's OR traffic.
 *
 * 1. tor sends its auth types, ending in 0; we pick SAFE_COOKIE (1) and send a 32-byte nonce
 *    from the injected RandomSource (ext-orport-spec §2, §2.1.3).
 * 2. tor sends ServerHash ‖ ServerNonce; we check ServerHash in constant time and answer with
 *    ClientHash, both HMAC-SHA256 keyed by the cookie (node:crypto).
 * 3. tor sends a status byte (1 = success); we send USERADDR, TRANSPORT and DONE (§3.1).
 * 4. We wait for OKAY before any OR byte goes out: tor closes the connection if its buffer is not
 *    empty after DONE (tor-pt.md §4). DENY fails; other commands are skipped, since "Parties MUST
 *    ignore command codes that they do not understand" (goptlib treats them as errors instead).
 *
 * Push bytes with `receive` in any chunking, pull with `takeOutput`. Failures are sticky with a
 * stable `DUST_ERR_EXTOR_*` code; on failure nothing more is sent and the driver closes. The cookie
 * file's contents are passed in per connection: tor may rewrite the file after the PT starts
 * (tor bug 15240), so the driver re-reads it every time, as goptlib does.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { concatBytes } from '../core/bytes.js';
import type { RandomSource } from '../core/random.js';
import { formatIpAddress, isIpv4Mapped, isTransportName, parseIpAddress, type HostPort, type ParseResult } from './lines.js';

/** ext-orport-spec §2.1.2: the 32-byte StaticHeader that starts the cookie file. */
export const AUTH_COOKIE_HEADER = new Uint8Array(Buffer.from('! Extended ORPort Auth Cookie !\x0a', 'latin1'));
/** Header plus 32-byte cookie. */
export const AUTH_COOKIE_FILE_BYTES = 64;
/** ext-orport-spec §2.1: SAFE_COOKIE's AuthType value. */
export const AUTH_TYPE_SAFE_COOKIE = 0x01;
const NONCE_BYTES = 32;
const HASH_BYTES = 32;
const SERVER_TO_CLIENT = 'ExtORPort authentication server-to-client hash';
const CLIENT_TO_SERVER = 'ExtORPort authentication client-to-server hash';

/** ext-orport-spec §3.1 command codes. */
export const EXTOR_COMMAND = {
  /** PT → tor: no more information; the next bytes are the tunnelled stream. */
  DONE: 0x0000,
  /** PT → tor: the client's `address:port`. */
  USERADDR: 0x0001,
  /** PT → tor: the transport name. */
  TRANSPORT: 0x0002,
  /** tor → PT: send the user's traffic. */
  OKAY: 0x1000,
  /** tor → PT: tor would prefer no more traffic from this address for a while. */
  DENY: 0x1001,
  /** tor → PT: not used. */
  CONTROL: 0x1002,
} as const;

/**
 * Checks an auth cookie file's contents and returns the 32-byte cookie. ext-orport-spec §2.1.2:
 * "Extended ORPort clients MUST make sure that the StaticHeader is present in the cookie file,
 * before proceeding with the authentication protocol."
 */
export function parseAuthCookieFile(contents: Uint8Array): ParseResult<Uint8Array> {
  if (!(contents instanceof Uint8Array)) throw new TypeError('contents must be a Uint8Array');
  if (contents.length !== AUTH_COOKIE_FILE_BYTES) {
    return { ok: false, error: `auth cookie file is ${contents.length} bytes, expected ${AUTH_COOKIE_FILE_BYTES}` };
  }
  if (!timingSafeEqual(contents.subarray(0, 32), AUTH_COOKIE_HEADER)) {
    return { ok: false, error: 'auth cookie file lacks the "! Extended ORPort Auth Cookie !\\n" header' };
  }
  return { ok: true, value: contents.slice(32) };
}

function hmac(cookie: Uint8Array, label: string, clientNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', cookie).update(label, 'latin1').update(clientNonce).update(serverNonce).digest());
}

/** ServerHash = HMAC-SHA256(cookie, "ExtORPort authentication server-to-client hash" | ClientNonce | ServerNonce). */
export function extOrServerHash(cookie: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  return hmac(cookie, SERVER_TO_CLIENT, clientNonce, serverNonce);
}

/** ClientHash = HMAC-SHA256(cookie, "ExtORPort authentication client-to-server hash" | ClientNonce | ServerNonce). */
export function extOrClientHash(cookie: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  return hmac(cookie, CLIENT_TO_SERVER, clientNonce, serverNonce);
}

/** Encodes `COMMAND(2, BE) BODYLEN(2, BE) BODY`. */
export function encodeExtOrCommand(command: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(command) || command < 0 || command > 0xffff) throw new RangeError(`command must be a 16-bit integer, got ${String(command)}`);
  if (!(body instanceof Uint8Array)) throw new TypeError('body must be a Uint8Array');
  if (body.length > 0xffff) throw new RangeError(`body must be at most 65535 bytes, got ${body.length}`);
  const out = new Uint8Array(4 + body.length);
  out.set([command >> 8, command & 0xff, body.length >> 8, body.length & 0xff]);
  out.set(body, 4);
  return out;
}

/**
 * USERADDR text (ext-orport-spec §3.2.1: `1.2.3.4:5678` or `[1:2::3:4]:5678`, nothing else).
 * IPv4-mapped IPv6 addresses, which dual-stack sockets report for IPv4 clients, are written as
 * IPv4 so that tor's per-country statistics see the real family.
 */
export function formatUserAddr(address: HostPort): string {
  if (typeof address !== 'object' || address === null) throw new TypeError('address must be a {host, port} object');
  const ip = typeof address.host === 'string' ? parseIpAddress(address.host) : undefined;
  if (ip === undefined) throw new RangeError(`address.host must be an IP literal, got ${JSON.stringify(address.host)}`);
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > 65535) throw new RangeError('address.port must be in [0, 65535]');
  if (ip.family === 6 && isIpv4Mapped(ip.bytes)) return `${formatIpAddress(ip.bytes.subarray(12))}:${address.port}`;
  const text = formatIpAddress(ip.bytes);
  return ip.family === 6 ? `[${text}]:${address.port}` : `${text}:${address.port}`;
}

/** Stable failure codes. */
export type ExtOrErrorCode =
  | 'DUST_ERR_EXTOR_BAD_COOKIE_FILE'
  | 'DUST_ERR_EXTOR_BAD_AUTH_TYPES'
  | 'DUST_ERR_EXTOR_NO_SAFE_COOKIE'
  | 'DUST_ERR_EXTOR_BAD_SERVER_HASH'
  | 'DUST_ERR_EXTOR_AUTH_FAILED'
  | 'DUST_ERR_EXTOR_BAD_STATUS'
  | 'DUST_ERR_EXTOR_DENIED'
  | 'DUST_ERR_EXTOR_TIMEOUT';

export interface ExtOrFailure {
  readonly code: ExtOrErrorCode;
  readonly message: string;
}

/** `auth-types` → `server-hash` → `auth-status` → `awaiting-okay` → `open`; any failure → `failed`. */
export type ExtOrClientState = 'auth-types' | 'server-hash' | 'auth-status' | 'awaiting-okay' | 'open' | 'failed';

/** Options for {@link ExtOrPortClient}. */
export interface ExtOrPortClientOptions {
  /** The contents of `TOR_PT_AUTH_COOKIE_FILE`, read for this connection. */
  readonly cookieFile: Uint8Array;
  /** Source of the 32-byte client nonce. */
  readonly random: RandomSource;
  /** Transport name for TRANSPORT (a C identifier, e.g. `dust`). */
  readonly transport: string;
  /** The PT client's address for USERADDR; omitted, no USERADDR is sent (tor then rate-limits it as remote). */
  readonly userAddress?: HostPort;
  /** Current monotonic time in ms; with it, the exchange gets a deadline (see `nextDeadline`). */
  readonly now?: number;
  /** Deadline for the whole exchange (default 5000 ms, goptlib's). */
  readonly timeoutMs?: number;
}

/**
 * One Extended ORPort client handshake.
 *
 * @example
 * const c = new ExtOrPortClient({ cookieFile, random: systemRandom, transport: 'dust', userAddress, now });
 * socket.on('data', (d) => { c.receive(d); socket.write(c.takeOutput()); if (c.state === 'open') relay(c.takeLeftover()); });
 */
export class ExtOrPortClient {
  private _state: ExtOrClientState = 'auth-types';
  private _failure: ExtOrFailure | undefined;
  private readonly cookie: Uint8Array;
  private readonly random: RandomSource;
  private readonly commands: Uint8Array;
  private readonly deadline: number | undefined;
  private buf: Uint8Array = new Uint8Array(0);
  private output: Uint8Array[] = [];
  private leftover: Uint8Array[] = [];
  private authTypesSeen = 0;
  private offersSafeCookie = false;
  private clientNonce: Uint8Array | undefined;
  /** Body bytes still to skip for the command being read, and what to do after. */
  private skip = 0;
  private afterSkip: 'none' | 'okay' = 'none';

  constructor(options: ExtOrPortClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { cookieFile, random, transport, userAddress, now, timeoutMs = 5000 } = options;
    if (!(cookieFile instanceof Uint8Array)) throw new TypeError('options.cookieFile must be a Uint8Array');
    if (typeof random !== 'function') throw new TypeError('options.random must be a function');
    if (typeof transport !== 'string') throw new TypeError('options.transport must be a string');
    // ext-orport-spec §3.2.2: "Pluggable transport names are C-identifiers and Tor MUST check them".
    if (!isTransportName(transport)) throw new RangeError(`options.transport must be a C identifier, got ${JSON.stringify(transport)}`);
    if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) throw new TypeError('options.now must be a finite number');
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError('options.timeoutMs must be a positive number');
    this.random = random;
    this.deadline = now === undefined ? undefined : now + timeoutMs;
    const parts: Uint8Array[] = [];
    if (userAddress !== undefined) parts.push(encodeExtOrCommand(EXTOR_COMMAND.USERADDR, ascii(formatUserAddr(userAddress))));
    parts.push(encodeExtOrCommand(EXTOR_COMMAND.TRANSPORT, ascii(transport)));
    parts.push(encodeExtOrCommand(EXTOR_COMMAND.DONE));
    this.commands = concatBytes(...parts);
    const cookie = parseAuthCookieFile(cookieFile);
    if (cookie.ok) {
      this.cookie = cookie.value;
    } else {
      this.cookie = new Uint8Array(32);
      this.fail('DUST_ERR_EXTOR_BAD_COOKIE_FILE', cookie.error);
    }
  }

  /** Where the exchange stands. */
  get state(): ExtOrClientState {
    return this._state;
  }

  /** Why it failed, once `state` is `failed`. */
  get failure(): ExtOrFailure | undefined {
    return this._failure;
  }

  /** The time by which tor must have sent OKAY, while it has not (else undefined). */
  nextDeadline(): number | undefined {
    return this.inHandshake() ? this.deadline : undefined;
  }

  /** Fails with `DUST_ERR_EXTOR_TIMEOUT` if the deadline has passed; early calls are harmless. */
  handleTimeout(now: number): void {
    if (typeof now !== 'number' || Number.isNaN(now)) throw new TypeError('now must be a number');
    if (this.deadline !== undefined && this.inHandshake() && now >= this.deadline) {
      this.fail('DUST_ERR_EXTOR_TIMEOUT', 'Extended ORPort handshake timed out');
    }
  }

  /** Feeds bytes from tor, in any chunking. Never throws on their content. */
  receive(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array');
    if (chunk.length === 0 || this._state === 'failed') return;
    if (this._state === 'open') {
      this.leftover.push(chunk.slice());
      return;
    }
    this.buf = this.buf.length === 0 ? chunk.slice() : concatBytes(this.buf, chunk);
    while (this.inHandshake() && this.step()) {
      // each step consumes what it understood
    }
    // Read through the getter: TypeScript's narrowing does not see step() change the state.
    if (this.state === 'open' && this.buf.length > 0) this.leftover.push(this.buf.slice());
    if (!this.inHandshake()) this.buf = new Uint8Array(0);
  }

  /** Returns (and forgets) the bytes to send to tor. */
  takeOutput(): Uint8Array {
    const out = this.output.length === 1 ? this.output[0]! : concatBytes(...this.output);
    this.output = [];
    return out;
  }

  /** Returns (and forgets) bytes tor sent after OKAY: the start of the OR stream. */
  takeLeftover(): Uint8Array {
    const out = this.leftover.length === 1 ? this.leftover[0]! : concatBytes(...this.leftover);
    this.leftover = [];
    return out;
  }

  private inHandshake(): boolean {
    return this._state !== 'open' && this._state !== 'failed';
  }

  private fail(code: ExtOrErrorCode, message: string): void {
    this._state = 'failed';
    this._failure = { code, message };
    this.forgetSecrets();
    this.buf = new Uint8Array(0);
  }

  /** Zeroes the cookie and nonce once they are no longer needed (noble's `clean()` habit). */
  private forgetSecrets(): void {
    this.cookie.fill(0);
    this.clientNonce?.fill(0);
  }

  private consume(n: number): Uint8Array {
    const head = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return head;
  }

  private step(): boolean {
    switch (this._state) {
      case 'auth-types': return this.readAuthTypes();
      case 'server-hash': return this.readServerHash();
      case 'auth-status': return this.readStatus();
      case 'awaiting-okay': return this.readCommand();
      default: throw new Error(`BUG: step() in state ${this._state}`);
    }
  }

  /** ext-orport-spec §2: AuthTypes (1..255 each) then EndAuthTypes (0). */
  private readAuthTypes(): boolean {
    while (this.buf.length > 0) {
      const type = this.consume(1)[0]!;
      if (type !== 0) {
        if (type === AUTH_TYPE_SAFE_COOKIE) this.offersSafeCookie = true;
        // At most 255 distinct types exist; more means the list never ends (goptlib's bound too).
        if (++this.authTypesSeen > 255) {
          this.fail('DUST_ERR_EXTOR_BAD_AUTH_TYPES', 'more than 255 auth types without the terminating 0');
          return false;
        }
        continue;
      }
      if (!this.offersSafeCookie) {
        // "A value of 0 means that the client did not like the authentication types offered."
        this.output.push(Uint8Array.of(0x00));
        this.fail('DUST_ERR_EXTOR_NO_SAFE_COOKIE', 'tor did not offer SAFE_COOKIE authentication');
        return false;
      }
      const nonce = this.random(NONCE_BYTES);
      if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new Error('BUG: random source returned a wrong nonce');
      this.clientNonce = nonce.slice();
      this.output.push(Uint8Array.of(AUTH_TYPE_SAFE_COOKIE), this.clientNonce.slice());
      this._state = 'server-hash';
      return true;
    }
    return false;
  }

  /** ext-orport-spec §2.1.3: ServerHash(32) ServerNonce(32). */
  private readServerHash(): boolean {
    if (this.buf.length < HASH_BYTES + NONCE_BYTES) return false;
    const msg = this.consume(HASH_BYTES + NONCE_BYTES);
    const serverHash = msg.subarray(0, HASH_BYTES);
    const serverNonce = msg.subarray(HASH_BYTES);
    const clientNonce = this.clientNonce;
    if (clientNonce === undefined) throw new Error('BUG: no client nonce in state server-hash');
    const expected = extOrServerHash(this.cookie, clientNonce, serverNonce);
    // "If the server-provided ServerHash is invalid, the client MUST terminate the connection."
    if (!timingSafeEqual(serverHash, expected)) {
      this.fail('DUST_ERR_EXTOR_BAD_SERVER_HASH', 'Extended ORPort server hash mismatch (wrong cookie file?)');
      return false;
    }
    this.output.push(extOrClientHash(this.cookie, clientNonce, serverNonce));
    this._state = 'auth-status';
    return true;
  }

  /** ext-orport-spec §2.1.3: "Status is 1 if the authentication was successful. If the authentication failed, Status is 0." */
  private readStatus(): boolean {
    if (this.buf.length < 1) return false;
    const status = this.consume(1)[0]!;
    if (status === 0) {
      this.fail('DUST_ERR_EXTOR_AUTH_FAILED', 'tor rejected our Extended ORPort authentication');
      return false;
    }
    if (status !== 1) {
      this.fail('DUST_ERR_EXTOR_BAD_STATUS', `unknown Extended ORPort auth status ${status}`);
      return false;
    }
    this.forgetSecrets();
    this.output.push(this.commands);
    this._state = 'awaiting-okay';
    return true;
  }

  /** ext-orport-spec §3.1: COMMAND(2) BODYLEN(2) BODY; OKAY opens, DENY fails, others are skipped. */
  private readCommand(): boolean {
    if (this.skip > 0) {
      if (this.buf.length === 0) return false;
      const n = Math.min(this.skip, this.buf.length);
      this.consume(n);
      this.skip -= n;
      if (this.skip > 0) return false;
      return this.afterBody();
    }
    if (this.buf.length < 4) return false;
    const header = this.consume(4);
    const command = (header[0]! << 8) | header[1]!;
    const length = (header[2]! << 8) | header[3]!;
    if (command === EXTOR_COMMAND.DENY) {
      this.fail('DUST_ERR_EXTOR_DENIED', 'tor answered DENY: it wants no more traffic from this address for a while');
      return false;
    }
    this.skip = length;
    this.afterSkip = command === EXTOR_COMMAND.OKAY ? 'okay' : 'none';
    if (this.skip > 0) return true;
    return this.afterBody();
  }

  private afterBody(): boolean {
    if (this.afterSkip === 'okay') {
      this._state = 'open';
      return false;
    }
    return true;
  }
}

function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
