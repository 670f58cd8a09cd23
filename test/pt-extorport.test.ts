/**
 * ext-orport-spec (SAFE_COOKIE authentication §2.1, commands §3) from the PT's side, against a fake
 * Extended ORPort server written here (also sans-IO, its HMACs computed with @noble/hashes rather
 * than node:crypto), in every chunking, plus the obfs4proxy exchange of tor-pt.md Appendix A.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { scriptedRandom, systemRandom } from '../src/core/random.js';
import {
  AUTH_COOKIE_HEADER,
  EXTOR_COMMAND,
  ExtOrPortClient,
  encodeExtOrCommand,
  extOrClientHash,
  extOrServerHash,
  formatUserAddr,
  parseAuthCookieFile,
  type ExtOrErrorCode,
} from '../src/pt/extorport.js';

const h = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

const HEADER_TEXT = '! Extended ORPort Auth Cookie !\n';
const COOKIE = h('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
const COOKIE_FILE = cat(ascii(HEADER_TEXT), COOKIE);
const CLIENT_NONCE = h('c1'.repeat(32));
const SERVER_NONCE = h('5e'.repeat(32));

/** The spec's formulas, with an independent HMAC implementation. */
const serverHash = (cookie: Uint8Array, cn: Uint8Array, sn: Uint8Array): Uint8Array =>
  hmac(sha256, cookie, cat(ascii('ExtORPort authentication server-to-client hash'), cn, sn));
const clientHash = (cookie: Uint8Array, cn: Uint8Array, sn: Uint8Array): Uint8Array =>
  hmac(sha256, cookie, cat(ascii('ExtORPort authentication client-to-server hash'), cn, sn));

interface FakeTorOptions {
  cookie?: Uint8Array;
  authTypes?: Uint8Array;
  /** Corrupt the server hash it sends. */
  badServerHash?: boolean;
  /** Status byte after the client hash (default: 1 if the hash checks, else 0). */
  status?: number;
  /** What to answer after DONE (default OKAY), each as [command, body]. */
  replies?: Array<[number, Uint8Array]>;
}

/**
 * A sans-IO fake of tor's ExtORPort (tor `ext_orport.c` as ext-orport-spec describes it). It sends
 * its auth types at once, checks what the client sends, records the commands and answers after DONE.
 */
class FakeExtOrPort {
  readonly seen: { authType?: number; clientNonce?: Uint8Array; clientHashOk?: boolean; commands: Array<[number, string]> } = { commands: [] };
  private buf: Uint8Array = new Uint8Array(0);
  private out: Uint8Array[] = [];
  private stage: 'auth-type' | 'nonce' | 'client-hash' | 'commands' | 'done' | 'closed' = 'auth-type';
  constructor(private readonly o: FakeTorOptions = {}) {
    this.out.push(o.authTypes ?? h('01 00'));
  }
  take(): Uint8Array {
    const all = cat(...this.out);
    this.out = [];
    return all;
  }
  get closed(): boolean {
    return this.stage === 'closed';
  }
  receive(chunk: Uint8Array): void {
    if (this.stage === 'closed') return;
    this.buf = cat(this.buf, chunk);
    for (;;) {
      if (this.stage === 'auth-type' && this.buf.length >= 1) {
        this.seen.authType = this.buf[0];
        this.buf = this.buf.subarray(1);
        // "If the client sent an AuthType of value 0, or an AuthType that the server does not support, the server MUST close."
        this.stage = this.seen.authType === 1 ? 'nonce' : 'closed';
      } else if (this.stage === 'nonce' && this.buf.length >= 32) {
        const cn = this.buf.slice(0, 32);
        this.seen.clientNonce = cn;
        this.buf = this.buf.subarray(32);
        const sh = serverHash(this.o.cookie ?? COOKIE, cn, SERVER_NONCE);
        if (this.o.badServerHash) sh[0]! ^= 1;
        this.out.push(sh, SERVER_NONCE);
        this.stage = 'client-hash';
      } else if (this.stage === 'client-hash' && this.buf.length >= 32) {
        const expected = clientHash(this.o.cookie ?? COOKIE, this.seen.clientNonce!, SERVER_NONCE);
        this.seen.clientHashOk = hex(this.buf.subarray(0, 32)) === hex(expected);
        this.buf = this.buf.subarray(32);
        this.out.push(Uint8Array.of(this.o.status ?? (this.seen.clientHashOk ? 1 : 0)));
        this.stage = this.seen.clientHashOk ? 'commands' : 'closed';
      } else if (this.stage === 'commands' && this.buf.length >= 4) {
        const len = (this.buf[2]! << 8) | this.buf[3]!;
        if (this.buf.length < 4 + len) return;
        const cmd = (this.buf[0]! << 8) | this.buf[1]!;
        this.seen.commands.push([cmd, Buffer.from(this.buf.subarray(4, 4 + len)).toString('latin1')]);
        this.buf = this.buf.subarray(4 + len);
        if (cmd === EXTOR_COMMAND.DONE) {
          // tor requires its buffer to be empty after DONE (tor-pt.md §4).
          if (this.buf.length > 0) throw new Error('client sent bytes after DONE before OKAY');
          for (const [c, body] of this.o.replies ?? [[EXTOR_COMMAND.OKAY, new Uint8Array(0)]]) this.out.push(encodeExtOrCommand(c, body));
          this.stage = 'done';
        }
      } else {
        return;
      }
    }
  }
}

