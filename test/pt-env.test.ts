/**
 * pt-spec §3.2 (environment variables) and the error lines of tor-pt.md §1.2, row by row, with the
 * obfs4proxy transcripts of tor-pt.md Appendix A where they apply.
 */
import {
  DUST_TRANSPORT,
  outboundBindAddressFor,
  parseManagedEnv,
  parseProxyUri,
  type ClientEnv,
  type EnvLike,
  type ManagedEnvOptions,
  type ServerEnv,
} from '../src/pt/env.js';
import { PtLineWriter, parseIpAddress } from '../src/pt/lines.js';

const CLIENT: EnvLike = {
  TOR_PT_MANAGED_TRANSPORT_VER: '1',
  TOR_PT_STATE_LOCATION: '/var/lib/tor/pt_state/',
  TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
  TOR_PT_CLIENT_TRANSPORTS: 'dust',
};
const SERVER: EnvLike = {
  TOR_PT_MANAGED_TRANSPORT_VER: '1',
  TOR_PT_STATE_LOCATION: '/var/lib/tor/pt_state/',
  TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
  TOR_PT_SERVER_TRANSPORTS: 'dust',
  TOR_PT_SERVER_BINDADDR: 'dust-0.0.0.0:443',
  TOR_PT_ORPORT: '127.0.0.1:9001',
  TOR_PT_EXTENDED_SERVER_PORT: '127.0.0.1:4200',
  TOR_PT_AUTH_COOKIE_FILE: '/var/lib/tor/extended_orport_auth_cookie',
};

function client(env: EnvLike, options?: ManagedEnvOptions): ClientEnv {
  const r = parseManagedEnv(env, options);
  if (!r.ok) throw new Error(`expected a config, got ${r.line}`);
  if (r.config.mode !== 'client') throw new Error('expected client mode');
  return r.config;
}

function server(env: EnvLike, options?: ManagedEnvOptions): ServerEnv {
  const r = parseManagedEnv(env, options);
  if (!r.ok) throw new Error(`expected a config, got ${r.line}`);
  if (r.config.mode !== 'server') throw new Error('expected server mode');
  return r.config;
}

/** The error line, and a check that the whole sequence is a legal thing to print. */
function errorLine(env: EnvLike, options?: ManagedEnvOptions): string {
  const r = parseManagedEnv(env, options);
  if (r.ok) throw new Error(`expected an error, got a ${r.config.mode} config`);
  const printed: string[] = [];
  const writer = new PtLineWriter((s) => printed.push(s));
  for (const line of r.lines) writer.writeLine(line);
  expect(writer.state).toBe('fatal');
  expect(printed.at(-1)).toBe(`${r.line}\n`);
  expect(printed.at(-2)).toMatch(/^LOG SEVERITY=error MESSAGE=".*"\n$/);
  expect(r.line.startsWith(`${r.keyword} `)).toBe(true);
  return r.line;
}

