/**
 * `dust audit` detectors (issue 6; detection.md §1 GFW rule of Wu et al. 2023 with Ex1–Ex5 and the
 * block probability; §3A/B Wang et al. 2015 entropy and nibble tests): worked examples and every
 * exemption boundary, the Monte-Carlo table of §1, random (obfs4-like) first payloads flagged and
 * HTTP requests passed, per flow and in the summary.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flowsToPcap } from './support/capture-writer.js';
import { runAudit } from '../src/cli/audit-cmd.js';
import type { TcpFlow } from '../src/tools/flows.js';
import {
  auditFlows,
  formatAuditReport,
  GFW_BLOCK_PROBABILITY,
  gfwBlockedWithin,
  gfwRule,
  WANG,
  wangEntropyTest,
  wangNibbleTest,
  wangReferenceBlockEntropies,
} from '../src/tools/audit.js';
import { seededRandom } from './support/seeded-random.js';
import { cliSandbox } from './support/cli-sandbox.js';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
/** Non-printable bytes with exactly 4 bits set: a "random-looking" filler that no exemption likes. */
const filler = (n: number): Uint8Array => new Uint8Array(n).fill(0x87);

describe('GFW fully-encrypted-traffic rule (Wu et al. 2023, Algorithm 1)', () => {
  test('worked examples of detection.md §1 and of the authors\' detect.py', () => {
    // "\x21" then 200 random bytes was never blocked: only the first packet counts, and "!" is exempt.
    const bang = gfwRule(ascii('!'));
    expect(bang.flagged).toBe(false);
    expect(bang.popcountPerByte).toBe(2);
    expect(bang.exemptions).toEqual(['Ex1', 'Ex3']);
    // detect.py's usage example, "Hello, world!".
    const hello = gfwRule(ascii('Hello, world!'));
    expect(hello.leadingPrintable).toBe(13);
    expect(hello.longestPrintableRun).toBe(13);
    expect(hello.printableFraction).toBe(1);
    expect(hello.exemptions).toContain('Ex2');
    expect(hello.flagged).toBe(false);
    expect(hello.blockProbability).toBe(0);
    // Chinese text in UTF-8 is not exempt by itself (no exemption for it: it was blocked).
    const chinese = gfwRule(new TextEncoder().encode('你好世界，这是一个测试消息，没有任何英文字母在这里面出现'));
    expect(chinese.printableFraction).toBe(0);
    expect(chinese.exemptions.filter((e) => e !== 'Ex1')).toEqual([]);
  });

  test('a payload no exemption covers is flagged and blocked with probability 0.263', () => {
    const v = gfwRule(filler(40));
    expect(v.popcountPerByte).toBe(4);
    expect(v.exemptions).toEqual([]);
    expect(v.flagged).toBe(true);
    expect(v.blockProbability).toBe(GFW_BLOCK_PROBABILITY);
    expect(GFW_BLOCK_PROBABILITY).toBe(0.263);
  });

  test('Ex1: popcount per byte <= 3.4 or >= 4.6 (inclusive bounds)', () => {
    // 0x87 and 0x8b have 4 bits, 0x83 has 3, 0x8f has 5; all are non-printable.
    const mix = (counts: [number, number][]): Uint8Array => concat(...counts.map(([b, n]) => new Uint8Array(n).fill(b)));
    expect(gfwRule(mix([[0x87, 4], [0x83, 6]])).popcountPerByte).toBeCloseTo(3.4, 14);
    expect(gfwRule(mix([[0x87, 4], [0x83, 6]])).exemptions).toEqual(['Ex1']);
    expect(gfwRule(mix([[0x87, 5], [0x83, 5]])).flagged).toBe(true); // 3.5
    expect(gfwRule(mix([[0x8f, 6], [0x87, 4]])).exemptions).toEqual(['Ex1']); // 4.6
    expect(gfwRule(mix([[0x8f, 5], [0x87, 5]])).flagged).toBe(true); // 4.5
    expect(gfwRule(new Uint8Array(10)).exemptions).toEqual(['Ex1']); // zeros: popcount 0
  });

  test('Ex2: six or more leading printable bytes', () => {
    expect(gfwRule(concat(ascii('\x87abcdef'), filler(30))).flagged).toBe(true);
    expect(gfwRule(concat(ascii('abcde'), filler(30))).flagged).toBe(true);
    const six = gfwRule(concat(ascii('abcdef'), filler(30)));
    expect(six.leadingPrintable).toBe(6);
    expect(six.exemptions).toEqual(['Ex2']);
  });

  test('Ex3: more than half of the bytes printable (exactly half is not enough)', () => {
    // Alternate filler and printable so that neither Ex2 nor Ex4 applies; 'w' = 0x77 has 6 bits,
    // 'A' = 0x41 has 2, so the mean popcount stays 4.
    const half = concat(...Array.from({ length: 10 }, (_, i) => Uint8Array.of(0x87, i % 2 ? 0x77 : 0x41)));
    expect(gfwRule(half).printableFraction).toBe(0.5);
    expect(gfwRule(half).flagged).toBe(true);
    const more = concat(half, ascii('K')); // 0x4b, 4 bits
    expect(gfwRule(more).exemptions).toEqual(['Ex3']);
  });

  test('Ex4: a printable run longer than 20 bytes', () => {
    const run = (n: number) => concat(filler(1), new Uint8Array(n).fill(0x4b), filler(40));
    expect(gfwRule(run(20)).longestPrintableRun).toBe(20);
    expect(gfwRule(run(20)).flagged).toBe(true);
    expect(gfwRule(run(21)).exemptions).toEqual(['Ex4']);
  });

  test('Ex5: TLS and HTTP fingerprints', () => {
    for (const head of [[0x16, 0x03, 0x01], [0x17, 0x03, 0x03], [0x16, 0x03, 0x00], [0x16, 0x03, 0x09]]) {
      const v = gfwRule(concat(Uint8Array.from(head), filler(40)));
      expect(v.fingerprint).toBe('TLS');
      expect(v.exemptions).toEqual(['Ex5']);
    }
    // detection.md: byte 2 in 00..09 only; 0x15 is not a TLS content type here.
    expect(gfwRule(concat(Uint8Array.of(0x16, 0x03, 0x0a), filler(40))).flagged).toBe(true);
    expect(gfwRule(concat(Uint8Array.of(0x15, 0x03, 0x01), filler(40))).flagged).toBe(true);
    for (const method of ['GET ', 'PUT ', 'POST ', 'HEAD ']) {
      expect(gfwRule(concat(ascii(method), filler(40))).fingerprint).toBe(method);
    }
    // The authors' list has no DELETE/OPTIONS (OpenGFW's has), and "GET" needs its space.
    expect(gfwRule(concat(ascii('DEL '), filler(40))).flagged).toBe(true);
    expect(gfwRule(concat(ascii('GET'), filler(40))).flagged).toBe(true);
  });

  test('uniformly random first packets: the flagged fractions of detection.md §1 (20,000 per length)', () => {
    const random = seededRandom(1);
    const table: [number, number][] = [[8, 0.64], [16, 0.82], [32, 0.94], [50, 0.97], [100, 0.994], [200, 0.997], [500, 0.998], [1400, 0.998]];
    for (const [length, expected] of table) {
      let flagged = 0;
      for (let i = 0; i < 20_000; i++) if (gfwRule(random(length)).flagged) flagged++;
      // Binomial sd at p = 0.64 is 0.0034: the table's two digits are met to within 0.01.
      expect(Math.abs(flagged / 20_000 - expected)).toBeLessThan(0.01);
    }
    // The residual at large n is Ex2: (95/256)^6 of random payloads start with 6 printable bytes.
    expect((95 / 256) ** 6).toBeCloseTo(0.0026, 4);
  });

  test('P(blocked within k connections) = 1 - (1 - 0.263 f)^k', () => {
    expect(gfwBlockedWithin(1, 1)).toBeCloseTo(0.263, 15);
    expect(gfwBlockedWithin(0, 100)).toBe(0);
    expect(gfwBlockedWithin(0.5, 10)).toBeCloseTo(1 - (1 - 0.1315) ** 10, 15);
    expect(() => gfwBlockedWithin(1.5, 1)).toThrow(RangeError);
    expect(() => gfwBlockedWithin(0.5, -1)).toThrow(RangeError);
    expect(() => gfwRule(new Uint8Array(0))).toThrow(RangeError);
  });
});

