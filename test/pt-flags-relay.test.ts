/**
 * tor-pt.md §5.1 (obfs4proxy's flags in Go `flag` syntax, and when `dust` runs in managed mode)
 * and the relay's half-close and error rules (relay.ts), in process.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough, Duplex } from 'node:stream';
import { isManagedInvocation } from '../src/cli/pt.js';
import { parseManagedFlags } from '../src/pt/managed.js';
import { relay, RelayTracker, type RelayEnd } from '../src/pt/relay.js';

describe('parseManagedFlags', () => {
  test('defaults', () => {
    expect(parseManagedFlags([])).toEqual({ ok: true, value: { version: false, help: false, enableLogging: false, logLevel: 'error', unsafeLogging: false } });
  });

  test.each([
    [['-enableLogging', '-logLevel', 'INFO', '-unsafeLogging'], { enableLogging: true, logLevel: 'info', unsafeLogging: true }],
    [['--enableLogging=true', '--logLevel=debug'], { enableLogging: true, logLevel: 'debug' }],
    [['-enableLogging=false'], { enableLogging: false }],
    [['-modelsDir', '/etc/dust/models'], { modelsDir: '/etc/dust/models' }],
    [['-modelsDir=/m', 'managed', '-logLevel', 'nonsense'], { modelsDir: '/m' }],
    [['--', '-bogus'], {}],
    [['-h'], { help: true }],
    [['-version'], { version: true }],
  ] as Array<[string[], object]>)('%j', (argv, expected) => {
    const r = parseManagedFlags(argv);
    expect(r.ok && r.value).toMatchObject(expected);
  });

  test.each([
    [['-bogus'], 'flag provided but not defined: -bogus'],
    [['-logLevel'], 'flag needs an argument: -logLevel'],
    [['-logLevel=notice'], 'invalid log level "notice" (error, warn, info or debug)'],
    [['-version=yes'], 'invalid boolean value "yes" for -version'],
    [['-modelsDir='], 'flag -modelsDir needs a directory'],
  ])('%j is refused', (argv, error) => {
    expect(parseManagedFlags(argv)).toEqual({ ok: false, error });
  });
});

describe('isManagedInvocation', () => {
  test.each([
    [[], { TOR_PT_MANAGED_TRANSPORT_VER: '1' }, true],
    [['keygen'], { TOR_PT_MANAGED_TRANSPORT_VER: '1' }, true],
    [['-enableLogging'], {}, true],
    [['--logLevel=debug'], {}, true],
    [['-unsafeLogging'], {}, true],
    [['-modelsDir', 'x'], {}, true],
    [['-version'], {}, true],
    [[], {}, false],
    [['keygen', '-enableLogging'], {}, false],
    [['-h'], {}, false],
    [['demo'], {}, false],
  ] as Array<[string[], Record<string, string>, boolean]>)('%j %j → %s', (argv, env, expected) => {
    expect(isManagedInvocation(argv, env)).toBe(expected);
  });
});

describe('relay', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) s.close();
  });

  /** A connected socket pair (allowHalfOpen on both ends). */
  async function socketPair(): Promise<[Socket, Socket]> {
    let accepted!: (s: Socket) => void;
    const got = new Promise<Socket>((r) => (accepted = r));
    const server = createServer({ allowHalfOpen: true }, (s) => accepted(s));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    const b = await got;
    sockets.push(a, b);
    return [a, b];
  }

  test('half-close passes through each way, then both sides close: done', async () => {
    // outerA <-> innerA ==relay== innerB <-> outerB
    const [outerA, innerA] = await socketPair();
    const [innerB, outerB] = await socketPair();
    const ends: RelayEnd[] = [];
    const tracker = new RelayTracker();
    tracker.add(innerA);
    relay(innerA, innerB, (e) => ends.push(e));
    expect(tracker.size).toBe(1);
    const bText = new Promise<string>((r) => {
      let t = '';
      outerB.on('data', (d) => (t += d));
      outerB.on('end', () => r(t));
    });
    outerA.end('from A');
    expect(await bText).toBe('from A');
    // B can still talk after A's half-close.
    const aText = new Promise<string>((r) => {
      let t = '';
      outerA.on('data', (d) => (t += d));
      outerA.on('end', () => r(t));
    });
    outerB.end('reply from B');
    expect(await aText).toBe('reply from B');
    await tracker.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(ends).toEqual([{ reason: 'done' }]);
  });

  test('an error on one side destroys the other', async () => {
    const [, innerA] = await socketPair();
    const other = new PassThrough();
    const ends: RelayEnd[] = [];
    relay(innerA, other, (e) => ends.push(e));
    other.destroy(new Error('boom'));
    await new Promise((r) => innerA.once('close', r));
    expect(innerA.destroyed).toBe(true);
    expect(ends).toEqual([{ reason: 'error', error: new Error('boom') }]);
  });

  test('an early close (before both halves ended) destroys the other side', async () => {
    const [, innerA] = await socketPair();
    const stream = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    const ends: RelayEnd[] = [];
    relay(innerA, stream, (e) => ends.push(e));
    stream.destroy();
    await new Promise((r) => innerA.once('close', r));
    expect(ends).toEqual([{ reason: 'closed' }]);
  });

  test('a side already destroyed: both destroyed, onEnd at once', () => {
    const a = new PassThrough();
    const b = new PassThrough();
    b.destroy();
    const ends: RelayEnd[] = [];
    relay(a, b, (e) => ends.push(e));
    expect(a.destroyed).toBe(true);
    expect(ends).toEqual([{ reason: 'closed' }]);
  });

  test('backpressure: a writer that never drains stops the reader', async () => {
    const source = new PassThrough({ highWaterMark: 1024 });
    let taken = 0;
    const stuck = new Duplex({ highWaterMark: 1024, read() {}, write(chunk, _e, _cb) { taken += chunk.length; /* never calls back */ } });
    relay(source, stuck);
    let accepted = 0;
    for (let i = 0; i < 100; i++) if (source.write(Buffer.alloc(1024))) accepted++;
    await new Promise((r) => setTimeout(r, 20));
    expect(taken).toBe(1024); // one chunk in flight, the rest held back
    expect(accepted).toBeLessThan(100);
    source.destroy();
  });

  test('RelayTracker: idle() waits for the last close; destroyAll ends everything', async () => {
    const tracker = new RelayTracker();
    await tracker.idle(); // nothing tracked
    const a = new PassThrough();
    const b = new PassThrough();
    tracker.add(a);
    tracker.add(b);
    tracker.add(a);
    expect(tracker.size).toBe(2);
    let idle = false;
    const waiting = tracker.idle().then(() => (idle = true));
    a.destroy();
    await new Promise((r) => setTimeout(r, 10));
    expect(idle).toBe(false);
    tracker.destroyAll();
    await waiting;
    expect(b.destroyed).toBe(true);
    expect(tracker.size).toBe(0);
  });
});
