/**
 * `dust model check MODEL CAPTURE`: placeholder created by engineer A so that src/cli/model-cmd.ts
 * can import it; engineer B replaces this file with the real command (capture tools API, issue 6).
 * @module
 */

export const MODEL_CHECK_USAGE = `usage: dust model check MODEL CAPTURE...
  Compares captured Dust traffic with MODEL per direction (not available in this build yet).`;

/** Not implemented yet: says so and exits 1. */
export async function runModelCheck(_argv: string[]): Promise<number> {
  process.stderr.write('dust: model check is not available in this build yet\n');
  return 1;
}
