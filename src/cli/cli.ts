/**
 * Command-line front end: parses the subcommand and hands over. No protocol logic lives here.
 * @module
 */
export const VERSION = '0.1.0';

const USAGE = `usage: dust <command> [options]

commands:
  version        print the version
`;

export async function runCli(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'version':
    case '-version':
    case '--version':
      process.stdout.write(`dust ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`dust: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}
