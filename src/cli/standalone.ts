/**
 * Dust without tor: `dust server` (each Dust stream is forwarded to one TCP target) and
 * `dust client` (a SOCKS5 listener whose every CONNECT goes through one bridge). Problems with
 * flags or targets are one clear line; per-connection events go to stderr, addresses scrubbed
 * unless --unsafe-logging.
 * @module
 */
import { readFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { parseArgs } from 'node:util';
import { parseIpAddress } from '../core/server-id.js';
import { parseServerState, type ServerIdentity } from '../core/server-keys.js';
import { openDustStream } from '../drivers/dust-stream-client.js';
import { createDustListener } from '../drivers/dust-stream-server.js';
import { formatBridgeArgs, ModelResolver, parseBridgeLine } from '../pt/bridge-args.js';
import { startClientListener, type ClientListener } from '../pt/client-mode.js';
import { describeError, elideAddr, scrubText, type PtLog } from '../pt/logging.js';
import type { Dialer } from '../pt/proxy-dial.js';
import { relay } from '../pt/relay.js';
import type { DustModel } from '../shaping/model.js';
import { formatHostPort, parseHostPort, type HostPort } from './host-port.js';
import { resolveModel } from './model-arg.js';
import { UsageError } from './usage-error.js';

export const SERVER_USAGE = `usage: dust server --state FILE --listen IP:PORT --forward HOST:PORT [options]
  --state FILE            server state from "dust keygen"
  --listen IP:PORT        where to accept Dust connections
  --forward HOST:PORT     where each Dust stream goes (a TCP service)
  --model NAME|FILE       built-in model name or model file (default: http)
  --public-address IP:PORT  the address clients dial, when it is not --listen (NAT, containers)
  --unsafe-logging        log client addresses instead of scrubbing them`;

export const CLIENT_USAGE = `usage: dust client --listen 127.0.0.1:PORT --bridge "IP:PORT key=... model=..." [options]
  --listen IP:PORT        where the SOCKS5 listener accepts connections
  --bridge LINE           the bridge line (as printed by dust server); every SOCKS CONNECT goes there
  --models-dir DIR        where to find models named in the bridge line that are not built in
  --unsafe-logging        log addresses instead of scrubbing them`;

/** A stderr logger with the PT logger's interface (standalone runs have no tor to talk to). */
export function stderrLog(unsafe: boolean, quiet = false): PtLog {
  const line = (level: string) => (message: string) => {
    if (!quiet || level === 'error') process.stderr.write(`dust: ${level === 'info' ? '' : level + ': '}${message}\n`);
  };
  return {
    error: line('error'),
    warn: line('warning'),
    notice: line('info'),
    info: line('info'),
    debug: () => undefined,
    addr: (address) => (unsafe ? (typeof address === 'string' ? address : formatHostPort(address)) : elideAddr(address)),
    err: (error) => (unsafe ? describeError(error) : scrubText(describeError(error))),
    attachTor: () => undefined,
    close: async () => undefined,
    file: undefined,
  };
}

function readIdentity(path: string): ServerIdentity {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --state ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (make one with "dust keygen --state ${path}")`);
  }
  return parseServerState(text, path);
}

function requireIp(address: HostPort, flag: string): HostPort {
  if (parseIpAddress(address.host) === null) throw new UsageError(`${flag} must be an IP address and port, got ${formatHostPort(address)}`);
  return address;
}

export interface RunningServer {
  server: Server;
  address: HostPort;
  bridgeLine: string;
}

/** Starts a standalone Dust server; resolves once it listens. */
export function startStandaloneServer(options: {
  identity: ServerIdentity;
  model: DustModel;
  modelName: string;
  listen: HostPort;
  forward: HostPort;
  publicAddress?: HostPort;
  log: PtLog;
}): Promise<RunningServer> {
  const { log, forward } = options;
  let next = 1;
  const server = createDustListener(
    { model: options.model, identity: options.identity, ...(options.publicAddress && { publicAddress: options.publicAddress }) },
    (stream, client) => {
      const tag = `stream ${next++} from ${log.addr(client.address)}`;
      const upstream = connect({ host: forward.host, port: forward.port, allowHalfOpen: true });
      upstream.once('error', (err) => {
        log.warn(`${tag}: cannot reach --forward ${formatHostPort(forward)}: ${describeError(err)}`);
        stream.destroy();
      });
      upstream.once('connect', () => relay(stream, upstream));
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.removeListener('error', reject);
      const bound = server.address() as { address: string; port: number };
      const address = { host: bound.address, port: bound.port };
      const shown = options.publicAddress ?? address;
      // The standalone form (no tor: no "Bridge dust" and no fingerprint), as dust client --bridge takes it.
      const args = formatBridgeArgs({ publicKey: options.identity.staticKey.publicKey, model: options.model, modelName: options.modelName });
      const bridgeLine = [formatHostPort(shown), ...args.map(([k, v]) => `${k}=${v}`)].join(' ');
      resolve({ server, address, bridgeLine });
    });
  });
}

export async function runServer(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      state: { type: 'string' },
      listen: { type: 'string' },
      forward: { type: 'string' },
      model: { type: 'string', default: 'http' },
      'public-address': { type: 'string' },
      'unsafe-logging': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.state) throw new UsageError('--state is required');
  if (!values.listen) throw new UsageError('--listen is required');
  if (!values.forward) throw new UsageError('--forward is required');
  const log = stderrLog(values['unsafe-logging']!);
  const running = await startStandaloneServer({
    identity: readIdentity(values.state),
    model: resolveModel(values.model!),
    modelName: values.model!.includes('/') || values.model!.endsWith('.json') ? resolveModel(values.model!).name : values.model!,
    listen: requireIp(parseHostPort(values.listen, '--listen'), '--listen'),
    forward: parseHostPort(values.forward, '--forward'),
    ...(values['public-address'] && { publicAddress: requireIp(parseHostPort(values['public-address'], '--public-address'), '--public-address') }),
    log,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot listen on ${values.listen}: ${err.code ?? err.message}`);
  });
  log.info(`listening on ${formatHostPort(running.address)}, forwarding to ${values.forward}`);
  process.stdout.write(`${running.bridgeLine}\n`);
  return waitForSignal(() => running.server.close());
}

