/**
 * pt-spec §3.3 (PT → tor stdout lines) and the address grammar of those lines, checked against the
 * spec's own examples, tor-pt.md §2 and its Appendix A, RFC 5952 and the WHATWG URL serializer.
 */
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  PtLineWriter,
  asciiSafe,
  cmethodErrorLine,
  cmethodLine,
  cmethodsDoneLine,
  envErrorLine,
  formatHostPort,
  formatIpAddress,
  formatLine,
  formatSmethodArgs,
  goQuote,
  isLoopback,
  isTransportName,
  logLine,
  parseHostPort,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
  proxyDoneLine,
  proxyErrorLine,
  quoteKvValue,
  smethodErrorLine,
  smethodLine,
  smethodsDoneLine,
  statusLine,
  versionErrorLine,
  versionLine,
  versionStatusLine,
  type LogSeverity,
} from '../src/pt/lines.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('IP literals', () => {
  test.each([
    ['0.0.0.0', '00000000'],
    ['127.0.0.1', '7f000001'],
    ['255.255.255.255', 'ffffffff'],
    ['192.0.2.10', 'c000020a'],
  ])('IPv4 %s', (text, bytes) => {
    expect(hex(parseIpv4(text)!)).toBe(bytes);
  });

  test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', ' 1.2.3.4', '1..3.4', '0x1.2.3.4', '1.2.3.4/8', 'localhost'])(
    'IPv4 rejects %j',
    (text) => {
      expect(parseIpv4(text)).toBeUndefined();
    },
  );

  test.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::4', '20010db8000000000000000000000004'],
    ['2001:DB8:0:0:0:0:0:4', '20010db8000000000000000000000004'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1::', '00010000000000000000000000000000'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
  ])('IPv6 %s', (text, bytes) => {
    expect(hex(parseIpv6(text)!)).toBe(bytes);
  });

  test.each([
    '', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '[::1]', 'fe80::1%eth0',
    '::1.2.3', '1.2.3.4::', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', ':1::', '1:', '1.2.3.4',
  ])('IPv6 rejects %j', (text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });

  test.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: first of equal runs
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // §4.2.2: a single 0 group stays
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
    ['20010DB8000000000000000000000ABC', '2001:db8::abc'],
  ])('RFC 5952 text for %s is %s', (bytes, text) => {
    expect(formatIpAddress(Uint8Array.from(Buffer.from(bytes, 'hex')))).toBe(text);
  });

  test('formatted IPv6 matches the WHATWG URL serializer and parses back (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 6 }),
        (bytes, zeroGroups) => {
          for (const g of zeroGroups) bytes[2 * g] = bytes[2 * g + 1] = 0; // make zero runs likely
          const text = formatIpAddress(bytes);
          expect(isIPv6(text)).toBe(true);
          expect(hex(parseIpv6(text)!)).toBe(hex(bytes));
          const mapped = bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
          if (!mapped) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('formatted IPv4 parses back and agrees with node:net (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        const text = formatIpAddress(bytes);
        expect(isIPv4(text)).toBe(true);
        expect(hex(parseIpv4(text)!)).toBe(hex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  test('accepts exactly what node:net accepts, for strings made of address characters (property)', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 20 }), (text) => {
        expect(parseIpAddress(text) !== undefined).toBe(isIPv4(text) || isIPv6(text));
      }),
      { numRuns: 5000 },
    );
  });

  test('loopback', () => {
    expect(isLoopback(parseIpAddress('127.3.2.1')!)).toBe(true);
    expect(isLoopback(parseIpAddress('::1')!)).toBe(true);
    expect(isLoopback(parseIpAddress('::ffff:127.0.0.1')!)).toBe(true);
    expect(isLoopback(parseIpAddress('128.0.0.1')!)).toBe(false);
    expect(isLoopback(parseIpAddress('::2')!)).toBe(false);
    expect(isLoopback(parseIpAddress('::')!)).toBe(false);
  });
});

