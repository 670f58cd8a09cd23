/**
 * dust-original.md §3.1 and docs/models.md "Importing Dust2015 models": a model shaped like
 * `blanu/Dust` `modelgen/models/test.yaml`, written as JSON, converts to `dust-model/1`.
 */
import { checkCodeTable } from '../src/shaping/huffman.js';
import { convertDust2015, dust2015PathFor, isDust2015Shape } from '../src/shaping/dust2015.js';
import { ModelError, loadModelFromText, parseModel, serializeModel } from '../src/shaping/model.js';
import { modelDigest } from '../src/shaping/model-digest.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

const SRC = 'modelgen/models/test.json';

/** Huffman code lengths for the weights (a plain Huffman tree; ties by insertion order). */
function huffmanLengths(weights: number[]): number[] {
  type Node = { w: number; symbols: number[] };
  let nodes: Node[] = weights.map((w, i) => ({ w, symbols: [i] }));
  const lengths = new Array<number>(weights.length).fill(0);
  while (nodes.length > 1) {
    nodes.sort((a, b) => a.w - b.w);
    const [a, b] = nodes.splice(0, 2) as [Node, Node];
    for (const s of [...a.symbols, ...b.symbols]) lengths[s]!++;
    nodes.push({ w: a.w + b.w, symbols: [...a.symbols, ...b.symbols] });
  }
  return lengths;
}

/** Canonical codewords for the lengths, as lists of booleans (the Dust2015 `huffman` shape). */
function canonicalBooleans(lengths: number[]): boolean[][] {
  const order = lengths.map((l, i) => [l, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: boolean[][] = new Array(lengths.length);
  let code = 0;
  let prevLen = order[0]![0];
  for (const [len, sym] of order) {
    code <<= len - prevLen;
    prevLen = len;
    out[sym] = code.toString(2).padStart(len, '0').split('').map((c) => c === '1');
    code++;
  }
  return out;
}

const bytes = (s: string) => [...s].map((c) => c.charCodeAt(0));
/** Like test.yaml's content: 0, 1, ..., so codewords of 7 to 15 bits; weight +1 so none is zero. */
const HUFFMAN = canonicalBooleans(huffmanLengths(Array.from({ length: 256 }, (_, i) => i + 1)));

/** test.yaml, abridged as in dust-original.md §3.1, as JSON. */
function testModel(): Obj {
  return {
    name: 'Test',
    duration: { dist: 'exponential', params: [1] },
    incomingModel: {
      content: { dist: 'multinomial', params: Array.from({ length: 255 }, (_, i) => i) }, // placeholder, 255 entries
      flow: { dist: 'poisson', params: [1] },
      huffman: HUFFMAN.map((c) => [...c]),
      length: { dist: 'normal', params: [1, 1] },
      sequence: bytes('INCOMING'),
    },
    outgoingModel: {
      content: { dist: 'multinomial', params: Array.from({ length: 255 }, (_, i) => i) },
      flow: { dist: 'poisson', params: [1] },
      huffman: HUFFMAN.map((c) => [...c]),
      length: { dist: 'multinomial', params: [7, 0, 5, 0, 3] },
      sequence: bytes('OUTGOING'),
      entropy: { dist: 'normal', params: [7.9, 0.1] }, // AdversaryLab field: ignored
    },
  };
}

function errorOf(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ModelError) return err;
    throw err;
  }
  throw new Error('expected a ModelError');
}

