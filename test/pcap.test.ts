/**
 * The capture reader (src/tools/pcap.ts) against hand-built pcap and pcapng files: both byte
 * orders, µs/ns and pcapng timestamp resolutions, every supported link type, IPv4 and IPv6 (with
 * extension headers), skipped non-TCP traffic, and clear CaptureErrors for truncated, corrupt and
 * unsupported files, at every truncation offset and under random corruption.
 */
import fc from 'fast-check';
import { formatIpAddress } from '../src/core/ip-address.js';
import { CaptureError, canonicalIp, readCapture, type CapturedSegment } from '../src/tools/pcap.js';
import {
  ACK,
  FIN,
  LINK,
  PSH,
  SYN,
  bytesOf,
  concatFiles,
  frame,
  ipPacket,
  ipv4Packet,
  ipv6Packet,
  pcapFile,
  pcapngBlock,
  pcapngFile,
  pcapngPackets,
  pcapngSection,
  type SegmentSpec,
} from './support/capture-writer.js';

const C4 = { ip: '10.0.0.1', port: 40000 };
const S4 = { ip: '10.0.0.2', port: 80 };
const C6 = { ip: '2001:db8::1', port: 40001 };
const S6 = { ip: '2001:db8:0:0:1::2', port: 443 };
const T0 = 1_700_000_000_000; // ms

const SEGMENTS: SegmentSpec[] = [
  { src: C4, dst: S4, seq: 1000, flags: SYN },
  { src: S4, dst: C4, seq: 5000, ack: 1001, flags: SYN | ACK },
  { src: C4, dst: S4, seq: 1001, flags: ACK | PSH, payload: 'GET / HTTP/1.1\r\n\r\n' },
  { src: S4, dst: C4, seq: 5001, flags: ACK | PSH | FIN, payload: 'HTTP/1.1 200 OK\r\n\r\nhello' },
];

function expectSegment(got: CapturedSegment, spec: SegmentSpec, timeMs: number, ips = { src: spec.src.ip, dst: spec.dst.ip }): void {
  expect({ ...got, payload: Buffer.from(got.payload).toString('latin1') }).toEqual({
    timeMs,
    src: { ip: ips.src, port: spec.src.port },
    dst: { ip: ips.dst, port: spec.dst.port },
    seq: spec.seq,
    flags: spec.flags ?? ACK | PSH,
    payload: Buffer.from(bytesOf(spec.payload)).toString('latin1'),
  });
}

function records(link: number, specs = SEGMENTS, stepMs = 1.5) {
  return specs.map((s, i) => ({ timeMs: T0 + i * stepMs, data: frame(link, ipPacket(s)) }));
}

/** Runs `f`, returning the CaptureError it throws (failing if it throws anything else or nothing). */
function captureError(f: () => unknown): CaptureError {
  try {
    f();
  } catch (err) {
    if (err instanceof CaptureError) return err;
    throw err;
  }
  throw new Error('expected a CaptureError');
}

