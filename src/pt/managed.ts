/**
 * The managed proxy (pt-spec §3; tor-pt.md §1–§5, its closing checklist): what `dust` does when
 * tor launches it as a ClientTransportPlugin or ServerTransportPlugin.
 *
 * 1. Flags, obfs4proxy-style (Go `flag` syntax): `-version`, `-enableLogging`, `-logLevel`,
 *    `-unsafeLogging`, plus `-modelsDir DIR` (client: where non-built-in models are found).
 *    Positional arguments are ignored, like obfs4proxy's legacy `managed`.
 * 2. The whole environment is checked (env.ts) and the state directory created before `VERSION 1`,
 *    so every ENV-ERROR/VERSION-ERROR comes while tor still shows its text.
 * 3. `VERSION 1`, then `PROXY DONE` when TOR_PT_PROXY is set, the CMETHOD/SMETHOD lines (or
 *    *-ERROR for a transport that cannot start), then `CMETHODS DONE`/`SMETHODS DONE`. Only then
 *    LOG and STATUS lines (`STATUS TRANSPORT=dust TYPE=version ...` first). stdout carries nothing
 *    else, each line written synchronously (tor-pt.md §5.7).
 * 4. Termination (tor-pt.md §5.5): the first SIGTERM or SIGINT, stdin closing when
 *    TOR_PT_EXIT_ON_STDIN_CLOSE=1, or the parent going away (checked every second when stdin is
 *    not watched) closes the listeners and lets open connections finish for up to
 *    {@link DRAIN_TIMEOUT_MS}; a second one exits at once. Unlike obfs4proxy, whose SIGTERM exits
 *    at once, a Dust stream gets a moment to deliver what it holds; the bound matches Arti, which
 *    kills a PT 5 s after closing its stdin. Exit status 0.
 * @module
 */
import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { systemRandom, type RandomSource } from '../core/random.js';
import { ModelResolver } from './bridge-args.js';
import { startClientListener, type ClientListener, type OpenStream } from './client-mode.js';
import { DUST_TRANSPORT, parseManagedEnv, type ClientEnv, type EnvLike, type ServerEnv } from './env.js';
import { goQuote, logLine, PtLineWriter, versionStatusLine, type LineSink } from './lines.js';
import { createPtLog, parseLogLevel, type PtLog, type PtLogLevel } from './logging.js';
import { createDialer } from './proxy-dial.js';
import type { RelayTracker } from './relay.js';
import { ServerSetupError, startServerTransport, type CreateListener, type ServerTransport } from './server-mode.js';
import { ensureStateDir } from './state-dir.js';

/** How long open connections may go on after the first termination request. */
export const DRAIN_TIMEOUT_MS = 5_000;
/** How often the parent process is checked when stdin is not watched (obfs4proxy: 1 s). */
export const PARENT_CHECK_MS = 1_000;
/** The IMPLEMENTATION in the version STATUS line. */
export const IMPLEMENTATION = 'dust';

/** The command-line flags of managed mode. */
export interface ManagedFlags {
  readonly version: boolean;
  readonly help: boolean;
  readonly enableLogging: boolean;
  readonly logLevel: PtLogLevel;
  readonly unsafeLogging: boolean;
  readonly modelsDir?: string;
}

export const MANAGED_USAGE = `usage: dust [-enableLogging] [-logLevel error|warn|info|debug] [-unsafeLogging] [-modelsDir DIR] [-version]
  Run by tor as a managed pluggable transport (ClientTransportPlugin / ServerTransportPlugin dust exec ...).
  -enableLogging   log to dust.log in TOR_PT_STATE_LOCATION (mode 0600)
  -logLevel LEVEL  error (default), warn, info or debug
  -unsafeLogging   do not scrub IP addresses from logs
  -modelsDir DIR   client: directory of NAME.json model files that bridge lines may name
  -version         print the version and exit`;

/** The flags that mean "managed mode" when they come first (cli.ts). */
export const MANAGED_FLAG_NAMES: ReadonlySet<string> = new Set(['version', 'enableLogging', 'logLevel', 'unsafeLogging', 'modelsDir']);

/**
 * Parses flags the way Go's `flag` package does (obfs4proxy): `-name` or `--name`, `-name=value`,
 * or `-name value` for string flags; booleans accept `=true`/`=false`. Parsing stops at the first
 * argument that is not a flag (or after `--`); the rest is ignored.
 */
