/**
 * RFC 1928 / RFC 1929 SOCKS5 server as tor uses it with a client PT (pt-spec §3.5, tor-pt.md §3),
 * byte exchanges scripted in hex: whole, byte by byte, at random split points and with trailing
 * bytes; every failure with its exact reply; the obfs4proxy transcripts of tor-pt.md Appendix A;
 * and a real SOCKS client (the `socks` package) talking to it through an in-memory duplex.
 */
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { SocksClient } from 'socks';
import { formatSocksArgs, splitSocksArgsForRfc1929 } from '../src/pt/args.js';
import {
  SOCKS5_REPLY,
  Socks5Server,
  encodeSocks5Reply,
  replyFor,
  socks5ReplyText,
  type Socks5ErrorCode,
} from '../src/pt/socks5.js';

const h = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What tor sends: the RFC 1929 sub-negotiation carrying the bridge arguments. */
function authMessage(args: string): Uint8Array {
  const { username, password } = splitSocksArgsForRfc1929(args);
  return Uint8Array.from([0x01, username.length, ...username, password.length, ...password]);
}

type Chunking = 'whole' | 'bytes' | number[];

/** Feeds `input` split as asked and returns everything the server wanted to send, in hex. */
function feed(server: Socks5Server, input: Uint8Array, chunking: Chunking = 'whole'): string {
  let out = '';
  const push = (part: Uint8Array): void => {
    server.receive(part);
    out += hex(server.takeOutput());
  };
  if (chunking === 'whole') push(input);
  else if (chunking === 'bytes') for (let i = 0; i < input.length; i++) push(input.subarray(i, i + 1));
  else {
    let last = 0;
    for (const cut of [...chunking].sort((a, b) => a - b)) {
      push(input.subarray(last, cut));
      last = cut;
    }
    push(input.subarray(last));
  }
  return out;
}

const CHUNKINGS: Chunking[] = ['whole', 'bytes', [1, 3], [4, 5, 20]];
const NO_AUTH_REPLY = '0500';
const USERPASS_REPLY = '0502';
const AUTH_OK = '0100';
const SUCCESS_V4 = '05000001000000000000';
const reply = (rep: number): string => `05${rep.toString(16).padStart(2, '0')}0001000000000000`;

