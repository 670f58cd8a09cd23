/**
 * docs/models.md: the `dust-model/1` format, its validation (every error path, exact messages),
 * normalisation, the digest, and the built-in models.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { checkCodeTable } from '../src/shaping/huffman.js';
import {
  MAX_PREFIX_BYTES,
  ModelError,
  loadModelFromText,
  parseModel,
  serializeModel,
  type DustModel,
} from '../src/shaping/model.js';
import { builtinModels, getBuiltinModel } from '../src/shaping/builtin-models.js';
import { canonicalJson, modelDigest, modelDigestInput } from '../src/shaping/model-digest.js';
import { ShapingPrng } from '../src/shaping/prng.js';

const SRC = 'models/x.json';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

/** A small valid model; each test gets a fresh copy to break. */
function good(): Obj {
  const half = () => ({
    content: { weights: new Array(256).fill(1) },
    length_bytes: { family: 'normal', mean: 500, stddev: 200 },
    flow_packets_per_second: { family: 'poisson', mean: 10 },
  });
  return {
    format: 'dust-model/1',
    name: 'x',
    description: 'test model',
    duration_ms: { family: 'exponential', mean: 20000 },
    client_to_server: half(),
    server_to_client: half(),
  };
}

/** 256 canonical 8-bit codewords. */
const code8 = () => Array.from({ length: 256 }, (_, b) => b.toString(2).padStart(8, '0'));

function errorOf(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ModelError) return err;
    throw new Error(`expected a ModelError, got ${String(err)}`);
  }
  throw new Error('expected a ModelError, but the model was accepted');
}

