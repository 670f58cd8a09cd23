/**
 * Dust's bridge arguments (DECISIONS.md "PT binary"; tor-pt.md §3.2, §5.2): what a `Bridge dust`
 * line carries after the address, and what the server announces in `SMETHOD ... ARGS:`.
 *
 * - `key`: the server's X25519 public key, 43 characters of unpadded base64url (server-keys.ts).
 * - `model`: a built-in model name, or NAME of a file NAME.json in the models directory the client
 *   was given on its command line (`-modelsDir DIR`). A whole model never travels in a bridge
 *   line: tor passes at most 510 bytes of SOCKS arguments.
 * - `model-digest`: 64 hex digits of `modelDigest` (model-digest.ts). Optional for built-in
 *   models, required for models from the directory, and when present it must match: a mismatch
 *   is an error naming both digests, never a silent fallback to another model.
 *
 * Built-in names always mean the built-in model: a directory file with a built-in name is never
 * read, so a bridge line saying `model=text` means the same on every client.
 *
 * Arguments come from a user's torrc through tor's SOCKS handshake, so parsing never throws on
 * them: it returns `{ ok: false, argument, error }` naming the argument at fault, which the PT
 * turns into a SOCKS failure reply and a LOG line. Unknown keys are ignored (a newer bridge may
 * add some) but reported in `ignored`.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBridgeKey, encodeBridgeKey } from '../core/server-keys.js';
import { builtinModels } from '../shaping/builtin-models.js';
import { loadModelFromText, type DustModel } from '../shaping/model.js';
import { modelDigest } from '../shaping/model-digest.js';
import { uniqueArgs } from './args.js';
import { formatHostPort, goQuote, isTransportName, parseHostPort, type HostPort, type PtArgs } from './lines.js';

/** The transport name in bridge lines (DECISIONS.md "PT binary"). */
export const BRIDGE_TRANSPORT = 'dust';

/**
 * What a model name may look like: it becomes a file name (NAME.json), so no dots, slashes or
 * anything else that could leave the models directory; and it goes into SMETHOD ARGS and torrc,
 * where `,` `=` `\` and spaces would need escaping (tor-pt.md §1.1).
 */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const DIGEST_PATTERN = /^[0-9a-fA-F]{64}$/;

/** The argument a problem is about (`args` for the list as a whole, e.g. a duplicate key). */
export type BridgeArgName = 'key' | 'model' | 'model-digest' | 'args';

/** Bridge arguments, checked and resolved. */
export interface BridgeArgs {
  /** The server's static X25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** The model, loaded and validated. */
  readonly model: DustModel;
  /** The `model=` value. */
  readonly modelName: string;
  /** The model's digest (64 lowercase hex digits), checked against `model-digest=` when given. */
  readonly modelDigest: string;
  /** Where the model came from: `builtin`, or the path of the file in the models directory. */
  readonly modelSource: string;
  /** Keys this version does not know, in order; they were ignored. */
  readonly ignored: readonly string[];
}

/** Why bridge arguments were refused. `error` is one line that names the argument. */
export interface BridgeArgsError {
  readonly ok: false;
  readonly code: 'DUST_ERR_BRIDGE_ARGS';
  readonly argument: BridgeArgName;
  readonly error: string;
}

export type BridgeArgsResult = { readonly ok: true; readonly value: BridgeArgs } | BridgeArgsError;

function refuse(argument: BridgeArgName, error: string): BridgeArgsError {
  return { ok: false, code: 'DUST_ERR_BRIDGE_ARGS', argument, error };
}

interface CachedModel {
  readonly mtimeMs: number;
  readonly size: number;
  readonly model: DustModel;
}

/**
 * Finds models by name: built-in first, then NAME.json in an optional directory. Files are
 * re-read when their size or modification time changes (an operator may drop in a new version
 * while the PT runs), and otherwise parsed once, since every SOCKS connection asks again.
 */
export class ModelResolver {
  /** The models directory, if one was given. */
  readonly directory: string | undefined;
  private readonly cache = new Map<string, CachedModel>();

  constructor(directory?: string) {
    if (directory !== undefined && (typeof directory !== 'string' || directory === '')) {
      throw new TypeError('directory must be a non-empty string or undefined');
    }
    this.directory = directory;
  }