describe('a tor client exchange (tor-pt.md §3.1)', () => {
  const args = 'cert=AAAA==;iat-mode=0';
  const greeting = h('05 02 00 02');
  const auth = authMessage(args);
  const connectV4 = h('05 01 00 01 c0000201 01bb'); // 192.0.2.1:443
  const stream = h('16030100');

  test.each(CHUNKINGS)('with bridge arguments, chunking %j', (chunking) => {
    const s = new Socks5Server();
    const input = Uint8Array.from([...greeting, ...auth, ...connectV4, ...stream]);
    expect(feed(s, input, chunking)).toBe(USERPASS_REPLY + AUTH_OK);
    expect(s.state).toBe('awaiting-reply');
    expect(s.request).toEqual({
      command: 'connect',
      addressType: 'ipv4',
      host: '192.0.2.1',
      port: 443,
      args: [['cert', 'AAAA=='], ['iat-mode', '0']],
      authenticated: true,
    });
    // Bytes after the request belong to the stream.
    expect(hex(s.takeLeftover())).toBe('16030100');
    expect(hex(s.takeLeftover())).toBe('');
    s.grant();
    expect(hex(s.takeOutput())).toBe(SUCCESS_V4);
    expect(s.state).toBe('connected');
    s.receive(h('aabb'));
    s.receive(h('cc'));
    expect(hex(s.takeLeftover())).toBe('aabbcc');
    expect(hex(s.takeOutput())).toBe('');
  });

  test('one message at a time, as tor sends them (it waits for each reply)', () => {
    const s = new Socks5Server();
    expect(feed(s, greeting)).toBe(USERPASS_REPLY);
    expect(s.state).toBe('auth');
    expect(feed(s, auth)).toBe(AUTH_OK);
    expect(s.state).toBe('request');
    expect(feed(s, connectV4)).toBe('');
    expect(s.state).toBe('awaiting-reply');
    expect(hex(s.takeLeftover())).toBe('');
  });

  test('without bridge arguments tor offers only no-auth: 05 01 00', () => {
    const s = new Socks5Server();
    const connectV6 = h('05 01 00 04 20010db8000000000000000000000001 2329'); // [2001:db8::1]:9001
    expect(feed(s, Uint8Array.from([...h('050100'), ...connectV6]), 'bytes')).toBe(NO_AUTH_REPLY);
    expect(s.request).toEqual({ command: 'connect', addressType: 'ipv6', host: '2001:db8::1', port: 9001, args: [], authenticated: false });
    s.grant({ host: '::1', port: 1234 });
    expect(hex(s.takeOutput())).toBe('05 00 00 04 00000000000000000000000000000001 04d2'.replace(/ /g, ''));
  });

  test('username/password wins whenever it is offered, in any position', () => {
    for (const methods of ['03 00 01 02', '02 02 00', '01 02']) {
      const s = new Socks5Server();
      expect(feed(s, h(`05 ${methods}`))).toBe(USERPASS_REPLY);
    }
  });

  test('arguments longer than 255 bytes are split over UNAME and PASSWD and joined back', () => {
    const long = formatSocksArgs([['key', 'k'.repeat(200)], ['model', 'm'.repeat(150)]]);
    const msg = authMessage(long);
    expect(msg[1]).toBe(255);
    const s = new Socks5Server();
    expect(feed(s, Uint8Array.from([...greeting, ...msg, ...connectV4]), [7, 300])).toBe(USERPASS_REPLY + AUTH_OK);
    expect(s.request?.args).toEqual([['key', 'k'.repeat(200)], ['model', 'm'.repeat(150)]]);
  });

  test('domain names are accepted (tor never sends them, other clients may)', () => {
    const s = new Socks5Server();
    const name = Buffer.from('bridge.example.net');
    feed(s, Uint8Array.from([...h('050100 050100 03'), name.length, ...name, 0x01, 0xbb]), 'bytes');
    expect(s.request).toMatchObject({ addressType: 'domain', host: 'bridge.example.net', port: 443 });
  });

  test('any split of the same bytes gives the same replies, request and leftover (property)', () => {
    const input = Uint8Array.from([...greeting, ...auth, ...connectV4, ...stream]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: input.length }), { maxLength: 10 }), (cuts) => {
        const s = new Socks5Server();
        expect(feed(s, input, cuts)).toBe(USERPASS_REPLY + AUTH_OK);
        expect(s.request?.args).toEqual([['cert', 'AAAA=='], ['iat-mode', '0']]);
        expect(hex(s.takeLeftover())).toBe('16030100');
      }),
      { numRuns: 300 },
    );
  });
});

