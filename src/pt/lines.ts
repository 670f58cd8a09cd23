/**
 * The PT → tor stdout protocol (pt-spec §3.3, tor-pt.md §2): one formatter per line, each checking
 * the grammar it emits, and a {@link PtLineWriter} that enforces the order tor accepts and hands
 * each finished line to an injected sink (the driver passes a synchronous write to fd 1, because
 * asynchronous pipe writes can be lost on exit: tor-pt.md §5.7).
 *
 * This file also holds the `<address>:<port>` grammar shared by the PT front end (IP literals,
 * IPv6 in brackets, RFC 5952 text), since CMETHOD/SMETHOD are where tor is strictest about it.
 *
 * Line metaformat (pt-spec §3.3):
 *   <Line> ::= <Keyword> <OptArgs> <NL>;  <KeywordChar> ::= US-ASCII alphanumeric, dash, underscore;
 *   <ArgChar> ::= any US-ASCII character but NUL or NL.
 * Structural fields (keywords, transport names, addresses, ARGS) that break the grammar are
 * programmer errors and throw. Free-text messages (ENV-ERROR text, LOG text) often carry values
 * from outside (paths, error strings), so they are made safe instead: anything outside printable
 * ASCII becomes the literal text `\xNN` per UTF-8 byte.
 * @module
 */
import { formatIpAddress, isIpv4Mapped, parseIpv4, parseIpv6 } from '../core/ip-address.js';

/** A socket address as the PT front end sees it: `host` is an IP literal without brackets. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** An IP literal parsed to its family and network-order bytes (4 or 16). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** Result of a parse that may fail on outside input: never throws, says why in `error`. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

// ---------------------------------------------------------------------------------------------
// IP literals and host:port

export { formatIpAddress, isIpv4Mapped, parseIpv4, parseIpv6 };

/** Parses an IPv4 or IPv6 literal (no brackets). Returns undefined for anything else. */
export function parseIpAddress(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, bytes: v6 };
  return undefined;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. */
export function isLoopback(address: IpAddress): boolean {
  const b = address.bytes;
  if (address.family === 4) return b[0] === 127;
  if (isIpv4Mapped(b)) return b[12] === 127;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1;
}