describe('valid models', () => {
  test('a valid model parses into a frozen, normalised DustModel', () => {
    const m = parseModel(good(), SRC);
    expect(m.format).toBe('dust-model/1');
    expect(m.name).toBe('x');
    expect(m.description).toBe('test model');
    expect(m.source).toBe(SRC);
    expect(m.importedFrom).toBe('dust-model/1');
    expect(m.durationMs.family).toBe('exponential');
    expect(m.clientToServer.lengthBytes.family).toBe('normal');
    expect(m.clientToServer.lengthBytes.integer).toBe(true);
    expect(m.clientToServer.prefix).toEqual(new Uint8Array(0));
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.clientToServer)).toBe(true);
    expect(Object.isFrozen(m.definition.client_to_server.length_bytes)).toBe(true);
    expect(Object.isFrozen((m.clientToServer.content as { weights: number[] }).weights)).toBe(true);
    expect(() => {
      (m.definition as Obj).name = 'y';
    }).toThrow(TypeError);
  });

  test('parsing does not keep or change the caller’s object', () => {
    const input = good();
    const before = JSON.stringify(input);
    const m = parseModel(input, SRC);
    input.client_to_server.length_bytes.mean = 9;
    expect(JSON.stringify(m.definition.client_to_server.length_bytes)).toBe('{"family":"normal","mean":500,"stddev":200}');
    input.client_to_server.length_bytes.mean = 500;
    expect(JSON.stringify(input)).toBe(before);
  });

  test('samples of each quantity stay in their range (integers for lengths and counts)', () => {
    const v = good();
    v.client_to_server.length_bytes = { family: 'normal', mean: 1, stddev: 1 };
    v.client_to_server.flow_packets_per_second = { family: 'normal', mean: 0.5, stddev: 3 };
    v.duration_ms = { family: 'normal', mean: 10, stddev: 100 };
    const m = parseModel(v, SRC);
    const rng = new ShapingPrng(new Uint8Array(32).fill(1));
    const lengths = Array.from({ length: 2000 }, () => m.clientToServer.lengthBytes.sample(rng));
    const flows = Array.from({ length: 2000 }, () => (m.clientToServer.flowPacketsPerSecond as any).sample(rng) as number);
    const durations = Array.from({ length: 2000 }, () => m.durationMs.sample(rng));
    expect(lengths.every((x) => Number.isInteger(x) && x >= 1 && x <= 65535)).toBe(true);
    expect(flows.every((x) => Number.isInteger(x) && x >= 0 && x <= 65535)).toBe(true);
    expect(durations.every((x) => x >= 1 && x <= 86_400_000)).toBe(true);
    expect(new Set(lengths).has(1)).toBe(true); // the lower edge is reachable
    expect(durations.some((x) => !Number.isInteger(x))).toBe(true); // durations are real
  });

  test('every family parses in every quantity where it is allowed', () => {
    const families: Obj[] = [
      { family: 'fixed', value: 100 },
      { family: 'uniform', min: 10, max: 100 },
      { family: 'normal', mean: 100, stddev: 10 },
      { family: 'exponential', mean: 100 },
      { family: 'poisson', mean: 100 },
      { family: 'histogram', values: [{ value: 100, weight: 1 }] },
      { family: 'histogram', bins: [{ min: 10, max: 100, weight: 1 }] },
      { family: 'histogram', values: [{ value: 5, weight: 1 }], bins: [{ min: 10, max: 100, weight: 1 }] },
    ];
    for (const f of families) {
      const v = good();
      v.duration_ms = f;
      v.client_to_server.length_bytes = f;
      v.server_to_client.flow_packets_per_second = f;
      const m = parseModel(v, SRC);
      expect(m.durationMs.family).toBe(f.family);
      expect(m.clientToServer.lengthBytes.family).toBe(f.family);
      expect((m.serverToClient.flowPacketsPerSecond as any).family).toBe(f.family);
    }
  });

  test('integer uniform covers min..max inclusive; real uniform is continuous', () => {
    const v = good();
    v.client_to_server.length_bytes = { family: 'uniform', min: 10, max: 12 };
    v.duration_ms = { family: 'uniform', min: 10, max: 12 };
    const m = parseModel(v, SRC);
    expect([10, 11, 12].map((k) => m.clientToServer.lengthBytes.pmf(k))).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(m.durationMs.cdf(11)).toBeCloseTo(0.5, 15);
  });

  test('flow on_demand', () => {
    const v = good();
    v.server_to_client.flow_packets_per_second = { family: 'on_demand' };
    expect(parseModel(v, SRC).serverToClient.flowPacketsPerSecond).toBe('on_demand');
  });

  test('an explicit complete code table is accepted', () => {
    const v = good();
    v.client_to_server.content = { code: code8() };
    const m = parseModel(v, SRC);
    expect((m.clientToServer.content as { code: string[] }).code[65]).toBe('01000001');
  });

  test('prefixes: ascii and hex give the same bytes, normalised to lowercase hex; reads return copies', () => {
    const a = good();
    a.client_to_server.prefix = { ascii: 'GET / HTTP/1.1\r\n' };
    const b = good();
    b.client_to_server.prefix = { hex: Buffer.from('GET / HTTP/1.1\r\n').toString('hex').toUpperCase() };
    const ma = parseModel(a, SRC);
    const mb = parseModel(b, SRC);
    expect(ma.definition.client_to_server.prefix).toEqual({ hex: '474554202f20485454502f312e310d0a' });
    expect(mb.definition).toEqual(ma.definition);
    expect(Buffer.from(ma.clientToServer.prefix).toString()).toBe('GET / HTTP/1.1\r\n');
    expect(ma.clientToServer.prefixHex).toBe('474554202f20485454502f312e310d0a');
    ma.clientToServer.prefix.fill(0);
    expect(Buffer.from(ma.clientToServer.prefix).toString()).toBe('GET / HTTP/1.1\r\n');
    const empty = good();
    empty.client_to_server.prefix = { ascii: '' };
    expect(parseModel(empty, SRC).definition).toEqual(parseModel(good(), SRC).definition);
    const max = good();
    max.client_to_server.prefix = { hex: 'ab'.repeat(MAX_PREFIX_BYTES) };
    expect(parseModel(max, SRC).clientToServer.prefix.length).toBe(MAX_PREFIX_BYTES);
  });

  test('description is optional and defaults to ""', () => {
    const v = good();
    delete v.description;
    expect(parseModel(v, SRC).description).toBe('');
  });

  test('the full example in docs/models.md parses', () => {
    const doc = readFileSync('docs/models.md', 'utf8');
    const block = /```json\n([\s\S]*?)\n```/.exec(doc);
    expect(block).not.toBeNull();
    const example = JSON.parse(block![1]!);
    example.server_to_client.content.weights = example.client_to_server.content.weights;
    const m = parseModel(example, 'docs/models.md');
    expect(m.name).toBe('example');
    expect(Buffer.from(m.clientToServer.prefix).toString()).toBe('GET / HTTP/1.1\r\n');
    expect(Buffer.from(m.serverToClient.prefix).toString()).toBe('HTTP/1.1 200 OK\r\n');
    expect(m.serverToClient.lengthBytes.pmf(1448)).toBeCloseTo(0.6, 12);
  });
});

