/**
 * Import of Dust2015 model files (dust-original.md §3.1: `blanu/Dust` `modelgen/models/test.yaml`,
 * the shape the only working Dust engine was compiled from), as JSON, into `dust-model/1`.
 *
 * Mapping (each choice is explained in docs/models.md, "Importing Dust2015 models"):
 * - `incomingModel` → `client_to_server`, `outgoingModel` → `server_to_client` ("incoming" means
 *   incoming to the server: `MakeClientPair()` encodes with the incoming half).
 * - `huffman` (256 lists of booleans, MSB first) → an explicit `code` table; Go used only this
 *   table, so `content` is read only when `huffman` is absent (test.yaml's `content` is a 255-entry
 *   placeholder).
 * - `length` normal [μ, σ] → normal; multinomial [w0, w1, ...] → histogram, index = length in bytes
 *   (index 0 dropped: Go redrew until 0 < L).
 * - `flow` poisson [λ] → poisson with mean λ packets per second (AdversaryLab counted packets per
 *   one-second window: `blanu/AdversaryLab` `process.py` `calculateFlow`).
 * - `duration` exponential [λ] → exponential with mean 1000/λ ms: λ is per second, because
 *   AdversaryLab measured durations as differences of pcap timestamps in seconds (`process.py`
 *   `combineStreams`); read per millisecond, test.yaml's λ = 1 would mean 1 ms connections.
 * - `sequence` (byte values) → `prefix`.
 * - The model name is the file name, as in Go (`name` is informational there).
 *
 * This module only converts; ./model.ts validates the result like any other model. It never
 * throws on input: problems come back as a `{ ok: false, path, reason }` value.
 * @module
 */
import type { DistributionJson, DirectionJson } from './model.js';

/** The converted file, still to be validated as `dust-model/1`. */
export interface Dust2015Definition {
  format: 'dust-model/1';
  name: string;
  description: string;
  duration_ms: DistributionJson;
  client_to_server: DirectionJson;
  server_to_client: DirectionJson;
}

export type Dust2015Result =
  | { readonly ok: true; readonly definition: Dust2015Definition }
  | { readonly ok: false; readonly path: string; readonly reason: string };

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Lengths beyond what a 16-bit length field can say cannot be imported. */
const MAX_LENGTH_INDEX = 65535;

/** True for a JSON object without `format` that has `incomingModel` or `outgoingModel`. */
export function isDust2015Shape(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (Object.hasOwn(value, 'format')) return false;
  return Object.hasOwn(value, 'incomingModel') || Object.hasOwn(value, 'outgoingModel');
}

/**
 * Converts a parsed Dust2015 model into a `dust-model/1` definition.
 * @param value the parsed JSON
 * @param sourceName the file name: its base name (without extension) becomes the model name
 */
export function convertDust2015(value: unknown, sourceName: string): Dust2015Result {
  try {
    return { ok: true, definition: convert(value, sourceName) };
  } catch (err) {
    if (err instanceof ConversionError) return { ok: false, path: err.path, reason: err.reason };
    throw err;
  }
}

/**
 * Where a `dust-model/1` path of a converted model came from in the Dust2015 file, so that a
 * validation error names what the user wrote (e.g. `$.client_to_server.length_bytes.stddev` →
 * `$.incomingModel.length`).
 */
export function dust2015PathFor(path: string): string {
  const duration = /^\$\.duration_ms(?:\.([a-z]+))?/.exec(path);
  if (duration) return `$.duration${paramPath(duration[1])}`;
  const half = /^\$\.(client_to_server|server_to_client)(?:\.([a-z_]+)(?:\.([a-z]+))?)?/.exec(path);
  if (!half) return '$';
  const root = half[1] === 'client_to_server' ? '$.incomingModel' : '$.outgoingModel';
  switch (half[2]) {
    case undefined:
      return root;
    case 'content':
      return half[3] === 'code' ? `${root}.huffman` : `${root}.content`;
    case 'length_bytes':
      return `${root}.length${paramPath(half[3])}`;
    case 'flow_packets_per_second':
      return `${root}.flow${paramPath(half[3])}`;
    case 'prefix':
      return `${root}.sequence`;
    default:
      return root;
  }
}

/** The converter writes [μ, σ] and [λ] params as `mean`/`stddev` (λ itself for poisson). */
function paramPath(key: string | undefined): string {
  if (key === 'mean') return '.params[0]';
  if (key === 'stddev') return '.params[1]';
  return '';
}

class ConversionError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

function fail(path: string, reason: string): never {
  throw new ConversionError(path, reason);
}

type JsonObject = Record<string, unknown>;

function object(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be a JSON object');
  return value as JsonObject;
}

function field(obj: JsonObject, key: string, path: string): unknown {
  if (!Object.hasOwn(obj, key)) fail(`${path}.${key}`, 'missing');
  return obj[key];
}

/** `{dist, params}` with the given family name; returns params (finite numbers). */
function dist(value: unknown, path: string, allowed: readonly string[]): { dist: string; params: number[] } {
  const obj = object(value, path);
  const name = field(obj, 'dist', path);
  if (typeof name !== 'string' || !allowed.includes(name)) {
    fail(`${path}.dist`, `unsupported Dust2015 distribution ${JSON.stringify(name) ?? 'nothing'} here (expected ${allowed.join(' or ')})`);
  }
  const params = field(obj, 'params', path);
  if (!Array.isArray(params)) fail(`${path}.params`, 'must be an array of numbers');
  params.forEach((p, i) => {
    if (typeof p !== 'number' || !Number.isFinite(p)) fail(`${path}.params[${i}]`, `must be a finite number, got ${JSON.stringify(p) ?? 'nothing'}`);
  });
  return { dist: name, params: params as number[] };
}