describe('pcap files', () => {
  test.each([
    ['little-endian, µs', { bigEndian: false, nanoseconds: false }],
    ['big-endian, µs', { bigEndian: true, nanoseconds: false }],
    ['little-endian, ns', { bigEndian: false, nanoseconds: true }],
    ['big-endian, ns', { bigEndian: true, nanoseconds: true }],
  ])('%s: every TCP segment with time, addresses, seq, flags and payload', (_, opts) => {
    const file = pcapFile(records(LINK.ETHERNET), { linkType: LINK.ETHERNET, ...opts });
    const got = readCapture(file, 'x.pcap');
    expect(got).toHaveLength(SEGMENTS.length);
    got.forEach((g, i) => expectSegment(g, SEGMENTS[i]!, T0 + i * 1.5));
  });

  test('nanosecond timestamps keep sub-microsecond precision', () => {
    const file = pcapFile([{ timeMs: 0, data: frame(LINK.RAW, ipPacket(SEGMENTS[2]!)) }], { linkType: LINK.RAW, nanoseconds: true });
    // seconds = 1_700_000_000, fraction = 123_456_789 ns
    const v = new DataView(file.buffer);
    v.setUint32(24, 1_700_000_000, true);
    v.setUint32(28, 123_456_789, true);
    expect(readCapture(file, 'ns.pcap')[0]!.timeMs).toBeCloseTo(1_700_000_000_123.456789, 4);
  });

  test('Ethernet padding after a short IP packet is not payload', () => {
    const short: SegmentSpec = { src: C4, dst: S4, seq: 7, payload: 'hi' };
    const data = frame(LINK.ETHERNET, ipv4Packet(short), { pad: 60 - 14 - 42 + 4 });
    const got = readCapture(pcapFile([{ timeMs: T0, data }], { linkType: LINK.ETHERNET }), 'pad.pcap');
    expect(Buffer.from(got[0]!.payload).toString()).toBe('hi');
  });

  test('the link-type field keeps only its low 16 bits (the FCS bits above are ignored)', () => {
    const file = pcapFile(records(LINK.ETHERNET), { linkType: LINK.ETHERNET | 0x14000000 });
    expect(readCapture(file, 'fcs.pcap')).toHaveLength(SEGMENTS.length);
  });
});

describe('link types', () => {
  const v4 = SEGMENTS[2]!;
  const v6: SegmentSpec = { src: C6, dst: S6, seq: 99, payload: 'over IPv6' };
  const cases: Array<[string, number, Parameters<typeof frame>[2]]> = [
    ['Ethernet', LINK.ETHERNET, {}],
    ['Ethernet with an 802.1Q tag', LINK.ETHERNET, { vlan: true }],
    ['raw IP (101)', LINK.RAW, {}],
    ['raw IP (old value 12)', 12, {}],
    ['IPv4/IPv6 link types (228/229)', -1, {}],
    ['BSD loopback, little-endian family', LINK.NULL, {}],
    ['BSD loopback, big-endian family', LINK.NULL, { bigEndianFamily: true }],
    ['OpenBSD loopback (LOOP)', LINK.LOOP, {}],
    ['Linux cooked (SLL)', LINK.SLL, {}],
    ['Linux cooked v2 (SLL2)', LINK.SLL2, {}],
  ];
  test.each(cases)('%s: IPv4 and IPv6 TCP', (_, link, opts) => {
    for (const spec of [v4, v6]) {
      const isV6 = spec === v6;
      const linkType = link === -1 ? (isV6 ? LINK.IPV6 : LINK.IPV4) : link;
      const file = pcapFile([{ timeMs: T0, data: frame(linkType, ipPacket(spec), opts) }], { linkType });
      const got = readCapture(file, 'l.pcap');
      expect(got).toHaveLength(1);
      expectSegment(got[0]!, spec, T0, isV6 ? { src: '2001:db8::1', dst: '2001:db8::1:0:0:2' } : undefined);
    }
  });

  test('IPv6 extension headers (hop-by-hop, destination options, atomic fragment) are walked to TCP', () => {
    const spec: SegmentSpec = { src: C6, dst: S6, seq: 5, payload: 'behind extensions' };
    const file = pcapFile([{ timeMs: T0, data: ipv6Packet(spec, [0, 60, 44]) }], { linkType: LINK.RAW });
    const got = readCapture(file, 'ext.pcap');
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]!.payload).toString()).toBe('behind extensions');
  });

  test('TCP options are skipped (data offset)', () => {
    const spec: SegmentSpec = { src: C4, dst: S4, seq: 5, payload: 'after options', options: Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2) };
    const got = readCapture(pcapFile([{ timeMs: T0, data: ipPacket(spec) }], { linkType: LINK.RAW }), 'opt.pcap');
    expect(Buffer.from(got[0]!.payload).toString()).toBe('after options');
  });

  test('non-TCP and unreadable packets are skipped, TCP around them kept', () => {
    const tcp = (n: number) => ipv4Packet({ src: C4, dst: S4, seq: n, payload: `p${n}` });
    const udp = ipv4Packet({ src: C4, dst: S4, seq: 0, payload: 'udp' }, { protocol: 17 });
    const fragment = ipv4Packet({ src: C4, dst: S4, seq: 0, payload: 'frag' }, { fragment: 0x2000 }); // MF
    const laterFragment = ipv4Packet({ src: C4, dst: S4, seq: 0, payload: 'frag' }, { fragment: 0x0010 });
    const badOffset = ipv4Packet({ src: C4, dst: S4, seq: 0, payload: 'x' });
    badOffset[20 + 12] = 0xf0; // data offset 60 > segment
    const arp = new Uint8Array(42);
    arp.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06]);
    const v6frag = ipv6Packet({ src: C6, dst: S6, seq: 0, payload: 'frag' }, [44]);
    v6frag[40 + 3] = 0x01; // M flag: more fragments
    const frames = [
      frame(LINK.ETHERNET, tcp(1)),
      frame(LINK.ETHERNET, udp),
      arp,
      frame(LINK.ETHERNET, fragment),
      frame(LINK.ETHERNET, laterFragment),
      frame(LINK.ETHERNET, badOffset),
      frame(LINK.ETHERNET, v6frag),
      new Uint8Array(5), // shorter than an Ethernet header
      frame(LINK.ETHERNET, tcp(2)),
    ];
    const got = readCapture(pcapFile(frames.map((data, i) => ({ timeMs: T0 + i, data })), { linkType: LINK.ETHERNET }), 'mix.pcap');
    expect(got.map((s) => Buffer.from(s.payload).toString())).toEqual(['p1', 'p2']);
  });
});

