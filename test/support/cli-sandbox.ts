/** A temporary directory and captured stdout/stderr for tests that run a CLI command in-process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliSandbox {
  dir: string;
  out: string[];
  err: string[];
  /** Puts stdout/stderr back and removes the directory. */
  restore: () => void;
}

/** Call in beforeEach; call `restore` in afterEach. */
export function cliSandbox(prefix: string): CliSandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return {
    dir,
    out,
    err,
    restore: () => {
      stdout.mockRestore();
      stderr.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