describe('Wang et al. 2015 entropy and nibble tests', () => {
  test('reference: entropy of 8 random bytes is 3.0 w.p. 0.896, 2.75 w.p. 0.100, 2.5 w.p. 0.003', () => {
    const { atoms, cumulative } = wangReferenceBlockEntropies();
    const pmf = (h: number): number => {
      const i = atoms.findIndex((a) => Math.abs(a - h) < 1e-9);
      return i < 0 ? 0 : cumulative[i]! - (i > 0 ? cumulative[i - 1]! : 0);
    };
    let allDistinct = 1;
    for (let i = 0; i < 8; i++) allDistinct *= (256 - i) / 256;
    expect(pmf(3)).toBeCloseTo(allDistinct, 14);
    expect(pmf(3)).toBeCloseTo(0.896, 2); // exactly 0.89542…; detection.md quotes a simulation
    expect(pmf(2.75)).toBeCloseTo(0.1, 2);
    expect(pmf(2.5)).toBeCloseTo(0.003, 3);
    expect(cumulative[cumulative.length - 1]).toBeCloseTo(1, 14);
    expect(atoms[0]).toBe(0); // all eight bytes equal
  });

  test('no decision below 149 bytes; only the first 2,048 bytes count', () => {
    const random = seededRandom(2);
    expect(wangEntropyTest(random(148)).decision).toBe('no-decision');
    expect(wangNibbleTest(random(148)).decision).toBe('no-decision');
    expect(wangEntropyTest(random(149)).decision).not.toBe('no-decision');
    const head = random(WANG.bytesUsed);
    const long = concat(head, new Uint8Array(3000));
    expect(wangEntropyTest(long)).toEqual(wangEntropyTest(head));
    expect(wangNibbleTest(long)).toEqual(wangNibbleTest(head));
    expect(wangEntropyTest(head).samples).toBe(256);
    expect(wangNibbleTest(head).samples).toBe(4096);
  });

  test('block entropies exactly like the reference have distance 0, all-distinct blocks 1 - 0.896', () => {
    const distinct = Uint8Array.from({ length: 800 }, (_, i) => i % 256);
    const v = wangEntropyTest(distinct);
    expect(v.statistic).toBeCloseTo(wangReferenceBlockEntropies().cumulative.at(-2)!, 12);
    // 100 blocks at D ≈ 0.104: p ≈ 0.2 by the asymptotic formula, so flagged as random.
    expect(v.decision).toBe('flag');
    // Every byte value equally often: the nibble distribution is exactly uniform.
    expect(wangNibbleTest(Uint8Array.from({ length: 512 }, (_, i) => i % 256)).statistic).toBeCloseTo(0, 14);
  });

  test('random payloads are flagged, HTTP requests pass', () => {
    const random = seededRandom(3);
    let entropyFlags = 0;
    let nibbleFlags = 0;
    for (let i = 0; i < 200; i++) {
      const p = random(149 + ((i * 37) % 1300));
      if (wangEntropyTest(p).decision === 'flag') entropyFlags++;
      if (wangNibbleTest(p).decision === 'flag') nibbleFlags++;
    }
    expect(entropyFlags).toBeGreaterThanOrEqual(190);
    expect(nibbleFlags).toBeGreaterThanOrEqual(170);
    for (const request of httpRequests()) {
      expect(wangEntropyTest(request).decision).toBe('pass');
      expect(wangNibbleTest(request).decision).toBe('pass');
    }
  });
});