export function startStandaloneClient(options: {
  listen: HostPort;
  bridgeLine: string;
  modelsDir?: string;
  log: PtLog;
  /** How Dust connections reach the bridge (default: direct). */
  dial?: Dialer;
}): Promise<ClientListener> {
  const resolver = new ModelResolver(options.modelsDir);
  const parsed = parseBridgeLine(options.bridgeLine, resolver);
  if (!parsed.ok) throw new UsageError(`--bridge: ${parsed.error}`);
  const { address, args } = parsed.value;
  return startClientListener({
    log: options.log,
    resolver,
    openStream: openDustStream,
    listen: options.listen,
    fixedBridge: { host: address.host, port: address.port, args },
    ...(options.dial && { dial: options.dial }),
  });
}

export async function runClient(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:1080' },
      bridge: { type: 'string' },
      'models-dir': { type: 'string' },
      'unsafe-logging': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.bridge) throw new UsageError('--bridge is required');
  const log = stderrLog(values['unsafe-logging']!);
  const listen = requireIp(parseHostPort(values.listen!, '--listen'), '--listen');
  const listener = await startStandaloneClient({
    listen,
    bridgeLine: values.bridge,
    ...(values['models-dir'] && { modelsDir: values['models-dir'] }),
    log,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot listen on ${values.listen}: ${err.code ?? err.message}`);
  });
  log.info(`SOCKS5 listener on ${formatHostPort(listener.address)}; every CONNECT goes through the bridge`);
  return waitForSignal(() => listener.close());
}

/** Runs until SIGINT/SIGTERM, then stops accepting and exits 0. */
function waitForSignal(stop: () => void): Promise<number> {
  return new Promise((resolve) => {
    const done = () => {
      stop();
      resolve(0);
      setTimeout(() => process.exit(0), 100).unref();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
