/**
 * Virtual-clock pair for the Ensemble core (quinn's `Pair`, h11's `ConnectionPair`): one client, one
 * server, and simulated connections that carry plaintext with latency, end when their duration runs
 * out, and die at scheduled moments. A dying connection delivers a random prefix of what was in
 * flight; each side notices the death after its own random delay and, until then, keeps writing
 * into the void. The simulated applications write random data in both directions and close.
 * Not a test file itself: test/ensemble-pair.test.ts and others drive it.
 */
import { EnsembleClient, type EnsembleClientOptions } from '../src/ensemble/client.js';
import { EnsembleServer, type EnsembleServerOptions } from '../src/ensemble/server.js';

/** Small deterministic PRNG (xorshift32) so that every schedule can be replayed from its seed. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
  /** A RandomSource for the server's session ids. */
  source(): (n: number) => Uint8Array {
    return (n) => this.bytes(n);
  }
}

export interface SimParams {
  seed: number;
  c2sBytes: number;
  s2cBytes: number;
  /** Simultaneous connections the client keeps. */
  width?: number;
  window?: number;
  extendThreshold?: number;
  /** Both sides' acknowledgement delay (0: at once). */
  ackDelayMs?: number;
  /** The client sends data behind New, before New OK. */
  earlyData?: boolean;
  latencyMs?: number;
  /** pollSend sizes are drawn from [1, maxPacket] (sometimes tiny, to hit the spill path). */
  maxPacket?: number;
  /** Connection durations are drawn from [minDurationMs, maxDurationMs]. */
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Times (ms) at which a random live connection dies. */
  kills?: number[];
  /** How late each side may notice a death (ms). */
  clientDetectMs?: number;
  serverDetectMs?: number;
  /** Both applications close their direction after writing everything. */
  close?: boolean;
  /** Give up after this much simulated time. */
  limitMs?: number;
  tickMs?: number;
  server?: EnsembleServerOptions;
  client?: EnsembleClientOptions;
  /** Called with both ends when the run stops (for debugging and white-box checks). */
  inspect?: (client: EnsembleClient, server: EnsembleServer) => void;
}

interface Flight {
  at: number;
  bytes: Uint8Array;
}

interface SimConn {
  id: number;
  attachAt: number;
  retireAt: number;
  endAt: number;
  attached: boolean;
  dead: boolean;
  retired: boolean;
  c2s: Flight[];
  s2c: Flight[];
  clientGone: boolean;
  serverGone: boolean;
  clientNoticeAt: number;
  serverNoticeAt: number;
}