function httpRequests(): Uint8Array[] {
  const paths = ['/', '/index.html', '/files/big.bin', '/images/logo.png?v=12', '/api/v1/items?page=3&sort=desc'];
  return paths.map((path, i) =>
    ascii(
      `${i % 2 ? 'GET' : 'HEAD'} ${path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n` +
        `Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n`,
    ),
  );
}

function flowWith(firstClientPayloads: Uint8Array[], port: number): TcpFlow {
  return {
    client: { ip: '10.0.0.2', port },
    server: { ip: '2001:db8::1', port: 443 },
    startMs: 1_700_000_000_000 + port,
    endMs: 1_700_000_001_000 + port,
    c2s: firstClientPayloads.map((payload, i) => ({ timeMs: 1_700_000_000_001 + port + i, payload })),
    s2c: [{ timeMs: 1_700_000_000_000 + port, payload: ascii('220 ready\r\n') }],
  };
}

describe('audit per flow and summary', () => {
  const random = seededRandom(4);
  // obfs4-like: the first client segment is random, 141..1448 bytes.
  const obfs4 = Array.from({ length: 30 }, (_, i) => flowWith([random(141 + ((i * 97) % 1308)), random(500)], 30000 + i));
  const http = httpRequests().map((r, i) => flowWith([r, random(1000)], 40000 + i));
  const silent = flowWith([], 50000); // the client never sent data

  test('random first payloads are flagged by all three detectors, HTTP by none', () => {
    const report = auditFlows([...obfs4, ...http, silent]);
    const [gfw, entropy, nibble] = report.summary;
    expect(report.flows).toHaveLength(36);
    expect(gfw!.flows).toBe(35);
    expect(gfw!.flagged).toBeGreaterThanOrEqual(29);
    expect(entropy!.flagged).toBeGreaterThanOrEqual(28);
    expect(nibble!.flagged).toBeGreaterThanOrEqual(25);
    for (const a of report.flows.slice(30, 35)) {
      expect(a.gfw!.flagged).toBe(false);
      expect(a.gfw!.exemptions).toEqual(expect.arrayContaining(['Ex2', 'Ex3', 'Ex4', 'Ex5']));
      expect(a.wangEntropy!.decision).toBe('pass');
      expect(a.wangNibble!.decision).toBe('pass');
    }
    expect(report.flows[35]!.gfw).toBeNull();
    expect(report.gfwBlockProbability).toBeCloseTo(0.263 * gfw!.fraction, 15);
  });

  test('only HTTP: nothing flagged, block probability 0', () => {
    const report = auditFlows(http);
    expect(report.summary.map((s) => s.flagged)).toEqual([0, 0, 0]);
    expect(report.gfwBlockProbability).toBe(0);
  });

  test('the printed report lists each flow and the summary', () => {
    const report = auditFlows([...obfs4.slice(0, 2), ...http.slice(0, 1), silent]);
    const text = formatAuditReport(report);
    expect(text).toContain('10.0.0.2:30000 → [2001:db8::1]:443');
    expect(text).toContain('FLAG');
    expect(text).toContain('Ex2,Ex3,Ex4,Ex5');
    expect(text).toContain('no client data');
    expect(text).toContain('GFW fully-encrypted rule (Wu et al. 2023)');
    expect(text).toContain('Wang et al. 2015 block-entropy KS (p >= 0.1)');
    expect(text).toMatch(/P\(blocked within k connections\) = 1 - \(1 - 0\.263·f\)\^k, f = 66\.7%: 1: 17\.5%, 10: 85\.5%, 100: 100\.0%\./);
  });

  test('short first payloads get no Wang decision but a GFW verdict', () => {
    const report = auditFlows([flowWith([random(60)], 1)]);
    expect(report.flows[0]!.gfw).not.toBeNull();
    expect(report.flows[0]!.wangEntropy!.decision).toBe('no-decision');
    expect(report.summary[1]!.noDecision).toBe(1);
    expect(formatAuditReport(report)).toContain('no decision (<149 B)');
  });
});


