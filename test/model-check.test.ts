/**
 * `dust model check` (issue 6; detection.md §6.1, §6.3): flows drawn from a model pass, flows
 * drawn from another model fail on exactly the tests whose feature differs, and real DustSession
 * traffic (a client/server pair on a virtual clock) passes its own model.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flowsToPcap } from './support/capture-writer.js';
import { runModelCheck } from '../src/cli/model-check-cmd.js';
import { generateServerIdentity } from '../src/core/server-keys.js';
import { createContentCoder } from '../src/shaping/coder.js';
import { parseModel, type DustModel, type ModelDefinition } from '../src/shaping/model.js';
import { ShapingPrng } from '../src/shaping/prng.js';
import type { FlowPacket, TcpFlow } from '../src/tools/flows.js';
import { checkModel, countWindows, formatCheckReport, modelByteProbabilities, observeDirection } from '../src/tools/model-check.js';
import { makePair, sendDue } from './support/session-pair.js';
import { seededRandom } from './support/seeded-random.js';
import { cliSandbox } from './support/cli-sandbox.js';

const TEXTISH = Array.from({ length: 256 }, (_, b) => (b >= 0x61 && b <= 0x7a ? 20 : b === 0x20 ? 60 : b >= 0x30 && b <= 0x39 ? 8 : 1));
const BINARYISH = Array.from({ length: 256 }, (_, b) => (b < 0x20 ? 12 : b >= 0x80 ? 4 : 1));

function definition(overrides: Partial<Record<'length' | 'flow' | 'duration' | 'weights' | 'prefix', unknown>> = {}): ModelDefinition {
  const half = {
    content: { weights: overrides.weights ?? TEXTISH },
    length_bytes: overrides.length ?? { family: 'normal', mean: 300, stddev: 80 },
    flow_packets_per_second: overrides.flow ?? { family: 'poisson', mean: 15 },
  };
  return {
    format: 'dust-model/1',
    name: 'check-test',
    duration_ms: overrides.duration ?? { family: 'uniform', min: 3000, max: 9000 },
    client_to_server: overrides.prefix ? { ...half, prefix: overrides.prefix } : half,
    server_to_client: half,
  } as unknown as ModelDefinition;
}

function model(overrides: Parameters<typeof definition>[0] = {}): DustModel {
  return parseModel(definition(overrides), 'test');
}

const endpoint = (port: number) => ({ ip: '127.0.0.1', port });

/**
 * Flows as the model says Dust sends them: per direction a first packet at once, then in each
 * one-second window a sampled number of packets at uniform times, each of a sampled length, the
 * bytes being the prefix and then shaped uniform bytes.
 */
function sampleFlows(m: DustModel, count: number, seed: number): TcpFlow[] {
  const random = seededRandom(seed);
  const rng = ShapingPrng.fromRandom(random);
  const flows: TcpFlow[] = [];
  for (let f = 0; f < count; f++) {
    const startMs = 1_700_000_000_000 + f * 100_000;
    const endMs = startMs + m.durationMs.sample(rng);
    const halves = ([['clientToServer', 1], ['serverToClient', 3]] as const).map(([key, delay]) => {
      const half = m[key];
      const encoder = createContentCoder(half.content).createEncoder();
      let prefix: Uint8Array = half.prefix;
      const times: number[] = [startMs + delay];
      const flow = half.flowPacketsPerSecond;
      if (flow !== 'on_demand') {
        for (let w = 0; startMs + delay + w * 1000 < endMs; w++) {
          const n = flow.sample(rng);
          for (let i = 0; i < n; i++) times.push(startMs + delay + w * 1000 + rng.nextFloat() * 1000);
        }
      }
      times.sort((a, b) => a - b);
      const packets: FlowPacket[] = [];
      for (const t of times.filter((t) => t < endMs)) {
        const length = half.lengthBytes.sample(rng);
        const payload = new Uint8Array(length);
        const fromPrefix = Math.min(prefix.length, length);
        payload.set(prefix.subarray(0, fromPrefix));
        prefix = prefix.subarray(fromPrefix);
        while (encoder.available < length - fromPrefix) encoder.push(random(1024));
        encoder.takeInto(payload, fromPrefix, length - fromPrefix);
        packets.push({ timeMs: t, payload });
      }
      return packets;
    });
    flows.push({ client: endpoint(40000 + f), server: endpoint(443), startMs, endMs, c2s: halves[0]!, s2c: halves[1]! });
  }
  return flows;
}

function rowsOf(report: ReturnType<typeof checkModel>) {
  return Object.fromEntries(report.rows.map((r) => [`${r.direction} ${r.test}`, r]));
}

