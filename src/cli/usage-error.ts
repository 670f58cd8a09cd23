/** A problem with the command line: the CLI prints its message (one line) and the usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