describe('validation errors name the file, the JSON path and the problem', () => {
  // [what, break the model, path, reason]
  const cases: Array<[string, (v: Obj) => unknown, string, string]> = [
    ['format missing', (v) => delete v.format, '$.format', 'missing; expected "dust-model/1" (or a Dust2015 model with incomingModel and outgoingModel)'],
    ['wrong format version', (v) => (v.format = 'dust-model/2'), '$.format', 'unsupported format "dust-model/2"; this version reads "dust-model/1"'],
    ['format not a string', (v) => (v.format = 1), '$.format', 'unsupported format 1; this version reads "dust-model/1"'],
    ['unknown top-level key', (v) => (v.colour = 'red'), '$.colour', 'unknown key in a model (expected format, name, description, duration_ms, client_to_server, server_to_client)'],
    ['key that is not an identifier', (v) => (v['a b'] = 1), '$["a b"]', 'unknown key in a model (expected format, name, description, duration_ms, client_to_server, server_to_client)'],
    ['name missing', (v) => delete v.name, '$.name', 'missing'],
    ['name with a space', (v) => (v.name = 'my model'), '$.name', 'must be 1 to 64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit, got "my model"'],
    ['name too long', (v) => (v.name = 'a'.repeat(65)), '$.name', `must be 1 to 64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit, got "${'a'.repeat(39)}…"`],
    ['description not a string', (v) => (v.description = 5), '$.description', 'must be a string, got 5'],
    ['description too long', (v) => (v.description = 'x'.repeat(4097)), '$.description', 'is longer than 4096 characters'],
    ['duration missing', (v) => delete v.duration_ms, '$.duration_ms', 'missing'],
    ['duration 0 ms', (v) => (v.duration_ms = { family: 'fixed', value: 0 }), '$.duration_ms.value', 'must be a number in 1..86400000 (ms), got 0'],
    ['duration uniform with min = max', (v) => (v.duration_ms = { family: 'uniform', min: 5, max: 5 }), '$.duration_ms.max', 'must be > min (5), got 5; use "fixed" for a single value'],
    ['duration mostly negative', (v) => (v.duration_ms = { family: 'normal', mean: -100, stddev: 10 }), '$.duration_ms', 'puts only less than 0.001% of its mass in the valid range 1..86400000 (ms); at least 1% is needed (samples outside the range are drawn again)'],
    ['direction missing', (v) => delete v.server_to_client, '$.server_to_client', 'missing'],
    ['direction not an object', (v) => (v.client_to_server = []), '$.client_to_server', 'must be a JSON object, got an array of 0'],
    ['unknown key in a direction', (v) => (v.client_to_server.timing = 1), '$.client_to_server.timing', 'unknown key in a direction (expected content, length_bytes, flow_packets_per_second, prefix)'],
    ['content missing', (v) => delete v.client_to_server.content, '$.client_to_server.content', 'missing'],
    ['content with weights and code', (v) => (v.client_to_server.content.code = code8()), '$.client_to_server.content', 'must have exactly one of "weights" or "code"'],
    ['content with neither', (v) => (v.client_to_server.content = {}), '$.client_to_server.content', 'must have exactly one of "weights" or "code"'],
    ['255 weights', (v) => v.client_to_server.content.weights.pop(), '$.client_to_server.content.weights', 'must be an array of 256 numbers, got 255'],
    ['257 weights', (v) => v.client_to_server.content.weights.push(1), '$.client_to_server.content.weights', 'has 257 entries, at most 256 are allowed'],
    ['weights not an array', (v) => (v.client_to_server.content.weights = 1), '$.client_to_server.content.weights', 'must be an array of 256 numbers, got 1'],
    ['negative weight', (v) => (v.server_to_client.content.weights[17] = -1), '$.server_to_client.content.weights[17]', 'must be a finite number >= 0, got -1'],
    ['weight as a string', (v) => (v.server_to_client.content.weights[0] = '1'), '$.server_to_client.content.weights[0]', 'must be a finite number >= 0, got "1"'],
    ['weight null', (v) => (v.server_to_client.content.weights[255] = null), '$.server_to_client.content.weights[255]', 'must be a finite number >= 0, got null'],
    ['all-zero weights', (v) => v.server_to_client.content.weights.fill(0), '$.server_to_client.content.weights', 'all 256 weights are zero'],
    ['codeword with a 2', (v) => (v.client_to_server.content = { code: Object.assign(code8(), { 3: '012' }) }), '$.client_to_server.content.code[3]', `must be a string of 1 to 32 characters '0' or '1', got "012"`],
    ['empty codeword', (v) => (v.client_to_server.content = { code: Object.assign(code8(), { 3: '' }) }), '$.client_to_server.content.code[3]', `must be a string of 1 to 32 characters '0' or '1', got ""`],
    ['33-bit codeword', (v) => (v.client_to_server.content = { code: Object.assign(code8(), { 3: '0'.repeat(33) }) }), '$.client_to_server.content.code[3]', `must be a string of 1 to 32 characters '0' or '1', got "${'0'.repeat(33)}"`],
    ['255 codewords', (v) => (v.client_to_server.content = { code: code8().slice(1) }), '$.client_to_server.content.code', 'must be an array of 256 bit strings, got 255'],
    ['unknown key in content', (v) => (v.client_to_server.content.scale = 2), '$.client_to_server.content.scale', 'unknown key in content (expected weights, code)'],
    ['length missing', (v) => delete v.client_to_server.length_bytes, '$.client_to_server.length_bytes', 'missing'],
    ['length not an object', (v) => (v.client_to_server.length_bytes = 100), '$.client_to_server.length_bytes', 'must be a JSON object, got 100'],
    ['family missing', (v) => delete v.client_to_server.length_bytes.family, '$.client_to_server.length_bytes.family', 'missing'],
    ['unknown family', (v) => (v.client_to_server.length_bytes = { family: 'gamma', shape: 2 }), '$.client_to_server.length_bytes.family', 'unknown family "gamma" (expected one of fixed, uniform, normal, exponential, poisson, histogram)'],
    ['family named like an Object.prototype member', (v) => (v.client_to_server.length_bytes = { family: 'constructor' }), '$.client_to_server.length_bytes.family', 'unknown family "constructor" (expected one of fixed, uniform, normal, exponential, poisson, histogram)'],
    ['unknown flow family lists on_demand', (v) => (v.client_to_server.flow_packets_per_second = { family: 'burst' }), '$.client_to_server.flow_packets_per_second.family', 'unknown family "burst" (expected one of fixed, uniform, normal, exponential, poisson, histogram, on_demand)'],
    ['on_demand for a length', (v) => (v.client_to_server.length_bytes = { family: 'on_demand' }), '$.client_to_server.length_bytes.family', '"on_demand" is only allowed for flow_packets_per_second'],
    ['on_demand with a parameter', (v) => (v.client_to_server.flow_packets_per_second = { family: 'on_demand', mean: 3 }), '$.client_to_server.flow_packets_per_second.mean', 'unknown key for family "on_demand" (expected family)'],
    ['negative stddev', (v) => (v.client_to_server.length_bytes.stddev = -1), '$.client_to_server.length_bytes.stddev', 'must be a finite number > 0, got -1'],
    ['zero stddev', (v) => (v.client_to_server.length_bytes.stddev = 0), '$.client_to_server.length_bytes.stddev', 'must be a finite number > 0, got 0'],
    ['stddev as a string', (v) => (v.client_to_server.length_bytes.stddev = '200'), '$.client_to_server.length_bytes.stddev', 'must be a finite number, got "200"'],
    ['mean missing', (v) => delete v.client_to_server.length_bytes.mean, '$.client_to_server.length_bytes.mean', 'missing'],
    ['misspelt parameter', (v) => (v.client_to_server.length_bytes = { family: 'normal', mean: 500, stdev: 200 }), '$.client_to_server.length_bytes.stdev', 'unknown key for family "normal" (expected family, mean, stddev)'],
    ['length range that cannot hold a record', (v) => (v.client_to_server.length_bytes = { family: 'normal', mean: -1000, stddev: 10 }), '$.client_to_server.length_bytes', 'puts only 0% of its mass in the valid range 1..65535 (bytes) after rounding; at least 1% is needed (samples outside the range are drawn again)'],
    ['length normal with just 0.6% in range', (v) => (v.client_to_server.length_bytes = { family: 'normal', mean: -2, stddev: 1 }), '$.client_to_server.length_bytes', 'puts only 0.621% of its mass in the valid range 1..65535 (bytes) after rounding; at least 1% is needed (samples outside the range are drawn again)'],
    ['fixed length 0', (v) => (v.client_to_server.length_bytes = { family: 'fixed', value: 0 }), '$.client_to_server.length_bytes.value', 'must be an integer in 1..65535 (bytes), got 0'],
    ['fixed length 65536', (v) => (v.client_to_server.length_bytes = { family: 'fixed', value: 65536 }), '$.client_to_server.length_bytes.value', 'must be an integer in 1..65535 (bytes), got 65536'],
    ['fractional length', (v) => (v.client_to_server.length_bytes = { family: 'fixed', value: 100.5 }), '$.client_to_server.length_bytes.value', 'must be an integer (bytes), got 100.5'],
    ['uniform length max < min', (v) => (v.client_to_server.length_bytes = { family: 'uniform', min: 100, max: 50 }), '$.client_to_server.length_bytes.max', 'must be >= min (100), got 50'],
    ['uniform length beyond 65535', (v) => (v.client_to_server.length_bytes = { family: 'uniform', min: 100, max: 70000 }), '$.client_to_server.length_bytes.max', 'must be an integer in 1..65535 (bytes), got 70000'],
    ['exponential mean 0', (v) => (v.client_to_server.length_bytes = { family: 'exponential', mean: 0 }), '$.client_to_server.length_bytes.mean', 'must be a finite number > 0, got 0'],
    ['poisson mean too large', (v) => (v.client_to_server.length_bytes = { family: 'poisson', mean: 2e8 }), '$.client_to_server.length_bytes.mean', 'must be at most 100000000, got 200000000'],
    ['poisson length far beyond 65535', (v) => (v.client_to_server.length_bytes = { family: 'poisson', mean: 1e6 }), '$.client_to_server.length_bytes', 'puts only 0% of its mass in the valid range 1..65535 (bytes) after rounding; at least 1% is needed (samples outside the range are drawn again)'],
    ['histogram without values or bins', (v) => (v.client_to_server.length_bytes = { family: 'histogram' }), '$.client_to_server.length_bytes', 'a histogram needs "values", "bins" or both'],
    ['histogram with empty lists', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: [], bins: [] }), '$.client_to_server.length_bytes', 'the histogram has no values and no bins'],
    ['histogram all-zero weights', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: [{ value: 5, weight: 0 }], bins: [{ min: 1, max: 9, weight: 0 }] }), '$.client_to_server.length_bytes', 'all histogram weights are zero'],
    ['histogram negative weight', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: [{ value: 5, weight: 1 }, { value: 6, weight: -2 }] }), '$.client_to_server.length_bytes.values[1].weight', 'must be a finite number >= 0, got -2'],
    ['histogram value 0 bytes', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: [{ value: 0, weight: 1 }] }), '$.client_to_server.length_bytes.values[0].value', 'must be an integer in 1..65535 (bytes), got 0'],
    ['histogram values not a list', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: { 5: 1 } }), '$.client_to_server.length_bytes.values', 'must be an array of objects {value, weight}, got an object'],
    ['histogram value entry missing weight', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: [{ value: 5 }] }), '$.client_to_server.length_bytes.values[0].weight', 'missing'],
    ['histogram value entry with an extra key', (v) => (v.client_to_server.length_bytes = { family: 'histogram', values: [{ value: 5, weight: 1, p: 1 }] }), '$.client_to_server.length_bytes.values[0].p', 'unknown key in a histogram value (expected value, weight)'],
    ['histogram bin max < min', (v) => (v.client_to_server.length_bytes = { family: 'histogram', bins: [{ min: 10, max: 20, weight: 1 }, { min: 30, max: 29, weight: 1 }] }), '$.client_to_server.length_bytes.bins[1].max', 'must be >= min (30), got 29'],
    ['real histogram bin with min = max', (v) => (v.duration_ms = { family: 'histogram', bins: [{ min: 30, max: 30, weight: 1 }] }), '$.duration_ms.bins[0].max', 'must be > min (30), got 30'],
    ['histogram bin entry not an object', (v) => (v.client_to_server.length_bytes = { family: 'histogram', bins: [[1, 2, 3]] }), '$.client_to_server.length_bytes.bins[0]', 'must be a JSON object, got an array of 3'],
    ['flow fixed 0: never sends', (v) => (v.client_to_server.flow_packets_per_second = { family: 'fixed', value: 0 }), '$.client_to_server.flow_packets_per_second', 'has a mean of 0 packets per second: this direction would never send anything'],
    ['flow above 65535 packets per second', (v) => (v.client_to_server.flow_packets_per_second = { family: 'fixed', value: 70000 }), '$.client_to_server.flow_packets_per_second.value', 'must be an integer in 0..65535 (packets per second), got 70000'],
    ['prefix with ascii and hex', (v) => (v.client_to_server.prefix = { ascii: 'a', hex: '61' }), '$.client_to_server.prefix', 'must have exactly one of "ascii" or "hex"'],
    ['prefix not an object', (v) => (v.client_to_server.prefix = 'GET'), '$.client_to_server.prefix', 'must be a JSON object, got "GET"'],
    ['prefix hex with odd length', (v) => (v.client_to_server.prefix = { hex: 'abc' }), '$.client_to_server.prefix.hex', 'must be a string of hex digit pairs, got "abc"'],
    ['prefix hex with a non-hex digit', (v) => (v.client_to_server.prefix = { hex: 'zz' }), '$.client_to_server.prefix.hex', 'must be a string of hex digit pairs, got "zz"'],
    ['prefix ascii with a non-ASCII character', (v) => (v.client_to_server.prefix = { ascii: 'café' }), '$.client_to_server.prefix.ascii', 'character 3 is not ASCII (U+00E9); write such bytes with "hex"'],
    ['prefix ascii not a string', (v) => (v.client_to_server.prefix = { ascii: 5 }), '$.client_to_server.prefix.ascii', 'must be a string, got 5'],
    ['prefix too long', (v) => (v.client_to_server.prefix = { ascii: 'x'.repeat(MAX_PREFIX_BYTES + 1) }), '$.client_to_server.prefix', 'is 1025 bytes, at most 1024 are allowed'],
    ['unknown key in prefix', (v) => (v.client_to_server.prefix = { utf8: 'x' }), '$.client_to_server.prefix.utf8', 'unknown key in prefix (expected ascii, hex)'],
  ];

  test.each(cases)('%s', (_what, breakIt, path, reason) => {
    const v = good();
    breakIt(v);
    const err = errorOf(() => parseModel(v, SRC));
    expect({ path: err.path, reason: err.reason }).toEqual({ path, reason });
    expect(err.message).toBe(`${SRC}: ${path}: ${reason}`);
    expect(err.source).toBe(SRC);
    expect(err.code).toBe('DUST_ERR_BAD_MODEL');
    expect(err.name).toBe('ModelError');
  });

  test('a code table that is not complete reports checkCodeTable’s sentence at the table’s path', () => {
    const incomplete = code8();
    incomplete[255] = '111111110'; // Kraft sum 1 - 2^-9
    const prefixed = code8();
    prefixed[66] = prefixed[65]! + '0'; // 0x41's codeword is a prefix of 0x42's
    for (const code of [incomplete, prefixed]) {
      const expected = checkCodeTable(code);
      expect(expected).not.toBeNull();
      const v = good();
      v.server_to_client.content = { code };
      const err = errorOf(() => parseModel(v, SRC));
      expect(err.message).toBe(`${SRC}: $.server_to_client.content.code: ${expected}`);
    }
  });

  test('the top level must be an object', () => {
    for (const [value, got] of [[[], 'an array of 0'], [null, 'null'], ['x', '"x"'], [3, '3']] as const) {
      expect(errorOf(() => parseModel(value, SRC)).message).toBe(`${SRC}: $: must be a JSON object, got ${got}`);
    }
  });

  test('JSON syntax errors give the line and column', () => {
    const err = errorOf(() => loadModelFromText('{\n  "format": "dust-model/1"\n  "name": "x"}', SRC));
    expect(err.path).toBe('$');
    expect(err.message).toMatch(/^models\/x\.json: \$: is not valid JSON: .* \(line 3, column 3\)$/);
    expect(errorOf(() => loadModelFromText('', SRC)).message).toBe(`${SRC}: $: is not valid JSON: Unexpected end of JSON input`);
  });

  test('a leading byte order mark is ignored', () => {
    const m = loadModelFromText('\ufeff' + JSON.stringify(good()), SRC);
    expect(modelDigest(m)).toBe(modelDigest(parseModel(good(), SRC)));
  });

  test('a "__proto__" key is just an unknown key', () => {
    const text = JSON.stringify(good()).replace('{', '{"__proto__": {"format": "x"},');
    expect(errorOf(() => loadModelFromText(text, SRC)).message).toBe(
      `${SRC}: $.__proto__: unknown key in a model (expected format, name, description, duration_ms, client_to_server, server_to_client)`,
    );
  });

  test('text longer than 4 MiB is refused before parsing', () => {
    const err = errorOf(() => loadModelFromText(' '.repeat(4 * 1024 * 1024 + 1), SRC));
    expect(err.reason).toBe('the file is too large (4194305 characters, at most 4194304)');
  });

  test('programmer errors are TypeErrors, not ModelErrors', () => {
    expect(() => loadModelFromText(5 as unknown as string, SRC)).toThrow(TypeError);
    expect(() => loadModelFromText('{}', undefined as unknown as string)).toThrow(TypeError);
    expect(() => parseModel({}, 7 as unknown as string)).toThrow(TypeError);
  });

  test('fuzz: any JSON value gives a model or a ModelError, never another exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseModel(value, SRC);
        } catch (err) {
          if (!(err instanceof ModelError)) throw err;
        }
      }),
      { numRuns: 500, seed: 0x5eed },
    );
  });

  test('fuzz: replacing any part of a valid model gives a model or a ModelError', () => {
    const leaves: string[][] = [];
    const walk = (v: unknown, path: string[]) => {
      leaves.push(path);
      if (typeof v === 'object' && v !== null) for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
    };
    const sample = good();
    sample.client_to_server.prefix = { ascii: 'hi' };
    sample.server_to_client.length_bytes = { family: 'histogram', values: [{ value: 3, weight: 1 }], bins: [{ min: 5, max: 9, weight: 2 }] };
    walk(sample, []);
    const nonRoot = leaves.filter((p) => p.length > 0 && !(p.includes('weights') && p.length === 4));
    fc.assert(
      fc.property(fc.constantFrom(...nonRoot), fc.jsonValue({ maxDepth: 2 }), fc.boolean(), (path, replacement, remove) => {
        const v = JSON.parse(JSON.stringify(sample));
        let parent = v;
        for (const k of path.slice(0, -1)) parent = parent[k];
        if (remove) delete parent[path[path.length - 1]!];
        else parent[path[path.length - 1]!] = replacement;
        try {
          const m = parseModel(v, SRC);
          expect(m.format).toBe('dust-model/1');
        } catch (err) {
          if (!(err instanceof ModelError)) throw err;
        }
      }),
      { numRuns: 1000, seed: 0xd057 },
    );
  });
});

