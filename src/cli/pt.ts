/**
 * Managed mode's entry (tor-pt.md §5): tor starts a PT without arguments and with
 * `TOR_PT_MANAGED_TRANSPORT_VER` set; an operator may add obfs4proxy-style flags. This file only
 * connects src/pt/managed.ts to the process: stdout written synchronously to fd 1, stderr, stdin,
 * SIGTERM/SIGINT, the parent pid, and the Dust stream drivers.
 * @module
 */
import { writeSync } from 'node:fs';
import { openDustStream } from '../drivers/dust-stream-client.js';
import { createDustListener } from '../drivers/dust-stream-server.js';
import { MANAGED_FLAG_NAMES, runManaged } from '../pt/managed.js';

/**
 * True when `dust` was started as a managed PT: tor's environment variable is set, or the first
 * argument is one of the managed-mode flags (`-enableLogging`, `-logLevel`, `-unsafeLogging`,
 * `-modelsDir`, `-version`, with one or two dashes).
 */
export function isManagedInvocation(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.TOR_PT_MANAGED_TRANSPORT_VER !== undefined) return true;
  const first = argv[0];
  if (first === undefined || !first.startsWith('-')) return false;
  return MANAGED_FLAG_NAMES.has(first.replace(/^--?/, '').split('=')[0]!);
}

/**
 * Writes all of `text` to a file descriptor synchronously. A pipe tor has closed (EPIPE) swallows
 * the text: tor is gone and termination follows; a full non-blocking pipe (EAGAIN) is retried.
 */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  let spins = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && spins++ < 10_000) continue;
      if (code === 'EPIPE' || code === 'EAGAIN' || code === 'EBADF') return;
      throw err;
    }
  }
}

/** Runs managed mode and exits the process with its status once it is done. */
export async function runPt(argv: readonly string[], version: string): Promise<number> {
  const code = await runManaged(
    argv,
    version,
    { openStream: openDustStream, createListener: createDustListener },
    {
      env: process.env,
      stdout: (text) => writeAllSync(1, text),
      stderr: (text) => writeAllSync(2, text),
      stdin: () => process.stdin,
      onSignal: (handler) => {
        const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
        for (const s of signals) process.on(s, handler);
        return () => {
          for (const s of signals) process.removeListener(s, handler);
        };
      },
      ppid: () => process.ppid,
    },
  );
  // Sockets and timers of connections that were cut off must not keep the process alive.
  process.exit(code);
}
