/**
 * Dust models: the `dust-model/1` JSON format, its validation, and the frozen `DustModel` the
 * shaper uses (DECISIONS.md "Shaping": "Model file: JSON, versioned, one half per direction ...,
 * each with content, length, flow (packets per second) and optional prefix; plus the connection
 * duration"; seed "Shaping Features"). The format is documented field by field in docs/models.md.
 *
 * A model file is operator input, so a bad one must never crash the program: every problem
 * becomes a `ModelError` whose message names the file, the JSON path and what is wrong, e.g.
 * `models/x.json: $.client_to_server.length_bytes.stddev: must be a finite number > 0, got -1`.
 * Files in the Dust2015 shape (`incomingModel`/`outgoingModel`, dust-original.md §3.1) are
 * converted by ./dust2015.ts and then validated here like any other model.
 * @module
 */
import {
  MIN_ACCEPTANCE,
  MAX_POISSON_MEAN,
  exponential,
  fixed,
  histogram,
  normal,
  poisson,
  roundedProbability,
  roundedTruncated,
  truncated,
  uniform,
  uniformInteger,
  type Distribution,
} from './distributions.js';
import { checkCodeTable } from './huffman.js';
import { convertDust2015, dust2015PathFor, isDust2015Shape } from './dust2015.js';

/** The only format version this code reads and writes. */
export const MODEL_FORMAT = 'dust-model/1';
/** Packet payload lengths: at least 1 byte, at most what a 16-bit length can say. */
export const MIN_PACKET_LENGTH = 1;
export const MAX_PACKET_LENGTH = 65535;
/**
 * Packets drawn for one second: 0 (a quiet second) up to this many (the packet schedule,
 * ./packet-schedule.ts, places at most 65,535 packets in one window).
 */
export const MAX_PACKETS_PER_SECOND = 65_535;
/** Connection duration: 1 ms to 24 hours. */
export const MIN_DURATION_MS = 1;
export const MAX_DURATION_MS = 86_400_000;
/** Largest fixed prefix per direction. */
export const MAX_PREFIX_BYTES = 1024;
/** Longest model text accepted (a model with explicit code tables is ~20 KB). */
export const MAX_MODEL_TEXT_CHARS = 4 * 1024 * 1024;
/** Limits that keep a hostile file from costing much memory or time. */
export const MAX_HISTOGRAM_VALUES = 100_000;
export const MAX_HISTOGRAM_BINS = 10_000;
export const MAX_DESCRIPTION_CHARS = 4096;
/** Model names travel in bridge lines: a short, safe charset. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CODEWORD_PATTERN = /^[01]{1,32}$/;

// ---------------------------------------------------------------------------------------------
// The JSON shape (after normalisation)

/** A distribution as written in a model file; see docs/models.md for each family. */
export type DistributionJson =
  | { readonly family: 'fixed'; readonly value: number }
  | { readonly family: 'uniform'; readonly min: number; readonly max: number }
  | { readonly family: 'normal'; readonly mean: number; readonly stddev: number }
  | { readonly family: 'exponential'; readonly mean: number }
  | { readonly family: 'poisson'; readonly mean: number }
  | {
      readonly family: 'histogram';
      readonly values?: ReadonlyArray<{ readonly value: number; readonly weight: number }>;
      readonly bins?: ReadonlyArray<{ readonly min: number; readonly max: number; readonly weight: number }>;
    };

/** Flow may also say "send only when data is queued" (no timing shaping; leaks timing). */
export type FlowJson = DistributionJson | { readonly family: 'on_demand' };

/** Byte content: 256 weights (Huffman code built from them) or an explicit code table. */
export type ContentSpec = { readonly weights: readonly number[] } | { readonly code: readonly string[] };

/** One direction of a normalised model file. */
export interface DirectionJson {
  readonly content: ContentSpec;
  readonly length_bytes: DistributionJson;
  readonly flow_packets_per_second: FlowJson;
  /** Normalised to lowercase hex; absent when the direction sends no prefix. */
  readonly prefix?: { readonly hex: string };
}