describe('digest', () => {
  test('known answer: the canonical input and SHA-256 of a small model are pinned', () => {
    const m = parseModel(good(), SRC);
    const ones = new Array(256).fill(1).join(',');
    const half = `{"content":{"weights":[${ones}]},"flow_packets_per_second":{"family":"poisson","mean":10},"length_bytes":{"family":"normal","mean":500,"stddev":200}}`;
    expect(modelDigestInput(m)).toBe(
      `{"client_to_server":${half},"duration_ms":{"family":"exponential","mean":20000},"format":"dust-model/1","server_to_client":${half}}`,
    );
    expect(modelDigest(m)).toBe(PINNED_DIGEST);
  });

  test('key order, whitespace and number spelling do not change it', () => {
    const a = parseModel(good(), SRC);
    const reordered = loadModelFromText(
      JSON.stringify(reverseKeys(good()), null, 7).replace('"mean": 20000', '"mean": 2e4'),
      'other.json',
    );
    expect(modelDigest(reordered)).toBe(modelDigest(a));
  });

  test('name and description do not change it; traffic parameters do', () => {
    const base = modelDigest(parseModel(good(), SRC));
    const renamed = good();
    renamed.name = 'renamed';
    renamed.description = 'other text';
    expect(modelDigest(parseModel(renamed, SRC))).toBe(base);
    const changes: Array<(v: Obj) => unknown> = [
      (v) => (v.client_to_server.length_bytes.mean = 501),
      (v) => (v.server_to_client.content.weights[0] = 2),
      (v) => (v.client_to_server.content.weights = v.client_to_server.content.weights.map((w: number) => w * 2)),
      (v) => (v.duration_ms.mean = 20001),
      (v) => (v.client_to_server.prefix = { ascii: 'x' }),
      (v) => (v.server_to_client.flow_packets_per_second = { family: 'on_demand' }),
      (v) => ([v.client_to_server, v.server_to_client] = [v.server_to_client, { ...v.client_to_server, prefix: { hex: '00' } }]),
    ];
    const seen = new Set([base]);
    for (const change of changes) {
      const v = good();
      change(v);
      const d = modelDigest(parseModel(v, SRC));
      expect(d).toMatch(/^[0-9a-f]{64}$/);
      expect(seen.has(d)).toBe(false);
      seen.add(d);
    }
  });

  test('canonicalJson sorts keys at every level and refuses what JSON cannot say', () => {
    expect(canonicalJson({ b: [{ z: 1, a: '\u00e9' }], a: null, c: -0, d: 1e21 })).toBe('{"a":null,"b":[{"a":"é","z":1}],"c":0,"d":1e+21}');
    expect(() => canonicalJson({ a: NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: undefined })).toThrow(TypeError);
    expect(() => modelDigest({} as DustModel)).toThrow(TypeError);
  });
});