type Chunking = 'whole' | 'bytes' | number;

/** Moves bytes both ways until neither side has anything to say; `chunk` sizes what each side reads. */
function pump(client: ExtOrPortClient, tor: FakeExtOrPort, chunking: Chunking = 'whole', extra?: Uint8Array): void {
  let first = true;
  for (let rounds = 0; rounds < 1000; rounds++) {
    let fromTor = tor.take();
    if (first && extra !== undefined) fromTor = cat(fromTor, extra);
    if (fromTor.length > 0) first = false;
    const size = chunking === 'whole' ? Math.max(1, fromTor.length) : chunking === 'bytes' ? 1 : chunking;
    for (let i = 0; i < fromTor.length; i += size) client.receive(fromTor.subarray(i, i + size));
    const fromClient = client.takeOutput();
    for (let i = 0; i < fromClient.length; i += size) tor.receive(fromClient.subarray(i, i + size));
    if (fromTor.length === 0 && fromClient.length === 0) return;
  }
  throw new Error('pump did not settle');
}

const options = { cookieFile: COOKIE_FILE, random: scriptedRandom(CLIENT_NONCE), transport: 'dust', userAddress: { host: '127.0.0.1', port: 40554 } };

describe('SAFE_COOKIE and the commands against a fake ExtORPort', () => {
  test.each<Chunking>(['whole', 'bytes', 3, 31, 33])('chunking %j (tor-pt.md Appendix A exchange)', (chunking) => {
    const client = new ExtOrPortClient({ ...options, random: scriptedRandom(CLIENT_NONCE) });
    const tor = new FakeExtOrPort();
    pump(client, tor, chunking);
    expect(client.state).toBe('open');
    expect(client.failure).toBeUndefined();
    expect(tor.seen.authType).toBe(1);
    expect(hex(tor.seen.clientNonce!)).toBe(hex(CLIENT_NONCE));
    expect(tor.seen.clientHashOk).toBe(true);
    // Appendix A: USERADDR "127.0.0.1:40554", TRANSPORT "obfs4" (here dust), DONE, then wait for OKAY.
    expect(tor.seen.commands).toEqual([
      [EXTOR_COMMAND.USERADDR, '127.0.0.1:40554'],
      [EXTOR_COMMAND.TRANSPORT, 'dust'],
      [EXTOR_COMMAND.DONE, ''],
    ]);
    expect(hex(client.takeOutput())).toBe('');
  });

  test('the exact bytes, in hex', () => {
    const client = new ExtOrPortClient({ ...options, random: scriptedRandom(CLIENT_NONCE) });
    expect(hex(client.takeOutput())).toBe(''); // nothing until tor lists its auth types
    client.receive(h('01'));
    expect(hex(client.takeOutput())).toBe('');
    client.receive(h('00'));
    expect(hex(client.takeOutput())).toBe(`01${hex(CLIENT_NONCE)}`);
    expect(client.state).toBe('server-hash');
    const sh = serverHash(COOKIE, CLIENT_NONCE, SERVER_NONCE);
    client.receive(cat(sh, SERVER_NONCE.subarray(0, 31)));
    expect(hex(client.takeOutput())).toBe('');
    client.receive(SERVER_NONCE.subarray(31));
    expect(hex(client.takeOutput())).toBe(hex(clientHash(COOKIE, CLIENT_NONCE, SERVER_NONCE)));
    client.receive(h('01'));
    expect(hex(client.takeOutput())).toBe(
      `0001 000f ${hex(ascii('127.0.0.1:40554'))} 0002 0004 ${hex(ascii('dust'))} 0000 0000`.replace(/ /g, ''),
    );
    expect(client.state).toBe('awaiting-okay');
    client.receive(h('1000 0000 16030100'));
    expect(client.state).toBe('open');
    expect(hex(client.takeLeftover())).toBe('16030100');
    client.receive(h('aa'));
    expect(hex(client.takeLeftover())).toBe('aa');
  });

  test('node:crypto and @noble/hashes agree on both hashes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (cookie, cn, sn) => {
        expect(hex(extOrServerHash(cookie, cn, sn))).toBe(hex(serverHash(cookie, cn, sn)));
        expect(hex(extOrClientHash(cookie, cn, sn))).toBe(hex(clientHash(cookie, cn, sn)));
      }),
      { numRuns: 100 },
    );
  });

  test('any chunking, with several auth types and unknown commands before OKAY (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.tuple(fc.constantFrom(EXTOR_COMMAND.CONTROL, 0x2222, 0x0003), fc.uint8Array({ maxLength: 80 })), { maxLength: 3 }),
        fc.uint8Array({ maxLength: 40 }),
        (chunk, nonce, unknown, okayBody) => {
          const client = new ExtOrPortClient({ ...options, random: scriptedRandom(nonce) });
          const tor = new FakeExtOrPort({ authTypes: h('03 01 02 00'), replies: [...unknown, [EXTOR_COMMAND.OKAY, okayBody]] });
          pump(client, tor, chunk);
          expect(client.state).toBe('open');
          expect(tor.seen.clientHashOk).toBe(true);
          expect(tor.seen.commands.map(([c]) => c)).toEqual([1, 2, 0]);
          expect(hex(client.takeLeftover())).toBe('');
        },
      ),
      { numRuns: 300 },
    );
  });

  test('no USERADDR when the address is unknown; IPv6 and IPv4-mapped addresses', () => {
    const none = new ExtOrPortClient({ cookieFile: COOKIE_FILE, random: systemRandom, transport: 'dust' });
    const tor = new FakeExtOrPort();
    pump(none, tor);
    expect(tor.seen.commands).toEqual([[2, 'dust'], [0, '']]);
    expect(formatUserAddr({ host: '2001:db8:0::1', port: 5678 })).toBe('[2001:db8::1]:5678');
    expect(formatUserAddr({ host: '::ffff:192.0.2.9', port: 1 })).toBe('192.0.2.9:1');
    expect(formatUserAddr({ host: '1.2.3.4', port: 5678 })).toBe('1.2.3.4:5678');
    expect(() => formatUserAddr({ host: 'localhost', port: 1 })).toThrow(RangeError);
    expect(() => formatUserAddr({ host: '1.2.3.4', port: 70000 })).toThrow(RangeError);
  });
});

