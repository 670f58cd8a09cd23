/**
 * The server side of the managed proxy (pt-spec §3.3.3, §3.2.3; tor-pt.md §4, §5.2): one Dust
 * listener per transport on its `TOR_PT_SERVER_BINDADDR` address, announced as
 * `SMETHOD dust ADDR:PORT ARGS:key=...,model=...,model-digest=...`, each Ensemble session relayed
 * to tor's Extended ORPort (or plain ORPort) by orport-dial.ts.
 *
 * `ServerTransportOptions dust k=v ...` (this PT's choice of options; unknown ones are refused so
 * a typo does not go unnoticed):
 * - `model=NAME`: a built-in model (default `http`);
 * - `model-file=PATH`: a model file instead; clients need it as `<its name>.json` in their models
 *   directory, and the bridge line carries its digest;
 * - `public-address=IP:PORT`: the address clients dial when it is not the local one (NAT,
 *   containers). It goes into the bridge line file and is bound into the handshake's server
 *   identifier. The SMETHOD line keeps the bound address: tor stores it and passes it back as
 *   the bind address on the next start, where a NAT's outside address could not be bound;
 * - `key-file=PATH`: use this server state file (`dust keygen --state PATH`) instead of
 *   `dust_state.json`, so several bridges can share a key, or a key can be restored, without the
 *   private key ever appearing in torrc or in the environment. It is only read.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RandomSource } from '../core/random.js';
import type { ServerIdentity } from '../core/server-keys.js';
import { builtinModels } from '../shaping/builtin-models.js';
import { loadModelFromText, type DustModel } from '../shaping/model.js';
import { modelDigest } from '../shaping/model-digest.js';
import { uniqueArgs } from './args.js';
import { formatBridgeArgs, formatBridgeLine, MODEL_NAME_PATTERN } from './bridge-args.js';
import type { ServerEnv, ServerTransportEnv } from './env.js';
import { goQuote, isIpv4Mapped, parseHostPort, parseIpAddress, type HostPort, type ParsedHostPort, type PtArgs } from './lines.js';
import type { PtLog } from './logging.js';
import { dialOrPort } from './orport-dial.js';
import { relay, RelayTracker } from './relay.js';
import { loadOrCreateServerIdentity, readServerIdentityFile, readTorFingerprint, writeBridgeLineFile } from './state-dir.js';

/**
 * The model a bridge uses when `ServerTransportOptions` names none: `http`, fitted to real HTTP
 * traffic, which the published detectors pass (0 of 10 connections flagged, like real HTTP), and
 * which carries Tor faster (about 35 kB/s) than `uniform` (15 kB/s), whose uniform first packets the
 * GFW rule of Wu et al. flags. `bulk` is faster still but follows the data's timing.
 */
export const DEFAULT_SERVER_MODEL = 'http';

const KNOWN_OPTIONS = ['model', 'model-file', 'public-address', 'key-file'] as const;

/** `ServerTransportOptions`, checked. */
export interface ServerOptions {
  readonly model: DustModel;
  /** The `model=` value clients get. */
  readonly modelName: string;
  readonly publicAddress?: ParsedHostPort;
  readonly keyFile?: string;
}

/**
 * Checks a transport's `ServerTransportOptions` and loads its model. Never throws on the values;
 * the error text is meant for an SMETHOD-ERROR line.
 */
export function parseServerOptions(options: PtArgs): { ok: true; value: ServerOptions } | { ok: false; error: string } {
  const unique = uniqueArgs(options);
  if (!unique.ok) return { ok: false, error: `ServerTransportOptions: ${unique.error}` };
  const map = unique.value;
  for (const key of map.keys()) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      return { ok: false, error: `unknown ServerTransportOptions option ${goQuote(key)} (known: ${KNOWN_OPTIONS.join(', ')})` };
    }
  }
  const name = map.get('model');
  const file = map.get('model-file');
  if (name !== undefined && file !== undefined) return { ok: false, error: 'give model= or model-file=, not both' };
  let model: DustModel;
  let modelName: string;
  if (file !== undefined) {
    try {
      model = loadModelFromText(readFileSync(file, 'utf8'), file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, error: code !== undefined ? `model-file ${goQuote(file)}: cannot read it (${code})` : `model-file: ${(err as Error).message}` };
    }
    modelName = model.name;
    if (!MODEL_NAME_PATTERN.test(modelName)) {
      return { ok: false, error: `model-file ${goQuote(file)}: its name ${goQuote(modelName)} cannot go in a bridge line (1 to 64 of A-Z a-z 0-9 _ -)` };
    }
    const builtin = builtinModels.get(modelName);
    if (builtin !== undefined && modelDigest(builtin) !== modelDigest(model)) {
      // Clients resolve built-in names to the built-in model, so this bridge would be unreachable.
      return { ok: false, error: `model-file ${goQuote(file)} is named ${goQuote(modelName)} like a built-in model but differs from it: rename it` };
    }
  } else {
    modelName = name ?? DEFAULT_SERVER_MODEL;
    const builtin = builtinModels.get(modelName);
    if (builtin === undefined) {
      return { ok: false, error: `model ${goQuote(modelName)} is not a built-in model (${[...builtinModels.keys()].join(', ')}); use model-file= for others` };
    }
    model = builtin;
  }
  let publicAddress: ParsedHostPort | undefined;
  const pa = map.get('public-address');
  if (pa !== undefined) {
    const parsed = parseHostPort(pa);
    if (!parsed.ok) return { ok: false, error: `public-address: ${parsed.error}` };
    publicAddress = parsed.value;
  }
  const keyFile = map.get('key-file');
  if (keyFile === '') return { ok: false, error: 'key-file is empty' };
  return { ok: true, value: { model, modelName, ...(publicAddress && { publicAddress }), ...(keyFile !== undefined && { keyFile }) } };
}