describe('tor-pt.md §1.2: every error line', () => {
  const without = (env: EnvLike, name: string): EnvLike => ({ ...env, [name]: undefined });
  test.each<[string, EnvLike, string, ManagedEnvOptions?]>([
    ['version unset', without(CLIENT, 'TOR_PT_MANAGED_TRANSPORT_VER'), 'ENV-ERROR no TOR_PT_MANAGED_TRANSPORT_VER environment variable'],
    ['version empty', { ...CLIENT, TOR_PT_MANAGED_TRANSPORT_VER: '' }, 'ENV-ERROR no TOR_PT_MANAGED_TRANSPORT_VER environment variable'],
    // Appendix A: MANAGED_TRANSPORT_VER=2,3 -> VERSION-ERROR no-version
    ['no version 1', { ...CLIENT, TOR_PT_MANAGED_TRANSPORT_VER: '2,3' }, 'VERSION-ERROR no-version'],
    ['" 1" is not 1', { ...CLIENT, TOR_PT_MANAGED_TRANSPORT_VER: ' 1' }, 'VERSION-ERROR no-version'],
    // Appendix A: no STATE_LOCATION -> ENV-ERROR no TOR_PT_STATE_LOCATION environment variable
    ['state unset', without(CLIENT, 'TOR_PT_STATE_LOCATION'), 'ENV-ERROR no TOR_PT_STATE_LOCATION environment variable'],
    ['state relative', { ...CLIENT, TOR_PT_STATE_LOCATION: 'pt_state' }, 'ENV-ERROR TOR_PT_STATE_LOCATION: "pt_state": not an absolute path'],
    ['client list unset (client mode forced)', without(CLIENT, 'TOR_PT_CLIENT_TRANSPORTS'), 'ENV-ERROR no TOR_PT_CLIENT_TRANSPORTS environment variable', { mode: 'client' }],
    // Appendix A: CLIENT+SERVER both set
    ['both lists', { ...SERVER, TOR_PT_CLIENT_TRANSPORTS: 'dust' }, 'ENV-ERROR TOR_PT_[CLIENT,SERVER]_TRANSPORTS both set'],
    [
      'neither list',
      without(CLIENT, 'TOR_PT_CLIENT_TRANSPORTS'),
      'ENV-ERROR no TOR_PT_CLIENT_TRANSPORTS or TOR_PT_SERVER_TRANSPORTS environment variable (not launched as a managed transport?)',
    ],
    ['server list unset (server mode forced)', without(SERVER, 'TOR_PT_SERVER_TRANSPORTS'), 'ENV-ERROR no TOR_PT_SERVER_TRANSPORTS environment variable', { mode: 'server' }],
    ['bindaddr unset', without(SERVER, 'TOR_PT_SERVER_BINDADDR'), 'ENV-ERROR no TOR_PT_SERVER_BINDADDR environment variable'],
    ['bindaddr without "-"', { ...SERVER, TOR_PT_SERVER_BINDADDR: 'dust127.0.0.1:1' }, 'ENV-ERROR TOR_PT_SERVER_BINDADDR: "dust127.0.0.1:1": doesn\'t contain "-"'],
    ['bindaddr trailing comma', { ...SERVER, TOR_PT_SERVER_BINDADDR: 'dust-127.0.0.1:1,' }, 'ENV-ERROR TOR_PT_SERVER_BINDADDR: "": doesn\'t contain "-"'],
    // Appendix A: BINDADDR dup -> ... "obfs4-127.0.0.1:1": duplicate method name "obfs4"
    [
      'bindaddr duplicate',
      { ...SERVER, TOR_PT_SERVER_TRANSPORTS: 'obfs4', TOR_PT_SERVER_BINDADDR: 'obfs4-127.0.0.1:0,obfs4-127.0.0.1:1' },
      'ENV-ERROR TOR_PT_SERVER_BINDADDR: "obfs4-127.0.0.1:1": duplicate method name "obfs4"',
      { supportedTransports: ['obfs4'] },
    ],
    ['bindaddr hostname', { ...SERVER, TOR_PT_SERVER_BINDADDR: 'dust-localhost:1' }, 'ENV-ERROR TOR_PT_SERVER_BINDADDR: "dust-localhost:1": not an IP string: "localhost"'],
    ['bindaddr no port', { ...SERVER, TOR_PT_SERVER_BINDADDR: 'dust-127.0.0.1' }, 'ENV-ERROR TOR_PT_SERVER_BINDADDR: "dust-127.0.0.1": address string "127.0.0.1" lacks a port part'],
    ['bindaddr no host', { ...SERVER, TOR_PT_SERVER_BINDADDR: 'dust-:80' }, 'ENV-ERROR TOR_PT_SERVER_BINDADDR: "dust-:80": address string ":80" lacks a host part'],
    // Appendix A: OPTIONS=obfs4iat-mode=2, byte for byte.
    [
      'options without colon',
      { ...SERVER, TOR_PT_SERVER_TRANSPORT_OPTIONS: 'obfs4iat-mode=2' },
      'ENV-ERROR TOR_PT_SERVER_TRANSPORT_OPTIONS: "obfs4iat-mode=2": no colon in "obfs4iat-mode"',
    ],
    ['options dangling escape', { ...SERVER, TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:k=v\\' }, 'ENV-ERROR TOR_PT_SERVER_TRANSPORT_OPTIONS: "dust:k=v\\\\": nothing following final escape in "v\\\\"'],
    ['bad ORPort', { ...SERVER, TOR_PT_ORPORT: 'localhost:9001' }, 'ENV-ERROR cannot resolve TOR_PT_ORPORT "localhost:9001": not an IP string: "localhost"'],
    ['ORPort port 0', { ...SERVER, TOR_PT_ORPORT: '127.0.0.1:0' }, 'ENV-ERROR cannot resolve TOR_PT_ORPORT "127.0.0.1:0": address string "127.0.0.1:0" has port 0'],
    [
      'ExtORPort without cookie',
      without(SERVER, 'TOR_PT_AUTH_COOKIE_FILE'),
      'ENV-ERROR need TOR_PT_AUTH_COOKIE_FILE environment variable with TOR_PT_EXTENDED_SERVER_PORT',
    ],
    ['bad ExtORPort', { ...SERVER, TOR_PT_EXTENDED_SERVER_PORT: '127.0.0.1' }, 'ENV-ERROR cannot resolve TOR_PT_EXTENDED_SERVER_PORT "127.0.0.1": address string "127.0.0.1" lacks a port part'],
    [
      'neither ORPort nor ExtORPort',
      { ...SERVER, TOR_PT_ORPORT: undefined, TOR_PT_EXTENDED_SERVER_PORT: '' },
      'ENV-ERROR need TOR_PT_ORPORT or TOR_PT_EXTENDED_SERVER_PORT environment variable',
    ],
    ['outbound V4', { ...CLIENT, TOR_PT_OUTBOUND_BIND_ADDRESS_V4: '203.0.113' }, 'ENV-ERROR TOR_PT_OUTBOUND_BIND_ADDRESS_V4: "203.0.113": not an IPv4 address'],
    ['outbound V4 given v6', { ...CLIENT, TOR_PT_OUTBOUND_BIND_ADDRESS_V4: '::1' }, 'ENV-ERROR TOR_PT_OUTBOUND_BIND_ADDRESS_V4: "::1": not an IPv4 address'],
    ['outbound V6', { ...SERVER, TOR_PT_OUTBOUND_BIND_ADDRESS_V6: '[2001:db8::4' }, 'ENV-ERROR TOR_PT_OUTBOUND_BIND_ADDRESS_V6: "[2001:db8::4": not an IPv6 address'],
    // Appendix A: TOR_PT_PROXY=ftp://127.0.0.1:21 -> VERSION 1 / PROXY-ERROR proxy URI has invalid scheme: ftp
    ['proxy scheme', { ...CLIENT, TOR_PT_PROXY: 'ftp://127.0.0.1:21' }, 'PROXY-ERROR proxy URI has invalid scheme: ftp'],
    // Appendix A: socks5://localhost:1080 -> PROXY-ERROR proxy URI has invalid host: not an IP string: "localhost"
    ['proxy hostname', { ...CLIENT, TOR_PT_PROXY: 'socks5://localhost:1080' }, 'PROXY-ERROR proxy URI has invalid host: not an IP string: "localhost"'],
    ['proxy scheme not offered', { ...CLIENT, TOR_PT_PROXY: 'http://127.0.0.1:3128' }, 'PROXY-ERROR proxy URI has invalid scheme: http', { proxySchemes: ['socks5'] }],
  ])('%s', (...row) => {
    // A rest parameter: with a fixed 4th parameter, jest would take it for a `done` callback on 3-element rows.
    const [, env, line, options] = row;
    expect(errorLine(env, options)).toBe(line);
  });

  test('PROXY-ERROR comes after VERSION 1 (tor accepts it only then); the others before', () => {
    const proxy = parseManagedEnv({ ...CLIENT, TOR_PT_PROXY: 'ftp://127.0.0.1:21' });
    expect(!proxy.ok && proxy.lines).toEqual([
      'VERSION 1',
      'LOG SEVERITY=error MESSAGE="proxy URI has invalid scheme: ftp"',
      'PROXY-ERROR proxy URI has invalid scheme: ftp',
    ]);
    expect(!proxy.ok && [proxy.code, proxy.variable]).toEqual(['DUST_ERR_PT_PROXY', 'TOR_PT_PROXY']);
    const version = parseManagedEnv({ ...CLIENT, TOR_PT_MANAGED_TRANSPORT_VER: '2,3' });
    expect(!version.ok && version.lines).toEqual([
      'LOG SEVERITY=error MESSAGE="no supported PT protocol version in TOR_PT_MANAGED_TRANSPORT_VER=\\"2,3\\" (this PT speaks 1)"',
      'VERSION-ERROR no-version',
    ]);
    expect(!version.ok && version.code).toBe('DUST_ERR_PT_VERSION');
    const env = parseManagedEnv(without(SERVER, 'TOR_PT_SERVER_BINDADDR'));
    expect(!env.ok && [env.code, env.keyword, env.variable, env.message]).toEqual([
      'DUST_ERR_PT_ENV',
      'ENV-ERROR',
      'TOR_PT_SERVER_BINDADDR',
      'no TOR_PT_SERVER_BINDADDR environment variable',
    ]);
  });

  test('the version is checked first, then the mode, then the rest (pt-spec §3 order)', () => {
    expect(errorLine({ TOR_PT_MANAGED_TRANSPORT_VER: '2', TOR_PT_CLIENT_TRANSPORTS: 'dust', TOR_PT_SERVER_TRANSPORTS: 'dust' })).toBe('VERSION-ERROR no-version');
    expect(errorLine({ TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_CLIENT_TRANSPORTS: 'dust', TOR_PT_SERVER_TRANSPORTS: 'dust' })).toBe(
      'ENV-ERROR TOR_PT_[CLIENT,SERVER]_TRANSPORTS both set',
    );
    // An ENV problem wins over a bad proxy: ENV-ERROR must precede VERSION 1.
    expect(errorLine({ ...CLIENT, TOR_PT_PROXY: 'ftp://x', TOR_PT_OUTBOUND_BIND_ADDRESS_V4: 'x' })).toMatch(/^ENV-ERROR TOR_PT_OUTBOUND/);
  });

  test('a value with quotes and non-ASCII text is quoted Go-style and stays ASCII', () => {
    expect(errorLine({ ...SERVER, TOR_PT_SERVER_BINDADDR: 'dust-"é":1' })).toBe(
      'ENV-ERROR TOR_PT_SERVER_BINDADDR: "dust-\\"\\u00e9\\":1": not an IP string: "\\"\\u00e9\\""',
    );
  });
});

describe('client configuration', () => {
  test('pt-spec Appendix A environment', () => {
    const c = client({ ...CLIENT, TOR_PT_PROXY: 'socks5://127.0.0.1:8001', TOR_PT_CLIENT_TRANSPORTS: 'obfs3,obfs4,dust' });
    expect(c).toEqual({
      mode: 'client',
      version: '1',
      stateLocation: '/var/lib/tor/pt_state/',
      exitOnStdinClose: true,
      transports: ['dust'],
      ignoredTransports: ['obfs3', 'obfs4'],
      warnings: [],
      proxy: { scheme: 'socks5', host: '127.0.0.1', port: 8001, family: 4 },
    });
  });

  test('pt-spec §3.2.1: any well-formed version list containing 1', () => {
    expect(client({ ...CLIENT, TOR_PT_MANAGED_TRANSPORT_VER: '1,1a,2b,this_is_a_valid_ver' }).version).toBe('1');
    expect(client({ ...CLIENT, TOR_PT_MANAGED_TRANSPORT_VER: '3,1' }).version).toBe('1');
  });

  test.each<[string, string[], string[]]>([
    ['dust', ['dust'], []],
    ['*', ['dust'], []],
    ['dust,*,dust', ['dust'], []],
    // Appendix A: obfs4proxy prints CMETHOD-ERROR for these; pt-spec §3.3.2 says they MUST NOT.
    ['foo,bar', [], ['foo', 'bar']],
    ['obfs4,foo,obfs4', [], ['obfs4', 'foo']],
    ['foo,,dust', ['dust'], ['foo']],
  ])('transport list %j', (list, transports, ignored) => {
    const c = client({ ...CLIENT, TOR_PT_CLIENT_TRANSPORTS: list });
    expect([c.transports, c.ignoredTransports]).toEqual([transports, ignored]);
  });

  test.each([
    ['1', true],
    ['0', false],
    ['yes', false],
    [' 1', false],
    [undefined, false],
  ])('TOR_PT_EXIT_ON_STDIN_CLOSE=%j -> %j (only exactly "1")', (value, expected) => {
    expect(client({ ...CLIENT, TOR_PT_EXIT_ON_STDIN_CLOSE: value }).exitOnStdinClose).toBe(expected);
  });

  test('outbound bind addresses: bare IPv4, bracketed (or bare) IPv6, canonicalised', () => {
    const c = client({ ...CLIENT, TOR_PT_OUTBOUND_BIND_ADDRESS_V4: '203.0.113.4', TOR_PT_OUTBOUND_BIND_ADDRESS_V6: '[2001:DB8:0::4]' });
    expect([c.outboundBindAddressV4, c.outboundBindAddressV6]).toEqual(['203.0.113.4', '2001:db8::4']);
    expect(client({ ...CLIENT, TOR_PT_OUTBOUND_BIND_ADDRESS_V6: '2001:db8::4' }).outboundBindAddressV6).toBe('2001:db8::4');
    expect(client({ ...CLIENT, TOR_PT_OUTBOUND_BIND_ADDRESS_V4: '' }).outboundBindAddressV4).toBeUndefined();
    // "MUST be ignored for loopback destinations"
    expect(outboundBindAddressFor(c, parseIpAddress('198.51.100.7')!)).toBe('203.0.113.4');
    expect(outboundBindAddressFor(c, parseIpAddress('2001:db8::9')!)).toBe('2001:db8::4');
    expect(outboundBindAddressFor(c, parseIpAddress('127.0.0.1')!)).toBeUndefined();
    expect(outboundBindAddressFor(c, parseIpAddress('::1')!)).toBeUndefined();
    expect(outboundBindAddressFor(client(CLIENT), parseIpAddress('198.51.100.7')!)).toBeUndefined();
  });

  test('argument checks', () => {
    expect(() => parseManagedEnv(null as never)).toThrow(TypeError);
    expect(() => parseManagedEnv({ TOR_PT_MANAGED_TRANSPORT_VER: 1 } as never)).toThrow(TypeError);
    expect(() => parseManagedEnv(CLIENT, { supportedTransports: [] })).toThrow(RangeError);
    expect(() => parseManagedEnv(CLIENT, { supportedTransports: ['du-st'] })).toThrow(RangeError);
    expect(() => parseManagedEnv(CLIENT, { mode: 'relay' as never })).toThrow(RangeError);
    expect(DUST_TRANSPORT).toBe('dust');
  });
});

describe('TOR_PT_PROXY (pt-spec §3.2.2, tor get_pt_proxy_uri)', () => {
  test.each([
    ['socks4a://198.51.100.2:8001', { scheme: 'socks4a', host: '198.51.100.2', port: 8001, family: 4 }],
    ['socks5://tor:test1234@198.51.100.1:8000', { scheme: 'socks5', host: '198.51.100.1', port: 8000, family: 4, username: 'tor', password: 'test1234' }],
    ['http://198.51.100.3:443', { scheme: 'http', host: '198.51.100.3', port: 443, family: 4 }],
    ['http://user:pass@[2001:db8::1]:3128', { scheme: 'http', host: '2001:db8::1', port: 3128, family: 6, username: 'user', password: 'pass' }],
    // tor does not percent-encode: '@', ':' and '%' in a password arrive raw.
    ['socks5://us%41:p@ss:w/rd@10.0.0.1:1080', { scheme: 'socks5', host: '10.0.0.1', port: 1080, family: 4, username: 'us%41', password: 'p@ss:w/rd' }],
    ['SOCKS5://10.0.0.1:1080', { scheme: 'socks5', host: '10.0.0.1', port: 1080, family: 4 }],
    ['socks4a://userid@10.0.0.1:1080', { scheme: 'socks4a', host: '10.0.0.1', port: 1080, family: 4, username: 'userid' }],
  ])('%s', (uri, value) => {
    expect(parseProxyUri(uri)).toEqual({ ok: true, value });
  });

  test.each([
    ['127.0.0.1:1080', 'proxy URI is relative, must be absolute'],
    ['socks://127.0.0.1:1080', 'proxy URI has invalid scheme: socks'],
    ['socks5://127.0.0.1:1080/', 'proxy URI has a path defined'],
    ['socks5://127.0.0.1:1080?x', 'proxy URI has a query defined'],
    ['socks5://127.0.0.1:1080#x', 'proxy URI has a fragment defined'],
    ['socks5://127.0.0.1', 'proxy URI has invalid host: address string "127.0.0.1" lacks a port part'],
    ['socks5://127.0.0.1:0', 'proxy URI has invalid host: address string "127.0.0.1:0" has port 0'],
    ['socks5://::1:1080', 'proxy URI has invalid host: address string "::1:1080" has an IPv6 host without brackets'],
    ['socks4a://u:p@127.0.0.1:1080', 'proxy URI specified SOCKS4a and a password'],
    ['socks5://user@127.0.0.1:1080', 'proxy URI specified a invalid SOCKS5 password'],
    ['socks5://user:@127.0.0.1:1080', 'proxy URI specified a invalid SOCKS5 password'],
    [`socks5://${'u'.repeat(256)}:p@127.0.0.1:1080`, 'proxy URI specified a invalid SOCKS5 username'],
    [`socks5://u:${'p'.repeat(256)}@127.0.0.1:1080`, 'proxy URI specified a invalid SOCKS5 password'],
    ['socks5://:p@127.0.0.1:1080', 'proxy URI specified a invalid SOCKS5 username'],
    ['http://@127.0.0.1:1080', 'proxy URI has an empty user name'],
  ])('rejects %s', (uri, error) => {
    expect(parseProxyUri(uri)).toEqual({ ok: false, error });
  });
});

describe('server configuration', () => {
  test('full tor environment', () => {
    const s = server({ ...SERVER, TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=web;obfs4:iat-mode=1;dust:key=abc==' });
    expect(s).toEqual({
      mode: 'server',
      version: '1',
      stateLocation: '/var/lib/tor/pt_state/',
      exitOnStdinClose: true,
      transports: [
        { name: 'dust', bindAddress: { host: '0.0.0.0', port: 443, family: 4 }, bindAddressGiven: true, options: [['model', 'web'], ['key', 'abc==']] },
      ],
      ignoredTransports: [],
      warnings: [],
      orPort: { host: '127.0.0.1', port: 9001, family: 4 },
      extOrPort: { host: '127.0.0.1', port: 4200, family: 4 },
      authCookieFile: '/var/lib/tor/extended_orport_auth_cookie',
    });
  });

  test('IPv6 bind address (Appendix A: BINDADDR=obfs4-[::1]:0) and other transports filtered out', () => {
    const s = server({ ...SERVER, TOR_PT_SERVER_TRANSPORTS: 'obfs4,dust', TOR_PT_SERVER_BINDADDR: 'obfs4-127.0.0.1:0,dust-[::1]:0' });
    expect(s.transports).toEqual([{ name: 'dust', bindAddress: { host: '::1', port: 0, family: 6 }, bindAddressGiven: true, options: [] }]);
    expect(s.ignoredTransports).toEqual(['obfs4']);
  });

  test('no bind address for dust (e.g. Arti\'s empty TOR_PT_SERVER_BINDADDR): 0.0.0.0:0, marked not given', () => {
    for (const bind of ['', 'obfs4-127.0.0.1:1']) {
      const s = server({ ...SERVER, TOR_PT_SERVER_BINDADDR: bind });
      expect(s.transports).toEqual([{ name: 'dust', bindAddress: { host: '0.0.0.0', port: 0, family: 4 }, bindAddressGiven: false, options: [] }]);
    }
  });

  test('without an ExtORPort (empty TOR_PT_EXTENDED_SERVER_PORT) only the ORPort is used', () => {
    const s = server({ ...SERVER, TOR_PT_EXTENDED_SERVER_PORT: '', TOR_PT_AUTH_COOKIE_FILE: undefined });
    expect([s.orPort, s.extOrPort, s.authCookieFile]).toEqual([{ host: '127.0.0.1', port: 9001, family: 4 }, undefined, undefined]);
    expect('extOrPort' in s).toBe(false);
  });

  test('ExtORPort alone is enough; a non-localhost one gets a warning (ext-orport-spec §4)', () => {
    const local = server({ ...SERVER, TOR_PT_ORPORT: undefined, TOR_PT_EXTENDED_SERVER_PORT: '[::1]:4200' });
    expect([local.orPort, local.extOrPort, local.warnings]).toEqual([undefined, { host: '::1', port: 4200, family: 6 }, []]);
    const remote = server({ ...SERVER, TOR_PT_EXTENDED_SERVER_PORT: '192.0.2.5:4200' });
    expect(remote.warnings).toEqual(['the Extended ORPort is not on localhost: its traffic, client addresses included, is not encrypted']);
  });

  test('"*" and unknown names in the server list', () => {
    expect(server({ ...SERVER, TOR_PT_SERVER_TRANSPORTS: '*' }).transports.map((t) => t.name)).toEqual(['dust']);
    const none = server({ ...SERVER, TOR_PT_SERVER_TRANSPORTS: 'obfs4' });
    expect([none.transports, none.ignoredTransports]).toEqual([[], ['obfs4']]);
  });
});
