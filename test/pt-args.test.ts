/**
 * pt-spec §3.5 (per-connection client arguments, RFC 1929 split), §3.2.3
 * (TOR_PT_SERVER_TRANSPORT_OPTIONS) and §3.3.3 (SMETHOD ARGS), with tor's own escaping habits
 * from tor-pt.md §1.1 and §3.2 and the transcripts of its Appendix A.
 */
import fc from 'fast-check';
import {
  MAX_SOCKS_ARGS_BYTES,
  formatServerTransportOptions,
  formatSmethodArgs,
  formatSocksArgs,
  joinRfc1929Credentials,
  parseRfc1929Args,
  parseServerTransportOptions,
  parseSocksArgs,
  splitSocksArgsForRfc1929,
  uniqueArgs,
  type PtArgs,
} from '../src/pt/args.js';

/** What tor does (`pt_stringify_socks_args`): escape only ';' and '\' inside each k=v item. */
const torStringify = (args: PtArgs): string => args.map(([k, v]) => `${k}=${v}`.replace(/[;\\]/g, (c) => `\\${c}`)).join(';');
/** What tor does for server options (`tor_escape_str_for_pt_args(options, ":;\\")`). */
const torOptions = (name: string, args: PtArgs): string =>
  args.map(([k, v]) => `${name}:${`${k}=${v}`.replace(/[:;\\]/g, (c) => `\\${c}`)}`).join(';');

const key = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0'));
const value = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0'));
const pairs = fc.array(fc.tuple(key, value), { maxLength: 8 });

describe('client arguments (pt-spec §3.5)', () => {
  test.each<[string, PtArgs]>([
    ['', []],
    ['shared-secret=rahasia;secrets-file=/tmp/blob', [['shared-secret', 'rahasia'], ['secrets-file', '/tmp/blob']]],
    // tor does not escape '=': the first unescaped '=' splits, later ones are literal (base64 padding).
    ['cert=AAAA==;iat-mode=0', [['cert', 'AAAA=='], ['iat-mode', '0']]],
    ['k=a\\;b', [['k', 'a;b']]],
    ['k\\=x=y', [['k=x', 'y']]],
    ['k=a\\\\b', [['k', 'a\\b']]],
    ['k=\\q', [['k', 'q']]], // an escape may precede any character
    ['k=', [['k', '']]],
    ['a=1;a=2', [['a', '1'], ['a', '2']]],
    ['ключ=значение', [['ключ', 'значение']]],
  ])('parses %j', (text, args) => {
    expect(parseSocksArgs(text)).toEqual({ ok: true, value: args });
  });

  test.each([
    ['a', 'no equals sign in "a"'],
    ['a;b=c', 'no equals sign in "a"'],
    ['a=b;', 'no equals sign in ""'],
    ['a=b;;c=d', 'no equals sign in ""'],
    ['=b', 'empty key in "=b"'],
    ['a=b;=c', 'empty key in "=c"'],
    // tor-pt.md Appendix A: args "cert=abc\" (dangling escape) -> auth failure.
    ['cert=abc\\', 'nothing following final escape in "abc\\\\"'],
    ['ab\\', 'nothing following final escape in "ab\\\\"'],
    ['a=b\0', 'NUL byte in arguments'],
    [`k=${'v'.repeat(509)}`, 'arguments are 511 bytes, more than 510'],
  ])('rejects %j: %s', (text, error) => {
    expect(parseSocksArgs(text)).toEqual({ ok: false, error });
  });

  test('format escapes "\\", "=" and ";" as the spec asks', () => {
    expect(formatSocksArgs([['k=1', 'a;b\\c=d']])).toBe('k\\=1=a\\;b\\\\c\\=d');
    expect(formatSocksArgs([])).toBe('');
    expect(() => formatSocksArgs([['', 'v']])).toThrow(RangeError);
    expect(() => formatSocksArgs([['k', 'a\0']])).toThrow(RangeError);
    expect(() => formatSocksArgs([['k', 'v'.repeat(509)]])).toThrow(RangeError);
    expect(formatSocksArgs([['k', 'v'.repeat(508)]])).toHaveLength(MAX_SOCKS_ARGS_BYTES);
    expect(() => formatSocksArgs([['k']] as never)).toThrow(TypeError);
    expect(() => formatSocksArgs('k=v' as never)).toThrow(TypeError);
  });

  test('format → parse round trip (property)', () => {
    fc.assert(
      fc.property(pairs, (args) => {
        let text: string;
        try {
          text = formatSocksArgs(args);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError); // only when over 510 bytes
          expect(Buffer.byteLength(args.map(([k, v]) => `${k}=${v}`).join(';'))).toBeGreaterThan(300);
          return;
        }
        expect(parseSocksArgs(text)).toEqual({ ok: true, value: args });
      }),
      { numRuns: 1000 },
    );
  });

  test("tor's own escaping (no '=' escaped) parses back too, whenever keys have no '=' (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key.filter((k) => !k.includes('=')), value), { minLength: 1, maxLength: 6 }), (args) => {
        expect(parseSocksArgs(torStringify(args))).toEqual({ ok: true, value: args });
      }),
      { numRuns: 1000 },
    );
  });

  test('the parser never throws on any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '=', ';', '\\', '\0', 'é'), maxLength: 30 }), (text) => {
        const r = parseSocksArgs(text);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  test('uniqueArgs refuses duplicate keys', () => {
    expect(uniqueArgs([['a', '1'], ['b', '2']])).toEqual({ ok: true, value: new Map([['a', '1'], ['b', '2']]) });
    expect(uniqueArgs([['a', '1'], ['a', '1']])).toEqual({ ok: false, error: 'duplicate key "a"' });
  });
});