describe('host:port', () => {
  test.each([
    ['127.0.0.1:9001', '127.0.0.1', 9001, 4],
    ['[::1]:9000', '::1', 9000, 6],
    ['[2001:DB8:0::4]:443', '2001:db8::4', 443, 6],
    ['0.0.0.0:65535', '0.0.0.0', 65535, 4],
  ])('parses %s', (text, host, port, family) => {
    expect(parseHostPort(text)).toEqual({ ok: true, value: { host, port, family } });
  });

  test.each([
    ['127.0.0.1', 'address string "127.0.0.1" lacks a port part'],
    ['127.0.0.1:', 'address string "127.0.0.1:" lacks a port part'],
    [':80', 'address string ":80" lacks a host part'],
    ['[]:80', 'not an IP string: ""'],
    ['localhost:80', 'not an IP string: "localhost"'],
    ['[::1]', 'address string "[::1]" lacks a port part'],
    ['[::1', 'address string "[::1" lacks a closing bracket'],
    ['[::1]x80', 'address string "[::1]x80" has junk after the bracket'],
    ['[1.2.3.4]:80', 'not an IP string: "1.2.3.4"'],
    ['::1:80', 'address string "::1:80" has an IPv6 host without brackets'],
    ['1.2.3.4:65536', 'invalid port "65536" in address string "1.2.3.4:65536"'],
    ['1.2.3.4:+80', 'invalid port "+80" in address string "1.2.3.4:+80"'],
    ['1.2.3.4:0', 'address string "1.2.3.4:0" has port 0'],
  ])('rejects %j: %s', (text, error) => {
    expect(parseHostPort(text)).toEqual({ ok: false, error });
  });

  test('port 0 when allowed (bind addresses)', () => {
    expect(parseHostPort('0.0.0.0:0', { allowPortZero: true })).toEqual({ ok: true, value: { host: '0.0.0.0', port: 0, family: 4 } });
  });

  test('formatHostPort brackets IPv6 and refuses names', () => {
    expect(formatHostPort({ host: '2001:db8:0::1', port: 1 })).toBe('[2001:db8::1]:1');
    expect(formatHostPort({ host: '10.0.0.1', port: 0 })).toBe('10.0.0.1:0');
    expect(() => formatHostPort({ host: 'example.com', port: 1 })).toThrow(RangeError);
    expect(() => formatHostPort({ host: '[::1]', port: 1 })).toThrow(RangeError);
    expect(() => formatHostPort({ host: '::1', port: 65536 })).toThrow(RangeError);
    expect(() => formatHostPort({ host: '::1', port: 1.5 })).toThrow(RangeError);
    expect(() => formatHostPort(null as never)).toThrow(TypeError);
  });
});

