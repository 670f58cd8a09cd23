/**
 * Command-line front end: picks the subcommand and hands over. No protocol logic lives here.
 * Usage errors print one line and the usage (exit 2); other errors print one line (exit 1).
 * @module
 */
import { ENGINE_USAGE, runEngine } from './engine.js';
import { KEYGEN_USAGE, runKeygen } from './keygen.js';
import { isManagedInvocation, runPt } from './pt.js';
import { DEMO_USAGE, runDemo } from './demo.js';
import { runSelfTest } from './selftest.js';
import { CLIENT_USAGE, runClient, runServer, SERVER_USAGE } from './standalone.js';
import { UsageError } from './usage-error.js';
import { MODEL_USAGE, runModel } from './model-cmd.js';
import { AUDIT_USAGE, runAudit } from './audit-cmd.js';

export const VERSION = '0.1.0';

const USAGE = `usage: dust <command> [options]

commands:
  demo      run a client and a server on loopback with a built-in model and move a payload through them
  server    a Dust server that forwards each stream to a TCP target
  client    a SOCKS5 listener whose connections go through a Dust bridge
  keygen    make a server key and state file
  engine    drive one session over stdin/stdout with the command-byte Dust API
  model     build a model from packet captures, check captured traffic against a model, plot a model
  audit     run published censor detectors on the TCP flows of a packet capture
  version   print the version

Run "dust <command> --help" for a command's options.`;

const COMMAND_USAGE: Record<string, string> = {
  demo: DEMO_USAGE,
  server: SERVER_USAGE,
  client: CLIENT_USAGE,
  keygen: KEYGEN_USAGE,
  engine: ENGINE_USAGE,
  model: MODEL_USAGE,
  audit: AUDIT_USAGE,
};

export async function runCli(argv: string[]): Promise<number> {
  // tor starts a managed PT with TOR_PT_MANAGED_TRANSPORT_VER set (and usually no arguments).
  if (isManagedInvocation(argv, process.env)) return runPt(argv, VERSION);
  const [command, ...rest] = argv;
  if (command !== undefined && COMMAND_USAGE[command] && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(COMMAND_USAGE[command] + '\n');
    return 0;
  }
  try {
    switch (command) {
      case 'version':
      case '-version':
      case '--version':
        process.stdout.write(`dust ${VERSION}\n`);
        return 0;
      case 'demo':
        return rest.includes('--in-memory') ? await runSelfTest(rest.filter((a) => a !== '--in-memory')) : await runDemo(rest);
      case 'server':
        return await runServer(rest);
      case 'client':
        return await runClient(rest);
      case 'keygen':
        return runKeygen(rest);
      case 'engine':
        return await runEngine(rest);
      case 'model':
        return await runModel(rest);
      case 'audit':
        return await runAudit(rest);
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        return 0;
      case undefined:
        process.stderr.write(USAGE + '\n');
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      process.stderr.write(`dust: ${(err as Error).message}\n${(command && COMMAND_USAGE[command]) || USAGE}\n`);
      return 2;
    }
    if (err instanceof Error && (err.name === 'ModelError' || err instanceof RangeError)) {
      process.stderr.write(`dust: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function isParseArgsError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).code!.startsWith('ERR_PARSE_ARGS');
}