function arity(params: number[], n: number, path: string, meaning: string): void {
  if (params.length !== n) fail(`${path}.params`, `must be [${meaning}], got ${params.length} numbers`);
}

function convert(value: unknown, sourceName: string): Dust2015Definition {
  const top = object(value, '$');
  const originalName = typeof top.name === 'string' ? top.name : undefined;
  return {
    format: 'dust-model/1',
    name: modelName(sourceName, originalName),
    description:
      `Imported from the Dust2015 model ${sourceName}` + (originalName !== undefined ? ` (name: ${JSON.stringify(originalName)})` : ''),
    duration_ms: duration(field(top, 'duration', '$'), '$.duration'),
    client_to_server: half(field(top, 'incomingModel', '$'), '$.incomingModel'),
    server_to_client: half(field(top, 'outgoingModel', '$'), '$.outgoingModel'),
  };
}

/** The file's base name without extension (Go's rule), else the `name` field, else "dust2015". */
function modelName(sourceName: string, originalName: string | undefined): string {
  const base = sourceName.replace(/^.*[\\/]/, '').replace(/\.(json|ya?ml)$/i, '');
  if (NAME_PATTERN.test(base)) return base;
  if (originalName !== undefined && NAME_PATTERN.test(originalName)) return originalName;
  return 'dust2015';
}

function duration(value: unknown, path: string): DistributionJson {
  const { params } = dist(value, path, ['exponential']);
  arity(params, 1, path, 'λ per second');
  const rate = params[0]!;
  if (!(rate > 0)) fail(`${path}.params[0]`, `the rate λ must be > 0, got ${rate}`);
  // λ is per second (see the module header): mean duration = 1/λ s = 1000/λ ms.
  return { family: 'exponential', mean: 1000 / rate };
}

function half(value: unknown, path: string): DirectionJson {
  const obj = object(value, path);
  const out: { -readonly [K in keyof DirectionJson]: DirectionJson[K] } = {
    content: content(obj, path),
    length_bytes: length(field(obj, 'length', path), `${path}.length`),
    flow_packets_per_second: flow(field(obj, 'flow', path), `${path}.flow`),
  };
  if (Object.hasOwn(obj, 'sequence')) {
    const hex = sequence(obj.sequence, `${path}.sequence`);
    if (hex.length > 0) out.prefix = { hex };
  }
  return out;
}

function content(obj: JsonObject, path: string): DirectionJson['content'] {
  if (Object.hasOwn(obj, 'huffman')) {
    const table = obj.huffman;
    if (!Array.isArray(table) || table.length !== 256) {
      fail(`${path}.huffman`, `must be an array of 256 lists of booleans, got ${Array.isArray(table) ? `${table.length} lists` : 'something else'}`);
    }
    const code = table.map((bits, i) => {
      if (!Array.isArray(bits) || bits.length === 0 || bits.length > 32) {
        fail(`${path}.huffman[${i}]`, 'must be a list of 1 to 32 booleans');
      }
      return bits
        .map((bit, j) => {
          if (typeof bit !== 'boolean') fail(`${path}.huffman[${i}][${j}]`, `must be true or false, got ${JSON.stringify(bit) ?? 'nothing'}`);
          return bit ? '1' : '0';
        })
        .join('');
    });
    return { code };
  }
  if (!Object.hasOwn(obj, 'content')) fail(path, 'has neither "huffman" nor "content"');
  const { params } = dist(obj.content, `${path}.content`, ['multinomial']);
  if (params.length !== 256) fail(`${path}.content.params`, `must hold 256 byte weights, got ${params.length}`);
  return { weights: params };
}

function length(value: unknown, path: string): DistributionJson {
  const { dist: name, params } = dist(value, path, ['normal', 'multinomial']);
  if (name === 'normal') {
    arity(params, 2, path, 'μ, σ');
    return { family: 'normal', mean: params[0]!, stddev: params[1]! };
  }
  const values: Array<{ value: number; weight: number }> = [];
  for (let i = 1; i < params.length; i++) {
    const weight = params[i]!;
    if (weight === 0) continue;
    if (i > MAX_LENGTH_INDEX) fail(`${path}.params[${i}]`, `a length of ${i} bytes is more than ${MAX_LENGTH_INDEX}`);
    values.push({ value: i, weight });
  }
  return { family: 'histogram', values };
}

function flow(value: unknown, path: string): DistributionJson {
  const { params } = dist(value, path, ['poisson']);
  arity(params, 1, path, 'λ packets per second');
  return { family: 'poisson', mean: params[0]! };
}

function sequence(value: unknown, path: string): string {
  if (!Array.isArray(value)) fail(path, 'must be an array of byte values');
  return value
    .map((b, i) => {
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
        fail(`${path}[${i}]`, `must be a byte value 0..255, got ${JSON.stringify(b) ?? 'nothing'}`);
      }
      return b.toString(16).padStart(2, '0');
    })
    .join('');
}
