/**
 * Builds the `dust` bundle once per test file into a temporary folder (esbuild, ~50 ms), so that
 * tests run the real executable as a child process, exactly as tor or a user would.
 */
import { buildSync } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

let built: string | null = null;

export function buildCli(): string {
  if (built !== null) return built;
  const outfile = join(mkdtempSync(join(tmpdir(), 'dust-cli-')), 'dust.cjs');
  buildSync({
    entryPoints: [resolve(__dirname, '../../src/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logLevel: 'error',
  });
  built = outfile;
  return outfile;
}