describe('quoting', () => {
  test.each([
    ['obfs4iat-mode', '"obfs4iat-mode"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\n\t\r\x07\x00\x7f', '"\\n\\t\\r\\a\\x00\\x7f"'],
    ['é€😀', '"\\u00e9\\u20ac\\U0001f600"'],
  ])('goQuote(%j) is Go %%+q: %s', (text, quoted) => {
    expect(goQuote(text)).toBe(quoted);
  });

  test('asciiSafe writes UTF-8 bytes as \\xNN text', () => {
    expect(asciiSafe('a\nb é')).toBe('a\\x0ab \\xc3\\xa9');
  });

  test('quoteKvValue uses only the escapes Arti understands', () => {
    expect(quoteKvValue('say "hi"\\ \n\t\r')).toBe('"say \\"hi\\"\\\\ \\n\\t\\r"');
    expect(quoteKvValue('\x00é')).toBe('"\\\\x00\\\\xc3\\\\xa9"');
  });

  test('a LOG message survives tor/Arti unescaping, and the line stays in the grammar (property)', () => {
    // The subset of C-string unescaping both parents share.
    const unescape = (s: string): string => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
    const display = (s: string): string =>
      Array.from(s, (ch) => (/^[\x20-\x7e\n\t\r]$/.test(ch) ? ch : asciiSafe(ch))).join('');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (message) => {
        const line = logLine('notice', message);
        expect(line).toMatch(/^LOG SEVERITY=notice MESSAGE="(?:[^"\\\n]|\\.)*"$/);
        expect(line).toMatch(/^[\x20-\x7e]*$/);
        const inner = line.slice('LOG SEVERITY=notice MESSAGE="'.length, -1);
        expect(unescape(inner)).toBe(display(message));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('pt-spec §3.3 lines', () => {
  test('examples from pt-spec and tor-pt.md, byte for byte', () => {
    expect(versionLine()).toBe('VERSION 1');
    expect(versionErrorLine()).toBe('VERSION-ERROR no-version');
    expect(envErrorLine('No TOR_PT_AUTH_COOKIE_FILE when TOR_PT_EXTENDED_SERVER_PORT set')).toBe(
      'ENV-ERROR No TOR_PT_AUTH_COOKIE_FILE when TOR_PT_EXTENDED_SERVER_PORT set',
    );
    expect(proxyDoneLine()).toBe('PROXY DONE');
    expect(proxyErrorLine('SOCKS 4 upstream proxies unsupported.')).toBe('PROXY-ERROR SOCKS 4 upstream proxies unsupported.');
    expect(cmethodLine('trebuchet', 'socks5', { host: '127.0.0.1', port: 19999 })).toBe('CMETHOD trebuchet socks5 127.0.0.1:19999');
    expect(cmethodErrorLine('trebuchet', 'no rocks available')).toBe('CMETHOD-ERROR trebuchet no rocks available');
    expect(cmethodsDoneLine()).toBe('CMETHODS DONE');
    expect(smethodLine('trebuchet', { host: '198.51.100.1', port: 19999 })).toBe('SMETHOD trebuchet 198.51.100.1:19999');
    expect(smethodLine('rot_by_N', { host: '198.51.100.1', port: 2323 }, [['N', '13']])).toBe('SMETHOD rot_by_N 198.51.100.1:2323 ARGS:N=13');
    expect(smethodErrorLine('trebuchet', 'no cows available')).toBe('SMETHOD-ERROR trebuchet no cows available');
    expect(smethodsDoneLine()).toBe('SMETHODS DONE');
    // pt-spec Appendix B.
    const cert = 'HszPy3vWfjsESCEOo9ZBkRv6zQ/1mGHzc8arF0y2SpwFr3WhsMu8rK0zyaoyERfbz3ddFw';
    expect(smethodLine('obfs4', { host: '198.51.100.1', port: 43734 }, [['cert', cert], ['iat-mode', '0']])).toBe(
      `SMETHOD obfs4 198.51.100.1:43734 ARGS:cert=${cert},iat-mode=0`,
    );
    // tor-pt.md Appendix A: an IPv6 bind address.
    expect(smethodLine('obfs4', { host: '::1', port: 41877 }, [['iat-mode', '0']])).toBe('SMETHOD obfs4 [::1]:41877 ARGS:iat-mode=0');
    expect(versionStatusLine('dust', 'dust-ts', '0.1.0')).toBe('STATUS TRANSPORT=dust TYPE=version IMPLEMENTATION="dust-ts" VERSION="0.1.0"');
    expect(logLine('warning', 'bad bridge line: missing key')).toBe('LOG SEVERITY=warning MESSAGE="bad bridge line: missing key"');
  });

  test('SMETHOD ARGS escapes "=", "," and "\\"', () => {
    expect(formatSmethodArgs([['k=1', 'a,b\\c=d']])).toBe('k\\=1=a\\,b\\\\c\\=d');
    expect(() => formatSmethodArgs([['k', 'a b']])).toThrow(RangeError); // tor splits SMETHOD on spaces
    expect(() => formatSmethodArgs([['', 'v']])).toThrow(RangeError);
    expect(() => formatSmethodArgs([])).toThrow(RangeError);
    expect(() => formatSmethodArgs([['k', 'é']])).toThrow(RangeError);
    expect(() => formatSmethodArgs('k=v' as never)).toThrow(TypeError);
    expect(smethodLine('dust', { host: '0.0.0.0', port: 1 }, [])).toBe('SMETHOD dust 0.0.0.0:1');
  });

  test('structural fields are checked: bad values throw', () => {
    expect(() => cmethodLine('1dust', 'socks5', { host: '127.0.0.1', port: 1 })).toThrow(RangeError);
    expect(() => cmethodLine('du-st', 'socks5', { host: '127.0.0.1', port: 1 })).toThrow(RangeError);
    expect(() => cmethodLine('dust', 'socks4a' as never, { host: '127.0.0.1', port: 1 })).toThrow(RangeError);
    expect(() => cmethodLine('dust', 'socks5', { host: '127.0.0.1', port: 0 })).toThrow(RangeError);
    expect(() => cmethodLine('dust', 'socks5', { host: 'localhost', port: 1 })).toThrow(RangeError);
    expect(() => smethodLine('dust', { host: '127.0.0.1', port: 0 })).toThrow(RangeError);
    expect(() => cmethodErrorLine('du st', 'x')).toThrow(RangeError);
    expect(() => cmethodErrorLine(7 as never, 'x')).toThrow(TypeError);
    expect(() => envErrorLine(undefined as never)).toThrow(TypeError);
    expect(() => logLine('warn' as LogSeverity, 'x')).toThrow(RangeError);
    expect(() => formatLine('BAD KEYWORD')).toThrow(RangeError);
    expect(() => formatLine('OK', 'a\nb')).toThrow(RangeError);
    expect(() => formatLine('OK', 'a\0b')).toThrow(RangeError);
    expect(() => formatLine('OK', 'é')).toThrow(RangeError);
    expect(isTransportName('_dust9')).toBe(true);
    expect(isTransportName('')).toBe(false);
  });

  test('free-text messages are made safe instead of throwing', () => {
    expect(envErrorLine('cannot open /tmp/é\nx')).toBe('ENV-ERROR cannot open /tmp/\\xc3\\xa9\\x0ax');
    expect(cmethodErrorLine('dust', 'bad\0')).toBe('CMETHOD-ERROR dust bad\\x00');
    expect(proxyErrorLine('')).toBe('PROXY-ERROR ');
  });

  test('STATUS always leads with TRANSPORT, writes TYPE bare and quotes the rest', () => {
    expect(statusLine('dust', [['CONNECT', 'ok'], ['ADDRESS', '[scrubbed]:443']])).toBe('STATUS TRANSPORT=dust CONNECT="ok" ADDRESS="[scrubbed]:443"');
    expect(() => statusLine('dust', [['TYPE', 'version'], ['TYPE', 'x']])).toThrow(RangeError);
    expect(() => statusLine('dust', [['TRANSPORT', 'x']])).toThrow(RangeError);
    expect(() => statusLine('dust', [['TYPE', 'two words']])).toThrow(RangeError);
    expect(() => statusLine('dust', [['K=V', 'x']])).toThrow(RangeError);
  });
});

describe('PtLineWriter', () => {
  const collect = (): { out: string[]; w: PtLineWriter } => {
    const out: string[] = [];
    return { out, w: new PtLineWriter((s) => out.push(s)) };
  };

  test('pt-spec Appendix A client session, one sink call per newline-terminated line', () => {
    const { out, w } = collect();
    w.version();
    w.proxyDone();
    w.cmethod('obfs3', 'socks5', { host: '127.0.0.1', port: 32525 });
    w.cmethod('obfs4', 'socks5', { host: '127.0.0.1', port: 37347 });
    w.cmethodsDone();
    w.log('notice', 'still allowed');
    w.status('dust', [['TYPE', 'version'], ['IMPLEMENTATION', 'dust-ts'], ['VERSION', '0.1.0']]);
    expect(out).toEqual([
      'VERSION 1\n',
      'PROXY DONE\n',
      'CMETHOD obfs3 socks5 127.0.0.1:32525\n',
      'CMETHOD obfs4 socks5 127.0.0.1:37347\n',
      'CMETHODS DONE\n',
      'LOG SEVERITY=notice MESSAGE="still allowed"\n',
      'STATUS TRANSPORT=dust TYPE=version IMPLEMENTATION="dust-ts" VERSION="0.1.0"\n',
    ]);
    expect(w.state).toBe('done');
  });

  test('pt-spec Appendix B server session', () => {
    const { out, w } = collect();
    w.version();
    w.smethod('obfs3', { host: '198.51.100.1', port: 1984 });
    w.smethodError('obfs4', 'no cows available');
    w.smethodsDone();
    expect(out.join('')).toBe('VERSION 1\nSMETHOD obfs3 198.51.100.1:1984\nSMETHOD-ERROR obfs4 no cows available\nSMETHODS DONE\n');
  });

  test('lines tor would take as "wrong state" throw before reaching the sink', () => {
    const local = { host: '127.0.0.1', port: 1 };
    // [name, lines that are fine, the line that must be refused]
    const cases: Array<[string, (w: PtLineWriter) => void, (w: PtLineWriter) => void]> = [
      ['method before VERSION', () => {}, (w) => w.cmethodsDone()],
      ['second VERSION', (w) => w.version(), (w) => w.version()],
      ['VERSION-ERROR after VERSION', (w) => w.version(), (w) => w.versionError()],
      ['PROXY DONE before VERSION', () => {}, (w) => w.proxyDone()],
      ['PROXY DONE after CMETHOD', (w) => { w.version(); w.cmethod('dust', 'socks5', local); }, (w) => w.proxyDone()],
      ['two PROXY DONE', (w) => { w.version(); w.proxyDone(); }, (w) => w.proxyDone()],
      ['PROXY DONE on a server', (w) => { w.version(); w.smethod('dust', local); }, (w) => w.proxyDone()],
      ['client and server mixed', (w) => { w.version(); w.cmethod('dust', 'socks5', local); }, (w) => w.smethodsDone()],
      ['CMETHOD after DONE', (w) => { w.version(); w.cmethodsDone(); }, (w) => w.cmethod('dust', 'socks5', local)],
      ['ENV-ERROR after DONE', (w) => { w.version(); w.cmethodsDone(); }, (w) => w.envError('late')],
      ['anything after ENV-ERROR', (w) => w.envError('x'), (w) => w.version()],
      ['anything after PROXY-ERROR', (w) => { w.version(); w.proxyError('x'); }, (w) => w.cmethodsDone()],
      ['unknown keyword', () => {}, (w) => w.writeLine('HELLO there')],
      ['malformed DONE', (w) => w.version(), (w) => w.writeLine('CMETHODS FINISHED')],
      ['two lines at once', () => {}, (w) => w.writeLine('VERSION 1\nVERSION 1')],
    ];
    for (const [name, setup, bad] of cases) {
      const { out, w } = collect();
      setup(w);
      const before = [...out];
      const state = w.state;
      expect({ name, threw: (() => { try { bad(w); return false; } catch { return true; } })() }).toEqual({ name, threw: true });
      expect({ name, out, state: w.state }).toEqual({ name, out: before, state });
    }
  });

  test('with TOR_PT_PROXY set, no CMETHOD or CMETHODS DONE before PROXY DONE', () => {
    const out: string[] = [];
    const w = new PtLineWriter((s) => out.push(s), { proxyConfigured: true });
    w.version();
    expect(() => w.cmethodsDone()).toThrow(/PROXY DONE/);
    expect(() => w.cmethod('dust', 'socks5', { host: '127.0.0.1', port: 1 })).toThrow(/PROXY DONE/);
    expect(() => w.cmethodError('dust', 'x')).toThrow(/PROXY DONE/);
    w.proxyDone();
    w.cmethodsDone();
    expect(out).toEqual(['VERSION 1\n', 'PROXY DONE\n', 'CMETHODS DONE\n']);
  });

  test('LOG and STATUS are accepted in every state, even after a fatal error', () => {
    const { out, w } = collect();
    w.log('info', 'before');
    w.envError('bad env');
    w.log('error', 'after');
    expect(w.state).toBe('fatal');
    expect(out).toEqual(['LOG SEVERITY=info MESSAGE="before"\n', 'ENV-ERROR bad env\n', 'LOG SEVERITY=error MESSAGE="after"\n']);
  });

  test('checks its sink', () => {
    expect(() => new PtLineWriter('stdout' as never)).toThrow(TypeError);
  });
});