describe('pcapng files', () => {
  test.each([
    ['little-endian', false],
    ['big-endian', true],
  ])('%s: EPBs on interfaces with different link types and timestamp resolutions', (_, bigEndian) => {
    const ifaces = [
      { linkType: LINK.ETHERNET },
      { linkType: LINK.SLL2, tsresol: 9 }, // ns
      { linkType: LINK.NULL, tsresol: 0x80 | 20, tsoffset: 100 }, // 2^-20 s, +100 s
    ];
    const recs = SEGMENTS.map((s, i) => {
      const iface = i % 3;
      return { timeMs: T0 + i * 250, iface, data: frame(ifaces[iface]!.linkType, ipPacket(s)) };
    });
    const got = readCapture(pcapngFile(recs, ifaces, { bigEndian }), 'x.pcapng');
    expect(got).toHaveLength(SEGMENTS.length);
    got.forEach((g, i) => {
      expectSegment({ ...g, timeMs: 0 }, SEGMENTS[i]!, 0);
      // 2^-20 s units are coarser than 1 µs: within one unit
      expect(Math.abs(g.timeMs - (T0 + i * 250))).toBeLessThan(0.001);
    });
  });

  test('simple packet blocks take the previous timestamp; obsolete packet blocks are read', () => {
    const ifaces = [{ linkType: LINK.RAW }];
    const [a, b, c] = records(LINK.RAW, SEGMENTS.slice(1), 10);
    const file = concatFiles([
      pcapngSection(ifaces),
      pcapngPackets([a!], ifaces),
      pcapngPackets([b!], ifaces, { simple: true }),
      pcapngPackets([c!], ifaces, { obsolete: true }),
    ]);
    const got = readCapture(file, 'spb.pcapng');
    expect(got.map((g) => g.timeMs)).toEqual([a!.timeMs, a!.timeMs, c!.timeMs]);
    expect(got.map((g) => g.seq)).toEqual([5000, 1001, 5001]);
  });

  test('unknown blocks are skipped; a second section may switch byte order and interfaces', () => {
    const first = [{ linkType: LINK.ETHERNET }];
    const second = [{ linkType: LINK.RAW, tsresol: 9 }];
    const [a, b] = records(LINK.ETHERNET, SEGMENTS.slice(0, 2));
    const [c] = records(LINK.RAW, SEGMENTS.slice(2, 3));
    const file = concatFiles([
      pcapngSection(first),
      pcapngBlock(4, new Uint8Array(8)), // name resolution block
      pcapngPackets([a!, b!], first),
      pcapngBlock(5, new Uint8Array(12)), // interface statistics
      pcapngSection(second, { bigEndian: true }),
      pcapngPackets([{ ...c!, timeMs: T0 + 7 }], second, { bigEndian: true }),
    ]);
    const got = readCapture(file, 'two.pcapng');
    expect(got.map((g) => g.seq)).toEqual([1000, 5000, 1001]);
    expect(got[2]!.timeMs).toBe(T0 + 7);
  });
});