/** What `createDustListener` takes (src/drivers/dust-stream-server.ts), as far as the PT uses it. */
export interface ListenerOptions {
  model: DustModel;
  identity: ServerIdentity;
  publicAddress?: { host: string; port: number };
}

/** The listener factory: `createDustListener` in the binary, something simpler in tests. */
export type CreateListener = (options: ListenerOptions, onStream: (stream: Duplex, client: { address: string; port: number }) => void) => Server;

/** A transport that could not start; the message goes into SMETHOD-ERROR. */
export class ServerSetupError extends Error {
  override readonly name = 'ServerSetupError';
}

/** Options for {@link startServerTransport}. */
export interface ServerTransportStartOptions {
  readonly env: ServerEnv;
  readonly transport: ServerTransportEnv;
  readonly log: PtLog;
  readonly random: RandomSource;
  readonly createListener: CreateListener;
}

/** A running server transport. */
export interface ServerTransport {
  /** The bound address, for the SMETHOD line. */
  readonly address: HostPort;
  /** SMETHOD ARGS (key, model, model-digest). */
  readonly args: PtArgs;
  /** The torrc line written to dust_bridgeline.txt. */
  readonly bridgeLine: string;
  /** Ensemble sessions being relayed. */
  readonly tracker: RelayTracker;
  /** Stops accepting connections; open sessions go on. */
  close(): void;
}

function isUnspecified(host: string): boolean {
  const ip = parseIpAddress(host);
  return ip !== undefined && (ip.bytes.every((b) => b === 0) || (isIpv4Mapped(ip.bytes) && ip.bytes.subarray(12).every((b) => b === 0)));
}

/**
 * Starts one server transport: options, identity, listener, bridge line file. Rejects with a
 * {@link ServerSetupError} whose message belongs in an SMETHOD-ERROR line.
 */
export async function startServerTransport(o: ServerTransportStartOptions): Promise<ServerTransport> {
  const { env, transport, log, random, createListener } = o;
  const parsed = parseServerOptions(transport.options);
  if (!parsed.ok) throw new ServerSetupError(parsed.error);
  const { model, modelName, publicAddress, keyFile } = parsed.value;

  let identity: ServerIdentity;
  try {
    if (keyFile !== undefined) {
      identity = readServerIdentityFile(keyFile);
    } else {
      const loaded = loadOrCreateServerIdentity(env.stateLocation, random);
      identity = loaded.identity;
      if (loaded.created) log.notice(`${transport.name}: new server identity written to ${loaded.path}`);
    }
  } catch (err) {
    throw new ServerSetupError((err as Error).message);
  }

  const tracker = new RelayTracker();
  let nextId = 1;
  const server = createListener({ model, identity, ...(publicAddress && { publicAddress }) }, (stream, client) => {
    const tag = `${transport.name}[${nextId++}]`;
    tracker.add(stream);
    stream.pause();
    stream.on('error', (err) => log.debug(`${tag}: stream: ${log.err(err)}`));
    const clientAddress = { host: client.address, port: client.port };
    log.debug(`${tag}: new session from ${log.addr(clientAddress)}`);
    dialOrPort(env, { client: clientAddress, transport: transport.name }).then(
      (conn) => {
        if (stream.destroyed) {
          conn.socket.destroy();
          return;
        }
        if (conn.leftover.length > 0) stream.write(conn.leftover);
        relay(stream, conn.socket, (end) => {
          if (end.reason === 'error') log.info(`${tag}: closed: ${log.err(end.error)}`);
          else log.debug(`${tag}: closed (${end.reason})`);
        });
        conn.socket.resume();
        stream.resume();
      },
      (err: unknown) => {
        log.warn(`${transport.name}: failed to connect to the ${env.extOrPort ? 'Extended ORPort' : 'ORPort'}: ${log.err(err)}`);
        stream.destroy();
      },
    );
  });

  const bind = transport.bindAddress;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new ServerSetupError(`cannot listen on ${bind.family === 6 ? `[${bind.host}]` : bind.host}:${bind.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    server.once('error', onError);
    server.listen({ host: bind.host, port: bind.port }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error(`${transport.name}: listener: ${log.err(err)}`));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('BUG: a TCP server without a TCP address');
  const address: HostPort = { host: bind.host, port: a.port };

  const args = formatBridgeArgs({ publicKey: identity.staticKey.publicKey, model, modelName });
  const fingerprint = readTorFingerprint(env.stateLocation);
  const bridgeLine = formatBridgeLine({
    ...(publicAddress !== undefined ? { address: publicAddress } : isUnspecified(bind.host) ? { port: a.port } : { address }),
    ...(fingerprint !== undefined && { fingerprint }),
    args,
  });
  try {
    writeBridgeLineFile(env.stateLocation, bridgeLine);
  } catch (err) {
    log.warn(`${transport.name}: cannot write the bridge line file: ${log.err(err)}`);
  }
  log.notice(`${transport.name}: listening on ${log.addr(address)}, model ${modelName}`);
  return { address, args, bridgeLine, tracker, close: () => void server.close() };
}
