/**
 * The managed proxy's logging (tor-pt.md §5.1, §5.3, §6.1; pt-spec §4), obfs4proxy-style:
 *
 * - `-enableLogging` writes a pino log (JSON lines) to `dust.log` in the state directory, created
 *   with mode 0600, asynchronously (`pino.destination`, never a transport thread, never stdout:
 *   stdout carries only PT protocol lines). Without it nothing goes to disk.
 * - `-logLevel error|warn|info|debug` (any case; default `error`, as obfs4proxy). `notice` lines
 *   (launch, listeners, shutdown) are written whenever logging is on, as obfs4proxy's NOTICE
 *   lines are: pino gets a custom `notice` level above `error` for that.
 * - Client addresses are scrubbed (`[scrubbed]:PORT`, obfs4proxy's `ElideAddr`) unless
 *   `-unsafeLogging`. Callers pass addresses through {@link PtLog.addr} and error texts through
 *   {@link PtLog.err}; keys and cookies are never handed to the logger at all.
 * - Warnings and errors also go to tor as `LOG SEVERITY=... MESSAGE="..."` lines,
 *   always scrubbed unless `-unsafeLogging` (tor's own log may be on disk). Lines logged before
 *   the METHODS DONE line are held back and written right after it.
 * @module
 */
import { closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { LogSeverity } from './lines.js';

/** The log file's name inside `TOR_PT_STATE_LOCATION` (obfs4proxy: `obfs4proxy.log`). */
export const LOG_FILE_NAME = 'dust.log';

/** `-logLevel` values (obfs4proxy's, lower case). */
export type PtLogLevel = 'error' | 'warn' | 'info' | 'debug';
const LEVELS: readonly PtLogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Parses `-logLevel` case-insensitively (`WARNING` is accepted for `warn`); undefined if unknown. */
export function parseLogLevel(text: string): PtLogLevel | undefined {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const t = text.toLowerCase();
  if (t === 'warning') return 'warn';
  return (LEVELS as readonly string[]).includes(t) ? (t as PtLogLevel) : undefined;
}

/** What replaces an address (obfs4proxy `common/log/log.go`). */
export const SCRUBBED = '[scrubbed]';

/** `[scrubbed]:PORT` (the port is kept so that one connection's lines can be followed). */
export function elideAddr(address: { host: string; port: number } | string): string {
  if (typeof address === 'string') {
    const m = /^(?:\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(address);
    return m ? `${SCRUBBED}:${m[1]}` : SCRUBBED;
  }
  return `${SCRUBBED}:${address.port}`;
}

// IPv4 dotted quads, and IPv6-looking runs (two or more colons among hex digits, optionally in
// brackets): Node's error texts write `connect ECONNREFUSED 192.0.2.1:443` or `... ::1:443`.
const IPV4_TEXT = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const IPV6_TEXT = /\[?(?:[0-9A-Fa-f]{0,4}:){2,}[0-9A-Fa-f.]*\]?/g;

/**
 * Replaces every IP literal inside free text by `[scrubbed]` (ports after IPv4 addresses stay).
 * Used on error messages that come from the OS, which embed addresses.
 */
export function scrubText(text: string): string {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  return text.replace(IPV6_TEXT, SCRUBBED).replace(IPV4_TEXT, SCRUBBED);
}

/** One line describing an error: its code (if any) and message. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Options for {@link createPtLog}. */
export interface PtLogOptions {
  /** Write `dust.log` in this directory (`-enableLogging`); omitted, nothing goes to disk. */
  readonly stateDir?: string;
  /** Minimum level for the file (default `error`). */
  readonly level?: PtLogLevel;
  /** `-unsafeLogging`: do not scrub addresses. */
  readonly unsafe?: boolean;
}

type Severity = 'error' | 'warn' | 'notice' | 'info' | 'debug';
const TOR_SEVERITY: Record<Severity, LogSeverity> = { error: 'error', warn: 'warning', notice: 'notice', info: 'info', debug: 'debug' };
/**
 * tor hears warnings and errors, which an operator must act on; notices (launch, listeners,
 * shutdown) and below stay in the file, so tor's own log is not filled with routine lines.
 */
const TO_TOR: ReadonlySet<Severity> = new Set(['error', 'warn']);
/** Lines held back until tor may hear them; more are dropped (a bound, not an expected case). */
const MAX_HELD_LINES = 100;

/** The logger the managed proxy passes around. */
export interface PtLog {
  error(message: string): void;
  warn(message: string): void;
  notice(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** An address as it may appear in logs: scrubbed unless `-unsafeLogging`. */
  addr(address: { host: string; port: number } | string): string;
  /** An error as it may appear in logs: addresses in its text scrubbed unless `-unsafeLogging`. */
  err(error: unknown): string;
  /** From now on, send LOG lines to tor through `sink` (first the held-back ones). */
  attachTor(sink: (severity: LogSeverity, message: string) => void): void;
  /** Flushes and closes the file (if any). */
  close(): Promise<void>;
  /** The log file's path, when logging to disk. */
  readonly file: string | undefined;
}

/**
 * Makes the logger. With `stateDir`, the directory must exist or be creatable; the file is
 * created mode 0600 (and set to 0600 if it existed) before pino opens it for appending.
 * @throws Error (from the file system) if the log file cannot be created
 */
export function createPtLog(options: PtLogOptions = {}): PtLog {
  const { stateDir, level = 'error', unsafe = false } = options;
  if (!LEVELS.includes(level)) throw new RangeError(`level must be one of ${LEVELS.join('|')}, got ${String(level)}`);
  let file: string | undefined;
  let logger: pino.Logger<'notice'> | undefined;
  let dest: ReturnType<typeof pino.destination> | undefined;
  if (stateDir !== undefined) {
    file = join(stateDir, LOG_FILE_NAME);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const fd = openSync(file, 'a', 0o600);
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
    dest = pino.destination({ dest: file, sync: false, mkdir: true, mode: 0o600 });
    logger = pino<'notice'>(
      {
        level,
        // obfs4proxy writes NOTICE lines at every level; a level above error does the same here.
        customLevels: { notice: 55 },
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      dest,
    );
  }
  let torSink: ((severity: LogSeverity, message: string) => void) | undefined;
  const held: Array<[LogSeverity, string]> = [];

  const emit = (severity: Severity, message: string): void => {
    if (typeof message !== 'string') throw new TypeError('message must be a string');
    logger?.[severity](message);
    if (!TO_TOR.has(severity)) return;
    const text = unsafe ? message : scrubText(message);
    if (torSink !== undefined) torSink(TOR_SEVERITY[severity], text);
    else if (held.length < MAX_HELD_LINES) held.push([TOR_SEVERITY[severity], text]);
  };

  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    notice: (m) => emit('notice', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    addr: (a) => (unsafe ? (typeof a === 'string' ? a : a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`) : elideAddr(a)),
    err: (e) => (unsafe ? describeError(e) : scrubText(describeError(e))),
    attachTor(sink) {
      if (typeof sink !== 'function') throw new TypeError('sink must be a function');
      torSink = sink;
      for (const [s, m] of held.splice(0)) sink(s, m);
    },
    close: () => closeDestination(dest),
    file,
  };
}

/** Waits for the file to be open, then flushes and closes it (bounded: exit must not hang). */
function closeDestination(dest: ReturnType<typeof pino.destination> | undefined): Promise<void> {
  if (dest === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    dest.once('close', done);
    dest.once('error', done);
    try {
      dest.end();
    } catch {
      done();
    }
  });
}