export interface SimResult {
  now: number;
  clientState: string;
  clientFailure: string | null;
  clientErrors: string[];
  sentC2S: Uint8Array;
  sentS2C: Uint8Array;
  /** What the client application read. */
  gotS2C: Uint8Array;
  /** What the upstream of the client's session received. */
  gotC2S: Uint8Array;
  clientEnded: boolean;
  upstreamEnded: boolean;
  sessionsOpened: number;
  closeReasons: string[];
  connections: number;
  maxUnacknowledged: number;
  maxReassembly: number;
  serverSessionsLeft: number;
  extends: number;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Runs one schedule to completion (or `limitMs`) and reports what each side saw. */
export function simulate(p: SimParams): SimResult {
  const rng = new Prng(p.seed);
  const tick = p.tickMs ?? 2;
  const latency = p.latencyMs ?? 10;
  const maxPacket = p.maxPacket ?? 1400;
  const minDur = p.minDurationMs ?? 200;
  const maxDur = p.maxDurationMs ?? 1500;
  const limit = p.limitMs ?? 120_000;
  const kills = [...(p.kills ?? [])].sort((a, b) => a - b);
  const client = new EnsembleClient({
    width: p.width ?? 1,
    window: p.window,
    extendThreshold: p.extendThreshold,
    reconnectTimeoutMs: 60_000,
    ackDelayMs: p.ackDelayMs,
    earlyData: p.earlyData,
    ...p.client,
  });
  const server = new EnsembleServer({
    random: new Prng(p.seed ^ 0x5a5a5a5a).source(),
    idleTimeoutMs: 1_500,
    ackDelayMs: p.ackDelayMs,
    ...p.server,
  });
  const sentC2S = rng.bytes(p.c2sBytes);
  const sentS2C = rng.bytes(p.s2cBytes);
  let c2sWritten = 0;
  const s2cWritten = new Map<number, number>();
  const upstream = new Map<number, Uint8Array[]>();
  const upstreamEnded = new Set<number>();
  const closeReasons: string[] = [];
  const got: Uint8Array[] = [];
  const clientErrors: string[] = [];
  let clientEnded = false;
  let sessionsOpened = 0;
  let nextConnId = 1;
  const conns: SimConn[] = [];
  let now = 0;
  let maxUnacked = 0;
  let maxReassembly = 0;
  let extendsSeen = 0;
  let lastId: string | null = null;
  /** Every id each server session had, and every id the client had: they name the client's session. */
  const serverIds = new Map<number, Set<string>>();
  const clientIds = new Set<string>();

  const openConn = (): void => {
    const attachAt = now + rng.int(1, 20);
    const endAt = attachAt + rng.int(minDur, maxDur);
    conns.push({
      id: nextConnId++,
      attachAt,
      retireAt: endAt - rng.int(0, 40),
      endAt,
      attached: false,
      dead: false,
      retired: false,
      c2s: [],
      s2c: [],
      clientGone: false,
      serverGone: false,
      clientNoticeAt: Infinity,
      serverNoticeAt: Infinity,
    });
  };

  /** The connection dies now: each direction delivers a random prefix of its in-flight bytes. */
  const kill = (c: SimConn): void => {
    if (c.dead) return;
    c.dead = true;
    for (const [queue, deliver] of [
      [c.c2s, (b: Uint8Array) => server.receive(c.id, b, now)],
      [c.s2c, (b: Uint8Array) => client.receive(c.id, b, now)],
    ] as const) {
      const total = queue.reduce((n, f) => n + f.bytes.length, 0);
      const keep = rng.int(0, 3) === 0 ? total : rng.int(0, total);
      const all = concat(queue.map((f) => f.bytes));
      queue.length = 0;
      if (keep > 0 && c.attached) deliver(all.subarray(0, keep));
    }
    c.clientNoticeAt = now + rng.int(0, p.clientDetectMs ?? 100);
    c.serverNoticeAt = now + rng.int(0, p.serverDetectMs ?? 500);
  };

  const drainEvents = (): void => {
    for (let e = client.pollEvent(); e !== null; e = client.pollEvent()) {
      if (e.type === 'end') clientEnded = true;
      if (e.type === 'error') clientErrors.push(e.code);
    }
    const chunk = client.read();
    if (chunk.length > 0) got.push(chunk);
    for (let e = server.pollEvent(); e !== null; e = server.pollEvent()) {
      if (e.type === 'session-opened') {
        sessionsOpened++;
        upstream.set(e.session, []);
        s2cWritten.set(e.session, 0);
      } else if (e.type === 'upstream-data') upstream.get(e.session)!.push(e.data);
      else if (e.type === 'upstream-end') upstreamEnded.add(e.session);
      else if (e.type === 'session-closed') closeReasons.push(e.reason);
    }
  };

  const writeApps = (): void => {
    if (c2sWritten < sentC2S.length) c2sWritten += client.write(sentC2S.subarray(c2sWritten, c2sWritten + rng.int(1, 4096)));
    if (p.close !== false && c2sWritten === sentC2S.length && client.state !== 'failed') client.close();
    for (const session of server.sessionHandles()) {
      const done = s2cWritten.get(session) ?? 0;
      if (done < sentS2C.length) {
        s2cWritten.set(session, done + server.send(session, sentS2C.subarray(done, done + rng.int(1, 4096))));
      }
      if (p.close !== false && s2cWritten.get(session) === sentS2C.length) server.end(session);
    }
  };

  const finished = (): boolean =>
    (client.state === 'closed' || client.state === 'failed') && server.sessionCount === 0;

  while (now <= limit && !finished()) {
    // Connections the client asks for (it wants the next one as soon as one retires or dies).
    const pending = conns.filter((c) => !c.attached && !c.dead).length;
    for (let i = client.connectionsWanted() - pending; i > 0; i--) openConn();
    for (const c of conns) {
      if (!c.attached && !c.dead && now >= c.attachAt) {
        c.attached = true;
        server.acceptConnection(c.id, now);
        client.attachConnection(c.id, now);
      }
    }
    // Deliveries.
    for (const c of conns) {
      while (c.c2s.length > 0 && c.c2s[0]!.at <= now) server.receive(c.id, c.c2s.shift()!.bytes, now);
      while (c.s2c.length > 0 && c.s2c[0]!.at <= now) client.receive(c.id, c.s2c.shift()!.bytes, now);
    }
    // Deaths: scheduled kills and durations.
    while (kills.length > 0 && kills[0]! <= now) {
      kills.shift();
      const live = conns.filter((c) => c.attached && !c.dead);
      if (live.length > 0) kill(live[rng.int(0, live.length - 1)]!);
    }
    for (const c of conns) {
      if (!c.attached || c.dead) continue;
      if (!c.retired && now >= c.retireAt) {
        c.retired = true;
        if (!c.clientGone) client.retireConnection(c.id);
      }
      if (now >= c.endAt) kill(c);
    }
    for (const c of conns) {
      if (c.dead && !c.clientGone && now >= c.clientNoticeAt) {
        c.clientGone = true;
        if (c.attached) client.connectionClosed(c.id, now);
      }
      if (c.dead && !c.serverGone && now >= c.serverNoticeAt) {
        c.serverGone = true;
        if (c.attached) server.connectionClosed(c.id, now);
      }
    }
    drainEvents();
    writeApps();
    // One packet per direction per connection and tick; a dead connection swallows it.
    for (const c of conns) {
      if (!c.attached) continue;
      if (!c.clientGone) {
        const out = client.pollSend(c.id, rng.int(0, 7) === 0 ? rng.int(1, 40) : rng.int(1, maxPacket));
        if (out !== null && !c.dead) c.c2s.push({ at: now + latency, bytes: out.slice() });
      }
      if (!c.serverGone) {
        const out = server.pollSend(c.id, rng.int(0, 7) === 0 ? rng.int(1, 40) : rng.int(1, maxPacket));
        if (out !== null && !c.dead) c.s2c.push({ at: now + latency, bytes: out.slice() });
      }
    }
    maxUnacked = Math.max(maxUnacked, client.unacknowledged);
    const id = client.sessionId;
    if (id !== null) {
      const key = Buffer.from(id).toString('hex');
      if (lastId !== null && key !== lastId) extendsSeen++;
      lastId = key;
      clientIds.add(key);
    }
    for (const handle of server.sessionHandles()) {
      const ids = serverIds.get(handle) ?? new Set<string>();
      ids.add(Buffer.from(server.sessionId(handle)!).toString('hex'));
      serverIds.set(handle, ids);
    }
    drainEvents();
    // Time: the next tick, or straight to the next timer when nothing is moving.
    let next = now + tick;
    const busy =
      client.connectionsWanted() > 0 ||
      conns.some((c) => (c.attached && !(c.clientGone && c.serverGone)) || (!c.attached && !c.dead));
    if (!busy) {
      const wake = [client.nextWakeup(), server.nextWakeup()].filter((t): t is number => t !== null);
      if (wake.length > 0) next = Math.max(next, Math.min(...wake));
    }
    now = next;
    client.handleTimeout(now);
    server.handleTimeout(now);
    maxReassembly = Math.max(maxReassembly, reassemblyOf(client));
  }
  drainEvents();
  p.inspect?.(client, server);

  // The client's session: the one that had an id the client had. (Orphans from lost New OKs can
  // have seen bytes too, with early data.) Failing that, one whose upstream saw bytes or the end.
  const candidates = [...upstream.entries()];
  let mine =
    candidates.find(([s]) => [...(serverIds.get(s) ?? [])].some((key) => clientIds.has(key))) ??
    candidates.find(([, chunks]) => chunks.length > 0) ??
    candidates.find(([s]) => upstreamEnded.has(s));
  if (mine === undefined) mine = candidates[0];
  return {
    now,
    clientState: client.state,
    clientFailure: client.failure,
    clientErrors,
    sentC2S,
    sentS2C,
    gotS2C: concat(got),
    gotC2S: mine === undefined ? new Uint8Array(0) : concat(mine[1]),
    clientEnded,
    upstreamEnded: mine !== undefined && upstreamEnded.has(mine[0]),
    sessionsOpened,
    closeReasons,
    connections: nextConnId - 1,
    maxUnacknowledged: maxUnacked,
    maxReassembly,
    serverSessionsLeft: server.sessionCount,
    extends: extendsSeen,
  };
}

function reassemblyOf(client: EnsembleClient): number {
  // Test-only peek at the receive stream's reassembly list, to check it stays within the window.
  return (client as unknown as { endpoint: { recv: { reassemblyBytes: number } } }).endpoint.recv.reassemblyBytes;
}

/**
 * Zero-latency pair for scripted scenarios: `pump` moves plaintext both ways on every live
 * connection until both sides are quiet; `dropOutput` throws away what one side would send next
 * (bytes lost in a dying connection).
 */
export class Pair {
  readonly client: EnsembleClient;
  readonly server: EnsembleServer;
  now = 0;
  readonly clientEvents: Array<ReturnType<EnsembleClient['pollEvent']> & object> = [];
  readonly serverEvents: Array<ReturnType<EnsembleServer['pollEvent']> & object> = [];
  /** Upstream bytes per server session, as the driver would write them. */
  readonly upstream = new Map<number, Uint8Array[]>();
  readonly read: Uint8Array[] = [];
  readonly live = new Set<number>();
  private nextConn = 1;

