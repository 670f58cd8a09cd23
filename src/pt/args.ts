/**
 * PT argument strings (pt-spec §3.5, §3.2.3, §3.3.3; tor-pt.md §1.1, §3.2):
 * - per-connection client arguments `k=v;k=v` that tor hands over in the SOCKS5 RFC 1929
 *   username/password fields (at most 510 bytes, split at 255);
 * - `TOR_PT_SERVER_TRANSPORT_OPTIONS` (`name:k=v;name:k=v`);
 * - SMETHOD `ARGS:` (formatted in lines.ts, re-exported here).
 *
 * tor escapes less than the spec asks: it escapes only `;` and `\` in client arguments and only
 * `:`, `;` and `\` in server options, never `=`. So every parser here splits a key at the *first*
 * unescaped `=` and keeps later `=` as part of the value (goptlib `parseClientParameters`), while
 * every formatter escapes everything the spec lists, which both parsers read back.
 * Parsers take outside input and never throw; they return `{ ok: false, error }` with goptlib's
 * message texts. Formatters take our own values and throw on misuse.
 * @module
 */
import { concatBytes } from '../core/bytes.js';
import { goQuote, type ParseResult, type PtArgs } from './lines.js';

export type { ParseResult, PtArgs } from './lines.js';
export { formatSmethodArgs } from './lines.js';

/** tor refuses Bridge lines whose joined arguments exceed this (tor `config.c`: "SOCKS arguments can't be more than 510 bytes"). */
export const MAX_SOCKS_ARGS_BYTES = 510;

/** RFC 1929 §2: UNAME and PASSWD are each 1..255 bytes. */
export const RFC1929_FIELD_MAX_BYTES = 255;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads up to the first unescaped character from `stops`, removing escapes.
 * Returns the end index (the stop character's index, or `text.length`) and the unescaped text, or
 * goptlib's `nothing following final escape` error for a trailing lone backslash.
 */
function readUnescaped(text: string, start: number, stops: string): { end: number; value: string } | { error: string } {
  let value = '';
  let i = start;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\\') {
      if (i + 1 >= text.length) return { error: `nothing following final escape in ${goQuote(text.slice(start))}` };
      value += text[i + 1]!;
      i += 2;
    } else if (stops.includes(ch)) {
      break;
    } else {
      value += ch;
      i++;
    }
  }
  return { end: i, value };
}

/**
 * Parses per-connection client arguments.
 *
 * pt-spec §3.5: "First the "<Key>=<Value>" formatted arguments MUST be escaped, such that all
 * backslash, equal sign, and semicolon characters are escaped with a backslash. Second, all of the
 * escaped are concatenated together." (tor separates them with `;`: `shared-secret=rahasia;secrets-file=/tmp/blob`.)
 *
 * Empty input gives no arguments. Every item needs an `=` and a non-empty key; values may be
 * empty; duplicate keys are kept in order (see {@link uniqueArgs}). NUL bytes and input longer
 * than 510 bytes are refused, since tor can send neither.
 */
export function parseSocksArgs(text: string): ParseResult<PtArgs> {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SOCKS_ARGS_BYTES) return { ok: false, error: `arguments are ${size} bytes, more than ${MAX_SOCKS_ARGS_BYTES}` };
  if (text.includes('\0')) return { ok: false, error: 'NUL byte in arguments' };
  const args: Array<readonly [string, string]> = [];
  if (text.length === 0) return { ok: true, value: args };
  let i = 0;
  for (;;) {
    const begin = i;
    const key = readUnescaped(text, i, '=;');
    if ('error' in key) return { ok: false, error: key.error };
    i = key.end;
    if (i >= text.length || text[i] !== '=') return { ok: false, error: `no equals sign in ${goQuote(text.slice(begin, i))}` };
    i++;
    const value = readUnescaped(text, i, ';');
    if ('error' in value) return { ok: false, error: value.error };
    i = value.end;
    if (key.value.length === 0) return { ok: false, error: `empty key in ${goQuote(text.slice(begin, i))}` };
    args.push([key.value, value.value]);
    if (i >= text.length) break;
    i++; // the ';'
  }
  return { ok: true, value: args };
}

function checkPairs(args: PtArgs, title: string): void {
  if (!Array.isArray(args)) throw new TypeError(`${title} must be an array of [key, value] pairs`);
  for (const [i, pair] of args.entries()) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new TypeError(`${title}[${i}] must be [string, string]`);
    }
    if (pair[0] === '') throw new RangeError(`${title}[${i}] has an empty key`);
    if (pair[0].includes('\0') || pair[1].includes('\0')) throw new RangeError(`${title}[${i}] contains a NUL byte`);
  }
}

/**
 * Formats client arguments the way pt-spec §3.5 asks: `\`, `=` and `;` escaped in keys and values,
 * items joined by `;`. Throws RangeError if the result exceeds 510 bytes (tor's limit), if a key
 * is empty, or on NUL. An empty list gives `''`.
 */
export function formatSocksArgs(args: PtArgs): string {
  checkPairs(args, 'args');
  const escape = (s: string): string => s.replace(/[\\=;]/g, (c) => `\\${c}`);
  const text = args.map(([k, v]) => `${escape(k)}=${escape(v)}`).join(';');
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SOCKS_ARGS_BYTES) throw new RangeError(`formatted arguments are ${size} bytes, more than ${MAX_SOCKS_ARGS_BYTES}`);
  return text;
}

/**
 * Splits an argument string into RFC 1929 UNAME and PASSWD exactly as tor does (tor-pt.md §3.2):
 * longer than 255 bytes ⇒ UNAME = the first 255 bytes, PASSWD = the rest; otherwise UNAME = all
 * of it and PASSWD = one NUL byte (pt-spec §3.5: "the PLEN field must be set to 1 and the PASSWD
 * field must contain a single NUL character"). For tests and for clients of our SOCKS server.
 */
