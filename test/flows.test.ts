/**
 * TCP flow reassembly (src/tools/flows.ts): connections by 4-tuple (RFC 9293 §3.4 sequence space),
 * client detection, out-of-order, duplicated and overlapping segments, sequence wraparound, gaps,
 * port reuse, and the port/host filter. The last test goes through a real pcap file.
 */
import fc from 'fast-check';
import { reassembleFlows, type TcpFlow } from '../src/tools/flows.js';
import { readCapture, type CapturedSegment, type Endpoint } from '../src/tools/pcap.js';
import { ACK, FIN, LINK, PSH, RST, SYN, frame, ipPacket, pcapFile } from './support/capture-writer.js';

const C: Endpoint = { ip: '192.0.2.1', port: 50000 };
const S: Endpoint = { ip: '198.51.100.7', port: 80 };
const enc = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function seg(src: Endpoint, dst: Endpoint, seq: number, flags: number, payload: string | Uint8Array = '', timeMs = 0): CapturedSegment {
  return { timeMs, src, dst, seq: seq >>> 0, flags, payload: typeof payload === 'string' ? enc.encode(payload) : payload };
}
const stream = (packets: TcpFlow['c2s']) => packets.map((p) => text(p.payload)).join('');

/** A normal exchange: handshake, request, two-segment response, close. */
function exchange(cIsn: number, sIsn: number, t = 0, client = C, server = S): CapturedSegment[] {
  return [
    seg(client, server, cIsn, SYN, '', t),
    seg(server, client, sIsn, SYN | ACK, '', t + 1),
    seg(client, server, cIsn + 1, ACK, '', t + 2),
    seg(client, server, cIsn + 1, ACK | PSH, 'GET / HTTP/1.1\r\n\r\n', t + 3),
    seg(server, client, sIsn + 1, ACK, 'HTTP/1.1 200 OK\r\n', t + 10),
    seg(server, client, sIsn + 18, ACK | PSH, '\r\nbody', t + 11),
    seg(client, server, cIsn + 19, FIN | ACK, '', t + 20),
    seg(server, client, sIsn + 24, FIN | ACK, '', t + 21),
    seg(client, server, cIsn + 20, ACK, '', t + 22),
  ];
}

describe('connections and roles', () => {
  test('a handshake, request and response: client, server, times, both directions', () => {
    const [flow, ...rest] = reassembleFlows(exchange(1000, 9000, 500));
    expect(rest).toEqual([]);
    expect(flow!.client).toEqual(C);
    expect(flow!.server).toEqual(S);
    expect([flow!.startMs, flow!.endMs]).toEqual([500, 522]);
    expect(flow!.c2s.map((p) => [p.timeMs, text(p.payload)])).toEqual([[503, 'GET / HTTP/1.1\r\n\r\n']]);
    expect(flow!.s2c.map((p) => [p.timeMs, text(p.payload)])).toEqual([
      [510, 'HTTP/1.1 200 OK\r\n'],
      [511, '\r\nbody'],
    ]);
  });

  test('the SYN sender is the client even when the server speaks first in the capture', () => {
    const segs = exchange(1, 2);
    const flows = reassembleFlows([segs[1]!, ...segs.slice(0, 1), ...segs.slice(2)]);
    expect(flows).toHaveLength(1);
    expect(flows[0]!.client).toEqual(C);
  });

  test('without a SYN, the receiver of a SYN-ACK is the client; without either, the first sender', () => {
    const segs = exchange(1, 2);
    expect(reassembleFlows(segs.slice(1))[0]!.client).toEqual(C);
    const midstream = reassembleFlows(segs.slice(4));
    expect(midstream[0]!.client).toEqual(S);
    expect(stream(midstream[0]!.c2s)).toBe('HTTP/1.1 200 OK\r\n\r\nbody');
  });

  test('a reused 4-tuple after a close is a new flow; a retransmitted SYN is not', () => {
    const first = exchange(1000, 9000, 0);
    const second = exchange(777_777, 5, 100);
    const retransmittedSyn = seg(C, S, 777_777, SYN, '', 100.5);
    const flows = reassembleFlows([...first, second[0]!, retransmittedSyn, ...second.slice(1)]);
    expect(flows).toHaveLength(2);
    expect(flows.map((f) => [f.startMs, f.endMs])).toEqual([
      [0, 22],
      [100, 122],
    ]);
    expect(flows.map((f) => stream(f.c2s))).toEqual(['GET / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1\r\n\r\n']);
  });

  test('a SYN with a new ISN starts a new flow even when the close was not captured', () => {
    const first = exchange(1000, 9000, 0).slice(0, 6);
    const second = exchange(50, 60, 100);
    expect(reassembleFlows([...first, ...second])).toHaveLength(2);
  });

  test('a simultaneous open (both sides send SYN) is one flow', () => {
    const segs = [seg(C, S, 10, SYN, '', 0), seg(S, C, 20, SYN, '', 1), seg(C, S, 11, ACK | PSH, 'a', 2), seg(S, C, 21, ACK | PSH, 'b', 3)];
    const flows = reassembleFlows(segs);
    expect(flows).toHaveLength(1);
    expect([stream(flows[0]!.c2s), stream(flows[0]!.s2c)]).toEqual(['a', 'b']);
  });

  test('interleaved connections are kept apart by 4-tuple and ordered by start time', () => {
    const c2 = { ip: C.ip, port: 50001 };
    const a = exchange(1, 100, 10);
    const b = exchange(5, 500, 5, c2);
    const mixed: CapturedSegment[] = [];
    for (let i = 0; i < a.length; i++) mixed.push(a[i]!, b[i]!);
    const flows = reassembleFlows(mixed);
    expect(flows.map((f) => f.client.port)).toEqual([50001, 50000]);
    expect(flows.map((f) => stream(f.s2c))).toEqual(['HTTP/1.1 200 OK\r\n\r\nbody', 'HTTP/1.1 200 OK\r\n\r\nbody']);
  });
});

