/**
 * What the benchmarks that run dust in child processes share: a fresh bundle of src/main.ts, and
 * stopping a child for good.
 * @module
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

/** Bundles src/main.ts into `dir` with the project's esbuild (as `npm run build` does); returns its path. */
export function buildDust(dir: string): string {
  const out = join(dir, 'dust.cjs');
  const esbuild = resolve('node_modules/.bin/esbuild');
  const r = spawnSync(esbuild, ['src/main.ts', '--bundle', '--platform=node', '--target=node20', '--format=cjs', `--outfile=${out}`, '--log-level=warning'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bench: esbuild failed: ${r.stderr}`);
  return out;
}

/** Kills `child` (SIGKILL) and resolves once it has exited; at once if it already has. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGKILL');
  });
}
