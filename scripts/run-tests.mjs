#!/usr/bin/env node
// The project's test command: type-check, run jest, then print the plain summary line
// "N passed, N failed" that CI reads. Exits non-zero when anything failed.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const extra = process.argv.slice(2);
const tsc = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('type-check failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const results = 'jest-results.json';
rmSync(results, { force: true });
// --forceExit: a leaked timer in one test must not hang CI; leaks are still worth fixing.
const jest = spawnSync('npx', ['jest', '--json', `--outputFile=${results}`, '--forceExit', ...extra], { stdio: 'inherit' });
let passed = 0;
let failed = 0;
try {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
} catch {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(jest.status === 0 && failed === 0 ? 0 : 1);