describe('reassembly by sequence number', () => {
  const body = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const at = (off: number, len: number, t = off) => seg(C, S, 101 + off, ACK, body.slice(off, off + len), t);
  const syn = seg(C, S, 100, SYN, '', -1);

  test('out-of-order segments come out in stream order, each with its own capture time', () => {
    const flows = reassembleFlows([syn, at(10, 10), at(0, 10), at(30, 6), at(20, 10)]);
    expect(flows[0]!.c2s.map((p) => [p.timeMs, text(p.payload)])).toEqual([
      [0, body.slice(0, 10)],
      [10, body.slice(10, 20)],
      [20, body.slice(20, 30)],
      [30, body.slice(30)],
    ]);
  });

  test('exact duplicates and keep-alive probes are dropped', () => {
    const probe = seg(C, S, 101 + 9, ACK, 'j', 50); // one old byte, as Linux keep-alives send
    const flows = reassembleFlows([syn, at(0, 10), at(0, 10, 5), probe, at(10, 26), at(10, 26, 60)]);
    expect(flows[0]!.c2s.map((p) => text(p.payload))).toEqual([body.slice(0, 10), body.slice(10)]);
  });

  test('overlapping retransmissions keep only their new bytes', () => {
    // 0..10, then a repacketized retransmission of 5..20, then 15..36
    const flows = reassembleFlows([syn, at(0, 10), at(5, 15, 7), at(15, 21, 9)]);
    expect(flows[0]!.c2s.map((p) => [p.timeMs, text(p.payload)])).toEqual([
      [0, body.slice(0, 10)],
      [7, body.slice(10, 20)],
      [9, body.slice(20)],
    ]);
    expect(stream(flows[0]!.c2s)).toBe(body);
  });

  test('a gap the capture missed is skipped; what follows is still delivered', () => {
    const flows = reassembleFlows([syn, at(0, 10), at(20, 16), seg(S, C, 500, ACK, 'reply')]);
    expect(flows[0]!.c2s.map((p) => text(p.payload))).toEqual([body.slice(0, 10), body.slice(20)]);
    expect(flows[0]!.missingBytes).toBe(10);
    expect(reassembleFlows([syn, at(0, 10), at(10, 26)])[0]!.missingBytes).toBe(0);
  });

  test('without a SYN the stream starts at the lowest sequence number seen, even if it came later', () => {
    const flows = reassembleFlows([at(10, 26), at(0, 10, 99)]);
    expect(stream(flows[0]!.c2s)).toBe(body);
  });

  test('sequence numbers wrap around 2^32', () => {
    const isn = 0xffff_fff0;
    const segs = [seg(C, S, isn, SYN)];
    for (let off = 0; off < 36; off += 6) segs.push(seg(C, S, isn + 1 + off, ACK, body.slice(off, off + 6), off));
    const flows = reassembleFlows(segs.reverse());
    expect(stream(flows[0]!.c2s)).toBe(body);
    expect(flows[0]!.c2s).toHaveLength(6);
  });

  test('data on a SYN (TCP Fast Open) starts after the SYN sequence number', () => {
    const flows = reassembleFlows([seg(C, S, 5, SYN, 'early'), seg(S, C, 9, SYN | ACK), seg(C, S, 11, ACK, ' late')]);
    expect(stream(flows[0]!.c2s)).toBe('early late');
  });

  test('a reset with a stray sequence number and payload changes nothing', () => {
    const flows = reassembleFlows([syn, at(0, 10), seg(C, S, 0, RST | ACK, 'connection reset by peer'), at(10, 26)]);
    expect(stream(flows[0]!.c2s)).toBe(body);
  });

  test('property: any cover of the stream by segments, duplicated and shuffled, reassembles to the stream', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 700 })), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        fc.integer(),
        (data, isn, extra, duplicates, withSyn, seed) => {
          // Cover the stream with consecutive pieces, then add random overlapping retransmissions.
          const pieces: Array<[number, number]> = [];
          for (let off = 0; off < data.length; ) {
            const len = Math.min(data.length - off, 1 + ((off * 7919 + seed) >>> 0) % 500);
            pieces.push([off, len]);
            off += len;
          }
          for (const [start, len] of extra) {
            const s = start % data.length;
            pieces.push([s, Math.min(len, data.length - s)]);
          }
          for (const d of duplicates) pieces.push(pieces[d % pieces.length]!);
          // Deterministic shuffle
          const order = pieces.map((p, i) => ({ p, k: Math.imul(i + 1, 0x9e3779b1) ^ seed })).sort((a, b) => a.k - b.k);
          const segs = order.map(({ p: [off, len] }, i) => seg(C, S, isn + 1 + off, ACK, data.subarray(off, off + len), i));
          if (withSyn) segs.unshift(seg(C, S, isn, SYN)); // a SYN after data would be a new connection
          else segs.push(seg(C, S, isn + 1, ACK, data.subarray(0, 1), 1e9)); // the start must be seen
          const flows = reassembleFlows(segs);
          expect(flows).toHaveLength(1);
          const out = flows[0]!.c2s;
          expect(Buffer.concat(out.map((p) => p.payload)).equals(Buffer.from(data))).toBe(true);
          expect(out.every((p) => p.payload.length > 0)).toBe(true);
          expect(out.length).toBeLessThanOrEqual(segs.length);
          expect(flows[0]!.missingBytes).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('filter', () => {
  const v6c = { ip: '2001:db8::10', port: 40000 };
  const v6s = { ip: '2001:db8::20', port: 443 };
  const all = [...exchange(1, 2, 0), ...exchange(3, 4, 1, { ip: '192.0.2.9', port: 1234 }, { ip: '203.0.113.5', port: 25 }), ...exchange(5, 6, 2, v6c, v6s)];

  test.each([
    [{}, 3],
    [{ port: 80 }, 1],
    [{ port: 1234 }, 1],
    [{ port: 9 }, 0],
    [{ host: '203.0.113.5' }, 1],
    [{ host: '2001:0DB8:0:0::20' }, 1], // another spelling of the same address
    [{ host: '[2001:db8::10]', port: 443 }, 1],
    [{ host: '192.0.2.1', port: 25 }, 0], // both must match
  ])('%j keeps %i flows', (filter, n) => {
    expect(reassembleFlows(all, filter)).toHaveLength(n);
  });

  test('a bad filter is a RangeError naming it', () => {
    expect(() => reassembleFlows(all, { port: 70000 })).toThrow(/^filter\.port must be an integer in 0\.\.65535, got 70000$/);
    expect(() => reassembleFlows(all, { host: 'example.org' })).toThrow(/^filter\.host must be an IP address, got "example\.org"$/);
    expect(() => reassembleFlows(all, { port: 1.5 })).toThrow(RangeError);
    expect(() => reassembleFlows('x' as unknown as CapturedSegment[])).toThrow(TypeError);
  });
});

test('from a pcap file: retransmitted and reordered frames give each byte once', () => {
  const segs = exchange(4000, 8000, 1000);
  // capture order: the second response segment before the first, then the first twice
  const order = [0, 1, 2, 3, 5, 4, 4, 6, 7, 8];
  const file = pcapFile(
    order.map((i, k) => ({ timeMs: 1_700_000_000_000 + k, data: frame(LINK.ETHERNET, ipPacket({ ...segs[i]!, payload: segs[i]!.payload })) })),
    { linkType: LINK.ETHERNET },
  );
  const flows = reassembleFlows(readCapture(file, 'r.pcap'), { port: 80 });
  expect(flows).toHaveLength(1);
  expect(stream(flows[0]!.s2c)).toBe('HTTP/1.1 200 OK\r\n\r\nbody');
  expect(flows[0]!.s2c.map((p) => p.timeMs - 1_700_000_000_000)).toEqual([5, 4]);
});