describe('dust audit', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  let restore: () => void;
  beforeEach(() => ({ dir, out, err, restore } = cliSandbox('dust-audit-')));
  afterEach(() => restore());

  test('a capture of obfs4-like and HTTP flows: random ones flagged, HTTP passed, --port filters', async () => {
    const random = seededRandom(9);
    const flows = [
      ...Array.from({ length: 6 }, (_, i) => ({ ...flowWith([random(300 + 100 * i), random(800)], 30000 + i), server: { ip: '10.0.0.1', port: 443 } })),
      ...httpRequests().map((r, i) => ({ ...flowWith([r], 40000 + i), server: { ip: '10.0.0.1', port: 80 } })),
    ];
    const path = join(dir, 'mixed.pcap');
    writeFileSync(path, flowsToPcap(flows));
    expect(await runAudit([path])).toBe(0);
    const text = out.join('');
    expect(text).toContain('11 flow(s)');
    expect(text).toMatch(/GFW fully-encrypted rule \(Wu et al\. 2023\)\s+6\s+11\s+54\.5%/);
    expect(text.split('\n').filter((l) => l.includes(':443') && l.includes('FLAG'))).toHaveLength(6);
    expect(text.split('\n').filter((l) => l.includes(':80 ') && l.includes('pass'))).toHaveLength(5);
    out.length = 0;
    expect(await runAudit([path, '--port', '80'])).toBe(0);
    expect(out.join('')).toMatch(/GFW fully-encrypted rule \(Wu et al\. 2023\)\s+0\s+5\s+0\.0%/);
    out.length = 0;
    expect(await runAudit([path, path, '--host', '10.0.0.1'])).toBe(0); // two files: flows add up
    expect(out.join('')).toContain('22 flow(s)');
  });

  test('a capture of 8 MiB or more reports its progress on stderr in 25% steps', async () => {
    const big = Array.from({ length: 3 }, (_, i) => ({ ...flowWith(Array.from({ length: 50 }, () => new Uint8Array(60_000).fill(0x41 + i)), 20000 + i), server: { ip: '10.0.0.1', port: 443 } }));
    const path = join(dir, 'big.pcap');
    writeFileSync(path, flowsToPcap(big));
    expect(await runAudit([path])).toBe(0);
    expect(err.join('')).toBe([0, 25, 50, 75, 100].map((p) => `reading ${path}: ${p}%\n`).join(''));
    expect(out.join('')).toContain('3 flow(s)');
  });

  test('bad input exits 2 with a one-line reason', async () => {
    expect(await runAudit([])).toBe(2);
    expect(err.join('')).toContain('dust: audit needs at least one CAPTURE file');
    expect(await runAudit([join(dir, 'missing.pcap')])).toBe(2);
    writeFileSync(join(dir, 'short.pcap'), new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]));
    err.length = 0;
    expect(await runAudit([join(dir, 'short.pcap')])).toBe(2);
    expect(err.join('')).toMatch(/^dust: .*short\.pcap.*\n$/);
    expect(await runAudit([join(dir, 'short.pcap'), '--port', 'http'])).toBe(2);
    expect(await runAudit(['--nope'])).toBe(2);
    expect(await runAudit(['-h'])).toBe(0);
    expect(out.join('')).toContain('usage: dust audit CAPTURE...');
  });
});