export function splitSocksArgsForRfc1929(text: string): { username: Uint8Array; password: Uint8Array } {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  if (bytes.length === 0) throw new RangeError('text must not be empty (RFC 1929 needs ULEN >= 1)');
  if (bytes.length > MAX_SOCKS_ARGS_BYTES) throw new RangeError(`text is ${bytes.length} bytes, more than ${MAX_SOCKS_ARGS_BYTES}`);
  if (bytes.length > RFC1929_FIELD_MAX_BYTES) {
    return { username: bytes.slice(0, RFC1929_FIELD_MAX_BYTES), password: bytes.slice(RFC1929_FIELD_MAX_BYTES) };
  }
  return { username: bytes, password: Uint8Array.of(0) };
}

/**
 * Joins RFC 1929 UNAME and PASSWD back into the argument bytes: UNAME ‖ PASSWD, except that a
 * PASSWD of exactly one NUL byte is tor's "no second half" marker and is dropped.
 */
export function joinRfc1929Credentials(username: Uint8Array, password: Uint8Array): Uint8Array {
  if (!(username instanceof Uint8Array)) throw new TypeError('username must be a Uint8Array');
  if (!(password instanceof Uint8Array)) throw new TypeError('password must be a Uint8Array');
  if (password.length === 1 && password[0] === 0) return username.slice();
  return concatBytes(username, password);
}

/**
 * Decodes RFC 1929 credentials into client arguments: join, strict UTF-8 decode, then
 * {@link parseSocksArgs}. Never throws on peer bytes.
 */
export function parseRfc1929Args(username: Uint8Array, password: Uint8Array): ParseResult<PtArgs> {
  const joined = joinRfc1929Credentials(username, password);
  let text: string;
  try {
    text = utf8Decoder.decode(joined);
  } catch {
    return { ok: false, error: 'arguments are not valid UTF-8' };
  }
  return parseSocksArgs(text);
}

/**
 * Parses `TOR_PT_SERVER_TRANSPORT_OPTIONS` into options per transport, in order of appearance.
 *
 * pt-spec §3.2.3: "Specifies per-PT protocol configuration directives, as a semicolon-separated
 * list of <key>:<value> pairs, where <key> is a PT name and <value> is a k=v string value with
 * options that are to be passed to the transport. Colons, semicolons, equal signs and backslashes
 * MUST be escaped with a backslash."
 *
 * The transport name ends at the first unescaped `:` (or `=`/`;`, which is an error), the key at
 * the first unescaped `=`, the value at the next unescaped `;`. Errors are goptlib's: `no colon in
 * %q`, `no equals sign in %q`, `empty method name in %q`, `empty key in %q`, `nothing following
 * final escape in %q`. Empty input gives no options.
 */
export function parseServerTransportOptions(text: string): ParseResult<ReadonlyMap<string, PtArgs>> {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const out = new Map<string, Array<readonly [string, string]>>();
  if (text.length === 0) return { ok: true, value: out };
  let i = 0;
  for (;;) {
    const begin = i;
    const name = readUnescaped(text, i, ':=;');
    if ('error' in name) return { ok: false, error: name.error };
    i = name.end;
    if (i >= text.length || text[i] !== ':') return { ok: false, error: `no colon in ${goQuote(text.slice(begin, i))}` };
    i++;
    const key = readUnescaped(text, i, '=;');
    if ('error' in key) return { ok: false, error: key.error };
    i = key.end;
    if (i >= text.length || text[i] !== '=') return { ok: false, error: `no equals sign in ${goQuote(text.slice(begin, i))}` };
    i++;
    const value = readUnescaped(text, i, ';');
    if ('error' in value) return { ok: false, error: value.error };
    i = value.end;
    if (name.value.length === 0) return { ok: false, error: `empty method name in ${goQuote(text.slice(begin, i))}` };
    if (key.value.length === 0) return { ok: false, error: `empty key in ${goQuote(text.slice(begin, i))}` };
    let list = out.get(name.value);
    if (list === undefined) out.set(name.value, (list = []));
    list.push([key.value, value.value]);
    if (i >= text.length) break;
    i++; // the ';'
  }
  return { ok: true, value: out };
}

/**
 * Formats `TOR_PT_SERVER_TRANSPORT_OPTIONS` from `[transport, args]` entries, escaping `\ : ; =`
 * in names, keys and values as pt-spec §3.2.3 asks (tor itself leaves `=` alone). For tests and
 * harnesses that launch a server PT.
 */
export function formatServerTransportOptions(entries: ReadonlyArray<readonly [transport: string, args: PtArgs]>): string {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array of [transport, args]');
  const escape = (s: string): string => s.replace(/[\\:;=]/g, (c) => `\\${c}`);
  const items: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const [name, args] = entry;
    if (typeof name !== 'string' || name === '') throw new RangeError(`entries[${i}] needs a non-empty transport name`);
    checkPairs(args, `entries[${i}] args`);
    for (const [k, v] of args) items.push(`${escape(name)}:${escape(k)}=${escape(v)}`);
  }
  return items.join(';');
}

/**
 * Turns an argument list into a key → value map, refusing duplicate keys: a bridge line with two
 * different values for one key is ambiguous, and picking one silently hides the mistake.
 */
export function uniqueArgs(args: PtArgs): ParseResult<ReadonlyMap<string, string>> {
  checkPairs(args, 'args');
  const map = new Map<string, string>();
  for (const [k, v] of args) {
    if (map.has(k)) return { ok: false, error: `duplicate key ${goQuote(k)}` };
    map.set(k, v);
  }
  return { ok: true, value: map };
}