describe('built-in models', () => {
  test('uniform, text, bulk and http exist, in that order, one per file in models/', () => {
    expect([...builtinModels.keys()]).toEqual(['uniform', 'text', 'bulk', 'http']);
    expect(shippedModelFiles().map((file) => file.replace(/\.json$/, '')).sort()).toEqual([...builtinModels.keys()].sort());
    expect(getBuiltinModel('text')).toBe(builtinModels.get('text'));
    expect(() => getBuiltinModel('ftp')).toThrow('no built-in model named "ftp" (built-in: uniform, text, bulk, http)');
    expect(() => getBuiltinModel(3 as unknown as string)).toThrow(TypeError);
  });

  test('the map cannot be changed', () => {
    expect(() => (builtinModels as Map<string, DustModel>).set('x', getBuiltinModel('text'))).toThrow(TypeError);
    expect(() => (builtinModels as Map<string, DustModel>).delete('text')).toThrow(TypeError);
    expect(builtinModels.size).toBe(4);
  });

  test.each([...builtinModels.keys()])('%s: the file in models/ gives the same model, and it round-trips', (name) => {
    const builtin = getBuiltinModel(name);
    const fromDisk = loadModelFromText(readFileSync(`models/${name}.json`, 'utf8'), `models/${name}.json`);
    expect(fromDisk.definition).toEqual(builtin.definition);
    expect(modelDigest(fromDisk)).toBe(modelDigest(builtin));
    const again = loadModelFromText(serializeModel(builtin), 'round-trip.json');
    expect(again.definition).toEqual(builtin.definition);
    expect(modelDigest(again)).toBe(modelDigest(builtin));
    expect(serializeModel(again)).toBe(serializeModel(builtin));
  });

  test('their digests differ', () => {
    expect(new Set([...builtinModels.values()].map(modelDigest)).size).toBe(builtinModels.size);
  });

  test('uniform: equal weights (8-bit codes), lengths uniform in a typical range, a moderate rate', () => {
    const m = getBuiltinModel('uniform');
    for (const half of [m.clientToServer, m.serverToClient]) {
      expect(new Set((half.content as { weights: number[] }).weights).size).toBe(1);
      expect(half.lengthBytes.family).toBe('uniform');
      expect(half.lengthBytes.max).toBeLessThanOrEqual(1448);
      const flow = half.flowPacketsPerSecond as { mean: number };
      expect(flow.mean).toBeGreaterThanOrEqual(5);
      expect(flow.mean).toBeLessThanOrEqual(50);
    }
  });

  test('text: every byte possible, text bytes dominant, small requests, server packets up to 1,448, tens of seconds', () => {
    const m = getBuiltinModel('text');
    const w = (m.clientToServer.content as { weights: number[] }).weights;
    expect(w.every((x) => x > 0)).toBe(true);
    const total = w.reduce((s, x) => s + x, 0);
    const share = (chars: string) => [...chars].reduce((s, ch) => s + w[ch.charCodeAt(0)]!, 0) / total;
    expect(share('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ')).toBeGreaterThan(0.8);
    expect(w[0x20]).toBe(Math.max(...w)); // space is the most common byte
    expect(w['e'.charCodeAt(0)]!).toBeGreaterThan(w['z'.charCodeAt(0)]! * 50);
    expect(w[0x0d]!).toBeGreaterThan(w[0x00]! * 50); // CR/LF common, NUL rare
    expect(share('\u0080\u00ff')).toBeLessThan(0.001);
    expect(m.clientToServer.lengthBytes.mean).toBeLessThan(m.serverToClient.lengthBytes.mean);
    expect(m.serverToClient.lengthBytes.max).toBe(1448);
    expect(m.serverToClient.lengthBytes.pmf(1448)).toBeGreaterThan(0.3);
    expect(m.durationMs.mean).toBeGreaterThanOrEqual(10_000);
    expect(m.durationMs.mean).toBeLessThanOrEqual(90_000);
    const up = m.clientToServer.flowPacketsPerSecond as { mean: number };
    const down = m.serverToClient.flowPacketsPerSecond as { mean: number };
    expect(up.mean).toBeLessThan(down.mean);
  });

  test('bulk: uniform bytes, fixed 16,384-byte packets, on_demand flow, a long duration', () => {
    const m = getBuiltinModel('bulk');
    for (const half of [m.clientToServer, m.serverToClient]) {
      expect(new Set((half.content as { weights: number[] }).weights).size).toBe(1);
      expect(half.lengthBytes.family).toBe('fixed');
      expect(half.lengthBytes.mean).toBe(16384);
      expect(half.flowPacketsPerSecond).toBe('on_demand');
    }
    expect(m.durationMs.mean).toBeGreaterThanOrEqual(600_000);
  });
});

/** The same JSON with the keys of every object in reverse order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).reverse().map(([k, c]) => [k, reverseKeys(c)]));
  }
  return v;
}

/** Cross-checked with Python: sha256(json.dumps(d, sort_keys=True, separators=(',', ':'))). */
const PINNED_DIGEST = 'b2013dd209cb9bf29fbf79461030230c0349cd5e258358db68cdfae5d507fe6c';

/** The model files shipped in models/ (each one is a built-in model). */
function shippedModelFiles(): string[] {
  return readdirSync('models').filter((file) => file.endsWith('.json'));
}