describe('failures: stable code, nothing more sent', () => {
  test.each<[string, FakeTorOptions, ExtOrErrorCode, string]>([
    ['wrong server hash (another cookie)', { cookie: h('ff'.repeat(32)) }, 'DUST_ERR_EXTOR_BAD_SERVER_HASH', 'server-hash'],
    ['corrupted server hash', { badServerHash: true }, 'DUST_ERR_EXTOR_BAD_SERVER_HASH', 'server-hash'],
    ['DENY', { replies: [[EXTOR_COMMAND.DENY, new Uint8Array(0)]] }, 'DUST_ERR_EXTOR_DENIED', 'commands'],
    ['DENY after an ignored command', { replies: [[EXTOR_COMMAND.CONTROL, h('00')], [EXTOR_COMMAND.DENY, h('0102')]] }, 'DUST_ERR_EXTOR_DENIED', 'commands'],
    ['status 0', { status: 0 }, 'DUST_ERR_EXTOR_AUTH_FAILED', 'status'],
    ['status 2', { status: 2 }, 'DUST_ERR_EXTOR_BAD_STATUS', 'status'],
    ['no SAFE_COOKIE offered', { authTypes: h('02 03 00') }, 'DUST_ERR_EXTOR_NO_SAFE_COOKIE', 'types'],
  ])('%s', (_name, torOptions, code, where) => {
    for (const chunking of ['whole', 'bytes'] as const) {
      const client = new ExtOrPortClient({ ...options, random: scriptedRandom(CLIENT_NONCE) });
      const tor = new FakeExtOrPort(torOptions);
      pump(client, tor, chunking);
      expect(client.state).toBe('failed');
      expect(client.failure?.code).toBe(code);
      if (where === 'server-hash') {
        // "If the server-provided ServerHash is invalid, the client MUST terminate": no client hash.
        expect(tor.seen.clientHashOk).toBeUndefined();
        expect(tor.seen.commands).toEqual([]);
      }
      if (where === 'status') expect(tor.seen.commands).toEqual([]);
      if (where === 'types') {
        expect(tor.seen.authType).toBe(0); // "the client did not like the authentication types offered"
        expect(tor.closed).toBe(true);
      }
      client.receive(encodeExtOrCommand(EXTOR_COMMAND.OKAY));
      expect(client.state).toBe('failed');
      expect(hex(client.takeOutput())).toBe('');
      expect(hex(client.takeLeftover())).toBe('');
    }
  });

  test('an endless auth-type list', () => {
    const client = new ExtOrPortClient({ ...options, random: scriptedRandom(CLIENT_NONCE) });
    client.receive(new Uint8Array(255).fill(7));
    expect(client.state).toBe('auth-types');
    client.receive(h('07'));
    expect(client.failure?.code).toBe('DUST_ERR_EXTOR_BAD_AUTH_TYPES');
    expect(hex(client.takeOutput())).toBe('');
  });

  test('timeout until OKAY, then none', () => {
    const client = new ExtOrPortClient({ ...options, random: scriptedRandom(CLIENT_NONCE), now: 100, timeoutMs: 5000 });
    expect(client.nextDeadline()).toBe(5100);
    client.handleTimeout(5099);
    expect(client.state).toBe('auth-types');
    client.handleTimeout(5100);
    expect(client.failure).toEqual({ code: 'DUST_ERR_EXTOR_TIMEOUT', message: 'Extended ORPort handshake timed out' });
    const ok = new ExtOrPortClient({ ...options, random: scriptedRandom(CLIENT_NONCE), now: 0 });
    pump(ok, new FakeExtOrPort());
    expect(ok.nextDeadline()).toBeUndefined();
    ok.handleTimeout(1e12);
    expect(ok.state).toBe('open');
  });
});