describe('errors name the file, the offset and the problem', () => {
  const good = pcapFile(records(LINK.ETHERNET), { linkType: LINK.ETHERNET });
  const goodNg = pcapngFile(records(LINK.ETHERNET), [{ linkType: LINK.ETHERNET }]);
  const patched = (bytes: Uint8Array, offset: number, value: number, le = true) => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setUint32(offset, value, le);
    return copy;
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /^f: offset 0: the file is empty$/],
    ['three bytes', Uint8Array.of(0xd4, 0xc3, 0xb2), /^f: offset 0: the file is 3 bytes, too short/],
    ['text', bytesOf('hello world'), /^f: offset 0: not a pcap or pcapng file \(starts with 68 65 6c 6c\)$/],
    ['gzip', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0), /^f: offset 0: the file is gzip-compressed .* decompress it first$/],
    ['modified pcap', patched(good, 0, 0xa1b2cd34), /^f: offset 0: unsupported "modified pcap" format/],
    ['pcap version 3', pcapFile([], { linkType: 1, version: 3 }), /^f: offset 4: unsupported pcap version 3\.4/],
    ['802.11 link type', pcapFile([], { linkType: 105 }), /^f: offset 20: unsupported link type 105 \(IEEE 802\.11\) on the file/],
    ['implausible captured length', patched(good, 24 + 8, 0x7fffffff), /^f: offset 32: implausible captured length 2147483647/],
    ['pcapng bad byte-order magic', patched(goodNg, 8, 0x11223344), /^f: offset 8: bad byte-order magic 0x11223344/],
    ['pcapng block length not a multiple of 4', patched(goodNg, 4, 30), /^f: offset 4: bad block length 30 /],
    ['pcapng block length below 12', patched(goodNg, 4, 8), /^f: offset 4: bad block length 8 /],
    ['pcapng trailing length differs', patched(goodNg, 24, 99), /^f: offset 24: the block's trailing length 99 differs from its leading length 28$/],
    ['pcapng version 2', (() => { const c = goodNg.slice(); new DataView(c.buffer).setUint16(12, 2, true); return c; })(), /^f: offset 12: unsupported pcapng version 2\.0/],
    ['pcapng packet before any interface', concatFiles([pcapngSection([]), pcapngPackets(records(LINK.RAW).slice(0, 1), [{ linkType: LINK.RAW }])]), /^f: offset 28: a packet block comes before any interface description block$/],
    ['pcapng unsupported link type', pcapngFile(records(LINK.RAW).slice(0, 1), [{ linkType: 127 }]), /^f: offset 48: unsupported link type 127 \(IEEE 802\.11 radiotap\) on interface 0/],
    ['pcapng bad if_tsresol length', (() => {
      const f = pcapngFile([], [{ linkType: LINK.RAW, tsresol: 6 }]);
      new DataView(f.buffer).setUint16(28 + 16 + 2, 2, true);
      return f;
    })(), /^f: offset 46: if_tsresol must be 1 byte, got 2$/],
  ];
  test.each(cases)('%s', (_, bytes, message) => {
    expect(captureError(() => readCapture(bytes, 'f')).message).toMatch(message);
  });

  test('an EPB naming an interface the section does not describe', () => {
    const ifaces = [{ linkType: LINK.RAW }];
    const file = concatFiles([pcapngSection(ifaces), pcapngPackets([{ ...records(LINK.RAW)[0]!, iface: 0 }], ifaces)]);
    new DataView(file.buffer).setUint32(48 + 8, 3, true);
    const err = captureError(() => readCapture(file, 'if.pcapng'));
    expect(err.message).toBe('if.pcapng: offset 48: the packet names interface 3, but the section describes only 1');
    expect({ code: err.code, source: err.source, offset: err.offset }).toEqual({ code: 'DUST_ERR_BAD_CAPTURE', source: 'if.pcapng', offset: 48 });
  });

  test('a TCP packet cut by the snap length is an error; a cut non-TCP packet is not', () => {
    const tcp = frame(LINK.ETHERNET, ipv4Packet({ src: C4, dst: S4, seq: 1, payload: 'x'.repeat(100) }));
    const cut = pcapFile([{ timeMs: T0, data: tcp.subarray(0, 96), original: tcp.length }], { linkType: LINK.ETHERNET, snaplen: 96 });
    expect(captureError(() => readCapture(cut, 's.pcap')).message).toBe(
      `s.pcap: offset 24: the TCP packet was cut to 96 of ${tcp.length} bytes by the capture's snap length, so its payload is incomplete; capture whole packets (tcpdump -s 0)`,
    );
    const udp = frame(LINK.ETHERNET, ipv4Packet({ src: C4, dst: S4, seq: 1, payload: 'x'.repeat(100) }, { protocol: 17 }));
    const cutUdp = pcapFile([{ timeMs: T0, data: udp.subarray(0, 96), original: udp.length }], { linkType: LINK.ETHERNET });
    expect(readCapture(cutUdp, 'u.pcap')).toEqual([]);
    // A cut Ethernet trailer (frame check sequence) leaves the IP packet whole: no error.
    const fcs = pcapFile([{ timeMs: T0, data: tcp, original: tcp.length + 4 }], { linkType: LINK.ETHERNET });
    expect(readCapture(fcs, 'fcs.pcap')).toHaveLength(1);
  });

  /** Every cut of a valid file: a clean prefix of the segments at record boundaries, else a CaptureError at or before the cut. */
  function everyTruncation(file: Uint8Array, name: string, boundaries: Map<number, number>) {
    const all = readCapture(file, name);
    let errors = 0;
    for (let cut = 0; cut < file.length; cut++) {
      let result: CapturedSegment[] | CaptureError;
      try {
        result = readCapture(file.subarray(0, cut), name);
      } catch (err) {
        if (!(err instanceof CaptureError)) throw new Error(`cut at ${cut}: ${String(err)}`);
        result = err;
      }
      const whole = boundaries.get(cut);
      if (whole !== undefined) {
        expect(result).toEqual(all.slice(0, whole));
      } else {
        expect(result).toBeInstanceOf(CaptureError);
        const err = result as CaptureError;
        expect(err.message.startsWith(`${name}: offset ${err.offset}: `)).toBe(true);
        expect(err.offset).toBeLessThanOrEqual(cut);
        errors++;
      }
    }
    return errors;
  }

  test('pcap truncated at every offset: a CaptureError, or the whole records before the cut', () => {
    const file = pcapFile(records(LINK.ETHERNET), { linkType: LINK.ETHERNET });
    const boundaries = new Map([[24, 0]]);
    let end = 24;
    records(LINK.ETHERNET).forEach((r, i) => boundaries.set((end += 16 + r.data.length), i + 1));
    boundaries.delete(file.length);
    expect(everyTruncation(file, 'cut.pcap', boundaries)).toBe(file.length - boundaries.size);
    const err = captureError(() => readCapture(file.subarray(0, 30), 'cut.pcap'));
    expect(err.message).toBe('cut.pcap: offset 24: the packet record header is truncated: 6 of 16 bytes (the capture was cut off)');
    const mid = captureError(() => readCapture(file.subarray(0, 50), 'cut.pcap'));
    expect(mid.message).toMatch(/^cut\.pcap: offset 24: the packet record is truncated: its header says \d+ bytes, 10 remain \(the capture was cut off\)$/);
  });

  test('pcapng truncated at every offset: a CaptureError, or the whole blocks before the cut', () => {
    const ifaces = [{ linkType: LINK.ETHERNET, tsresol: 9 }];
    const section = pcapngSection(ifaces);
    const recs = records(LINK.ETHERNET);
    const file = pcapngFile(recs, ifaces);
    // Whole blocks: after the SHB (28 bytes), after the IDB, after each packet block.
    const boundaries = new Map([[28, 0], [section.length, 0]]);
    let end = section.length;
    recs.forEach((r, i) => boundaries.set((end += pcapngPackets([r], ifaces).length), i + 1));
    boundaries.delete(file.length);
    expect(everyTruncation(file, 'cut.pcapng', boundaries)).toBe(file.length - boundaries.size);
  });
});