  /**
   * The model called `name`, checked against `digest` (64 hex digits) when given.
   * Never throws on the values: they come from a bridge line.
   */
  resolve(name: string, digest?: string): { ok: true; model: DustModel; digest: string; source: string } | BridgeArgsError {
    if (!MODEL_NAME_PATTERN.test(name)) {
      return refuse('model', `model ${goQuote(name)} is not a model name (1 to 64 of A-Z a-z 0-9 _ -)`);
    }
    let wanted: string | undefined;
    if (digest !== undefined) {
      if (!DIGEST_PATTERN.test(digest)) return refuse('model-digest', `model-digest ${goQuote(digest)} is not 64 hex digits`);
      wanted = digest.toLowerCase();
    }
    let model: DustModel;
    let source: string;
    const builtin = builtinModels.get(name);
    if (builtin !== undefined) {
      model = builtin;
      source = 'builtin';
    } else {
      const builtinNames = [...builtinModels.keys()].join(', ');
      if (this.directory === undefined) {
        return refuse('model', `model ${goQuote(name)} is not a built-in model (${builtinNames}) and no models directory was given (-modelsDir)`);
      }
      const loaded = this.load(name);
      if (!loaded.ok) return loaded;
      model = loaded.model;
      source = loaded.path;
      // A model from a directory is only trusted when the bridge line pins its digest: two
      // clients' files of the same name could differ, and a different model fails the handshake.
      if (wanted === undefined) {
        return refuse('model-digest', `model ${goQuote(name)} comes from the models directory, so the bridge line needs model-digest=`);
      }
    }
    const actual = modelDigest(model);
    if (wanted !== undefined && wanted !== actual) {
      return refuse('model-digest', `model-digest mismatch for model ${goQuote(name)}: the bridge line says ${wanted}, ${source === 'builtin' ? 'the built-in model' : source} has ${actual}`);
    }
    return { ok: true, model, digest: actual, source };
  }

  private load(name: string): { ok: true; model: DustModel; path: string } | BridgeArgsError {
    const path = join(this.directory!, `${name}.json`);
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return refuse('model', `model ${goQuote(name)} is not a built-in model and ${path} cannot be read (${code})`);
    }
    const cached = this.cache.get(name);
    if (cached !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
      return { ok: true, model: cached.model, path };
    }
    let model: DustModel;
    try {
      model = loadModelFromText(readFileSync(path, 'utf8'), path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = err instanceof Error && err.name === 'ModelError' ? err.message : `${path} cannot be read (${code ?? (err as Error).message})`;
      return refuse('model', `model ${goQuote(name)}: ${why}`);
    }
    this.cache.set(name, { mtimeMs: stat.mtimeMs, size: stat.size, model });
    return { ok: true, model, path };
  }
}

/**
 * Checks bridge arguments (from SOCKS RFC 1929 credentials or a bridge line) and resolves the
 * model. Duplicate keys are refused (which one would count?).
 *
 * @example
 * const r = parseBridgeArgs(socksRequest.args, resolver);
 * if (!r.ok) { log(`bad bridge argument ${r.argument}: ${r.error}`); reject(0x01); }
 */
export function parseBridgeArgs(args: PtArgs, resolver: ModelResolver = new ModelResolver()): BridgeArgsResult {
  if (!(resolver instanceof ModelResolver)) throw new TypeError('resolver must be a ModelResolver');
  const unique = uniqueArgs(args);
  if (!unique.ok) return refuse('args', `bridge arguments: ${unique.error}`);
  const map = unique.value;
  const keyText = map.get('key');
  if (keyText === undefined) return refuse('key', "missing argument 'key' (the bridge's public key)");
  let publicKey: Uint8Array;
  try {
    publicKey = decodeBridgeKey(keyText);
  } catch (err) {
    return refuse('key', `key ${goQuote(keyText)}: ${(err as Error).message}`);
  }
  const modelName = map.get('model');
  if (modelName === undefined) return refuse('model', "missing argument 'model' (a built-in model name or a file in the models directory)");
  const resolved = resolver.resolve(modelName, map.get('model-digest'));
  if (!resolved.ok) return resolved;
  const known = new Set(['key', 'model', 'model-digest']);
  const ignored = [...map.keys()].filter((k) => !known.has(k));
  return {
    ok: true,
    value: { publicKey, model: resolved.model, modelName, modelDigest: resolved.digest, modelSource: resolved.source, ignored },
  };
}

/**
 * The arguments a server announces: `key`, `model`, `model-digest` (always the full digest, so a
 * client with a models directory can check a non-built-in model). `modelName` defaults to the
 * model's own name and must match {@link MODEL_NAME_PATTERN}.
 */