describe('the cookie file (ext-orport-spec §2.1.2)', () => {
  test('header and length', () => {
    expect(Buffer.from(AUTH_COOKIE_HEADER).toString('latin1')).toBe(HEADER_TEXT);
    expect(AUTH_COOKIE_HEADER).toHaveLength(32);
    expect(parseAuthCookieFile(COOKIE_FILE)).toEqual({ ok: true, value: COOKIE });
    expect(parseAuthCookieFile(COOKIE_FILE.subarray(0, 63))).toEqual({ ok: false, error: 'auth cookie file is 63 bytes, expected 64' });
    expect(parseAuthCookieFile(cat(COOKIE_FILE, h('0a')))).toEqual({ ok: false, error: 'auth cookie file is 65 bytes, expected 64' });
    const bad = COOKIE_FILE.slice();
    bad[0] = 0x3f;
    expect(parseAuthCookieFile(bad)).toEqual({ ok: false, error: 'auth cookie file lacks the "! Extended ORPort Auth Cookie !\\n" header' });
    expect(() => parseAuthCookieFile('cookie' as never)).toThrow(TypeError);
  });

  test('a bad file fails the client before it sends anything', () => {
    const client = new ExtOrPortClient({ ...options, cookieFile: COOKIE_FILE.subarray(0, 10) });
    expect(client.failure).toEqual({ code: 'DUST_ERR_EXTOR_BAD_COOKIE_FILE', message: 'auth cookie file is 10 bytes, expected 64' });
    client.receive(h('0100'));
    expect(hex(client.takeOutput())).toBe('');
  });

  test('argument checks', () => {
    expect(() => new ExtOrPortClient({ ...options, transport: 'du st' })).toThrow(RangeError);
    expect(() => new ExtOrPortClient({ ...options, transport: 5 as never })).toThrow(TypeError);
    expect(() => new ExtOrPortClient({ ...options, random: undefined as never })).toThrow(TypeError);
    expect(() => new ExtOrPortClient({ ...options, cookieFile: 'x' as never })).toThrow(TypeError);
    expect(() => new ExtOrPortClient({ ...options, userAddress: { host: 'example.com', port: 1 } })).toThrow(RangeError);
    expect(() => new ExtOrPortClient({ ...options, timeoutMs: -1 })).toThrow(RangeError);
    expect(() => new ExtOrPortClient(undefined as never)).toThrow(TypeError);
    expect(() => encodeExtOrCommand(0x10000)).toThrow(RangeError);
    expect(() => encodeExtOrCommand(1, new Uint8Array(65536))).toThrow(RangeError);
    const client = new ExtOrPortClient({ ...options, random: () => new Uint8Array(31) });
    expect(() => client.receive(h('0100'))).toThrow(/BUG/);
  });
});
