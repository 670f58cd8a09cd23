/**
 * The managed proxy as tor runs it (pt-spec §3; tor-pt.md §1.2 error lines, §2 stdout protocol,
 * §5.1 flags, §5.2 state files, §5.5 termination), by launching the built binary with crafted
 * environments and reading its stdout.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBridgeKey, generateServerIdentity, serializeServerState } from '../src/core/server-keys.js';
import { systemRandom } from '../src/core/random.js';
import { builtinModels, getBuiltinModel } from '../src/shaping/builtin-models.js';
import { modelDigest } from '../src/shaping/model-digest.js';
import { serializeModel } from '../src/shaping/model.js';
import { logLine } from '../src/pt/lines.js';
import { buildCli } from './support/build-cli.js';
import { clientEnv, killAllPts, methodPort, runPtToExit, serverEnv, startPt } from './support/pt-process.js';

const BUILTIN_NAMES = [...builtinModels.keys()].join(', ');

let root: string;
let state: string;
const servers: Server[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dust-pt-'));
  state = join(root, 'pt_state') + '/';
});
afterEach(async () => {
  await killAllPts();
  for (const s of servers.splice(0)) s.close();
  rmSync(root, { recursive: true, force: true });
});
beforeAll(() => buildCli());

const HTTP = modelDigest(getBuiltinModel('http'));
const STATUS = 'STATUS TRANSPORT=dust TYPE=version IMPLEMENTATION="dust" VERSION="0.1.0"';
const CMETHOD = /^CMETHOD dust socks5 127\.0\.0\.1:[1-9][0-9]*$/;

describe('flags', () => {
  test('-version prints the version and exits 0, without tor variables', async () => {
    const r = await runPtToExit({}, ['-version']);
    expect(r).toEqual({ lines: ['dust 0.1.0'], code: 0, stderr: '' });
  });

  test('the bundle runs from a folder without node_modules', async () => {
    const dir = join(root, 'bare');
    mkdirSync(dir);
    copyFileSync(buildCli(), join(dir, 'dust.cjs'));
    const pt = startPt({}, ['--version'], { cwd: dir, binary: join(dir, 'dust.cjs') });
    expect(await pt.exited).toEqual({ code: 0, signal: null });
    expect(pt.lines).toEqual(['dust 0.1.0']);
  });

  test.each([
    [['-logLevel', 'verbose'], 'invalid log level "verbose" (error, warn, info or debug)'],
    [['-logLevel'], 'flag needs an argument: -logLevel'],
    [['-enableLogging', '-bogus'], 'flag provided but not defined: -bogus'],
    [['-unsafeLogging=maybe'], 'invalid boolean value "maybe" for -unsafeLogging'],
  ])('%j: a LOG line for tor, usage on stderr, exit 2', async (args, message) => {
    const r = await runPtToExit(clientEnv(state), args);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([logLine('error', `dust: ${message}`)]);
    expect(r.stderr).toContain(`dust: ${message}\nusage: dust [-enableLogging]`);
  });

  test('positional arguments (the legacy "managed") are ignored; flags in Go syntax are accepted', async () => {
    const pt = startPt(clientEnv(state), ['--logLevel=DEBUG', '-enableLogging=true', 'managed', '-whatever']);
    await pt.line('CMETHODS DONE');
    pt.child.stdin!.end();
    expect((await pt.exited).code).toBe(0);
    expect(readFileSync(join(state, 'dust.log'), 'utf8')).toContain('"level":55');
  });
});

describe('environment errors, before VERSION (tor-pt.md §1.2)', () => {
  test.each([
    [{}, 'ENV-ERROR no TOR_PT_MANAGED_TRANSPORT_VER environment variable', ['-enableLogging']],
    [{ TOR_PT_MANAGED_TRANSPORT_VER: '2,3', TOR_PT_CLIENT_TRANSPORTS: 'dust', TOR_PT_STATE_LOCATION: '/tmp/x' }, 'VERSION-ERROR no-version', []],
    [{ TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_CLIENT_TRANSPORTS: 'dust' }, 'ENV-ERROR no TOR_PT_STATE_LOCATION environment variable', []],
    [{ TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_STATE_LOCATION: '/tmp/x', TOR_PT_CLIENT_TRANSPORTS: 'dust', TOR_PT_SERVER_TRANSPORTS: 'dust' }, 'ENV-ERROR TOR_PT_[CLIENT,SERVER]_TRANSPORTS both set', []],
    [{ TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_STATE_LOCATION: '/tmp/x', TOR_PT_SERVER_TRANSPORTS: 'dust' }, 'ENV-ERROR no TOR_PT_SERVER_BINDADDR environment variable', []],
    [
      { TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_STATE_LOCATION: '/tmp/x', TOR_PT_SERVER_TRANSPORTS: 'dust', TOR_PT_SERVER_BINDADDR: 'dust-127.0.0.1:1,dust-127.0.0.1:2', TOR_PT_ORPORT: '127.0.0.1:9' },
      'ENV-ERROR TOR_PT_SERVER_BINDADDR: "dust-127.0.0.1:2": duplicate method name "dust"',
      [],
    ],
    [
      { TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_STATE_LOCATION: '/tmp/x', TOR_PT_SERVER_TRANSPORTS: 'dust', TOR_PT_SERVER_BINDADDR: 'dust-127.0.0.1:1', TOR_PT_EXTENDED_SERVER_PORT: '127.0.0.1:2' },
      'ENV-ERROR need TOR_PT_AUTH_COOKIE_FILE environment variable with TOR_PT_EXTENDED_SERVER_PORT',
      [],
    ],
    [
      { TOR_PT_MANAGED_TRANSPORT_VER: '1', TOR_PT_STATE_LOCATION: '/tmp/x', TOR_PT_SERVER_TRANSPORTS: 'dust', TOR_PT_SERVER_BINDADDR: 'dust-127.0.0.1:1', TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dustmodel=bulk', TOR_PT_ORPORT: '127.0.0.1:9' },
      'ENV-ERROR TOR_PT_SERVER_TRANSPORT_OPTIONS: "dustmodel=bulk": no colon in "dustmodel"',
      [],
    ],
  ] as Array<[Record<string, string>, string, string[]]>)('%j → %s', async (env, line, args) => {
    const r = await runPtToExit(env, args);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(2);
    expect(r.lines[0]).toMatch(/^LOG SEVERITY=error MESSAGE=".+"$/);
    expect(r.lines[1]).toBe(line);
  });

  test('PROXY-ERROR comes after VERSION 1 (obfs4proxy transcript)', async () => {
    const r = await runPtToExit(clientEnv(state, { TOR_PT_PROXY: 'socks5://localhost:1080' }));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      'VERSION 1',
      'LOG SEVERITY=error MESSAGE="proxy URI has invalid host: not an IP string: \\"localhost\\""',
      'PROXY-ERROR proxy URI has invalid host: not an IP string: "localhost"',
    ]);
  });

  test('a state directory that cannot be created is an ENV-ERROR', async () => {
    writeFileSync(join(root, 'file'), '');
    const r = await runPtToExit(clientEnv(join(root, 'file', 'pt_state')));
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toBe(`ENV-ERROR cannot use TOR_PT_STATE_LOCATION "${join(root, 'file', 'pt_state')}": ENOTDIR`);
  });
});

describe('client mode', () => {
  test('VERSION, CMETHOD on loopback, CMETHODS DONE, then STATUS; state dir created 0700; nothing else', async () => {
    const pt = startPt(clientEnv(state, { TOR_PT_CLIENT_TRANSPORTS: 'obfs4,dust,meek_lite' }));
    await pt.line('CMETHODS DONE');
    await pt.line(STATUS);
    expect(pt.lines[0]).toBe('VERSION 1');
    expect(pt.lines[1]).toMatch(CMETHOD);
    expect(pt.lines.slice(2)).toEqual(['CMETHODS DONE', STATUS]);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    pt.child.stdin!.end();
    expect(await pt.exited).toEqual({ code: 0, signal: null });
    expect(pt.lines).toHaveLength(4); // no LOG lines for routine events
  });

  test('TOR_PT_PROXY: PROXY DONE before the CMETHOD', async () => {
    const pt = startPt(clientEnv(state, { TOR_PT_PROXY: 'socks5://user:pw@127.0.0.1:1080' }));
    await pt.line('CMETHODS DONE');
    expect(pt.lines[0]).toBe('VERSION 1');
    expect(pt.lines[1]).toBe('PROXY DONE');
    expect(pt.lines[2]).toMatch(CMETHOD);
  });

  test('only unknown transports: CMETHODS DONE alone, no CMETHOD-ERROR (pt-spec §3.3.2)', async () => {
    const pt = startPt(clientEnv(state, { TOR_PT_CLIENT_TRANSPORTS: 'obfs4' }));
    await pt.line('CMETHODS DONE');
    expect(pt.lines.slice(0, 2)).toEqual(['VERSION 1', 'CMETHODS DONE']);
  });

  test('-modelsDir that is not a directory: a LOG warning after DONE', async () => {
    const pt = startPt(clientEnv(state), ['-modelsDir', join(root, 'nope')]);
    const warning = await pt.line(/^LOG SEVERITY=warning /);
    expect(warning).toBe(`LOG SEVERITY=warning MESSAGE="-modelsDir ${join(root, 'nope')} is not a readable directory: only built-in models can be used"`);
    expect(pt.lines.indexOf('CMETHODS DONE')).toBeLessThan(pt.lines.indexOf(warning));
  });
});

describe('termination (tor-pt.md §5.5)', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)('%s while idle exits 0 at once', async (signal) => {
    const pt = startPt(clientEnv(state));
    await pt.line(STATUS);
    const t0 = Date.now();
    pt.child.kill(signal);
    expect(await pt.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('stdin EOF exits only with TOR_PT_EXIT_ON_STDIN_CLOSE=1', async () => {
    const watching = startPt(clientEnv(state));
    const ignoring = startPt(clientEnv(join(root, 'other'), { TOR_PT_EXIT_ON_STDIN_CLOSE: '0' }));
    await Promise.all([watching.line(STATUS), ignoring.line(STATUS)]);
    watching.child.stdin!.end();
    ignoring.child.stdin!.end();
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    await new Promise((r) => setTimeout(r, 500));
    expect(ignoring.child.exitCode).toBeNull();
    ignoring.child.kill('SIGTERM');
    expect(await ignoring.exited).toEqual({ code: 0, signal: null });
  });

  test('without stdin watching, the PT exits when its parent goes away', async () => {
    // sh starts the PT in the background, prints its pid and exits after a moment.
    const env = { PATH: process.env.PATH ?? '', ...clientEnv(state, { TOR_PT_EXIT_ON_STDIN_CLOSE: '0' }) };
    const sh = spawn('sh', ['-c', `"${process.execPath}" "${buildCli()}" -enableLogging </dev/null >/dev/null 2>&1 & echo $!; sleep 1`], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sh.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => sh.once('exit', r));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    const alive = (): boolean => {
      try {
        return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    const stillAlive = alive();
    if (stillAlive) process.kill(pid, 'SIGKILL');
    expect(stillAlive).toBe(false);
    const log = readFileSync(join(state, 'dust.log'), 'utf8');
    expect(log).toContain('the parent process exited: no longer accepting connections');
    expect(log).toContain('dust - terminated (drained)');
  });

  test('a SIGTERM right after VERSION is not lost: the PT finishes the protocol, then exits 0', async () => {
    const pt = startPt(clientEnv(state));
    await pt.line('VERSION 1');
    pt.child.kill('SIGTERM');
    expect(await pt.exited).toEqual({ code: 0, signal: null });
    expect(pt.lines).toContain('CMETHODS DONE');
  });
});

describe('server mode', () => {
  async function sink(): Promise<number> {
    const s = createServer((c) => c.pipe(c));
    servers.push(s);
    return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
  }

  test('SMETHOD with key, model, model-digest; dust_state.json and dust_bridgeline.txt (0600); the same key next time', async () => {
    const orPort = await sink();
    const pt = startPt(serverEnv(state, orPort));
    const smethod = await pt.line(/^SMETHOD dust /);
    await pt.line(STATUS);
    expect(pt.lines).toEqual(['VERSION 1', smethod, 'SMETHODS DONE', STATUS]);
    const m = /^SMETHOD dust 127\.0\.0\.1:(\d+) ARGS:key=([A-Za-z0-9_-]{43}),model=http,model-digest=([0-9a-f]{64})$/.exec(smethod);
    expect(m).not.toBeNull();
    expect(m![3]).toBe(HTTP);
    const stateFile = JSON.parse(readFileSync(join(state, 'dust_state.json'), 'utf8'));
    expect(stateFile.public_key).toBe(m![2]);
    expect(statSync(join(state, 'dust_state.json')).mode & 0o777).toBe(0o600);
    const bridgeline = readFileSync(join(state, 'dust_bridgeline.txt'), 'utf8');
    expect(statSync(join(state, 'dust_bridgeline.txt')).mode & 0o777).toBe(0o600);
    expect(bridgeline.split('\n').at(-2)).toBe(`Bridge dust 127.0.0.1:${m![1]} <FINGERPRINT> key=${m![2]} model=http model-digest=${HTTP}`);
    expect(bridgeline).toMatch(/^# Dust torrc client bridge line\n/);
    pt.child.stdin!.end();
    expect((await pt.exited).code).toBe(0);

    const again = startPt(serverEnv(state, orPort));
    expect(await again.line(/^SMETHOD dust /)).toContain(`key=${m![2]},`);
  });

  test('ServerTransportOptions: model, public-address, fingerprint from DataDirectory; IPv6 bind address', async () => {
    const orPort = await sink();
    writeFileSync(join(root, 'fingerprint'), `Unnamed ${'C'.repeat(40)}\n`);
    const pt = startPt(
      serverEnv(state, orPort, {
        TOR_PT_SERVER_BINDADDR: 'dust-[::1]:0',
        TOR_PT_SERVER_TRANSPORT_OPTIONS: 'dust:model=bulk;dust:public-address=203.0.113.5\\:443',
      }),
    );
    const smethod = await pt.line(/^SMETHOD dust /);
    expect(smethod).toMatch(new RegExp(`^SMETHOD dust \\[::1\\]:\\d+ ARGS:key=[A-Za-z0-9_-]{43},model=bulk,model-digest=${modelDigest(getBuiltinModel('bulk'))}$`));
    await pt.line('SMETHODS DONE');
    const line = readFileSync(join(state, 'dust_bridgeline.txt'), 'utf8').trimEnd().split('\n').at(-1)!;
    expect(line).toMatch(new RegExp(`^Bridge dust 203\\.0\\.113\\.5:443 ${'C'.repeat(40)} key=\\S+ model=bulk model-digest=[0-9a-f]{64}$`));
  });

  test('key-file and model-file', async () => {
    const orPort = await sink();
    const id = generateServerIdentity(systemRandom);
    writeFileSync(join(root, 'key.json'), serializeServerState(id));
    const def = JSON.parse(serializeModel(getBuiltinModel('text')));
    def.name = 'mymodel';
    def.duration_ms = { family: 'fixed', value: 5000 };
    writeFileSync(join(root, 'mymodel.json'), JSON.stringify(def));
    const pt = startPt(serverEnv(state, orPort, { TOR_PT_SERVER_TRANSPORT_OPTIONS: `dust:key-file=${join(root, 'key.json')};dust:model-file=${join(root, 'mymodel.json')}` }));
    const smethod = await pt.line(/^SMETHOD dust /);
    expect(smethod).toContain(`ARGS:key=${encodeBridgeKey(id.staticKey.publicKey)},model=mymodel,model-digest=`);
    expect(smethod).not.toContain(HTTP);
    await pt.line('SMETHODS DONE');
    expect(() => statSync(join(state, 'dust_state.json'))).toThrow(); // the key file is only read
  });

  test.each([
    ['dust:modle=bulk', 'SMETHOD-ERROR dust unknown ServerTransportOptions option "modle" (known: model, model-file, public-address, key-file)'],
    ['dust:model=nosuch', `SMETHOD-ERROR dust model "nosuch" is not a built-in model (${BUILTIN_NAMES}); use model-file= for others`],
    ['dust:model=bulk;dust:model=text', 'SMETHOD-ERROR dust ServerTransportOptions: duplicate key "model"'],
    ['dust:public-address=example.org\\:443', 'SMETHOD-ERROR dust public-address: not an IP string: "example.org"'],
    ['dust:key-file=/nonexistent/k.json', 'SMETHOD-ERROR dust cannot read /nonexistent/k.json: ENOENT'],
  ])('%s → %s, then SMETHODS DONE and a LOG line', async (options, error) => {
    const pt = startPt(serverEnv(state, 9, { TOR_PT_SERVER_TRANSPORT_OPTIONS: options }));
    await pt.line(STATUS);
    expect(pt.lines.slice(0, 3)).toEqual(['VERSION 1', error, 'SMETHODS DONE']);
    expect(await pt.line(/^LOG SEVERITY=error/)).toBe(`LOG SEVERITY=error MESSAGE="dust: ${error.slice('SMETHOD-ERROR dust '.length).replace(/"/g, '\\"')}"`);
  });

  test('a bind address in use is an SMETHOD-ERROR', async () => {
    const taken = await sink();
    const pt = startPt(serverEnv(state, taken, { TOR_PT_SERVER_BINDADDR: `dust-127.0.0.1:${taken}` }));
    await pt.line('SMETHODS DONE');
    expect(pt.lines[1]).toBe(`SMETHOD-ERROR dust cannot listen on 127.0.0.1:${taken}: EADDRINUSE`);
  });

  test('an existing but broken state file is an SMETHOD-ERROR and is left alone', async () => {
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'dust_state.json'), 'not json');
    const pt = startPt(serverEnv(state, 9));
    await pt.line('SMETHODS DONE');
    expect(pt.lines[1]).toMatch(/^SMETHOD-ERROR dust .*dust_state\.json: not valid JSON/);
    expect(readFileSync(join(state, 'dust_state.json'), 'utf8')).toBe('not json');
  });

  test('-enableLogging: dust.log (0600) in the state dir, addresses scrubbed', async () => {
    const pt = startPt(serverEnv(state, 9), ['-enableLogging', '-logLevel', 'info']);
    const smethod = await pt.line(/^SMETHOD dust /);
    pt.child.stdin!.end();
    await pt.exited;
    const log = readFileSync(join(state, 'dust.log'), 'utf8');
    expect(statSync(join(state, 'dust.log')).mode & 0o777).toBe(0o600);
    expect(log).toContain('dust 0.1.0 - launched (server)');
    expect(log).toContain(`listening on [scrubbed]:${methodPort(smethod)}`);
    expect(log).not.toContain('127.0.0.1');
    expect(log).not.toContain(JSON.parse(readFileSync(join(state, 'dust_state.json'), 'utf8')).private_key);
  });
});
