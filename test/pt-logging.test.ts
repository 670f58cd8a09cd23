/**
 * tor-pt.md §5.1 (-enableLogging, -logLevel, -unsafeLogging), §5.3 (address scrubbing, obfs4proxy
 * `ElideAddr`) and §6.1 (meaningful LOG lines to tor).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPtLog, elideAddr, parseLogLevel, scrubText, SCRUBBED } from '../src/pt/logging.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dust-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('parseLogLevel', () => {
  test.each([
    ['ERROR', 'error'],
    ['warn', 'warn'],
    ['WARNING', 'warn'],
    ['Info', 'info'],
    ['debug', 'debug'],
  ])('%s', (text, level) => expect(parseLogLevel(text)).toBe(level));
  test.each(['', 'notice', 'trace', 'verbose', 'error '])('%j is not a level', (text) => expect(parseLogLevel(text)).toBeUndefined());
});

describe('scrubbing', () => {
  test('elideAddr keeps only the port', () => {
    expect(elideAddr({ host: '198.51.100.7', port: 443 })).toBe('[scrubbed]:443');
    expect(elideAddr('198.51.100.7:443')).toBe('[scrubbed]:443');
    expect(elideAddr('[2001:db8::1]:9001')).toBe('[scrubbed]:9001');
    expect(elideAddr('not an address')).toBe(SCRUBBED);
  });

  test.each([
    ['connect ECONNREFUSED 127.0.0.1:9001', 'connect ECONNREFUSED [scrubbed]:9001'],
    ['connect ECONNREFUSED ::1:9001', 'connect ECONNREFUSED [scrubbed]'],
    ['from [2001:db8::7]:5555 via 10.0.0.1', 'from [scrubbed]:5555 via [scrubbed]'],
    ['::ffff:192.0.2.1 said hi', '[scrubbed] said hi'],
    ['no addresses here: 1.2.3', 'no addresses here: 1.2.3'],
  ])('scrubText(%j)', (text, out) => expect(scrubText(text)).toBe(out));
});

describe('createPtLog', () => {
  test('without a state dir nothing goes to disk, but tor hears warnings and errors (scrubbed), after attachTor', async () => {
    const log = createPtLog();
    expect(log.file).toBeUndefined();
    const tor: string[] = [];
    log.warn('ORPort 127.0.0.1:9001 refused');
    log.info('not for tor');
    log.debug('not for tor either');
    expect(tor).toEqual([]);
    log.attachTor((s, m) => tor.push(`${s} ${m}`));
    log.error('boom from 10.1.2.3:55');
    log.notice('listening');
    expect(tor).toEqual(['warning ORPort [scrubbed]:9001 refused', 'error boom from [scrubbed]:55']);
    await log.close();
  });

  test('dust.log is mode 0600, JSON lines, level filtered, notices always', async () => {
    const log = createPtLog({ stateDir: join(dir, 'state'), level: 'warn' });
    expect(log.file).toBe(join(dir, 'state', 'dust.log'));
    log.notice('dust 0.1.0 - launched');
    log.warn(`client ${log.addr({ host: '203.0.113.9', port: 1234 })} sent bad arguments`);
    log.info('hidden at warn');
    log.error(`dial failed: ${log.err(Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:443'), { code: 'ECONNREFUSED' }))}`);
    await log.close();
    expect(statSync(log.file!).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    const lines = readFileSync(log.file!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [55, 'dust 0.1.0 - launched'],
      [40, 'client [scrubbed]:1234 sent bad arguments'],
      [50, 'dial failed: connect ECONNREFUSED [scrubbed]:443'],
    ]);
    expect(typeof lines[0].time).toBe('string');
  });

  test('-unsafeLogging keeps addresses, in the file and for tor', async () => {
    const log = createPtLog({ stateDir: dir, level: 'debug', unsafe: true });
    const tor: string[] = [];
    log.attachTor((_s, m) => tor.push(m));
    log.warn(`from ${log.addr({ host: '2001:db8::5', port: 80 })} and ${log.err(new Error('to 192.0.2.1:1'))}`);
    log.debug('debug is written');
    await log.close();
    expect(tor).toEqual(['from [2001:db8::5]:80 and to 192.0.2.1:1']);
    const text = readFileSync(log.file!, 'utf8');
    expect(text).toContain('[2001:db8::5]:80');
    expect(text).toContain('debug is written');
  });

  test('an existing log file is appended to and set to 0600', async () => {
    const first = createPtLog({ stateDir: dir });
    first.error('one');
    await first.close();
    chmodSync(first.file!, 0o644);
    const second = createPtLog({ stateDir: dir });
    second.error('two');
    await second.close();
    expect(statSync(second.file!).mode & 0o777).toBe(0o600);
    expect(readFileSync(second.file!, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  test('misuse throws', () => {
    expect(() => createPtLog({ level: 'notice' as never })).toThrow(RangeError);
    expect(() => createPtLog().attachTor(42 as never)).toThrow(TypeError);
  });
});