describe('failures: exact reply, stable code, sticky state', () => {
  const REQ = '05 01 00 01 c0000201 01bb';
  test.each<[string, string, string, Socks5ErrorCode, number | undefined]>([
    // Appendix A: "SOCKS4 request to the socks5 port -> connection closed, no reply"
    ['SOCKS4 request', '04 01 01bb c0000201 00', '', 'DUST_ERR_SOCKS_BAD_VERSION', undefined],
    ['HTTP request', '474554202f20', '', 'DUST_ERR_SOCKS_BAD_VERSION', undefined],
    ['no methods at all', '05 00', '05ff', 'DUST_ERR_SOCKS_NO_ACCEPTABLE_METHOD', 0xff],
    ['only GSSAPI', '05 01 01', '05ff', 'DUST_ERR_SOCKS_NO_ACCEPTABLE_METHOD', 0xff],
    ['sub-negotiation version 5', '05 01 02 05 01 61 01 00', '0502' + '0101', 'DUST_ERR_SOCKS_BAD_AUTH_VERSION', 0x01],
    ['empty username', '05 01 02 01 00', '0502' + '0101', 'DUST_ERR_SOCKS_BAD_AUTH_LENGTH', 0x01],
    ['empty password', '05 01 02 01 01 61 00', '0502' + '0101', 'DUST_ERR_SOCKS_BAD_AUTH_LENGTH', 0x01],
    // Appendix A: args "cert=abc\" (dangling escape) -> auth reply 01 01 (failure), connection closed
    ['dangling escape in the arguments', `05 01 02 01 09 ${Buffer.from('cert=abc\\').toString('hex')} 01 00`, '0502' + '0101', 'DUST_ERR_SOCKS_BAD_ARGS', 0x01],
    ['arguments without "="', `05 01 02 01 03 ${Buffer.from('abc').toString('hex')} 01 00`, '0502' + '0101', 'DUST_ERR_SOCKS_BAD_ARGS', 0x01],
    ['arguments that are not UTF-8', '05 01 02 01 03 6b3dff 01 00', '0502' + '0101', 'DUST_ERR_SOCKS_BAD_ARGS', 0x01],
    ['request version 4', '05 01 00 04 01 00 01 c0000201 01bb', '0500' + reply(0x01), 'DUST_ERR_SOCKS_BAD_VERSION', 0x01],
    ['BIND', '05 01 00 05 02 00 01 c0000201 01bb', '0500' + reply(0x07), 'DUST_ERR_SOCKS_BAD_COMMAND', 0x07],
    ['UDP ASSOCIATE', '05 01 00 05 03 00 01 c0000201 01bb', '0500' + reply(0x07), 'DUST_ERR_SOCKS_BAD_COMMAND', 0x07],
    ['reserved byte set', '05 01 00 05 01 01 01 c0000201 01bb', '0500' + reply(0x01), 'DUST_ERR_SOCKS_BAD_RESERVED', 0x01],
    ['address type 2', '05 01 00 05 01 00 02 c0000201 01bb', '0500' + reply(0x08), 'DUST_ERR_SOCKS_BAD_ADDRESS_TYPE', 0x08],
    ['address type 0', '05 01 00 05 01 00 00', '0500' + reply(0x08), 'DUST_ERR_SOCKS_BAD_ADDRESS_TYPE', 0x08],
    ['empty domain', '05 01 00 05 01 00 03 00 01bb', '0500' + reply(0x01), 'DUST_ERR_SOCKS_BAD_ADDRESS', 0x01],
    ['domain with a space', '05 01 00 05 01 00 03 03 612062 01bb', '0500' + reply(0x01), 'DUST_ERR_SOCKS_BAD_ADDRESS', 0x01],
    ['domain with a NUL', '05 01 00 05 01 00 03 02 6100 01bb', '0500' + reply(0x01), 'DUST_ERR_SOCKS_BAD_ADDRESS', 0x01],
    ['port 0', '05 01 00 05 01 00 01 c0000201 0000', '0500' + reply(0x01), 'DUST_ERR_SOCKS_BAD_PORT', 0x01],
  ])('%s', (_name, input, output, code, rep) => {
    for (const chunking of CHUNKINGS) {
      const s = new Socks5Server();
      // Anything after the failure (here: a valid request) is ignored and answered with nothing.
      expect(feed(s, Uint8Array.from([...h(input), ...h(REQ)]), chunking)).toBe(output);
      expect(s.state).toBe('failed');
      expect(s.failure?.code).toBe(code);
      expect(s.failure?.reply).toBe(rep);
      expect(typeof s.failure?.message).toBe('string');
      s.receive(h(REQ));
      expect(hex(s.takeOutput())).toBe('');
      expect(hex(s.takeLeftover())).toBe('');
      expect(s.request).toBeUndefined();
    }
  });

  test('every failure reply is complete (tor waits for 6 + address bytes even on failure)', () => {
    for (const code of Object.values(SOCKS5_REPLY)) {
      expect(encodeSocks5Reply(code)).toHaveLength(10);
      expect(encodeSocks5Reply(code, { host: '2001:db8::1', port: 80 })).toHaveLength(22);
    }
  });

  test('reject() after a failed dial sends the mapped reply and fails', () => {
    const s = new Socks5Server();
    feed(s, h('050100 050100 01 c0000201 01bb'));
    s.reject(replyFor(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    expect(hex(s.takeOutput())).toBe('05050001000000000000');
    expect(s.failure).toEqual({ code: 'DUST_ERR_SOCKS_REJECTED', message: 'Connection refused', reply: 5 });
    expect(s.state).toBe('failed');
    s.receive(h('00'));
    expect(hex(s.takeLeftover())).toBe('');
  });

  test('misuse throws', () => {
    const s = new Socks5Server();
    expect(() => s.grant()).toThrow(Error);
    expect(() => s.reject(1)).toThrow(Error);
    feed(s, h('050100 050100 01 c0000201 01bb'));
    expect(() => s.reject(0)).toThrow(RangeError);
    expect(() => s.reject(9)).toThrow(RangeError);
    expect(() => s.grant({ host: 'example.com', port: 1 })).toThrow(RangeError);
    expect(() => s.receive('05' as never)).toThrow(TypeError);
    s.grant();
    expect(() => s.grant()).toThrow(Error);
    expect(() => new Socks5Server({ now: Number.NaN })).toThrow(TypeError);
    expect(() => new Socks5Server({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => encodeSocks5Reply(256)).toThrow(RangeError);
  });
});

describe('the obfs4proxy transcripts of tor-pt.md Appendix A', () => {
  test('greeting 05 01 00, no args -> 05 00, CONNECT -> 05 01 00 01 00000000 0000 (missing argument)', () => {
    const s = new Socks5Server();
    expect(feed(s, h('05 01 00'))).toBe('0500');
    expect(feed(s, h('05 01 00 01 7f000001 1f90'))).toBe('');
    expect(s.request?.args).toEqual([]);
    // The transport finds its key missing: general failure, as obfs4proxy answers.
    s.reject(SOCKS5_REPLY.GENERAL_FAILURE, "missing argument 'key'");
    expect(hex(s.takeOutput())).toBe('05010001000000000000');
    expect(s.failure?.message).toBe("missing argument 'key'");
  });

  test('05 02 00 02, args "iat-mode=0" -> 05 02, auth -> 01 00, CONNECT -> 05 01 ...', () => {
    const s = new Socks5Server();
    expect(feed(s, h('05 02 00 02'))).toBe('0502');
    expect(feed(s, authMessage('iat-mode=0'))).toBe('0100');
    expect(feed(s, h('05 01 00 01 7f000001 1f90'))).toBe('');
    expect(s.request?.args).toEqual([['iat-mode', '0']]);
    s.reject(SOCKS5_REPLY.GENERAL_FAILURE);
    expect(hex(s.takeOutput())).toBe('05010001000000000000');
  });
});

describe('timeouts (time is passed in)', () => {
  test('the deadline covers greeting to request, then goes away', () => {
    const s = new Socks5Server({ now: 1000, timeoutMs: 5000 });
    expect(s.nextDeadline()).toBe(6000);
    s.handleTimeout(5999); // early: harmless
    expect(s.state).toBe('greeting');
    feed(s, h('050100 050100 01 c0000201 01bb'));
    expect(s.nextDeadline()).toBeUndefined();
    s.handleTimeout(1e9);
    expect(s.state).toBe('awaiting-reply');
  });

  test('a slow client fails without a reply', () => {
    const s = new Socks5Server({ now: 0 });
    feed(s, h('05 02 00'));
    s.handleTimeout(5000);
    expect(s.failure).toEqual({ code: 'DUST_ERR_SOCKS_TIMEOUT', message: 'SOCKS handshake timed out' });
    expect(hex(s.takeOutput())).toBe('');
    expect(() => s.handleTimeout('x' as never)).toThrow(TypeError);
  });

  test('without `now` there is no deadline', () => {
    const s = new Socks5Server();
    expect(s.nextDeadline()).toBeUndefined();
    s.handleTimeout(Number.MAX_SAFE_INTEGER);
    expect(s.state).toBe('greeting');
  });
});

describe('replyFor (RFC 1928 §6 codes for dial errors)', () => {
  test.each([
    ['ECONNREFUSED', 0x05],
    ['ECONNRESET', 0x05],
    ['ENETUNREACH', 0x03],
    ['ENETDOWN', 0x03],
    ['EHOSTUNREACH', 0x04],
    ['EHOSTDOWN', 0x04],
    ['ENOTFOUND', 0x04],
    ['EAI_AGAIN', 0x04],
    ['ETIMEDOUT', 0x06],
    ['EACCES', 0x02],
    ['EPERM', 0x02],
    ['EADDRNOTAVAIL', 0x08],
    ['EAFNOSUPPORT', 0x08],
    ['EPIPE', 0x01],
  ])('%s -> %i', (code, rep) => {
    expect(replyFor(code)).toBe(rep);
    expect(replyFor(Object.assign(new Error(code), { code }))).toBe(rep);
  });

  test('anything without a code is a general failure', () => {
    for (const e of [undefined, null, 42, new Error('x'), { code: 5 }]) expect(replyFor(e)).toBe(SOCKS5_REPLY.GENERAL_FAILURE);
  });

  test("tor's reason texts", () => {
    expect(socks5ReplyText(1)).toBe('general SOCKS server failure');
    expect(socks5ReplyText(5)).toBe('Connection refused');
    expect(socks5ReplyText(8)).toBe('Address type not supported');
    expect(socks5ReplyText(9)).toBe('unknown reason');
  });
});

describe('robustness', () => {
  test('arbitrary bytes in arbitrary chunks never throw and end in a known state (property)', () => {
    const states = ['greeting', 'auth', 'request', 'awaiting-reply', 'failed'];
    fc.assert(
      fc.property(
        fc.constantFrom(h('05'), h('0502'), h('050102'), h('0501000501'), h('')),
        fc.uint8Array({ maxLength: 600 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 600 }), { maxLength: 8 }),
        (prefix, body, cuts) => {
          const input = Uint8Array.from([...prefix, ...body]);
          const s = new Socks5Server();
          const out = feed(s, input, cuts.filter((c) => c <= input.length));
          expect(states).toContain(s.state);
          if (s.state === 'failed') expect(s.failure?.code).toMatch(/^DUST_ERR_SOCKS_/);
          if (s.state === 'awaiting-reply') expect(s.request).toBeDefined();
          expect(out.length % 2).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('interop with the `socks` package as a client', () => {
  /** A duplex whose writes go into the server and whose reads are the server's output. */
  function serverDuplex(server: Socks5Server, onConnected: (leftover: Uint8Array) => void): Duplex {
    const duplex: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        const before = server.state;
        server.receive(new Uint8Array(chunk));
        if (before !== 'awaiting-reply' && server.state === 'awaiting-reply') server.grant();
        const out = server.takeOutput();
        // Answer on a later turn, as a socket would: the client sets its state after write() returns.
        if (out.length > 0) setImmediate(() => duplex.push(Buffer.from(out)));
        if (server.state === 'connected') onConnected(server.takeLeftover());
        done();
      },
    });
    return duplex;
  }

  test.each([
    ['no arguments', undefined, []],
    ['short arguments', 'cert=AAAA==;iat-mode=0', [['cert', 'AAAA=='], ['iat-mode', '0']]],
  ])('%s', async (_name, userId, args) => {
    const server = new Socks5Server();
    const leftovers: string[] = [];
    const duplex = serverDuplex(server, (l) => leftovers.push(hex(l)));
    const proxy = { host: '127.0.0.1', port: 1080, type: 5 as const, ...(userId !== undefined && { userId, password: '\0' }) };
    const info = await SocksClient.createConnection({
      proxy,
      command: 'connect',
      destination: { host: '192.0.2.7', port: 443 },
      existing_socket: duplex,
      timeout: 2000,
    });
    expect(info.socket).toBe(duplex);
    expect(server.state).toBe('connected');
    expect(server.request).toMatchObject({ host: '192.0.2.7', port: 443, args, authenticated: userId !== undefined });
    duplex.destroy();
  });
});