/** A normalised `dust-model/1` file: what `serializeModel` writes and the digest covers. */
export interface ModelDefinition {
  readonly format: typeof MODEL_FORMAT;
  readonly name: string;
  readonly description: string;
  readonly duration_ms: DistributionJson;
  readonly client_to_server: DirectionJson;
  readonly server_to_client: DirectionJson;
}

// ---------------------------------------------------------------------------------------------
// The validated model

/** One direction, ready for the shaper. */
export interface DirectionModel {
  /** Pass to `createContentCoder` (./coder.ts). */
  readonly content: ContentSpec;
  /** Packet payload length in bytes: integers in MIN_PACKET_LENGTH..MAX_PACKET_LENGTH. */
  readonly lengthBytes: Distribution;
  /**
   * Packets to send in each one-second window: integers in 0..MAX_PACKETS_PER_SECOND; or
   * 'on_demand': send only when data is queued (timing unshaped).
   */
  readonly flowPacketsPerSecond: Distribution | 'on_demand';
  /** Bytes this direction sends first, before any shaped byte (a fresh copy on every read). */
  readonly prefix: Uint8Array;
  /** The prefix as lowercase hex ('' for none). */
  readonly prefixHex: string;
}

/** A validated, frozen, normalised Dust model. */
export interface DustModel {
  readonly format: typeof MODEL_FORMAT;
  readonly name: string;
  readonly description: string;
  /** Connection duration in milliseconds: reals in MIN_DURATION_MS..MAX_DURATION_MS. */
  readonly durationMs: Distribution;
  readonly clientToServer: DirectionModel;
  readonly serverToClient: DirectionModel;
  /** The normalised file (deep-frozen): `serializeModel` and `modelDigest` work from it. */
  readonly definition: ModelDefinition;
  /** Where it came from (a file name or `builtin:<name>`), as given to the parser. */
  readonly source: string;
  /** Which file shape it was read from. */
  readonly importedFrom: 'dust-model/1' | 'dust2015';
}

