/**
 * `dust engine`: one DustSession driven over stdin/stdout with the seed's command bytes
 * (framing in docs/engine.md and src/drivers/engine-protocol.ts). Logs, if any, go to stderr.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ReplayFilter } from '../core/replay-filter.js';
import { serverIdentifier } from '../core/server-id.js';
import { decodeBridgeKey, parseServerState } from '../core/server-keys.js';
import { DustSession } from '../core/session.js';
import { EngineProtocol } from '../drivers/engine-protocol.js';
import { parseHostPort } from './host-port.js';
import { resolveModel } from './model-arg.js';
import { UsageError } from './usage-error.js';

export const ENGINE_USAGE = `usage:
  dust engine --role client --model MODEL --bridge-key KEY --server IP:PORT
  dust engine --role server --model MODEL --state FILE --server IP:PORT

Speaks the command-byte Dust API on stdin/stdout (see docs/engine.md).
  --model       a built-in model name (uniform, text, bulk, http) or a model file
  --bridge-key  the server's public key, as in the bridge line (key=...)
  --state       the server's state file (from dust keygen)
  --server      the address the client dials (both ends need it: it is bound into the handshake)`;

export function createEngineSession(argv: string[], now: number, unixTimeMs: number): DustSession {
  const { values } = parseArgs({
    args: argv,
    options: {
      role: { type: 'string' },
      model: { type: 'string' },
      'bridge-key': { type: 'string' },
      state: { type: 'string' },
      server: { type: 'string' },
    },
    strict: true,
  });
  const model = resolveModel(required(values.model, '--model'));
  const address = parseHostPort(required(values.server, '--server'), '--server');
  const serverId = serverIdentifier(address.host, address.port);
  const common = { model, now, unixTimeMs };
  switch (values.role) {
    case 'client':
      return new DustSession({
        ...common,
        role: 'client',
        server: { publicKey: decodeBridgeKey(required(values['bridge-key'], '--bridge-key')), serverId },
      });
    case 'server': {
      const path = required(values.state, '--state');
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read --state ${path}: ${(err as NodeJS.ErrnoException).code}`);
      }
      const identity = parseServerState(text, path);
      return new DustSession({ ...common, role: 'server', staticKey: identity.staticKey, serverId, replayFilter: new ReplayFilter() });
    }
    default:
      throw new UsageError(`--role must be client or server, got ${JSON.stringify(values.role ?? '')}`);
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** Runs the engine until stdin ends. */
export function runEngine(argv: string[]): Promise<number> {
  const protocol = new EngineProtocol(createEngineSession(argv, 0, Date.now()));
  return new Promise((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => {
      for (const reply of protocol.push(chunk)) process.stdout.write(reply);
    });
    process.stdin.on('end', () => resolve(0));
  });
}