describe('RFC 1929 split (pt-spec §3.5, tor-pt.md §3.2)', () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

  test.each([
    [1, 1, 1],
    [254, 254, 1],
    [255, 255, 1],
    [256, 255, 1],
    [300, 255, 45],
    [510, 255, 255],
  ])('%i bytes -> ULEN %i, PLEN %i', (size, ulen, plen) => {
    const text = 'k=x'.repeat(size).slice(0, size);
    const { username, password } = splitSocksArgsForRfc1929(text);
    expect([username.length, password.length]).toEqual([ulen, plen]);
    if (size <= 255) expect(hex(password)).toBe('00'); // "a single NUL character"
    expect(Buffer.from(joinRfc1929Credentials(username, password)).toString()).toBe(text);
  });

  test('limits', () => {
    expect(() => splitSocksArgsForRfc1929('')).toThrow(RangeError);
    expect(() => splitSocksArgsForRfc1929('x'.repeat(511))).toThrow(RangeError);
    expect(() => splitSocksArgsForRfc1929(1 as never)).toThrow(TypeError);
    expect(() => joinRfc1929Credentials('a' as never, new Uint8Array(1))).toThrow(TypeError);
  });

  test('a real password (not the lone NUL) is joined as is', () => {
    expect(hex(joinRfc1929Credentials(Uint8Array.of(0x61), Uint8Array.of(0x00, 0x00)))).toBe('610000');
    expect(hex(joinRfc1929Credentials(Uint8Array.of(0x61), Uint8Array.of(0x62)))).toBe('6162');
  });

  test('split → join → parse gives back the arguments, even when a character straddles byte 255 (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.string({ unit: 'grapheme', maxLength: 60 })), { minLength: 1, maxLength: 12 }), (args) => {
        fc.pre(!args.some(([, v]) => v.includes('\0')));
        let text: string;
        try {
          text = formatSocksArgs(args);
        } catch {
          return; // over 510 bytes
        }
        const { username, password } = splitSocksArgsForRfc1929(text);
        expect(parseRfc1929Args(username, password)).toEqual({ ok: true, value: args });
      }),
      { numRuns: 500 },
    );
  });

  test('bytes that are not UTF-8 are refused, not thrown', () => {
    expect(parseRfc1929Args(Uint8Array.of(0x6b, 0x3d, 0xff), Uint8Array.of(0))).toEqual({ ok: false, error: 'arguments are not valid UTF-8' });
  });
});