describe('robustness', () => {
  test('random corruption of a valid file gives segments or a CaptureError, never another error', () => {
    const base = pcapngFile(records(LINK.ETHERNET), [{ linkType: LINK.ETHERNET }, { linkType: LINK.RAW }]);
    const basePcap = pcapFile(records(LINK.SLL), { linkType: LINK.SLL });
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (ng, edits) => {
          const file = (ng ? base : basePcap).slice();
          for (const [at, value] of edits) file[at % file.length] = value;
          try {
            const segs = readCapture(file, 'fuzz');
            for (const s of segs) expect(s.payload.length).toBeLessThanOrEqual(file.length);
          } catch (err) {
            expect(err).toBeInstanceOf(CaptureError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('arbitrary bytes after a pcap or pcapng magic never throw anything but CaptureError', () => {
    fc.assert(
      fc.property(fc.constantFrom(0xa1b2c3d4, 0xd4c3b2a1, 0x0a0d0d0a), fc.uint8Array({ maxLength: 200 }), (magic, rest) => {
        const file = new Uint8Array(4 + rest.length);
        new DataView(file.buffer).setUint32(0, magic, false);
        file.set(rest, 4);
        try {
          readCapture(file, 'junk');
        } catch (err) {
          expect(err).toBeInstanceOf(CaptureError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('progress is reported in increasing fractions, ending at 1', () => {
    const big = { src: C4, dst: S4, seq: 1, payload: new Uint8Array(60_000) };
    const recs = Array.from({ length: 60 }, (_, i) => ({ timeMs: T0 + i, data: ipPacket({ ...big, seq: 1 + i * 60_000 }) }));
    const seen: number[] = [];
    const segs = readCapture(pcapFile(recs, { linkType: LINK.RAW }), 'big.pcap', (f) => seen.push(f));
    expect(segs).toHaveLength(60);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[seen.length - 1]).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
  });

  test('argument checks throw TypeError', () => {
    expect(() => readCapture('x' as unknown as Uint8Array, 'f')).toThrow(TypeError);
    expect(() => readCapture(new Uint8Array(4), 5 as unknown as string)).toThrow(TypeError);
  });
});

describe('address text (RFC 5952)', () => {
  test.each([
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs
    ['::', '::'],
    ['::1', '::1'],
    ['FE80::AB', 'fe80::ab'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['192.0.2.1', '192.0.2.1'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  test.each(['', '1.2.3', '1.2.3.256', '01.2.3.4', 'a::b::c', '1:2:3:4:5:6:7:8:9', '12345::', 'example.org', '::g'])('%j is not an address', (text) => {
    expect(canonicalIp(text)).toBeNull();
  });

  test('formatIpAddress round-trips through canonicalIp for random addresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (addr, zeroFrom, zeroLen) => {
        addr.fill(0, zeroFrom * 2, Math.min(16, (zeroFrom + zeroLen) * 2));
        const text = formatIpAddress(addr);
        expect(text).toBe(text.toLowerCase());
        expect(canonicalIp(text)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });
});