export function parseManagedFlags(argv: readonly string[]): { ok: true; value: ManagedFlags } | { ok: false; error: string } {
  const bools = new Map<string, boolean>([['version', false], ['help', false], ['enableLogging', false], ['unsafeLogging', false]]);
  let logLevel: PtLogLevel = 'error';
  let modelsDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let value = eq < 0 ? undefined : body.slice(eq + 1);
    const key = name === 'h' ? 'help' : name;
    if (bools.has(key)) {
      if (value !== undefined && value !== 'true' && value !== 'false') return { ok: false, error: `invalid boolean value ${goQuote(value)} for -${name}` };
      bools.set(key, value !== 'false');
      continue;
    }
    if (name !== 'logLevel' && name !== 'modelsDir') return { ok: false, error: `flag provided but not defined: -${name}` };
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) return { ok: false, error: `flag needs an argument: -${name}` };
    }
    if (name === 'logLevel') {
      const level = parseLogLevel(value);
      if (level === undefined) return { ok: false, error: `invalid log level ${goQuote(value)} (error, warn, info or debug)` };
      logLevel = level;
    } else {
      if (value === '') return { ok: false, error: 'flag -modelsDir needs a directory' };
      modelsDir = value;
    }
  }
  return {
    ok: true,
    value: {
      version: bools.get('version')!,
      help: bools.get('help')!,
      enableLogging: bools.get('enableLogging')!,
      logLevel,
      unsafeLogging: bools.get('unsafeLogging')!,
      ...(modelsDir !== undefined && { modelsDir }),
    },
  };
}

/** The stream driver, injected: `openDustStream` and `createDustListener` in the binary. */
export interface ManagedDrivers {
  readonly openStream: OpenStream;
  readonly createListener: CreateListener;
}

/** Everything managed mode touches of the process, injected so the flow can be driven in tests. */
export interface ManagedIo {
  readonly env: EnvLike;
  /** Writes PT lines to stdout synchronously (fd 1). */
  readonly stdout: LineSink;
  /** Diagnostics for humans (tor logs stderr lines at info). */
  readonly stderr: (text: string) => void;
  /** Watched only when TOR_PT_EXIT_ON_STDIN_CLOSE=1 (a getter: Node sets stdin up on first use). */
  readonly stdin?: () => Readable;
  /** Registers the termination signal handler (SIGTERM, SIGINT); returns an unregister function. */
  readonly onSignal: (handler: (signal: string) => void) => () => void;
  /** The parent process id now (process.ppid). */
  readonly ppid: () => number;
  readonly random?: RandomSource;
}

/**
 * Runs managed mode until termination; resolves with the exit status (0 after a requested
 * termination; 1 for a configuration error, after the error lines; 2 for bad flags).
 */