describe('TOR_PT_SERVER_TRANSPORT_OPTIONS (pt-spec §3.2.3)', () => {
  test('the spec example', () => {
    const r = parseServerTransportOptions('scramblesuit:key=banana;automata:rule=110;automata:depth=3');
    expect(r.ok && [...r.value]).toEqual([
      ['scramblesuit', [['key', 'banana']]],
      ['automata', [['rule', '110'], ['depth', '3']]],
    ]);
  });

  test.each<[string, Array<[string, PtArgs]>]>([
    ['', []],
    ['dust:key=abc==', [['dust', [['key', 'abc==']]]]], // tor leaves '=' unescaped
    ['dust:k=a\\:b\\;c\\\\d', [['dust', [['k', 'a:b;c\\d']]]]],
    ['dust:k=a:b', [['dust', [['k', 'a:b']]]]],
    ['dust:a\\:b=c', [['dust', [['a:b', 'c']]]]],
    ['dust:k=', [['dust', [['k', '']]]]],
    ['obfs4:iat-mode=2', [['obfs4', [['iat-mode', '2']]]]],
  ])('parses %j', (text, entries) => {
    const r = parseServerTransportOptions(text);
    expect(r.ok && [...r.value]).toEqual(entries);
  });

  test.each([
    // tor-pt.md Appendix A, byte for byte.
    ['obfs4iat-mode=2', 'no colon in "obfs4iat-mode"'],
    ['dust', 'no colon in "dust"'],
    ['dust;x', 'no colon in "dust"'],
    ['dust:k', 'no equals sign in "dust:k"'],
    ['dust:k;x=y', 'no equals sign in "dust:k"'],
    [':k=v', 'empty method name in ":k=v"'],
    ['dust:=v', 'empty key in "dust:=v"'],
    ['dust:k=v;', 'no colon in ""'],
    ['dust:k=v\\', 'nothing following final escape in "v\\\\"'],
  ])('rejects %j: %s', (text, error) => {
    expect(parseServerTransportOptions(text)).toEqual({ ok: false, error });
  });

  test('format → parse round trip (property)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, pairs.filter((p) => p.length > 0)), { maxLength: 4 }), (entries) => {
        const r = parseServerTransportOptions(formatServerTransportOptions(entries));
        const expected = new Map<string, Array<readonly [string, string]>>();
        for (const [n, args] of entries) expected.set(n, [...(expected.get(n) ?? []), ...args]);
        expect(r).toEqual({ ok: true, value: expected });
      }),
      { numRuns: 500 },
    );
  });

  test("tor's escaping parses back whenever keys have no '=' (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key.filter((k) => !k.includes('=')), value), { minLength: 1, maxLength: 5 }), (args) => {
        const r = parseServerTransportOptions(torOptions('dust', args));
        expect(r.ok && r.value.get('dust')).toEqual(args);
      }),
      { numRuns: 1000 },
    );
  });

  test('format checks its input', () => {
    expect(() => formatServerTransportOptions([['', [['k', 'v']]]])).toThrow(RangeError);
    expect(() => formatServerTransportOptions([['dust', [['', 'v']]]])).toThrow(RangeError);
    expect(() => formatServerTransportOptions('dust' as never)).toThrow(TypeError);
  });
});

describe('SMETHOD ARGS (pt-spec §3.3.3)', () => {
  test('escapes "=", "," and "\\" and keeps the caller\'s order', () => {
    expect(formatSmethodArgs([['node-id', 'a=b'], ['cert', 'x,y'], ['p', 'c\\d']])).toBe('node-id=a\\=b,cert=x\\,y,p=c\\\\d');
  });
});