/** A model file that cannot be used. The message is `<source>: <JSON path>: <reason>`. */
export class ModelError extends Error {
  /** Stable code for logs and tests. */
  readonly code = 'DUST_ERR_BAD_MODEL';
  constructor(
    readonly source: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${source}: ${path}: ${reason}`);
    this.name = 'ModelError';
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Parses model text (JSON, either `dust-model/1` or the Dust2015 shape).
 * @param text the file contents
 * @param sourceName how errors name the file (e.g. `models/text.json`)
 * @throws ModelError for any problem with the text; TypeError if the arguments are not strings
 */
export function loadModelFromText(text: string, sourceName: string): DustModel {
  asource(sourceName);
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  if (text.length > MAX_MODEL_TEXT_CHARS) {
    throw new ModelError(sourceName, '$', `the file is too large (${text.length} characters, at most ${MAX_MODEL_TEXT_CHARS})`);
  }
  // Some editors save a byte order mark, which JSON.parse refuses; it carries no meaning here.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new ModelError(sourceName, '$', `is not valid JSON: ${describeJsonError(err, body)}`);
  }
  return parseModel(value, sourceName);
}

/**
 * Validates a parsed JSON value as a model (`dust-model/1`, or Dust2015 when it has
 * `incomingModel`/`outgoingModel` and no `format`).
 * @throws ModelError naming the JSON path of the first problem found
 */
export function parseModel(value: unknown, sourceName: string): DustModel {
  asource(sourceName);
  if (isDust2015Shape(value)) {
    const converted = convertDust2015(value, sourceName);
    if (!converted.ok) throw new ModelError(sourceName, converted.path, converted.reason);
    try {
      return validate(converted.definition, sourceName, 'dust2015');
    } catch (err) {
      // Report the problem at the Dust2015 path the user wrote, not at the converted one.
      if (err instanceof ModelError) {
        const path = dust2015PathFor(err.path);
        throw new ModelError(sourceName, path, `${err.reason} (after conversion to ${MODEL_FORMAT}: ${err.path})`);
      }
      throw err;
    }
  }
  return validate(value, sourceName, 'dust-model/1');
}

/** The model as a `dust-model/1` file (normalised, two-space indented, trailing newline). */
export function serializeModel(model: DustModel): string {
  return JSON.stringify(model.definition, null, 2) + '\n';
}

function asource(sourceName: unknown): void {
  if (typeof sourceName !== 'string') throw new TypeError(`sourceName must be a string, got ${typeof sourceName}`);
}

function describeJsonError(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const match = /position (\d+)/.exec(message);
  if (!match) return message;
  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}

// ---------------------------------------------------------------------------------------------
// Validation

type Json = unknown;
type JsonObject = Record<string, Json>;

/** What a distribution field measures, and how. */
interface Quantity {
  readonly integer: boolean;
  readonly lo: number;
  readonly hi: number;
  readonly unit: string;
}

const LENGTH: Quantity = { integer: true, lo: MIN_PACKET_LENGTH, hi: MAX_PACKET_LENGTH, unit: 'bytes' };
const FLOW: Quantity = { integer: true, lo: 0, hi: MAX_PACKETS_PER_SECOND, unit: 'packets per second' };
const DURATION: Quantity = { integer: false, lo: MIN_DURATION_MS, hi: MAX_DURATION_MS, unit: 'ms' };

const FAMILY_KEYS: Record<DistributionJson['family'], readonly string[]> = {
  fixed: ['value'],
  uniform: ['min', 'max'],
  normal: ['mean', 'stddev'],
  exponential: ['mean'],
  poisson: ['mean'],
  histogram: ['values', 'bins'],
};
const FAMILIES = Object.keys(FAMILY_KEYS) as Array<DistributionJson['family']>;
const TOP_KEYS = ['format', 'name', 'description', 'duration_ms', 'client_to_server', 'server_to_client'];
const DIRECTION_KEYS = ['content', 'length_bytes', 'flow_packets_per_second', 'prefix'];

class Checker {
  constructor(readonly source: string) {}

  fail(path: string, reason: string): never {
    throw new ModelError(this.source, path, reason);
  }

  object(value: Json, path: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(path, `must be a JSON object, got ${describe(value)}`);
    }
    return value as JsonObject;
  }

  /** Rejects keys outside `allowed` (typos such as "stdev" must not pass silently). */
  onlyKeys(obj: JsonObject, path: string, allowed: readonly string[], what: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.fail(`${path}${keyPath(key)}`, `unknown key ${what} (expected ${allowed.join(', ')})`);
      }
    }
  }

  required(obj: JsonObject, key: string, path: string): Json {
    if (!Object.hasOwn(obj, key)) this.fail(`${path}${keyPath(key)}`, 'missing');
    return obj[key];
  }

  finite(value: Json, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.fail(path, `must be a finite number, got ${describe(value)}`);
    }
    return value;
  }

  /** A number in [lo, hi], an integer when `integer`. */
  inRange(value: Json, path: string, q: Quantity): number {
    const n = this.finite(value, path);
    if (q.integer && !Number.isInteger(n)) this.fail(path, `must be an integer (${q.unit}), got ${n}`);
    if (n < q.lo || n > q.hi) {
      this.fail(path, `must be ${q.integer ? 'an integer' : 'a number'} in ${q.lo}..${q.hi} (${q.unit}), got ${n}`);
    }
    return n;
  }

  positive(value: Json, path: string): number {
    const n = this.finite(value, path);
    if (!(n > 0)) this.fail(path, `must be a finite number > 0, got ${n}`);
    return n;
  }

  weight(value: Json, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      this.fail(path, `must be a finite number >= 0, got ${describe(value)}`);
    }
    return value;
  }

  array(value: Json, path: string, what: string, maxLength: number): Json[] {
    if (!Array.isArray(value)) this.fail(path, `must be an array of ${what}, got ${describe(value)}`);
    if (value.length > maxLength) this.fail(path, `has ${value.length} entries, at most ${maxLength} are allowed`);
    return value;
  }
}

function validate(value: Json, source: string, importedFrom: DustModel['importedFrom']): DustModel {
  const c: Checker = new Checker(source); // explicit type: lets `never` from fail() narrow
  const top = c.object(value, '$');
  if (!Object.hasOwn(top, 'format')) {
    c.fail('$.format', `missing; expected "${MODEL_FORMAT}" (or a Dust2015 model with incomingModel and outgoingModel)`);
  }
  if (top.format !== MODEL_FORMAT) {
    c.fail('$.format', `unsupported format ${describe(top.format)}; this version reads "${MODEL_FORMAT}"`);
  }
  c.onlyKeys(top, '$', TOP_KEYS, 'in a model');

  const name = c.required(top, 'name', '$');
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    c.fail('$.name', `must be 1 to 64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit, got ${describe(name)}`);
  }
  let description = '';
  if (Object.hasOwn(top, 'description')) {
    const d = top.description;
    if (typeof d !== 'string') c.fail('$.description', `must be a string, got ${describe(d)}`);
    if (d.length > MAX_DESCRIPTION_CHARS) c.fail('$.description', `is longer than ${MAX_DESCRIPTION_CHARS} characters`);
    description = d;
  }

  const duration = parseDistribution(c, c.required(top, 'duration_ms', '$'), '$.duration_ms', DURATION);
  const c2s = parseDirection(c, c.required(top, 'client_to_server', '$'), '$.client_to_server');
  const s2c = parseDirection(c, c.required(top, 'server_to_client', '$'), '$.server_to_client');

  const definition: ModelDefinition = deepFreeze({
    format: MODEL_FORMAT,
    name,
    description,
    duration_ms: duration.json,
    client_to_server: c2s.json,
    server_to_client: s2c.json,
  });
  return Object.freeze({
    format: MODEL_FORMAT,
    name,
    description,
    durationMs: duration.distribution,
    clientToServer: c2s.model,
    serverToClient: s2c.model,
    definition,
    source,
    importedFrom,
  });
}

function parseDirection(c: Checker, value: Json, path: string): { json: DirectionJson; model: DirectionModel } {
  const obj = c.object(value, path);
  c.onlyKeys(obj, path, DIRECTION_KEYS, 'in a direction');
  const content = parseContent(c, c.required(obj, 'content', path), `${path}.content`);
  const length = parseDistribution(c, c.required(obj, 'length_bytes', path), `${path}.length_bytes`, LENGTH);
  const flow = parseFlow(c, c.required(obj, 'flow_packets_per_second', path), `${path}.flow_packets_per_second`);
  const prefix = Object.hasOwn(obj, 'prefix') ? parsePrefix(c, obj.prefix, `${path}.prefix`) : new Uint8Array(0);

  const prefixHex = Buffer.from(prefix).toString('hex');
  const json: DirectionJson = {
    content,
    length_bytes: length.json,
    flow_packets_per_second: flow.json,
    ...(prefix.length > 0 ? { prefix: { hex: prefixHex } } : {}),
  };
  const model: DirectionModel = Object.freeze(
    Object.defineProperties(
      { content, lengthBytes: length.distribution, flowPacketsPerSecond: flow.distribution, prefixHex },
      // A Uint8Array cannot be frozen, so each read returns a copy the caller may keep.
      { prefix: { get: () => prefix.slice(), enumerable: true } },
    ) as DirectionModel,
  );
  return { json, model };
}

function parseContent(c: Checker, value: Json, path: string): ContentSpec {
  const obj = c.object(value, path);
  c.onlyKeys(obj, path, ['weights', 'code'], 'in content');
  const hasWeights = Object.hasOwn(obj, 'weights');
  if (hasWeights === Object.hasOwn(obj, 'code')) c.fail(path, 'must have exactly one of "weights" or "code"');
  if (hasWeights) {
    const list = c.array(obj.weights, `${path}.weights`, '256 numbers', 256);
    if (list.length !== 256) c.fail(`${path}.weights`, `must be an array of 256 numbers, got ${list.length}`);
    const weights = list.map((w, i) => c.weight(w, `${path}.weights[${i}]`));
    if (weights.every((w) => w === 0)) c.fail(`${path}.weights`, 'all 256 weights are zero');
    return deepFreeze({ weights });
  }
  const list = c.array(obj.code, `${path}.code`, '256 bit strings', 256);
  if (list.length !== 256) c.fail(`${path}.code`, `must be an array of 256 bit strings, got ${list.length}`);
  const code = list.map((s, i) => {
    if (typeof s !== 'string' || !CODEWORD_PATTERN.test(s)) {
      c.fail(`${path}.code[${i}]`, `must be a string of 1 to 32 characters '0' or '1', got ${describe(s)}`);
    }
    return s;
  });
  const problem = checkCodeTable(code);
  if (problem !== null) c.fail(`${path}.code`, problem);
  return deepFreeze({ code });
}

function parsePrefix(c: Checker, value: Json, path: string): Uint8Array {
  const obj = c.object(value, path);
  c.onlyKeys(obj, path, ['ascii', 'hex'], 'in prefix');
  const hasAscii = Object.hasOwn(obj, 'ascii');
  if (hasAscii === Object.hasOwn(obj, 'hex')) c.fail(path, 'must have exactly one of "ascii" or "hex"');
  let bytes: Uint8Array;
  if (hasAscii) {
    const s = obj.ascii;
    if (typeof s !== 'string') c.fail(`${path}.ascii`, `must be a string, got ${describe(s)}`);
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i);
      if (code > 0x7f) {
        c.fail(`${path}.ascii`, `character ${i} is not ASCII (U+${code.toString(16).toUpperCase().padStart(4, '0')}); write such bytes with "hex"`);
      }
    }
    bytes = Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  } else {
    const s = obj.hex;
    if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
      c.fail(`${path}.hex`, `must be a string of hex digit pairs, got ${describe(s)}`);
    }
    bytes = new Uint8Array(Buffer.from(s, 'hex'));
  }
  if (bytes.length > MAX_PREFIX_BYTES) c.fail(path, `is ${bytes.length} bytes, at most ${MAX_PREFIX_BYTES} are allowed`);
  return bytes;
}

function parseFlow(c: Checker, value: Json, path: string): { json: FlowJson; distribution: Distribution | 'on_demand' } {
  const obj = c.object(value, path);
  if (obj.family === 'on_demand') {
    c.onlyKeys(obj, path, ['family'], 'for family "on_demand"');
    return { json: { family: 'on_demand' }, distribution: 'on_demand' };
  }
  const parsed = parseDistribution(c, obj, path, FLOW);
  if (!(parsed.distribution.mean > 0)) {
    c.fail(path, 'has a mean of 0 packets per second: this direction would never send anything');
  }
  return parsed;
}

function parseDistribution(
  c: Checker,
  value: Json,
  path: string,
  q: Quantity,
): { json: DistributionJson; distribution: Distribution } {
  const obj = c.object(value, path);
  const family = c.required(obj, 'family', path);
  if (family === 'on_demand') c.fail(`${path}.family`, '"on_demand" is only allowed for flow_packets_per_second');
  if (typeof family !== 'string' || !(FAMILIES as string[]).includes(family)) {
    const expected = FAMILIES.join(', ') + (q === FLOW ? ', on_demand' : '');
    c.fail(`${path}.family`, `unknown family ${describe(family)} (expected one of ${expected})`);
  }
  const fam = family as DistributionJson['family'];
  c.onlyKeys(obj, path, ['family', ...FAMILY_KEYS[fam]], `for family "${fam}"`);
  const need = (key: string): Json => c.required(obj, key, path);

  switch (fam) {
    case 'fixed': {
      const v = c.inRange(need('value'), `${path}.value`, q);
      return { json: { family: fam, value: v }, distribution: fixed(v) };
    }
    case 'uniform': {
      const min = c.inRange(need('min'), `${path}.min`, q);
      const max = c.inRange(need('max'), `${path}.max`, q);
      if (q.integer ? max < min : max <= min) {
        c.fail(`${path}.max`, `must be ${q.integer ? '>=' : '>'} min (${min}), got ${max}${q.integer ? '' : '; use "fixed" for a single value'}`);
      }
      const d = q.integer ? uniformInteger(min, max) : uniform(min, max);
      return { json: { family: fam, min, max }, distribution: d };
    }
    case 'normal': {
      const mean = c.finite(need('mean'), `${path}.mean`);
      const stddev = c.positive(need('stddev'), `${path}.stddev`);
      return { json: { family: fam, mean, stddev }, distribution: restrict(c, normal(mean, stddev), path, q) };
    }
    case 'exponential': {
      const mean = c.positive(need('mean'), `${path}.mean`);
      return { json: { family: fam, mean }, distribution: restrict(c, exponential(mean), path, q) };
    }
    case 'poisson': {
      const mean = c.positive(need('mean'), `${path}.mean`);
      if (mean > MAX_POISSON_MEAN) c.fail(`${path}.mean`, `must be at most ${MAX_POISSON_MEAN}, got ${mean}`);
      return { json: { family: fam, mean }, distribution: restrict(c, poisson(mean), path, q) };
    }
    case 'histogram':
      return parseHistogram(c, obj, path, q);
    default:
      throw new Error(`BUG: unhandled family ${String(fam)}`);
  }
}

function parseHistogram(
  c: Checker,
  obj: JsonObject,
  path: string,
  q: Quantity,
): { json: DistributionJson; distribution: Distribution } {
  const hasValues = Object.hasOwn(obj, 'values');
  const hasBins = Object.hasOwn(obj, 'bins');
  if (!hasValues && !hasBins) c.fail(path, 'a histogram needs "values", "bins" or both');
  const values = hasValues
    ? c.array(obj.values, `${path}.values`, 'objects {value, weight}', MAX_HISTOGRAM_VALUES).map((entry, i) => {
        const p = `${path}.values[${i}]`;
        const e = c.object(entry, p);
        c.onlyKeys(e, p, ['value', 'weight'], 'in a histogram value');
        return { value: c.inRange(c.required(e, 'value', p), `${p}.value`, q), weight: c.weight(c.required(e, 'weight', p), `${p}.weight`) };
      })
    : [];
  const bins = hasBins
    ? c.array(obj.bins, `${path}.bins`, 'objects {min, max, weight}', MAX_HISTOGRAM_BINS).map((entry, i) => {
        const p = `${path}.bins[${i}]`;
        const e = c.object(entry, p);
        c.onlyKeys(e, p, ['min', 'max', 'weight'], 'in a histogram bin');
        const min = c.inRange(c.required(e, 'min', p), `${p}.min`, q);
        const max = c.inRange(c.required(e, 'max', p), `${p}.max`, q);
        if (q.integer ? max < min : max <= min) {
          c.fail(`${p}.max`, `must be ${q.integer ? '>=' : '>'} min (${min}), got ${max}`);
        }
        return { min, max, weight: c.weight(c.required(e, 'weight', p), `${p}.weight`) };
      })
    : [];
  if (values.length + bins.length === 0) c.fail(path, 'the histogram has no values and no bins');
  const total = values.reduce((s, v) => s + v.weight, 0) + bins.reduce((s, b) => s + b.weight, 0);
  if (!(total > 0)) c.fail(path, 'all histogram weights are zero');
  if (!Number.isFinite(total)) c.fail(path, 'the histogram weights add up to more than a double can hold');
  // Zero-weight entries are dropped by the distribution (they cannot be drawn) but kept in the JSON.
  const distribution = histogram({ values: values.filter((v) => v.weight > 0), bins: bins.filter((b) => b.weight > 0) }, q.integer);
  const json: DistributionJson = {
    family: 'histogram',
    ...(hasValues ? { values } : {}),
    ...(hasBins ? { bins } : {}),
  };
  return { json, distribution };
}

/** Wraps an unbounded family into the quantity's range, refusing one that mostly misses it. */
function restrict(c: Checker, base: Distribution, path: string, q: Quantity): Distribution {
  const inRange = q.integer ? roundedProbability(base, q.lo, q.hi) : base.probabilityBetween(q.lo, q.hi);
  if (!(inRange >= MIN_ACCEPTANCE)) {
    c.fail(
      path,
      `puts only ${percent(inRange)} of its mass in the valid range ${q.lo}..${q.hi} (${q.unit})` +
        `${q.integer ? ' after rounding' : ''}; at least ${percent(MIN_ACCEPTANCE)} is needed` +
        ' (samples outside the range are drawn again)',
    );
  }
  return q.integer ? roundedTruncated(base, q.lo, q.hi) : truncated(base, q.lo, q.hi);
}

function percent(p: number): string {
  if (p > 0 && p < 1e-5) return 'less than 0.001%';
  return `${Number((p * 100).toPrecision(3))}%`;
}

/** `.key` for identifier-like keys, `["key"]` otherwise. */
function keyPath(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** A short description of a JSON value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const s = JSON.stringify(value);
    return s.length > 42 ? `${s.slice(0, 40)}…"` : s;
  }
  return String(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
