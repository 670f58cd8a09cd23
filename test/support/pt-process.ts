/**
 * Runs the built `dust` binary as tor would (a managed PT with a crafted environment) and follows
 * its stdout line by line. Every process started here is killed by `killAllPts()` (call it in
 * afterEach/afterAll) so that Jest exits by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildCli } from './build-cli.js';

export interface PtProcess {
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the first line (already seen or future) matching; rejects after `timeoutMs`. */
  line(match: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

/** The environment tor would give a client PT, plus `extra`. */
export function clientEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TOR_PT_MANAGED_TRANSPORT_VER: '1',
    TOR_PT_STATE_LOCATION: stateDir,
    TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
    TOR_PT_CLIENT_TRANSPORTS: 'dust',
    ...extra,
  };
}

/** The environment tor would give a server PT with a plain ORPort, plus `extra`. */
export function serverEnv(stateDir: string, orPort: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TOR_PT_MANAGED_TRANSPORT_VER: '1',
    TOR_PT_STATE_LOCATION: stateDir,
    TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
    TOR_PT_SERVER_TRANSPORTS: 'dust',
    TOR_PT_SERVER_BINDADDR: 'dust-127.0.0.1:0',
    TOR_PT_ORPORT: `127.0.0.1:${orPort}`,
    TOR_PT_EXTENDED_SERVER_PORT: '',
    ...extra,
  };
}

/**
 * Starts the binary with exactly `env` (plus PATH), stdin a pipe that stays open until the test
 * ends it (`child.stdin.end()`), stdout and stderr captured.
 */
export function startPt(env: Record<string, string>, args: string[] = [], options: { cwd?: string; binary?: string } = {}): PtProcess {
  const child = spawn(process.execPath, [options.binary ?? buildCli(), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd !== undefined && { cwd: options.cwd }),
  });
  live.add(child);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters: Array<{ match: RegExp | string; resolve: (l: string) => void }> = [];
  const matches = (l: string, m: RegExp | string): boolean => (typeof m === 'string' ? l === m : m.test(l));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const l = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      lines.push(l);
      for (const w of [...waiters]) {
        if (matches(l, w.match)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => void (err += chunk));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    line(match, timeoutMs = 10_000) {
      const seen = lines.find((l) => matches(l, match));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no stdout line ${String(match)} within ${timeoutMs} ms; got ${JSON.stringify(lines)}; stderr ${JSON.stringify(err)}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Runs the binary to completion (stdin closed at once) and returns its stdout lines and status. */
export async function runPtToExit(env: Record<string, string>, args: string[] = []): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  const pt = startPt(env, args);
  pt.child.stdin!.end();
  const { code } = await pt.exited;
  return { lines: pt.lines, code, stderr: pt.stderr() };
}

/** The `host:port` of a CMETHOD or SMETHOD line. */
export function methodPort(line: string): number {
  const m = /^[CS]METHOD dust (?:socks5 )?(?:\[[^\]]+\]|[0-9.]+):(\d+)/.exec(line);
  if (m === null) throw new Error(`not a method line: ${line}`);
  return Number(m[1]);
}

/** Kills every PT still running (SIGKILL) and waits for them. */
export async function killAllPts(): Promise<void> {
  const waits = [...live].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))));
  for (const c of live) c.kill('SIGKILL');
  await Promise.all(waits);
}
