/**
 * `dust audit CAPTURE`: placeholder created by engineer A so that src/cli/cli.ts can import it;
 * engineer B replaces this file with the real command (capture tools API, issue 6).
 * @module
 */

export const AUDIT_USAGE = `usage: dust audit CAPTURE...
  Runs published censor detectors on each TCP flow (not available in this build yet).`;

/** Not implemented yet: says so and exits 1. */
export async function runAudit(_argv: string[]): Promise<number> {
  process.stderr.write('dust: audit is not available in this build yet\n');
  return 1;
}