export function formatBridgeArgs(options: { publicKey: Uint8Array; model: DustModel; modelName?: string }): PtArgs {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { publicKey, model } = options;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('options.publicKey must be 32 bytes');
  const modelName = options.modelName ?? model?.name;
  if (typeof modelName !== 'string' || !MODEL_NAME_PATTERN.test(modelName)) {
    throw new RangeError(`model name ${JSON.stringify(modelName)} cannot go in a bridge line (1 to 64 of A-Z a-z 0-9 _ -)`);
  }
  return [
    ['key', encodeBridgeKey(publicKey)],
    ['model', modelName],
    ['model-digest', modelDigest(model)],
  ];
}

const FINGERPRINT_PATTERN = /^[0-9A-Fa-f]{40}$/;

/**
 * A torrc `Bridge` line: `Bridge dust <IP>:<PORT> <FINGERPRINT> k=v ...`. Without an address or a
 * fingerprint it writes obfs4proxy's placeholders `<IP ADDRESS>:<PORT>` and `<FINGERPRINT>`
 * (tor-pt.md §5.2); with only `port`, `<IP ADDRESS>:PORT`. Values must be free of spaces (ours
 * always are).
 */
export function formatBridgeLine(options: { address?: HostPort; port?: number; fingerprint?: string; args: PtArgs }): string {
  const { address, port, fingerprint, args } = options;
  if (fingerprint !== undefined && !FINGERPRINT_PATTERN.test(fingerprint)) throw new RangeError('fingerprint must be 40 hex digits');
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port <= 65535)) throw new RangeError('port must be in 1..65535');
  const where = address !== undefined ? formatHostPort(address) : `<IP ADDRESS>:${port ?? '<PORT>'}`;
  const items = args.map(([k, v]) => {
    if (/\s/.test(k) || /\s/.test(v) || k.includes('=')) throw new RangeError(`bridge argument ${JSON.stringify(k)} cannot go in a torrc line`);
    return `${k}=${v}`;
  });
  return ['Bridge', BRIDGE_TRANSPORT, where, fingerprint?.toUpperCase() ?? '<FINGERPRINT>', ...items].join(' ');
}

/** A bridge line, parsed: where to connect and the checked arguments. */
export interface ParsedBridgeLine {
  readonly address: HostPort & { readonly family: 4 | 6 };
  readonly fingerprint?: string;
  readonly args: BridgeArgs;
}

/**
 * Parses a bridge line as a user pastes it: `[Bridge] [dust] IP:PORT [FINGERPRINT] k=v ...`
 * (the torrc form, or just `IP:PORT key=... model=...` for `dust client --bridge`). The address
 * must be an IP literal, as tor requires. Never throws on the text.
 */
export function parseBridgeLine(text: string, resolver: ModelResolver = new ModelResolver()): { ok: true; value: ParsedBridgeLine } | { ok: false; error: string } {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words[0]?.toLowerCase() === 'bridge') words.shift();
  if (words[0] !== undefined && isTransportName(words[0])) {
    const transport = words.shift()!;
    if (transport !== BRIDGE_TRANSPORT) return { ok: false, error: `bridge line is for transport ${goQuote(transport)}, not ${BRIDGE_TRANSPORT}` };
  }
  const addrText = words.shift();
  if (addrText === undefined) return { ok: false, error: 'bridge line has no IP:PORT' };
  const addr = parseHostPort(addrText);
  if (!addr.ok) return { ok: false, error: `bridge address: ${addr.error}` };
  let fingerprint: string | undefined;
  if (words[0] !== undefined && !words[0].includes('=')) {
    const fp = words.shift()!.replace(/^\$/, '');
    if (!FINGERPRINT_PATTERN.test(fp)) return { ok: false, error: `bridge fingerprint ${goQuote(fp)} is not 40 hex digits` };
    fingerprint = fp.toUpperCase();
  }
  const pairs: Array<readonly [string, string]> = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) return { ok: false, error: `bridge argument ${goQuote(word)} is not k=v` };
    pairs.push([word.slice(0, eq), word.slice(eq + 1)]);
  }
  const args = parseBridgeArgs(pairs, resolver);
  if (!args.ok) return { ok: false, error: args.error };
  return { ok: true, value: { address: addr.value, ...(fingerprint !== undefined && { fingerprint }), args: args.value } };
}
