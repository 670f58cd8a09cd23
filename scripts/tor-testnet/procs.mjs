/**
 * Process supervision for the testnet runner: start long-running children with their output
 * split into lines (and copied to a log file), find the processes they started in turn (the
 * managed pluggable transports tor spawns), and stop all of them by PID: SIGTERM, wait, SIGKILL.
 * Pitfall 8 of /work/shared/spec/tor-testnet-notes.md: never kill by name, and read a process's
 * state from /proc, because `kill -0` also succeeds on an unreaped zombie.
 * @module
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';

/**
 * @typedef {object} Proc
 * @property {string} name
 * @property {number} pid
 * @property {import('node:child_process').ChildProcess} child
 * @property {Promise<void>} exited  resolves when the child has exited (never rejects)
 * @property {{ code: number | null, signal: string | null } | null} exit  null while running
 */

/**
 * State of a process from /proc/PID/stat, or null when there is no such process.
 * @param {number} pid
 * @returns {{ state: string, ppid: number, startTime: string } | null}
 */
export function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces or ')': split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), rest[1] field 4 (ppid), rest[19] field 22 (start time in ticks).
  return { state: rest[0], ppid: Number(rest[1]), startTime: rest[19] };
}

/** The command line of a process, for messages ('?' when it is gone). */
function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ') || '?';
  } catch {
    return '?';
  }
}

/** True while `pid` is a live (not zombie, not dead) process started at `startTime` (guards PID reuse). */
export function isAlive(pid, startTime) {
  const st = procStat(pid);
  if (st === null || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/**
 * Every live descendant of the given processes (children, grandchildren, ...), with start times.
 * @param {number[]} roots
 * @returns {{ pid: number, startTime: string }[]}
 */
export function descendants(roots) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  /** @type {Map<number, string>} */
  const starts = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st === null || st.state === 'Z' || st.state === 'X') continue;
    starts.set(Number(entry), st.startTime);
    const list = children.get(st.ppid) ?? [];
    list.push(Number(entry));
    children.set(st.ppid, list);
  }
  const out = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = /** @type {number} */ (queue.shift());
    for (const c of children.get(pid) ?? []) {
      out.push({ pid: c, startTime: /** @type {string} */ (starts.get(c)) });
      queue.push(c);
    }
  }
  return out;
}

/**
 * Starts a long-running child. Its stdout and stderr are appended to `logFile` and passed on line
 * by line to `onLine`.
 * @param {{ name: string, command: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv,
 *   logFile: string, onLine?: (line: string) => void }} o
 * @returns {Proc}
 */
export function startProcess(o) {
  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${o.name} (${o.command})`);
  /** @type {Proc} */
  const proc = { name: o.name, pid: child.pid, child, exit: null, exited: Promise.resolve() };
  proc.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      proc.exit = { code, signal };
      resolve();
    });
    child.on('error', () => {
      if (proc.exit === null) proc.exit = { code: null, signal: null };
      resolve();
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      appendFileSync(o.logFile, chunk);
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        o.onLine?.(line);
      }
    });
  }
  return proc;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops every process in `procs` and every descendant they have now, by PID: SIGTERM to all, wait
 * up to `graceMs`, then SIGKILL to whatever is still alive, and wait for our own children to be
 * reaped. Descendants (tor's managed proxies) are not our children: they are checked through
 * /proc with their start time, so a reused PID is never signalled.
 * @param {Proc[]} procs
 * @param {number} graceMs
 * @returns {Promise<string[]>} one line per process that needed SIGKILL
 */
export async function stopAll(procs, graceMs) {
  const running = procs.filter((p) => p.exit === null);
  /** @type {{ pid: number, startTime: string, name: string }[]} */
  const targets = [];
  for (const p of running) {
    const st = procStat(p.pid);
    if (st !== null) targets.push({ pid: p.pid, startTime: st.startTime, name: p.name });
  }
  for (const d of descendants(running.map((p) => p.pid))) targets.push({ ...d, name: `${commandLine(d.pid)}, started by a tor` });

  const signal = (t, sig) => {
    if (!isAlive(t.pid, t.startTime)) return;
    try {
      process.kill(t.pid, sig);
    } catch {
      // Already gone between the check and the signal.
    }
  };
  for (const t of targets) signal(t, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && targets.some((t) => isAlive(t.pid, t.startTime))) await sleep(50);
  const killed = [];
  for (const t of targets) {
    if (isAlive(t.pid, t.startTime)) {
      killed.push(`${t.name} (pid ${t.pid}) ignored SIGTERM for ${graceMs} ms: SIGKILL`);
      signal(t, 'SIGKILL');
    }
  }
  // Reap our own children so that none is left as a zombie, and let their pipes close.
  await Promise.race([Promise.all(running.map((p) => p.exited)), sleep(5000)]);
  return killed;
}