describe('observations', () => {
  test('window counts: the first window and the incomplete last one are left out', () => {
    // t0 = 0; windows [1000, 2000), [2000, 3000); 3000..3500 is incomplete (end 3500).
    expect(countWindows([0, 10, 999, 1000, 1500, 1999, 2000, 2999, 3000, 3400], 3500)).toEqual([3, 2]);
    expect(countWindows([0, 500], 1999)).toEqual([]);
    expect(countWindows([], 5000)).toEqual([]);
  });

  test('the prefix is left out of the byte counts only where a stream starts with it', () => {
    const flow = (first: string): TcpFlow => ({
      client: endpoint(1), server: endpoint(2), startMs: 0, endMs: 10,
      c2s: [{ timeMs: 0, payload: new TextEncoder().encode(first.slice(0, 2)) }, { timeMs: 1, payload: new TextEncoder().encode(first.slice(2)) }],
      s2c: [],
    });
    const seen = observeDirection([flow('GETxy'), flow('PUTzz')], 'c2s', new TextEncoder().encode('GET'));
    expect(seen.prefixedFlows).toBe(1);
    expect(seen.bytes).toBe(2 + 5);
    expect(seen.byteCounts[0x47]).toBe(0); // 'G' only in the stripped prefix
    expect(seen.byteCounts[0x50]).toBe(1); // 'P' of "PUT" kept
    expect(seen.lengths).toEqual([2, 3, 2, 3]);
  });

  test("the model's byte probabilities are 2^-len(code) and sum to 1", () => {
    const p = modelByteProbabilities(model().clientToServer);
    expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 14);
    expect(p[0x20]).toBeGreaterThan(p[0x00]!);
  });
});

describe('check against the model the flows were drawn from', () => {
  const m = model({ prefix: { ascii: 'GET / HTTP/1.1\r\n' } });
  const flows = sampleFlows(m, 40, 7);
  const report = checkModel(m, flows, { alpha: 0.01 });

  test('no test rejects at alpha = 0.01, and every test ran', () => {
    expect(report.rows).toHaveLength(7);
    for (const row of report.rows) {
      expect(row.pValue).not.toBeNull();
      expect(row.reject).toBe(false);
    }
    expect(report.rejected).toBe(false);
    const rows = rowsOf(report);
    expect(rows['client→server bytes']!.note).toContain('prefix left out in 40 flow(s)');
    expect(rows['connection duration']!.n).toBe(40);
    expect(rows['client→server lengths']!.n).toBeGreaterThan(1000);
  });

  test('the table names every test and the verdict', () => {
    const text = formatCheckReport(report);
    for (const word of ['lengths', 'bytes', 'packets/s', 'duration', 'client→server', 'server→client', 'KS D', 'χ²']) expect(text).toContain(word);
    expect(text).toContain('No test rejects the model at alpha = 0.01.');
  });
});

describe('check rejects flows of another model, on the features that differ', () => {
  const base = model();
  const cases: [string, Parameters<typeof definition>[0], string[]][] = [
    ['longer packets', { length: { family: 'normal', mean: 330, stddev: 80 } }, ['lengths']],
    ['other bytes', { weights: BINARYISH }, ['bytes']],
    ['faster flow', { flow: { family: 'poisson', mean: 18 } }, ['packets/s']],
    ['longer connections', { duration: { family: 'uniform', min: 6000, max: 12000 } }, ['duration']],
  ];
  test.each(cases)('%s', (_name, overrides, failing) => {
    const report = checkModel(base, sampleFlows(model(overrides), 40, 11), { alpha: 0.01 });
    const rejected = report.rows.filter((r) => r.reject).map((r) => r.test);
    expect(report.rejected).toBe(true);
    expect(new Set(rejected)).toEqual(new Set(failing));
    if (failing[0] !== 'duration') expect(rejected).toHaveLength(2); // both directions
    expect(formatCheckReport(report)).toMatch(/\d test\(s\) reject the model at alpha = 0\.01\./);
  });

  test('a missing prefix shows up in the bytes', () => {
    const withPrefix = model({ prefix: { ascii: 'HELLO HELLO HELLO HELLO HELLO' } });
    const report = checkModel(withPrefix, sampleFlows(base, 40, 3));
    const rows = rowsOf(report);
    expect(rows['client→server bytes']!.note).toContain('prefix left out in 0 flow(s)');
  });
});

describe('edge cases', () => {
  test('on_demand flows and empty captures skip tests instead of failing', () => {
    const m = model({ flow: { family: 'on_demand' } });
    const report = checkModel(m, []);
    expect(report.rejected).toBe(false);
    expect(report.rows.every((r) => r.pValue === null && !r.reject)).toBe(true);
    expect(rowsOf(report)['client→server packets/s']!.note).toContain('on_demand');
    expect(formatCheckReport(report)).toContain('skipped');
  });

  test('bad arguments throw', () => {
    expect(() => checkModel(model(), [], { alpha: 0 })).toThrow(RangeError);
    expect(() => checkModel(model(), [], { alpha: 1.5 })).toThrow(RangeError);
    expect(() => checkModel(model(), 'x' as unknown as TcpFlow[])).toThrow(TypeError);
    expect(() => observeDirection([], 'up' as 'c2s')).toThrow(TypeError);
  });
});