describe('Dust2015 import', () => {
  test('the test table is a complete prefix code with 7..15-bit codewords, like test.yaml', () => {
    const code = HUFFMAN.map((c) => c.map((b) => (b ? '1' : '0')).join(''));
    expect(checkCodeTable(code)).toBeNull();
    const lengths = code.map((c) => c.length);
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(7);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(15);
  });

  test('test.yaml-like model converts field by field', () => {
    const m = parseModel(testModel(), SRC);
    expect(m.importedFrom).toBe('dust2015');
    expect(m.name).toBe('test'); // the file name, as in Go
    expect(m.description).toBe('Imported from the Dust2015 model modelgen/models/test.json (name: "Test")');
    // incoming = client → server
    expect(Buffer.from(m.clientToServer.prefix).toString()).toBe('INCOMING');
    expect(Buffer.from(m.serverToClient.prefix).toString()).toBe('OUTGOING');
    // huffman → explicit code (true = 1), MSB first
    const code = (m.clientToServer.content as { code: string[] }).code;
    expect(code).toEqual(HUFFMAN.map((c) => c.map((b) => (b ? '1' : '0')).join('')));
    // length normal [1, 1] → normal, rounded and redrawn into 1..65535
    expect(m.definition.client_to_server.length_bytes).toEqual({ family: 'normal', mean: 1, stddev: 1 });
    expect(m.clientToServer.lengthBytes.min).toBe(1);
    // multinomial index = length; index 0 dropped, zero weights dropped
    expect(m.definition.server_to_client.length_bytes).toEqual({
      family: 'histogram',
      values: [{ value: 2, weight: 5 }, { value: 4, weight: 3 }],
    });
    expect(m.serverToClient.lengthBytes.pmf(2)).toBeCloseTo(5 / 8, 15);
    // flow poisson λ → packets per second; duration exponential λ per second → mean 1000/λ ms
    expect(m.definition.client_to_server.flow_packets_per_second).toEqual({ family: 'poisson', mean: 1 });
    expect(m.definition.duration_ms).toEqual({ family: 'exponential', mean: 1000 });
    expect(m.durationMs.mean).toBeCloseTo(1001, 6); // exponential truncated below at 1 ms: 1 + 1000
  });

  test('the converted model round-trips as dust-model/1 with the same digest', () => {
    const m = parseModel(testModel(), SRC);
    const text = serializeModel(m);
    expect(JSON.parse(text).format).toBe('dust-model/1');
    const again = loadModelFromText(text, 'test-converted.json');
    expect(again.importedFrom).toBe('dust-model/1');
    expect(again.definition).toEqual(m.definition);
    expect(modelDigest(again)).toBe(modelDigest(m));
  });

  test('JSON text in the Dust2015 shape loads through loadModelFromText', () => {
    const m = loadModelFromText(JSON.stringify(testModel(), null, 2), 'models/http.yaml');
    expect(m.name).toBe('http');
  });

  test('without huffman, a 256-entry content multinomial becomes the weights', () => {
    const v = testModel();
    delete v.incomingModel.huffman;
    v.incomingModel.content.params = Array.from({ length: 256 }, (_, i) => (i === 0 ? 0 : i));
    const m = parseModel(v, SRC);
    expect((m.clientToServer.content as { weights: number[] }).weights[255]).toBe(255);
  });

  test('name: the file name, else the name field, else "dust2015"', () => {
    expect(parseModel(testModel(), 'a/b/rtsp.JSON').name).toBe('rtsp');
    expect(parseModel(testModel(), '<stdin>').name).toBe('Test');
    const v = testModel();
    v.name = 'not a name!';
    expect(parseModel(v, '<stdin>').name).toBe('dust2015');
  });

  test('an empty sequence means no prefix', () => {
    const v = testModel();
    v.incomingModel.sequence = [];
    expect(parseModel(v, SRC).definition.client_to_server.prefix).toBeUndefined();
  });

  const errors: Array<[string, (v: Obj) => unknown, string, string]> = [
    ['duration missing', (v) => delete v.duration, '$.duration', 'missing'],
    ['duration not exponential', (v) => (v.duration = { dist: 'normal', params: [1, 1] }), '$.duration.dist', 'unsupported Dust2015 distribution "normal" here (expected exponential)'],
    ['duration rate 0', (v) => (v.duration.params = [0]), '$.duration.params[0]', 'the rate λ must be > 0, got 0'],
    ['duration with two params', (v) => (v.duration.params = [1, 2]), '$.duration.params', 'must be [λ per second], got 2 numbers'],
    ['outgoingModel missing', (v) => delete v.outgoingModel, '$.outgoingModel', 'missing'],
    ['incomingModel not an object', (v) => (v.incomingModel = 3), '$.incomingModel', 'must be a JSON object'],
    ['255 huffman lists', (v) => v.incomingModel.huffman.pop(), '$.incomingModel.huffman', 'must be an array of 256 lists of booleans, got 255 lists'],
    ['a codeword that is not a list', (v) => (v.incomingModel.huffman[9] = '0101'), '$.incomingModel.huffman[9]', 'must be a list of 1 to 32 booleans'],
    ['a bit that is not a boolean', (v) => (v.incomingModel.huffman[3][0] = 1), '$.incomingModel.huffman[3][0]', 'must be true or false, got 1'],
    ['no huffman and a 255-entry content', (v) => delete v.incomingModel.huffman, '$.incomingModel.content.params', 'must hold 256 byte weights, got 255'],
    ['no huffman and no content', (v) => { delete v.incomingModel.huffman; delete v.incomingModel.content; }, '$.incomingModel', 'has neither "huffman" nor "content"'],
    ['length with an unknown distribution', (v) => (v.incomingModel.length = { dist: 'gamma', params: [1, 1] }), '$.incomingModel.length.dist', 'unsupported Dust2015 distribution "gamma" here (expected normal or multinomial)'],
    ['length params not numbers', (v) => (v.incomingModel.length.params = [1, 'x']), '$.incomingModel.length.params[1]', 'must be a finite number, got "x"'],
    ['length params not a list', (v) => (v.incomingModel.length.params = 5), '$.incomingModel.length.params', 'must be an array of numbers'],
    ['normal length with one param', (v) => (v.incomingModel.length.params = [1]), '$.incomingModel.length.params', 'must be [μ, σ], got 1 numbers'],
    ['multinomial length index beyond 65535', (v) => { v.outgoingModel.length.params = new Array(65537).fill(0); v.outgoingModel.length.params[65536] = 1; }, '$.outgoingModel.length.params[65536]', 'a length of 65536 bytes is more than 65535'],
    ['flow not poisson', (v) => (v.incomingModel.flow = { dist: 'normal', params: [1, 1] }), '$.incomingModel.flow.dist', 'unsupported Dust2015 distribution "normal" here (expected poisson)'],
    ['flow missing', (v) => delete v.outgoingModel.flow, '$.outgoingModel.flow', 'missing'],
    ['sequence with a non-byte', (v) => (v.incomingModel.sequence[2] = 256), '$.incomingModel.sequence[2]', 'must be a byte value 0..255, got 256'],
    ['sequence not a list', (v) => (v.incomingModel.sequence = 'INCOMING'), '$.incomingModel.sequence', 'must be an array of byte values'],
    // found by the dust-model/1 validator after conversion: reported at the Dust2015 path
    ['negative σ', (v) => (v.incomingModel.length.params = [1, -1]), '$.incomingModel.length.params[1]', 'must be a finite number > 0, got -1 (after conversion to dust-model/1: $.client_to_server.length_bytes.stddev)'],
    ['negative flow λ', (v) => (v.outgoingModel.flow.params = [-2]), '$.outgoingModel.flow.params[0]', 'must be a finite number > 0, got -2 (after conversion to dust-model/1: $.server_to_client.flow_packets_per_second.mean)'],
    ['length that cannot hold a record', (v) => (v.incomingModel.length.params = [-100, 5]), '$.incomingModel.length', 'puts only less than 0.001% of its mass in the valid range 1..65535 (bytes) after rounding; at least 1% is needed (samples outside the range are drawn again) (after conversion to dust-model/1: $.client_to_server.length_bytes)'],
    ['multinomial length with no weight above index 0', (v) => (v.outgoingModel.length.params = [5, 0, 0]), '$.outgoingModel.length', 'the histogram has no values and no bins (after conversion to dust-model/1: $.server_to_client.length_bytes)'],
    ['negative content weight', (v) => { delete v.incomingModel.huffman; v.incomingModel.content.params = new Array(256).fill(1); v.incomingModel.content.params[7] = -1; }, '$.incomingModel.content', 'must be a finite number >= 0, got -1 (after conversion to dust-model/1: $.client_to_server.content.weights[7])'],
    ['sequence longer than 1,024 bytes', (v) => (v.incomingModel.sequence = new Array(1025).fill(65)), '$.incomingModel.sequence', 'is 1025 bytes, at most 1024 are allowed (after conversion to dust-model/1: $.client_to_server.prefix)'],
  ];

  test.each(errors)('error: %s', (_what, breakIt, path, reason) => {
    const v = testModel();
    breakIt(v);
    const err = errorOf(() => parseModel(v, SRC));
    expect({ path: err.path, reason: err.reason }).toEqual({ path, reason });
    expect(err.message).toBe(`${SRC}: ${path}: ${reason}`);
  });

  test('an incomplete huffman table reports checkCodeTable’s sentence at $.incomingModel.huffman', () => {
    const v = testModel();
    v.incomingModel.huffman[0] = [...v.incomingModel.huffman[0], false]; // one codeword one bit longer
    const code = v.incomingModel.huffman.map((c: boolean[]) => c.map((b) => (b ? '1' : '0')).join(''));
    const sentence = checkCodeTable(code);
    expect(sentence).not.toBeNull();
    expect(errorOf(() => parseModel(v, SRC)).message).toBe(
      `${SRC}: $.incomingModel.huffman: ${sentence} (after conversion to dust-model/1: $.client_to_server.content.code)`,
    );
  });

  test('shape detection: incomingModel/outgoingModel without format', () => {
    expect(isDust2015Shape(testModel())).toBe(true);
    expect(isDust2015Shape({ outgoingModel: {} })).toBe(true);
    expect(isDust2015Shape({ format: 'dust-model/1', incomingModel: {} })).toBe(false);
    expect(isDust2015Shape({ name: 'x' })).toBe(false);
    expect(isDust2015Shape([])).toBe(false);
    expect(isDust2015Shape(null)).toBe(false);
    // with a format it is a dust-model/1 file, and incomingModel is then an unknown key
    const mixed = { ...testModel(), format: 'dust-model/1' };
    expect(errorOf(() => parseModel(mixed, SRC)).message).toBe(
      `${SRC}: $.duration: unknown key in a model (expected format, name, description, duration_ms, client_to_server, server_to_client)`,
    );
  });

  test('convertDust2015 returns problems as values and never throws on input', () => {
    expect(convertDust2015(5, SRC)).toEqual({ ok: false, path: '$', reason: 'must be a JSON object' });
    const r = convertDust2015(testModel(), SRC);
    expect(r.ok).toBe(true);
  });

  test.each([
    ['$.duration_ms', '$.duration'],
    ['$.duration_ms.mean', '$.duration.params[0]'],
    ['$.client_to_server', '$.incomingModel'],
    ['$.server_to_client.content.code', '$.outgoingModel.huffman'],
    ['$.server_to_client.content.weights[3]', '$.outgoingModel.content'],
    ['$.client_to_server.length_bytes.stddev', '$.incomingModel.length.params[1]'],
    ['$.client_to_server.length_bytes.values[2].weight', '$.incomingModel.length'],
    ['$.client_to_server.flow_packets_per_second', '$.incomingModel.flow'],
    ['$.server_to_client.prefix.hex', '$.outgoingModel.sequence'],
    ['$.name', '$'],
  ])('path %s maps back to %s', (from, to) => {
    expect(dust2015PathFor(from)).toBe(to);
  });
});
