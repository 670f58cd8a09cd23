/**
 * `dust model plot` (issue 6 "Plots"): the SVG is well-formed XML with a title, a legend, axes
 * and labels, and holds the expected series (the model in every panel; the observed data only
 * with a capture); the command writes it and reports bad input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runModelPlot } from '../src/cli/model-plot-cmd.js';
import { builtinModels, getBuiltinModel } from '../src/shaping/builtin-models.js';
import { createContentCoder } from '../src/shaping/coder.js';
import { ShapingPrng } from '../src/shaping/prng.js';
import type { TcpFlow } from '../src/tools/flows.js';
import { modelByteProbabilities } from '../src/tools/model-check.js';
import { niceTicks, observeTraffic, renderModelPlot, xmlEscape } from '../src/tools/plot.js';
import { flowsToPcap } from './support/capture-writer.js';
import { seededRandom } from './support/seeded-random.js';
import { cliSandbox } from './support/cli-sandbox.js';

/**
 * Checks that `text` is well-formed XML as far as an SVG needs: one root element, every tag
 * closed in order, attributes quoted, no raw `<` or stray `&` in text or attribute values.
 * Returns the elements (name and attributes) in document order.
 */
function parseXml(text: string): { name: string; attrs: Map<string, string>; text: string }[] {
  const elements: { name: string; attrs: Map<string, string>; text: string }[] = [];
  const stack: number[] = [];
  let roots = 0;
  const body = text.replace(/^<\?xml [^?]*\?>\s*/, '');
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/gy;
  const entity = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = token.exec(body)) !== null) {
    consumed = token.lastIndex;
    const [, closing, name, attrText, selfClosing, chars] = match;
    if (chars !== undefined) {
      if (entity.test(chars)) throw new Error(`stray & in text: ${chars.slice(0, 40)}`);
      if (stack.length === 0 && chars.trim()) throw new Error('text outside the root');
      if (stack.length) elements[stack[stack.length - 1]!]!.text += chars;
      continue;
    }
    if (closing) {
      const open = stack.pop();
      if (open === undefined || elements[open]!.name !== name) throw new Error(`</${name}> closes ${open === undefined ? 'nothing' : elements[open]!.name}`);
      continue;
    }
    const attrs = new Map<string, string>();
    for (const [, key, value] of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (attrs.has(key!)) throw new Error(`duplicate attribute ${key}`);
      if (entity.test(value!) || value!.includes('<')) throw new Error(`bad attribute value ${value}`);
      attrs.set(key!, value!);
    }
    if (stack.length === 0) roots++;
    elements.push({ name: name!, attrs, text: '' });
    if (!selfClosing) stack.push(elements.length - 1);
  }
  if (consumed !== body.length) throw new Error(`not XML at ${consumed}: ${body.slice(consumed, consumed + 40)}`);
  if (stack.length) throw new Error(`unclosed <${elements[stack[stack.length - 1]!]!.name}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return elements;
}

function series(elements: ReturnType<typeof parseXml>, name: string) {
  return elements.filter((e) => e.name === 'g' && e.attrs.get('data-series') === name);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** Text content of the <text> and <title> elements, entities decoded. */
const texts = (elements: ReturnType<typeof parseXml>) =>
  elements.filter((e) => e.name === 'text' || e.name === 'title').map((e) => e.text.replace(/&(\w+);/g, (_, n: string) => ENTITIES[n]!));

/** Flows whose bytes and lengths follow `model` (timing does not matter for the plot). */
function sampledFlows(modelName: string, count: number, seed: number): TcpFlow[] {
  const model = getBuiltinModel(modelName);
  const random = seededRandom(seed);
  const rng = ShapingPrng.fromRandom(random);
  return Array.from({ length: count }, (_, f) => {
    const half = (key: 'clientToServer' | 'serverToClient', packets: number) => {
      const encoder = createContentCoder(model[key].content).createEncoder();
      return Array.from({ length: packets }, (_, i) => {
        const length = model[key].lengthBytes.sample(rng);
        while (encoder.available < length) encoder.push(random(2048));
        return { timeMs: 1_700_000_000_000 + f * 10_000 + i * 10, payload: encoder.take(length) };
      });
    };
    return {
      client: { ip: '127.0.0.1', port: 40000 + f },
      server: { ip: '127.0.0.1', port: 8080 },
      startMs: 1_700_000_000_000 + f * 10_000,
      endMs: 1_700_000_000_000 + f * 10_000 + 9_000,
      c2s: half('clientToServer', 30),
      s2c: half('serverToClient', 60),
    };
  });
}


describe('renderModelPlot', () => {
  const text = getBuiltinModel('text');

  test('model only: well-formed, titled, four panels with axes, labels and the model series', () => {
    const svg = renderModelPlot(text);
    const elements = parseXml(svg);
    expect(elements[0]!.name).toBe('svg');
    expect(elements[0]!.attrs.get('xmlns')).toBe('http://www.w3.org/2000/svg');
    const words = texts(elements);
    expect(words).toContain('Dust model "text"');
    expect(words).toContain('model (what Dust should send)');
    expect(words.filter((w) => w === 'byte value')).toHaveLength(2);
    expect(words.filter((w) => w === 'TCP payload length (bytes)')).toHaveLength(2);
    expect(words.filter((w) => w === 'share (%)')).toHaveLength(4);
    expect(words).toEqual(expect.arrayContaining(['0x00', '0x20', '0xff', 'client → server: byte values', 'server → client: packet lengths']));
    const panels = elements.filter((e) => e.name === 'g' && e.attrs.get('class') === 'panel').map((e) => e.attrs.get('id'));
    expect(panels).toEqual(['bytes-c2s', 'bytes-s2c', 'lengths-c2s', 'lengths-s2c']);
    expect(series(elements, 'model')).toHaveLength(4);
    expect(series(elements, 'observed')).toHaveLength(0);
    expect(words).not.toContain('observed in the capture');
  });

  test('the byte panel draws one step per byte value, its tallest at the most likely byte', () => {
    const elements = parseXml(renderModelPlot(text));
    const path = elements.filter((e) => e.name === 'path')[0]!.attrs.get('d')!;
    const steps = [...path.matchAll(/V([\d.]+)H/g)].map((m) => Number(m[1]));
    expect(steps).toHaveLength(256);
    const p = modelByteProbabilities(text.clientToServer);
    const likeliest = p.indexOf(Math.max(...p));
    expect(steps.indexOf(Math.min(...steps))).toBe(likeliest); // SVG y grows downwards
    expect(likeliest).toBe(0x20);
  });

  test('with a capture: observed bars in every panel, and the test results in the subtitles', () => {
    const flows = sampledFlows('text', 6, 1);
    const svg = renderModelPlot(text, observeTraffic(text, flows, 'a<b&c.pcap'));
    const elements = parseXml(svg);
    const words = texts(elements);
    expect(words[0]).toBe('Dust model "text" vs capture a<b&c.pcap (6 flows)');
    expect(svg).toContain('a&lt;b&amp;c.pcap');
    expect(words).toContain('observed in the capture');
    const observed = series(elements, 'observed');
    expect(observed).toHaveLength(4);
    // One bar per byte value seen (text weights: every byte value has a codeword, most appear).
    const bars = elements.filter((e) => e.name === 'rect');
    expect(bars.length).toBeGreaterThan(300);
    expect(words.some((w) => /^180 packets · KS D = 0\.\d{4}, p = /.test(w))).toBe(true);
    expect(words.some((w) => /bytes · χ² p = .* · total variation 0\.\d{4}$/.test(w))).toBe(true);
  });

  test('every built-in model renders (fixed lengths, on_demand, point masses)', () => {
    for (const name of builtinModels.keys()) {
      const elements = parseXml(renderModelPlot(getBuiltinModel(name)));
      expect(series(elements, 'model')).toHaveLength(4);
    }
  });

  test('helpers: round ticks and XML escaping', () => {
    expect(niceTicks(12.5)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(xmlEscape('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
    expect(() => renderModelPlot({} as never)).toThrow(TypeError);
  });
});

describe('dust model plot', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  let restore: () => void;
  beforeEach(() => ({ dir, out, err, restore } = cliSandbox('dust-plot-')));
  afterEach(() => restore());

  test('writes the SVG of a model, with a capture filtered by port', async () => {
    const pcap = join(dir, 'text.pcap');
    writeFileSync(pcap, flowsToPcap(sampledFlows('text', 3, 2)));
    const svgPath = join(dir, 'out.svg');
    expect(await runModelPlot(['text', pcap, '-o', svgPath, '--port', '8080'])).toBe(0);
    expect(out.join('')).toBe(`wrote ${svgPath}\n`);
    const elements = parseXml(readFileSync(svgPath, 'utf8'));
    expect(texts(elements)[0]).toBe('Dust model "text" vs capture text.pcap (3 flows)');
    expect(series(elements, 'observed')).toHaveLength(4);
    // A port no flow uses leaves nothing to observe.
    expect(await runModelPlot(['text', pcap, '-o', svgPath, '--port', '9'])).toBe(0);
    expect(texts(parseXml(readFileSync(svgPath, 'utf8')))).toContain('no packets observed in this direction');
    expect(await runModelPlot(['uniform', '--output', svgPath])).toBe(0);
    expect(series(parseXml(readFileSync(svgPath, 'utf8')), 'observed')).toHaveLength(0);
  });

  test('bad input exits 2 with one line; an unwritable output exits 1', async () => {
    const svgPath = join(dir, 'out.svg');
    expect(await runModelPlot(['text'])).toBe(2);
    expect(err.join('')).toContain('dust: -o OUT.svg is required');
    expect(await runModelPlot(['-o', svgPath])).toBe(2);
    expect(await runModelPlot(['no-such-model', '-o', svgPath])).toBe(2);
    expect(await runModelPlot(['text', join(dir, 'missing.pcap'), '-o', svgPath])).toBe(2);
    expect(err.join('')).toContain('cannot read capture');
    writeFileSync(join(dir, 'junk.pcap'), 'not a capture at all');
    expect(await runModelPlot(['text', join(dir, 'junk.pcap'), '-o', svgPath])).toBe(2);
    expect(await runModelPlot(['text', '-o', svgPath, '--port', '70000'])).toBe(2);
    expect(await runModelPlot(['text', '-o', svgPath, '--bogus'])).toBe(2);
    expect(await runModelPlot(['text', '-o', join(dir, 'no', 'such', 'dir.svg')])).toBe(1);
    expect(err.join('')).toContain('cannot write');
    expect(await runModelPlot(['--help'])).toBe(0);
    expect(out.join('')).toContain('usage: dust model plot MODEL [CAPTURE...] -o OUT.svg');
  });
});
