/**
 * `dust keygen`: makes a server identity and writes its state file (mode 0600); prints the
 * bridge-line key. Refuses to overwrite an existing state file unless --force is given.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemRandom } from '../core/random.js';
import { encodeBridgeKey, generateServerIdentity, serializeServerState } from '../core/server-keys.js';
import { UsageError } from './usage-error.js';

export const KEYGEN_USAGE = `usage: dust keygen --state FILE [--force]
  Writes a new server state file (private key, mode 0600) and prints "key=<public key>".`;

export function runKeygen(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { state: { type: 'string' }, force: { type: 'boolean' } }, strict: true });
  if (!values.state) throw new UsageError('--state is required');
  const identity = generateServerIdentity(systemRandom);
  try {
    writeFileSync(values.state, serializeServerState(identity), { mode: 0o600, flag: values.force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${values.state} exists already (use --force to replace it)`);
    throw new UsageError(`cannot write ${values.state}: ${code ?? (err as Error).message}`);
  }
  process.stdout.write(`key=${encodeBridgeKey(identity.staticKey.publicKey)}\n`);
  return 0;
}