  constructor(client: EnsembleClientOptions = {}, server: EnsembleServerOptions = {}, seed = 1) {
    this.client = new EnsembleClient(client);
    this.server = new EnsembleServer({ random: new Prng(seed).source(), ...server });
  }

  /** Opens a connection on both sides; returns its id. */
  connect(): number {
    const id = this.nextConn++;
    this.server.acceptConnection(id, this.now);
    this.client.attachConnection(id, this.now);
    this.live.add(id);
    return id;
  }

  /** Both sides see connection `id` end (whatever was in flight is lost). */
  kill(id: number): void {
    this.live.delete(id);
    this.client.connectionClosed(id, this.now);
    this.server.connectionClosed(id, this.now);
    this.drain();
  }

  /** One packet of at most `max` bytes each way on `id`; returns the bytes moved. */
  step(id: number, max = 1400): number {
    let moved = 0;
    const up = this.client.pollSend(id, max);
    if (up !== null) {
      moved += up.length;
      this.server.receive(id, up.slice(), this.now);
    }
    const down = this.server.pollSend(id, max);
    if (down !== null) {
      moved += down.length;
      this.client.receive(id, down.slice(), this.now);
    }
    this.drain();
    return moved;
  }

  /** Steps every live connection until nothing moves (or `rounds` runs out). */
  pump(max = 1400, rounds = 100_000): void {
    for (let i = 0; i < rounds; i++) {
      let moved = 0;
      for (const id of [...this.live]) moved += this.step(id, max);
      if (moved === 0) return;
    }
    throw new Error('pump did not settle');
  }

  /** Takes (and loses) what `side` would send next on `id`. */
  dropOutput(side: 'client' | 'server', id: number, max = 1400): Uint8Array | null {
    const out = side === 'client' ? this.client.pollSend(id, max) : this.server.pollSend(id, max);
    return out === null ? null : out.slice();
  }

  advance(ms: number): void {
    this.now += ms;
    this.client.handleTimeout(this.now);
    this.server.handleTimeout(this.now);
    this.drain();
  }

  /** Collects events, reads the client application side, and records upstream bytes. */
  drain(): void {
    for (let e = this.client.pollEvent(); e !== null; e = this.client.pollEvent()) this.clientEvents.push(e);
    const chunk = this.client.read();
    if (chunk.length > 0) this.read.push(chunk);
    for (let e = this.server.pollEvent(); e !== null; e = this.server.pollEvent()) {
      this.serverEvents.push(e);
      if (e.type === 'session-opened') this.upstream.set(e.session, []);
      if (e.type === 'upstream-data') this.upstream.get(e.session)!.push(e.data);
    }
  }

  readBytes(): Uint8Array {
    return concat(this.read);
  }

  upstreamBytes(session: number): Uint8Array {
    return concat(this.upstream.get(session) ?? []);
  }
}