describe('real DustSession traffic passes its own model', () => {
  // Short connections so that 30 of them run quickly; the text model's bytes and a prefix.
  const m = parseModel(
    {
      ...definition({ prefix: { ascii: 'GET / HTTP/1.1\r\n' }, duration: { family: 'uniform', min: 2500, max: 6000 } }),
      server_to_client: {
        content: { weights: BINARYISH },
        length_bytes: { family: 'histogram', values: [{ value: 1448, weight: 3 }], bins: [{ min: 100, max: 1447, weight: 2 }] },
        flow_packets_per_second: { family: 'poisson', mean: 25 },
      },
    },
    'session-test',
  );

  const identity = generateServerIdentity(seededRandom(1000));

  function sessionFlow(seed: number): TcpFlow {
    // Every input seeded (the server key too), so the outcome is the same on every run.
    const pair = makePair(m, { clientRandom: seededRandom(2 * seed), serverRandom: seededRandom(2 * seed + 1), now: 0, identity });
    const end = pair.client.durationMs;
    const c2s: FlowPacket[] = [];
    const s2c: FlowPacket[] = [];
    let now = 0;
    for (let guard = 0; now < end && guard < 1_000_000; guard++) {
      for (const payload of sendDue(pair.client, now)) {
        c2s.push({ timeMs: now, payload });
        pair.server.putEncoded(payload);
      }
      for (const payload of sendDue(pair.server, now)) {
        s2c.push({ timeMs: now, payload });
        pair.client.putEncoded(payload);
      }
      now = Math.max(now, Math.min(pair.client.nextWakeup(), pair.server.nextWakeup()));
    }
    expect(pair.client.state).toBe('open');
    return { client: endpoint(50000 + seed), server: endpoint(443), startMs: 0, endMs: end, c2s, s2c };
  }

  test('30 connections: no rejection at alpha = 0.01', () => {
    const flows = Array.from({ length: 30 }, (_, i) => sessionFlow(i + 1));
    const report = checkModel(m, flows, { alpha: 0.01 });
    if (report.rejected || process.env.DUST_STATS_REPORT) console.log(formatCheckReport(report));
    expect(report.rows.every((r) => r.pValue !== null)).toBe(true);
    expect(report.rejected).toBe(false);
    expect(rowsOf(report)['client→server bytes']!.note).toContain('prefix left out in 30 flow(s)');
  });
});


describe('dust model check', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  let restore: () => void;
  beforeEach(() => ({ dir, out, err, restore } = cliSandbox('dust-check-')));
  afterEach(() => restore());

  test('exit 0 for a capture of the model, 1 for another model, with the table on stdout', async () => {
    const modelPath = join(dir, 'm.json');
    writeFileSync(modelPath, JSON.stringify(definition()));
    const pcap = join(dir, 'dust.pcap');
    writeFileSync(pcap, flowsToPcap(sampleFlows(model(), 30, 21)));
    expect(await runModelCheck([modelPath, pcap, '--alpha', '0.01'])).toBe(0);
    expect(out.join('')).toContain('model check-test, 30 flow(s)');
    expect(out.join('')).toContain('No test rejects the model at alpha = 0.01.');
    out.length = 0;
    const otherPath = join(dir, 'other.json');
    writeFileSync(otherPath, JSON.stringify(definition({ length: { family: 'normal', mean: 340, stddev: 80 } })));
    expect(await runModelCheck([otherPath, pcap])).toBe(1);
    expect(out.join('')).toMatch(/client→server\s+lengths.*REJECT/);
    expect(out.join('')).toContain('2 test(s) reject the model at alpha = 0.01.');
    out.length = 0;
    // A port no flow uses: every test is skipped, nothing rejects.
    expect(await runModelCheck([otherPath, pcap, '--port', '1'])).toBe(0);
    expect(out.join('')).toContain('model check-test, 0 flow(s)');
  });

  test('bad input exits 2', async () => {
    const pcap = join(dir, 'empty.pcap');
    writeFileSync(pcap, flowsToPcap([]));
    expect(await runModelCheck(['text'])).toBe(2);
    expect(err.join('')).toContain('model check needs a MODEL and at least one CAPTURE file');
    expect(await runModelCheck(['text', pcap, '--alpha', '2'])).toBe(2);
    expect(await runModelCheck(['text', pcap, '--alpha', 'x'])).toBe(2);
    expect(await runModelCheck(['nosuchmodel', pcap])).toBe(2);
    writeFileSync(join(dir, 'bad.json'), '{"format": "dust-model/2"}');
    err.length = 0;
    expect(await runModelCheck([join(dir, 'bad.json'), pcap])).toBe(2);
    expect(err.join('')).toContain('unsupported format');
    expect(await runModelCheck(['text', join(dir, 'nope.pcap')])).toBe(2);
    expect(await runModelCheck(['text', pcap])).toBe(0);
    expect(await runModelCheck(['--help'])).toBe(0);
  });
});
