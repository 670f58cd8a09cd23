#!/usr/bin/env node
/**
 * The `dust` executable. Subcommands are wired in src/cli/.
 * @module
 */
import { runCli } from './cli/cli.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dust: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