/** Formats `host:port`, bracketing IPv6 (`[::1]:9000`); the host must be an IP literal. */
export function formatHostPort(address: HostPort, title = 'address'): string {
  if (typeof address !== 'object' || address === null) throw new TypeError(`${title} must be a {host, port} object`);
  const { host, port } = address;
  if (typeof host !== 'string') throw new TypeError(`${title}.host must be a string`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${title}.port must be an integer in [0, 65535], got ${String(port)}`);
  }
  const ip = parseIpAddress(host);
  if (ip === undefined) throw new RangeError(`${title}.host must be an IP literal, got ${JSON.stringify(host)}`);
  const text = formatIpAddress(ip.bytes);
  return ip.family === 6 ? `[${text}]:${port}` : `${text}:${port}`;
}

/** A parsed `<address>:<port>`: canonical host text, port, and family. */
export interface ParsedHostPort extends HostPort {
  readonly family: 4 | 6;
}

/**
 * Parses `<address>:<port>` as tor writes it: an IP literal (IPv6 in brackets, pt-spec §3.2.3
 * "MUST be an IP address supported by bind(), and MUST NOT be a host name") and a decimal port.
 * Messages follow goptlib's `resolveAddr` (`lacks a host part`, `lacks a port part`,
 * `not an IP string: "<host>"`). The host comes back in canonical form.
 */
export function parseHostPort(text: string, options: { allowPortZero?: boolean } = {}): ParseResult<ParsedHostPort> {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, error: `address string ${goQuote(text)} lacks a closing bracket` };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === '' || rest === ':') return { ok: false, error: `address string ${goQuote(text)} lacks a port part` };
    if (!rest.startsWith(':')) return { ok: false, error: `address string ${goQuote(text)} has junk after the bracket` };
    portText = rest.slice(1);
    if (parseIpv6(host) === undefined) return { ok: false, error: `not an IP string: ${goQuote(host)}` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, error: `address string ${goQuote(text)} lacks a port part` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '') return { ok: false, error: `address string ${goQuote(text)} lacks a host part` };
    if (portText === '') return { ok: false, error: `address string ${goQuote(text)} lacks a port part` };
    // An unbracketed IPv6 literal is ambiguous (is the last group the port?); tor always brackets.
    if (host.includes(':')) return { ok: false, error: `address string ${goQuote(text)} has an IPv6 host without brackets` };
    if (parseIpv4(host) === undefined) return { ok: false, error: `not an IP string: ${goQuote(host)}` };
  }
  if (host === '') return { ok: false, error: `address string ${goQuote(text)} lacks a host part` };
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, error: `invalid port ${goQuote(portText)} in address string ${goQuote(text)}` };
  }
  const port = Number(portText);
  if (port === 0 && options.allowPortZero !== true) {
    return { ok: false, error: `address string ${goQuote(text)} has port 0` };
  }
  const ip = parseIpAddress(host)!;
  return { ok: true, value: { host: formatIpAddress(ip.bytes), port, family: ip.family } };
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/**
 * Go's `%q` restricted to ASCII output (`%+q`): the quoting goptlib and obfs4proxy use inside
 * ENV-ERROR texts, so our messages read the same as theirs (tor-pt.md §1.2, Appendix A).
 */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** Replaces every character outside printable ASCII by the text `\xNN`, one per UTF-8 byte. */
export function asciiSafe(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x20 && cp < 0x7f) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const C_IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * pt-spec §3.1: "PT names MUST satisfy the regular expression [a-zA-Z_][a-zA-Z0-9_]*".
 * tor also checks this for CMETHOD/SMETHOD and the ExtORPort TRANSPORT command.
 */
export function isTransportName(name: unknown): name is string {
  return typeof name === 'string' && C_IDENTIFIER.test(name);
}

function aTransportName(name: unknown, title = 'transport'): string {
  if (typeof name !== 'string') throw new TypeError(`${title} must be a string`);
  if (!C_IDENTIFIER.test(name)) throw new RangeError(`${title} must be a C identifier, got ${JSON.stringify(name)}`);
  return name;
}

function aMessage(message: unknown, title = 'message'): string {
  if (typeof message !== 'string') throw new TypeError(`${title} must be a string`);
  return message;
}

const KEYWORD = /^[A-Za-z0-9_-]+$/;
// <ArgChar> minus CR as well: tor would keep a CR inside the argument, which is never meant.
const ARGS = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

/**
 * Joins a keyword and its arguments into one line (no newline) and checks pt-spec §3.3's grammar
 * on the result. Throws on a violation: callers build every field, so it is a bug.
 */
export function formatLine(keyword: string, ...args: string[]): string {
  if (!KEYWORD.test(keyword)) throw new RangeError(`keyword ${JSON.stringify(keyword)} breaks the PT line grammar`);
  for (const arg of args) {
    if (typeof arg !== 'string' || !ARGS.test(arg)) {
      throw new RangeError(`argument ${JSON.stringify(arg)} breaks the PT line grammar`);
    }
  }
  return args.length === 0 ? keyword : `${keyword} ${args.join(' ')}`;
}

// ---------------------------------------------------------------------------------------------
// One formatter per line (pt-spec §3.3.1–§3.3.3, tor-pt.md §2.2)

/** The only protocol version there is (pt-spec §3.3.1: "VERSION 1"); tor and Arti accept only it. */
export const PT_PROTOCOL_VERSION = '1';

/** `VERSION 1`. */
export function versionLine(): string {
  return formatLine('VERSION', PT_PROTOCOL_VERSION);
}

/**
 * `VERSION-ERROR no-version`. tor matches exactly this text; anything else falls through to its
 * VERSION handler and is logged confusingly (tor-pt.md §2.2), so there is no message parameter.
 */
export function versionErrorLine(): string {
  return formatLine('VERSION-ERROR', 'no-version');
}

/** `ENV-ERROR <message>` (pt-spec §3.3.1). */
export function envErrorLine(message: string): string {
  return formatLine('ENV-ERROR', asciiSafe(aMessage(message)));
}

/** `PROXY DONE` (pt-spec §3.3.2). */
export function proxyDoneLine(): string {
  return formatLine('PROXY', 'DONE');
}

/** `PROXY-ERROR <message>` (pt-spec §3.3.2). */
export function proxyErrorLine(message: string): string {
  return formatLine('PROXY-ERROR', asciiSafe(aMessage(message)));
}

/** The SOCKS versions a CMETHOD may announce. */
export type SocksVersion = 'socks4' | 'socks5';

/**
 * `CMETHOD <transport> <socks4|socks5> <address:port>`. tor requires a C-identifier name, exactly
 * `socks4`/`socks5`, an IP literal (IPv6 bracketed) and a non-zero port (tor-pt.md §2.2).
 */
export function cmethodLine(transport: string, socks: SocksVersion, address: HostPort): string {
  aTransportName(transport);
  if (socks !== 'socks4' && socks !== 'socks5') throw new RangeError(`socks must be "socks4" or "socks5", got ${String(socks)}`);
  if (address?.port === 0) throw new RangeError('address.port must not be 0 in a CMETHOD line');
  return formatLine('CMETHOD', transport, socks, formatHostPort(address));
}

/** `CMETHOD-ERROR <transport> <message>`. */
export function cmethodErrorLine(transport: string, message: string): string {
  return formatLine('CMETHOD-ERROR', aTransportName(transport), asciiSafe(aMessage(message)));
}

/** `CMETHODS DONE`. */
export function cmethodsDoneLine(): string {
  return formatLine('CMETHODS', 'DONE');
}

/** An ordered list of key/value pairs (duplicates allowed), the shape of every PT argument list. */
export type PtArgs = ReadonlyArray<readonly [key: string, value: string]>;

const SMETHOD_ARG_TEXT = /^[\x21-\x7e]*$/;

/**
 * The text after `ARGS:` in an SMETHOD line. pt-spec §3.3.3: `ARGS:[<Key>=<Value>,]+[<Key>=<Value>]`
 * and "Equal signs and commas MUST be escaped with a backslash" (backslash too, or the escape
 * would be ambiguous). Keys must be non-empty. tor splits SMETHOD lines on whitespace, so no
 * spaces or controls are allowed at all. Pairs keep the caller's order.
 */
export function formatSmethodArgs(args: PtArgs): string {
  if (!Array.isArray(args)) throw new TypeError('args must be an array of [key, value] pairs');
  if (args.length === 0) throw new RangeError('args must not be empty (omit ARGS instead)');
  const escape = (s: string): string => s.replace(/[\\=,]/g, (c) => `\\${c}`);
  return args
    .map((pair, i) => {
      const [key, value] = pair;
      if (typeof key !== 'string' || typeof value !== 'string') throw new TypeError(`args[${i}] must be [string, string]`);
      if (key === '') throw new RangeError(`args[${i}] has an empty key`);
      if (!SMETHOD_ARG_TEXT.test(key) || !SMETHOD_ARG_TEXT.test(value)) {
        throw new RangeError(`args[${i}] (${JSON.stringify(key)}) must be printable ASCII without spaces`);
      }
      return `${escape(key)}=${escape(value)}`;
    })
    .join(',');
}

/**
 * `SMETHOD <transport> <address:port> [ARGS:k=v,...]`. The address may be unspecified
 * (`0.0.0.0`, `[::]`): tor then publishes its own address. Port 0 is refused (nobody could reach it).
 */
export function smethodLine(transport: string, address: HostPort, args?: PtArgs): string {
  aTransportName(transport);
  if (address?.port === 0) throw new RangeError('address.port must not be 0 in an SMETHOD line');
  const fields = [transport, formatHostPort(address)];
  if (args !== undefined && args.length > 0) fields.push(`ARGS:${formatSmethodArgs(args)}`);
  return formatLine('SMETHOD', ...fields);
}

/** `SMETHOD-ERROR <transport> <message>`. */
export function smethodErrorLine(transport: string, message: string): string {
  return formatLine('SMETHOD-ERROR', aTransportName(transport), asciiSafe(aMessage(message)));
}

/** `SMETHODS DONE`. */
export function smethodsDoneLine(): string {
  return formatLine('SMETHODS', 'DONE');
}

/** Severities tor accepts in a LOG line (tor-pt.md §2.2: exactly these five). */
export type LogSeverity = 'error' | 'warning' | 'notice' | 'info' | 'debug';
const SEVERITIES: ReadonlySet<string> = new Set(['error', 'warning', 'notice', 'info', 'debug']);

/**
 * A kv-line value in double quotes. tor unescapes C strings (`\\ \" \n \t \r`, octal, hex) but
 * Arti rejects octal escapes (tor-pt.md §2.3), so only the five common escapes are used; any other
 * control or non-ASCII character becomes the literal text `\xNN` (its backslash escaped, so both
 * parents show the same four characters).
 */
export function quoteKvValue(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case '"': out += '\\"'; continue;
      case '\n': out += '\\n'; continue;
      case '\t': out += '\\t'; continue;
      case '\r': out += '\\r'; continue;
    }
    if (cp >= 0x20 && cp < 0x7f) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/**
 * `LOG SEVERITY=<sev> MESSAGE="<text>"`, accepted by tor in any state (tor ≥ 0.4.0.1-alpha).
 * The message is always quoted, as goptlib does. Scrubbing client addresses is the caller's job.
 */
export function logLine(severity: LogSeverity, message: string): string {
  if (!SEVERITIES.has(severity)) throw new RangeError(`severity must be one of error|warning|notice|info|debug, got ${String(severity)}`);
  return formatLine('LOG', `SEVERITY=${severity}`, `MESSAGE=${quoteKvValue(aMessage(message))}`);
}

const KV_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * `STATUS TRANSPORT=<name> K="V" ...`. TRANSPORT always comes first: tor 0.4.0–0.4.8.12 drop a
 * STATUS without it and Arti rejects it (tor-pt.md §2.2). `TYPE`'s value must be an identifier
 * and is written bare; every other value is quoted.
 */
export function statusLine(transport: string, fields: PtArgs): string {
  aTransportName(transport);
  if (!Array.isArray(fields)) throw new TypeError('fields must be an array of [key, value] pairs');
  const out = [`TRANSPORT=${transport}`];
  const seen = new Set<string>();
  for (const [i, pair] of fields.entries()) {
    const [key, value] = pair;
    if (typeof key !== 'string' || typeof value !== 'string') throw new TypeError(`fields[${i}] must be [string, string]`);
    if (!KV_KEY.test(key)) throw new RangeError(`fields[${i}] key ${JSON.stringify(key)} is not a kv-line key`);
    if (key === 'TRANSPORT') throw new RangeError('TRANSPORT is given by the transport argument');
    // tor ≥ 0.4.8.13 rejects a STATUS line with more than one TYPE.
    if (seen.has(key)) throw new RangeError(`fields has a duplicate key ${key}`);
    seen.add(key);
    if (key === 'TYPE') {
      if (!C_IDENTIFIER.test(value)) throw new RangeError(`TYPE must be an identifier, got ${JSON.stringify(value)}`);
      out.push(`TYPE=${value}`);
    } else {
      out.push(`${key}=${quoteKvValue(value)}`);
    }
  }
  return formatLine('STATUS', ...out);
}

/**
 * `STATUS TRANSPORT=<name> TYPE=version IMPLEMENTATION="<impl>" VERSION="<v>"` (tor ≥ 0.4.8.13
 * publishes it as `transport-info` in the bridge's extra-info).
 */
export function versionStatusLine(transport: string, implementation: string, version: string): string {
  return statusLine(transport, [
    ['TYPE', 'version'],
    ['IMPLEMENTATION', aMessage(implementation, 'implementation')],
    ['VERSION', aMessage(version, 'version')],
  ]);
}

// ---------------------------------------------------------------------------------------------
// The writer

/** Where finished lines go: the driver passes a synchronous write of the text to fd 1. */
export type LineSink = (text: string) => void;

/**
 * The writer's view of tor's per-proxy state (tor `handle_proxy_line`):
 * `start` → VERSION → `methods` → CMETHODS/SMETHODS DONE → `done`; a fatal error line → `fatal`.
 */
export type PtWriterState = 'start' | 'methods' | 'done' | 'fatal';

/**
 * Writes PT lines to a sink, one `sink(line + "\n")` call per line, and refuses (throws) any line
 * tor would take as "wrong state" and kill the PT for: a second VERSION, methods before VERSION,
 * PROXY DONE after a method, mixing client and server lines, anything but LOG/STATUS after DONE
 * (tor-pt.md §2.2 "Ordering facts that bite"), or anything but LOG/STATUS after a fatal error.
 *
 * @example
 * const out = new PtLineWriter((s) => fs.writeSync(1, s));
 * out.version(); out.cmethod('dust', 'socks5', { host: '127.0.0.1', port: 4000 }); out.cmethodsDone();
 */
export class PtLineWriter {
  private readonly sink: LineSink;
  private readonly proxyConfigured: boolean;
  private _state: PtWriterState = 'start';
  private side: 'client' | 'server' | undefined;
  private methodsWritten = 0;
  private proxyAnswered = false;

  /**
   * @param sink receives each line with its newline
   * @param options.proxyConfigured TOR_PT_PROXY is set: then a CMETHOD or CMETHODS DONE before
   *   `PROXY DONE` throws, since tor terminates a PT that "did not configure the specified
   *   outgoing proxy" (tor-pt.md §2.2)
   */
  constructor(sink: LineSink, options: { proxyConfigured?: boolean } = {}) {
    if (typeof sink !== 'function') throw new TypeError('sink must be a function');
    this.sink = sink;
    this.proxyConfigured = options.proxyConfigured === true;
  }

  /** Where the writer stands in tor's configuration protocol. */
  get state(): PtWriterState {
    return this._state;
  }

  /** Writes an already formatted line (used for the `lines` of a setup error). Checks the order. */
  writeLine(line: string): void {
    if (typeof line !== 'string') throw new TypeError('line must be a string');
    const [keyword = '', ...rest] = line.split(' ');
    formatLine(keyword, ...rest);
    switch (keyword) {
      case 'VERSION':
        this.expect('start', line);
        return this.emit(line, 'methods');
      case 'VERSION-ERROR':
        this.expect('start', line);
        return this.emit(line, 'fatal');
      case 'ENV-ERROR':
        // tor logs the text only before VERSION, but an ENV-ERROR still ends the PT after it.
        if (this._state === 'done' || this._state === 'fatal') this.expect('start', line);
        return this.emit(line, 'fatal');
      case 'PROXY': return this.proxyLine(line, false);
      case 'PROXY-ERROR': return this.proxyLine(line, true);
      case 'CMETHOD': case 'CMETHOD-ERROR': return this.methodLine(line, 'client', true);
      case 'SMETHOD': case 'SMETHOD-ERROR': return this.methodLine(line, 'server', true);
      case 'CMETHODS': return this.methodLine(line, 'client', false);
      case 'SMETHODS': return this.methodLine(line, 'server', false);
      case 'LOG': case 'STATUS': return this.emit(line, this._state);
      default: throw new RangeError(`unknown PT line keyword ${JSON.stringify(keyword)}`);
    }
  }

  /** `VERSION 1`. */
  version(): void { this.writeLine(versionLine()); }
  /** `VERSION-ERROR no-version` (then the PT must exit). */
  versionError(): void { this.writeLine(versionErrorLine()); }
  /** `ENV-ERROR <message>` (then the PT must exit). */
  envError(message: string): void { this.writeLine(envErrorLine(message)); }
  /** `PROXY DONE`. */
  proxyDone(): void { this.writeLine(proxyDoneLine()); }
  /** `PROXY-ERROR <message>` (then the PT must exit at once). */
  proxyError(message: string): void { this.writeLine(proxyErrorLine(message)); }
  /** `CMETHOD <transport> <socks> <address:port>`. */
  cmethod(transport: string, socks: SocksVersion, address: HostPort): void { this.writeLine(cmethodLine(transport, socks, address)); }
  /** `CMETHOD-ERROR <transport> <message>`. */
  cmethodError(transport: string, message: string): void { this.writeLine(cmethodErrorLine(transport, message)); }
  /** `CMETHODS DONE`. */
  cmethodsDone(): void { this.writeLine(cmethodsDoneLine()); }
  /** `SMETHOD <transport> <address:port> [ARGS:...]`. */
  smethod(transport: string, address: HostPort, args?: PtArgs): void { this.writeLine(smethodLine(transport, address, args)); }
  /** `SMETHOD-ERROR <transport> <message>`. */
  smethodError(transport: string, message: string): void { this.writeLine(smethodErrorLine(transport, message)); }
  /** `SMETHODS DONE`. */
  smethodsDone(): void { this.writeLine(smethodsDoneLine()); }
  /** `LOG SEVERITY=... MESSAGE="..."` (any state). */
  log(severity: LogSeverity, message: string): void { this.writeLine(logLine(severity, message)); }
  /** `STATUS TRANSPORT=... ...` (any state). */
  status(transport: string, fields: PtArgs): void { this.writeLine(statusLine(transport, fields)); }

  private expect(state: PtWriterState, line: string): void {
    if (this._state !== state) throw new Error(`PT line ${JSON.stringify(line)} is not allowed in state ${this._state}`);
  }

  private proxyLine(line: string, isError: boolean): void {
    this.expect('methods', line);
    if (line !== proxyDoneLine() && !isError) throw new RangeError(`unknown PROXY line ${JSON.stringify(line)}`);
    // pt-spec §3.3.2: the proxy is validated "before initializing any transports".
    if (this.side === 'server' || this.methodsWritten > 0 || this.proxyAnswered) {
      throw new Error(`PT line ${JSON.stringify(line)} must come once, after VERSION and before any CMETHOD`);
    }
    this.side = 'client';
    this.proxyAnswered = true;
    this.emit(line, isError ? 'fatal' : 'methods');
  }

  private methodLine(line: string, side: 'client' | 'server', isMethod: boolean): void {
    this.expect('methods', line);
    if (!isMethod && line !== (side === 'client' ? cmethodsDoneLine() : smethodsDoneLine())) {
      throw new RangeError(`unknown PT line ${JSON.stringify(line)}`);
    }
    if (this.side !== undefined && this.side !== side) {
      throw new Error(`PT line ${JSON.stringify(line)} mixes client and server lines`);
    }
    if (side === 'client' && this.proxyConfigured && !this.proxyAnswered) {
      throw new Error(`PT line ${JSON.stringify(line)} before PROXY DONE, but TOR_PT_PROXY is set`);
    }
    this.side = side;
    if (isMethod) this.methodsWritten++;
    this.emit(line, isMethod ? 'methods' : 'done');
  }

  private emit(line: string, next: PtWriterState): void {
    this.sink(`${line}\n`);
    this._state = next;
  }
}
