/**
 * `dust model build` (src/tools/model-build.ts, src/cli/model-cmd.ts): a model built from
 * synthetic HTTP-like traffic parses (docs/models.md) and its lengths, bytes, packets per second,
 * prefixes and durations match the traffic; binning, prefix trimming and errors; the command from
 * pcap/pcapng files to a model file, with progress and one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runModel, type CommandIo } from '../src/cli/model-cmd.js';
import { reassembleFlows, type FlowPacket, type TcpFlow } from '../src/tools/flows.js';
import {
  buildModel,
  empiricalDistribution,
  formatModelJson,
  ModelBuildError,
  packetsPerWindow,
  QUANTITIES,
  sharedPrefix,
} from '../src/tools/model-build.js';
import { readCapture } from '../src/tools/pcap.js';
import { loadModelFromText, ModelError, parseModel, type DistributionJson } from '../src/shaping/model.js';
import { buildCli } from './support/build-cli.js';
import { ACK, FIN, LINK, PSH, SYN, frame, ipPacket, pcapFile, pcapngFile, type Record as CaptureRecord, type SegmentSpec } from './support/capture-writer.js';

const enc = new TextEncoder();
const T0 = 1_700_000_000_000;

/** Deterministic pseudo-random numbers (xorshift32), so the traffic is the same every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** One synthetic HTTP exchange, as the sender wrote it. */
interface Exchange {
  start: number;
  end: number;
  c2s: Array<{ t: number; data: Uint8Array }>;
  s2c: Array<{ t: number; data: Uint8Array }>;
}

