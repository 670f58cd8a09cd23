/**
 * `dust model plot MODEL [CAPTURE] -o out.svg`: placeholder created by engineer A so that
 * src/cli/model-cmd.ts can import it; engineer B replaces this file with the real command
 * (capture tools API, issue 6).
 * @module
 */

export const MODEL_PLOT_USAGE = `usage: dust model plot MODEL [CAPTURE] -o OUT.svg
  Plots MODEL's byte and length distributions (not available in this build yet).`;

/** Not implemented yet: says so and exits 1. */
export async function runModelPlot(_argv: string[]): Promise<number> {
  process.stderr.write('dust: model plot is not available in this build yet\n');
  return 1;
}