export async function runManaged(argv: readonly string[], version: string, drivers: ManagedDrivers, io: ManagedIo): Promise<number> {
  const flags = parseManagedFlags(argv);
  if (!flags.ok) {
    // stdout is tor's: a LOG line (accepted in any state) carries the reason there too.
    io.stdout(`${logLine('error', `dust: ${flags.error}`)}\n`);
    io.stderr(`dust: ${flags.error}\n${MANAGED_USAGE}\n`);
    return 2;
  }
  if (flags.value.help) {
    io.stderr(`${MANAGED_USAGE}\n`);
    return 0;
  }
  if (flags.value.version) {
    io.stdout(`dust ${version}\n`);
    return 0;
  }

  const parsed = parseManagedEnv(io.env);
  if (!parsed.ok) {
    for (const line of parsed.lines) io.stdout(`${line}\n`);
    return 1;
  }
  const config = parsed.config;
  const writer = new PtLineWriter(io.stdout, { proxyConfigured: config.mode === 'client' && config.proxy !== undefined });

  let log: PtLog;
  try {
    ensureStateDir(config.stateLocation);
    log = createPtLog({
      ...(flags.value.enableLogging && { stateDir: config.stateLocation }),
      level: flags.value.logLevel,
      unsafe: flags.value.unsafeLogging,
    });
  } catch (err) {
    const message = `cannot use TOR_PT_STATE_LOCATION ${goQuote(config.stateLocation)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    writer.log('error', message);
    writer.envError(message);
    return 1;
  }
  log.notice(`dust ${version} - launched (${config.mode})`);

  // Termination requests can arrive from now on; the first one waits for setup to finish.
  let requested: string | undefined;
  let onFirst: ((reason: string) => void) | undefined;
  let onSecond: ((reason: string) => void) | undefined;
  const firstRequest = new Promise<string>((resolve) => (onFirst = resolve));
  const secondRequest = new Promise<string>((resolve) => (onSecond = resolve));
  const request = (reason: string): void => {
    if (requested === undefined) {
      requested = reason;
      onFirst!(reason);
    } else {
      onSecond!(reason);
    }
  };
  const unregister = io.onSignal((signal) => request(`received ${signal}`));
  let parentTimer: NodeJS.Timeout | undefined;
  if (config.exitOnStdinClose && io.stdin !== undefined) {
    const stdin = io.stdin();
    const closed = (): void => request('stdin closed');
    stdin.once('end', closed);
    stdin.once('close', closed);
    stdin.once('error', closed);
    stdin.resume(); // read and discard: tor sends nothing on it
  } else {
    const parent = io.ppid();
    parentTimer = setInterval(() => {
      if (io.ppid() !== parent) request('the parent process exited');
    }, PARENT_CHECK_MS);
    parentTimer.unref();
  }

  writer.version();
  const trackers: RelayTracker[] = [];
  const closers: Array<() => void> = [];
  if (config.mode === 'client') await startClient(config, flags.value, drivers, writer, log, trackers, closers);
  else await startServer(config, drivers, writer, log, trackers, closers, io.random ?? systemRandom);

  // After METHODS DONE, tor takes only LOG and STATUS lines.
  writer.writeLine(versionStatusLine(DUST_TRANSPORT, IMPLEMENTATION, version));
  log.attachTor((severity, message) => writer.log(severity, message));
  if (config.ignoredTransports.length > 0) log.info(`ignoring transports this PT does not implement: ${config.ignoredTransports.join(', ')}`);
  for (const warning of config.warnings) log.warn(warning);

  const reason = await firstRequest;
  const open = trackers.reduce((n, t) => n + t.size, 0);
  log.notice(`${reason}: no longer accepting connections${open > 0 ? `, letting ${open} finish (at most ${DRAIN_TIMEOUT_MS / 1000} s)` : ''}`);
  for (const close of closers) close();
  let drainTimer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    Promise.all(trackers.map((t) => t.idle())).then(() => 'drained'),
    new Promise<string>((resolve) => (drainTimer = setTimeout(() => resolve('drain time is up'), DRAIN_TIMEOUT_MS))),
    secondRequest,
  ]);
  clearTimeout(drainTimer);
  clearInterval(parentTimer);
  unregister();
  for (const t of trackers) t.destroyAll();
  log.notice(`dust - terminated (${outcome})`);
  await log.close();
  return 0;
}

async function startClient(
  config: ClientEnv,
  flags: ManagedFlags,
  drivers: ManagedDrivers,
  writer: PtLineWriter,
  log: PtLog,
  trackers: RelayTracker[],
  closers: Array<() => void>,
): Promise<void> {
  if (config.proxy !== undefined) {
    // pt-spec §3.3.2: acknowledge the proxy before any CMETHOD; every Dust dial goes through it.
    writer.proxyDone();
    log.notice(`using the upstream ${config.proxy.scheme} proxy ${log.addr(config.proxy)}`);
  }
  if (flags.modelsDir !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(flags.modelsDir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) log.warn(`-modelsDir ${flags.modelsDir} is not a readable directory: only built-in models can be used`);
  }
  const resolver = new ModelResolver(flags.modelsDir);
  const dial = createDialer({ ...(config.proxy && { proxy: config.proxy }), bind: config });
  for (const name of config.transports) {
    let listener: ClientListener;
    try {
      listener = await startClientListener({ log, resolver, openStream: drivers.openStream, dial });
    } catch (err) {
      writer.cmethodError(name, `cannot listen for SOCKS: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    trackers.push(listener.tracker);
    closers.push(() => listener.close());
    writer.cmethod(name, 'socks5', listener.address);
    log.notice(`${name}: SOCKS5 listener on ${listener.address.host}:${listener.address.port}`);
  }
  writer.cmethodsDone();
}

async function startServer(
  config: ServerEnv,
  drivers: ManagedDrivers,
  writer: PtLineWriter,
  log: PtLog,
  trackers: RelayTracker[],
  closers: Array<() => void>,
  random: RandomSource,
): Promise<void> {
  for (const transport of config.transports) {
    let started: ServerTransport;
    try {
      started = await startServerTransport({ env: config, transport, log, random, createListener: drivers.createListener });
    } catch (err) {
      if (!(err instanceof ServerSetupError)) throw err;
      log.error(`${transport.name}: ${err.message}`);
      writer.smethodError(transport.name, err.message);
      continue;
    }
    trackers.push(started.tracker);
    closers.push(() => started.close());
    writer.smethod(transport.name, started.address, started.args);
  }
  writer.smethodsDone();
}