/** `n` HTTP-like connections: a request, then a header and body chunks spread over ~0–3 s. */
function traffic(n: number, seed = 7): Exchange[] {
  const r = rng(seed);
  const out: Exchange[] = [];
  for (let i = 0; i < n; i++) {
    const start = T0 + i * 10_000 + r(1000);
    const path = ['/index.html', '/info', '/img/logo.png', `/files/${r(100_000)}.bin`][i % 4]!;
    const request = enc.encode(`GET ${path} HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t/${r(9)}\r\n\r\n`);
    const bodyLength = 200 + r(9000);
    const header = enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${bodyLength}\r\n\r\n`);
    const s2c: Exchange['s2c'] = [{ t: start + 3, data: header }];
    let t = start + 4;
    for (let left = bodyLength; left > 0; ) {
      const len = Math.min(left, r(3) === 0 ? 1 + r(1447) : 1448);
      s2c.push({ t, data: Uint8Array.from({ length: len }, () => (r(4) === 0 ? r(256) : 97 + r(26))) });
      left -= len;
      t += r(700);
    }
    out.push({ start, end: t + 1, c2s: [{ t: start + 2, data: request }], s2c });
  }
  return out;
}

/** The exchanges as TCP segments (handshake, data, close). */
function segmentsOf(exchanges: Exchange[]): Array<{ timeMs: number; spec: SegmentSpec }> {
  const out: Array<{ timeMs: number; spec: SegmentSpec }> = [];
  exchanges.forEach((x, i) => {
    const c = { ip: '10.1.0.1', port: 40000 + i };
    const s = { ip: '10.1.0.2', port: 8080 };
    let cs = 1000 * i;
    let ss = 77_000 + i;
    out.push({ timeMs: x.start, spec: { src: c, dst: s, seq: cs++, flags: SYN } });
    out.push({ timeMs: x.start + 1, spec: { src: s, dst: c, seq: ss++, flags: SYN | ACK } });
    for (const p of x.c2s) {
      out.push({ timeMs: p.t, spec: { src: c, dst: s, seq: cs, flags: ACK | PSH, payload: p.data } });
      cs += p.data.length;
    }
    for (const p of x.s2c) {
      out.push({ timeMs: p.t, spec: { src: s, dst: c, seq: ss, flags: ACK, payload: p.data } });
      ss += p.data.length;
    }
    out.push({ timeMs: x.end, spec: { src: c, dst: s, seq: cs, flags: FIN | ACK } });
  });
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

/** The exchanges as reassembled flows, built directly (no capture involved). */
function flowsOf(exchanges: Exchange[]): TcpFlow[] {
  const packets = (list: Exchange['c2s']): FlowPacket[] => list.map((p) => ({ timeMs: p.t, payload: p.data }));
  return exchanges.map((x, i) => ({
    client: { ip: '10.1.0.1', port: 40000 + i },
    server: { ip: '10.1.0.2', port: 8080 },
    startMs: x.start,
    endMs: x.end,
    c2s: packets(x.c2s),
    s2c: packets(x.s2c),
  }));
}

/** Counts per value of a histogram/fixed distribution (values only). */
function valueWeights(d: DistributionJson): Map<number, number> {
  if (d.family === 'fixed') return new Map([[d.value, 1]]);
  if (d.family !== 'histogram' || d.bins) throw new Error(`expected exact values, got ${JSON.stringify(d).slice(0, 80)}`);
  return new Map(d.values!.map((v) => [v.value, v.weight]));
}

function tally(xs: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

describe('a model built from synthetic HTTP traffic', () => {
  const exchanges = traffic(24);
  const model = buildModel(flowsOf(exchanges), { name: 'synthetic-http' });
  const c2sPrefix = 'GET /';
  const s2cPrefix = 'HTTP/1.1 200 OK\r\n'; // "Content-Length: " is shared too, but not a whole line

  test('is a valid dust-model/1 model, and its formatted JSON reads back to the same model', () => {
    expect(parseModel(model, 't').definition).toEqual(model);
    const text = formatModelJson(model);
    expect(loadModelFromText(text, 'built.json').definition).toEqual(model);
    expect(text.split('\n').length).toBeLessThan(200); // weights 16 to a line
    expect(model.description).toMatch(/^Built by "dust model build" from 24 captured TCP flows: client to server 24 packets, \d+ bytes, a 5-byte prefix; server to client \d+ packets/);
  });

  test('prefixes: what every connection starts with, cut at a token boundary', () => {
    expect(Buffer.from(model.client_to_server.prefix!.hex, 'hex').toString()).toBe(c2sPrefix);
    expect(Buffer.from(model.server_to_client.prefix!.hex, 'hex').toString()).toBe(s2cPrefix);
  });

  test('lengths: exactly the payload lengths sent, per direction', () => {
    for (const [dir, json] of [['c2s', model.client_to_server], ['s2c', model.server_to_client]] as const) {
      const expected = tally(exchanges.flatMap((x) => x[dir].map((p) => p.data.length)));
      expect(valueWeights(json.length_bytes)).toEqual(expected);
    }
  });

  test('bytes: the count of each byte value after the prefix, plus one', () => {
    for (const [dir, json, prefix] of [['c2s', model.client_to_server, c2sPrefix], ['s2c', model.server_to_client, s2cPrefix]] as const) {
      const counts = new Array<number>(256).fill(1);
      for (const x of exchanges) {
        x[dir].forEach((p, i) => {
          for (const b of i === 0 ? p.data.subarray(prefix.length) : p.data) counts[b]!++;
        });
      }
      expect((json.content as { weights: number[] }).weights).toEqual(counts);
    }
  });

  test('packets per second: per flow and one-second window from the flow start, idle seconds as 0', () => {
    for (const [dir, json] of [['c2s', model.client_to_server], ['s2c', model.server_to_client]] as const) {
      const counts: number[] = [];
      for (const x of exchanges) {
        const windows = Math.max(1, Math.ceil((x.end - x.start) / 1000));
        const w = new Array<number>(windows).fill(0);
        for (const p of x[dir]) w[Math.min(windows - 1, Math.floor((p.t - x.start) / 1000))]!++;
        counts.push(...w);
      }
      expect(valueWeights(json.flow_packets_per_second as DistributionJson)).toEqual(tally(counts));
    }
  });

  test('durations: first to last segment of each flow, in ms', () => {
    expect(valueWeights(model.duration_ms)).toEqual(tally(exchanges.map((x) => x.end - x.start)));
  });

  test('the same model comes out of a pcap and a pcapng capture of that traffic', () => {
    const segs = segmentsOf(exchanges);
    const recs: CaptureRecord[] = segs.map((s) => ({ timeMs: s.timeMs, data: frame(LINK.ETHERNET, ipPacket(s.spec)) }));
    const fromPcap = buildModel(reassembleFlows(readCapture(pcapFile(recs, { linkType: LINK.ETHERNET }), 'a.pcap')), { name: 'synthetic-http' });
    const fromNg = buildModel(reassembleFlows(readCapture(pcapngFile(recs, [{ linkType: LINK.ETHERNET, tsresol: 9 }]), 'a.pcapng')), { name: 'synthetic-http' });
    expect(fromPcap).toEqual(model);
    expect(fromNg).toEqual(model);
  });
});

describe('empirical distributions', () => {
  test('one value is fixed; a few are exact histogram values', () => {
    expect(empiricalDistribution([5, 5, 5], QUANTITIES.length)).toEqual({ family: 'fixed', value: 5 });
    expect(empiricalDistribution([3, 1, 3], QUANTITIES.length)).toEqual({ family: 'histogram', values: [{ value: 1, weight: 1 }, { value: 3, weight: 2 }] });
    // clamped into the valid range
    expect(empiricalDistribution([0, 70000], QUANTITIES.length)).toEqual({ family: 'histogram', values: [{ value: 1, weight: 1 }, { value: 65535, weight: 1 }] });
  });

  test('many distinct lengths: frequent ones exact, the rest in at most 64 equal-count bins that fit the data', () => {
    const r = rng(99);
    const samples: number[] = [];
    for (let i = 0; i < 20_000; i++) samples.push(i % 2 === 0 ? 1448 : i % 7 === 0 ? 52 : 1 + r(1447));
    const json = empiricalDistribution(samples, QUANTITIES.length);
    if (json.family !== 'histogram') throw new Error('expected a histogram');
    expect(json.values!.map((v) => v.value)).toEqual([52, 1448]);
    expect(json.bins!.length).toBeLessThanOrEqual(64);
    expect(json.bins!.length).toBeGreaterThan(32);
    const total = json.values!.reduce((s, v) => s + v.weight, 0) + json.bins!.reduce((s, b) => s + b.weight, 0);
    expect(total).toBe(samples.length);
    for (let i = 1; i < json.bins!.length; i++) expect(json.bins![i]!.min).toBeGreaterThan(json.bins![i - 1]!.max);
    // The model's CDF stays close to the samples' (Kolmogorov distance).
    const d = parseModel(
      { format: 'dust-model/1', name: 'x', duration_ms: { family: 'fixed', value: 1 }, client_to_server: dir(json), server_to_client: dir(json) },
      't',
    ).clientToServer.lengthBytes;
    const sorted = [...samples].sort((a, b) => a - b);
    let ks = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (sorted[i + 1] === sorted[i]) continue;
      ks = Math.max(ks, Math.abs(d.cdf(sorted[i]!) - (i + 1) / sorted.length));
    }
    expect(ks).toBeLessThan(0.02);
  });

  test('real-valued durations: bins need min < max, so single values become point masses', () => {
    const samples = Array.from({ length: 200 }, (_, i) => (i < 100 ? 30_000 : 1000 + i * 13.5));
    const json = empiricalDistribution(samples, QUANTITIES.duration);
    if (json.family !== 'histogram') throw new Error('expected a histogram');
    expect(json.values).toContainEqual({ value: 30_000, weight: 100 });
    for (const b of json.bins!) expect(b.max).toBeGreaterThan(b.min);
    expect(json.bins!.length).toBeLessThanOrEqual(32);
  });
});

function dir(length: DistributionJson) {
  return { content: { weights: new Array(256).fill(1) }, length_bytes: length, flow_packets_per_second: { family: 'fixed', value: 1 } };
}

describe('shared prefix', () => {
  const b = (s: string) => enc.encode(s);
  test.each([
    [['GET /index.html HTTP/1.1', 'GET /info HTTP/1.1'], 'GET /'],
    [['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 404 Not Found\r\n'], 'HTTP/1.1 '],
    [['SSH-2.0-OpenSSH_9.2p1 Debian', 'SSH-2.0-OpenSSH_9.6\r\n'], 'SSH-2.0-OpenSSH_9.'],
    [['HTTP/1.0 200 OK\r\nServer: x/1\r\nDate: Thu, 01', 'HTTP/1.0 200 OK\r\nServer: x/1\r\nDate: Thu, 08'], 'HTTP/1.0 200 OK\r\nServer: x/1\r\n'],
    [['PING', 'PING'], 'PING'], // the whole message is a token
    [['GET', 'GET /x'], 'GET'], // one payload ends, the other continues with a delimiter
    [['abc', 'abd'], ''], // no boundary at all
    [['EHLO a', 'HELO b'], ''],
  ])('%j → %j', (payloads, expected) => {
    expect(Buffer.from(sharedPrefix(payloads.map(b))).toString()).toBe(expected);
  });

  test('binary prefixes are kept as they are (TLS record headers)', () => {
    const hello = (len: number) => Uint8Array.of(0x16, 0x03, 0x01, len >> 8, len & 0xff, 0x01);
    expect(Array.from(sharedPrefix([hello(512), hello(200)]))).toEqual([0x16, 0x03, 0x01]);
  });

  test('at most 64 bytes, then cut back to a boundary', () => {
    const long = 'GET /a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/aa/bb/cc HTTP/1.1';
    const p = Buffer.from(sharedPrefix([b(long), b(long)])).toString();
    expect(p.length).toBeLessThanOrEqual(64);
    // The first 64 bytes end inside "cc"; the last boundary before is the '/' after "bb".
    expect(long.slice(0, 64)).toMatch(/\/bb\/c$/);
    expect(p).toBe(long.slice(0, 63));
  });

  test('one flow is no evidence of a shared prefix: no prefix', () => {
    const [x] = traffic(1);
    const model = buildModel(flowsOf([x!]), { name: 'one' });
    expect(model.client_to_server.prefix).toBeUndefined();
    expect(model.server_to_client.prefix).toBeUndefined();
  });
});

describe('packets per window', () => {
  test('a three-day flow: idle seconds are counted without listing them; the duration is capped at 24 h', () => {
    const at = (t: number) => ({ timeMs: t, payload: new Uint8Array(10) });
    const days = 3 * 86_400_000;
    const flow: TcpFlow = { client: { ip: '10.0.0.1', port: 1 }, server: { ip: '10.0.0.2', port: 2 }, startMs: 0, endMs: days, c2s: [at(0), at(500)], s2c: [at(days)] };
    const model = buildModel([flow], { name: 'long' });
    expect(model.client_to_server.flow_packets_per_second).toEqual({ family: 'histogram', values: [{ value: 0, weight: 259_199 }, { value: 2, weight: 1 }] });
    expect(model.server_to_client.flow_packets_per_second).toEqual({ family: 'histogram', values: [{ value: 0, weight: 259_199 }, { value: 1, weight: 1 }] });
    expect(model.duration_ms).toEqual({ family: 'fixed', value: 86_400_000 });
  });

  test('windows from the flow start, the last one partial', () => {
    const at = (t: number) => ({ timeMs: t, payload: new Uint8Array(1) });
    expect(packetsPerWindow({ startMs: 0, endMs: 2500 }, [at(0), at(500), at(1200), at(2400)])).toEqual([2, 1, 1]);
    expect(packetsPerWindow({ startMs: 10, endMs: 10 }, [at(10), at(10)])).toEqual([2]);
    expect(packetsPerWindow({ startMs: 0, endMs: 3000 }, [])).toEqual([0, 0, 0]);
  });
});

describe('errors', () => {
  const [x] = traffic(1);
  const flow = flowsOf([x!])[0]!;
  test.each([
    ['no flows', [], /^no TCP flows in the capture/],
    ['no payload', [{ ...flow, c2s: [], s2c: [] }], /^none of the 1 TCP flows carries any payload$/],
    ['a silent server', [{ ...flow, s2c: [] }], /^the server sends no payload in any of the 1 flows; a model needs traffic both ways$/],
    ['a silent client', [{ ...flow, c2s: [] }], /^the client sends no payload/],
  ])('%s: ModelBuildError', (_, flows, message) => {
    let err: unknown;
    try {
      buildModel(flows as TcpFlow[], { name: 'x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelBuildError);
    expect((err as ModelBuildError).code).toBe('DUST_ERR_MODEL_BUILD');
    expect((err as Error).message).toMatch(message);
  });

  test('a bad name is a ModelError from validation; bad arguments are TypeErrors', () => {
    expect(() => buildModel([flow], { name: '-bad' })).toThrow(ModelError);
    expect(() => buildModel([flow], { name: '-bad' })).toThrow(/\$\.name: must be 1 to 64 characters/);
    expect(() => buildModel('x' as unknown as TcpFlow[], { name: 'x' })).toThrow(TypeError);
    expect(() => buildModel([flow], { name: 3 as unknown as string })).toThrow(/^options\.name must be a string, got number$/);
  });
});

describe('dust model build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dust-model-build-'));
  const exchanges = traffic(12, 3);
  const segs = segmentsOf(exchanges);
  const recs: CaptureRecord[] = segs.map((s) => ({ timeMs: s.timeMs, data: frame(LINK.SLL2, ipPacket(s.spec)) }));
  const pcapPath = join(dir, 'first.pcap');
  const ngPath = join(dir, 'second.pcapng');
  writeFileSync(pcapPath, pcapFile(recs.slice(0, recs.length / 2), { linkType: LINK.SLL2, nanoseconds: true }));
  writeFileSync(ngPath, pcapngFile(recs.slice(recs.length / 2), [{ linkType: LINK.SLL2 }]));

  function io(tty = false) {
    const out = { stdout: '', stderr: '' };
    const sink: CommandIo = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), stderrIsTTY: tty };
    return { out, sink };
  }

  test('captures in, a model file out, a summary on stdout', async () => {
    const { out, sink } = io();
    const output = join(dir, 'web.json');
    // The capture is split in two files mid-flow (as tcpdump -C rotates them): flows span both.
    const code = await runModel(['build', pcapPath, ngPath, '--port', '8080', '--host', '10.1.0.2', '-o', output], sink);
    expect({ code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    const model = loadModelFromText(readFileSync(output, 'utf8'), output);
    expect(model.name).toBe('web');
    expect(model.definition).toEqual(buildModel(flowsOf(exchanges), { name: 'web' }));
    expect(out.stdout).toMatch(
      new RegExp(`^wrote ${output.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: model "web" from \\d+ TCP flows with port 8080 and host 10\\.1\\.0\\.2; client to server \\d+ packets, \\d+ bytes, prefix "GET /"; server to client \\d+ packets, \\d+ bytes, prefix "HTTP/1\\.1 200 OK\\\\r\\\\n"\\n$`),
    );
  });

  test('--name and --description are used; a filter that keeps nothing is one clear line, exit 1', async () => {
    const { out, sink } = io();
    const output = join(dir, 'named.json');
    expect(await runModel(['build', pcapPath, '-o', output, '--name', 'my.model', '--description', 'from a test'], sink)).toBe(0);
    const model = loadModelFromText(readFileSync(output, 'utf8'), output);
    expect([model.name, model.description]).toEqual(['my.model', 'from a test']);
    const none = io();
    expect(await runModel(['build', pcapPath, '-o', output, '--port', '9'], none.sink)).toBe(1);
    expect(none.out.stderr).toMatch(/^dust: no TCP flows with port 9 in 1 capture \(\d+ TCP segments read\)\n$/);
    expect(out.stderr).toBe('');
  });

  test('a truncated or missing capture is one line naming the file and offset, exit 1', async () => {
    const cut = join(dir, 'cut.pcap');
    const whole = readFileSync(pcapPath);
    writeFileSync(cut, whole.subarray(0, whole.length - 5));
    const a = io();
    expect(await runModel(['build', cut, '-o', join(dir, 'x.json')], a.sink)).toBe(1);
    expect(a.out.stderr).toMatch(new RegExp(`^dust: ${cut.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: offset \\d+: the packet record is truncated: .*\\(the capture was cut off\\)\\n$`));
    const b = io();
    expect(await runModel(['build', join(dir, 'nope.pcap'), '-o', join(dir, 'x.json')], b.sink)).toBe(1);
    expect(b.out.stderr).toMatch(/^dust: cannot read .*nope\.pcap: no such file\n$/);
  });

  test('bytes the capture lacks are reported on stderr as a warning; the model is still written', async () => {
    // Leave out the first flow's response header: the stream after the SYN starts with a hole.
    const header = segs.findIndex((t) => t.spec.dst.port === 40000 && (t.spec.payload?.length ?? 0) > 0);
    const holed = segs.filter((_, i) => i !== header);
    expect(holed.length).toBe(segs.length - 1);
    const path = join(dir, 'holed.pcap');
    writeFileSync(path, pcapFile(holed.map((s) => ({ timeMs: s.timeMs, data: frame(LINK.RAW, ipPacket(s.spec)) })), { linkType: LINK.RAW }));
    const { out, sink } = io();
    expect(await runModel(['build', path, '-o', join(dir, 'holed.json')], sink)).toBe(0);
    expect(out.stderr).toMatch(/^dust: warning: the capture lacks \d+ bytes of stream data in 1 of 12 flows \(packets dropped while capturing\?\); lengths and packet rates from those flows are skewed\n$/);
  });

  test('progress on stderr for large files: 25% steps in a log, one updated line in a terminal', async () => {
    // ~9 MiB: 160 flows of ~56 KiB responses
    const big = traffic(160, 11).map((x) => ({ ...x, s2c: x.s2c.concat(Array.from({ length: 40 }, (_, k) => ({ t: x.end - 1, data: new Uint8Array(1448).fill(65 + (k % 26)) }))) }));
    const path = join(dir, 'big.pcap');
    const file = pcapFile(
      segmentsOf(big).map((s) => ({ timeMs: s.timeMs, data: frame(LINK.RAW, ipPacket(s.spec)) })),
      { linkType: LINK.RAW },
    );
    expect(file.length).toBeGreaterThan(8 * 1024 * 1024);
    writeFileSync(path, file);
    const log = io(false);
    expect(await runModel(['build', path, '-o', join(dir, 'big.json')], log.sink)).toBe(0);
    expect(log.out.stderr).toBe(['25%', '50%', '75%', '100%'].map((p) => `reading ${path}: ${p}\n`).join(''));
    const tty = io(true);
    expect(await runModel(['build', path, '-o', join(dir, 'big.json')], tty.sink)).toBe(0);
    expect(tty.out.stderr.startsWith(`\rreading ${path}: `)).toBe(true);
    expect(tty.out.stderr.endsWith(`\rreading ${path}: 100%\n`)).toBe(true);
    expect(tty.out.stderr.split('\n')).toHaveLength(2);
  });

  test('the executable: bad flags give one line and the usage, exit 2; --help exit 0', () => {
    const cli = buildCli();
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
    const cases: Array<[string[], string]> = [
      [['model', 'build', pcapPath, '-o', join(dir, 'y.json'), '--port', 'http'], 'dust: --port must be a TCP port number 1..65535, got "http"'],
      [['model', 'build', pcapPath, '-o', join(dir, 'y.json'), '--port', '0'], 'dust: --port must be a TCP port number 1..65535, got "0"'],
      [['model', 'build', pcapPath, '-o', join(dir, 'y.json'), '--host', 'example.org'], 'dust: --host must be an IPv4 or IPv6 address, got "example.org"'],
      [['model', 'build', pcapPath], 'dust: model build needs -o MODEL.json'],
      [['model', 'build', '-o', join(dir, 'y.json')], 'dust: model build needs at least one capture file'],
      [['model', 'build', pcapPath, '-o', join(dir, '-y.json')], 'dust: the model name taken from the file name ("-y") must be 1 to 64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit; give --name'],
      [['model', 'build', pcapPath, '-o', join(dir, 'y.json'), '--name', 'a b'], 'dust: --name must be 1 to 64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit, got "a b"'],
      [['model', 'frobnicate'], 'dust: unknown model subcommand "frobnicate" (expected build, check or plot)'],
      [['model'], 'dust: missing subcommand: build, check or plot'],
    ];
    for (const [args, line] of cases) {
      const r = run(args);
      expect({ args, status: r.status, first: r.stderr.split('\n')[0] }).toEqual({ args, status: 2, first: line });
      expect(r.stderr).toContain('usage: dust model build CAPTURE...');
    }
    const unknown = run(['model', 'build', pcapPath, '-o', join(dir, 'y.json'), '--prot', '80']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toMatch(/^dust: Unknown option '--prot'/);
    const help = run(['model', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: dust model <build\|check\|plot>/);
    const ok = run(['model', 'build', pcapPath, '-o', join(dir, 'z.json')]);
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^wrote .*z\.json: model "z" from \d+ TCP flows; /);
  });
});
