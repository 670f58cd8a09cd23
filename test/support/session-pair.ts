/**
 * A client and a server DustSession wired back to back in memory, with a virtual clock (quinn's
 * `Pair`): tests and benchmarks move packets between them without sockets or timers.
 */
import { systemRandom, type RandomSource } from '../../src/core/random.js';
import { ReplayFilter } from '../../src/core/replay-filter.js';
import { serverIdentifier } from '../../src/core/server-id.js';
import { generateServerIdentity, type ServerIdentity } from '../../src/core/server-keys.js';
import { DustSession } from '../../src/core/session.js';
import type { DustModel } from '../../src/shaping/model.js';

export const PAIR_UNIX_TIME_MS = 1_764_000_000_000;

export interface SessionPair {
  client: DustSession;
  server: DustSession;
}

export function makePair(
  model: DustModel,
  options: { clientRandom?: RandomSource; serverRandom?: RandomSource; now?: number; identity?: ServerIdentity } = {},
): SessionPair {
  const identity = options.identity ?? generateServerIdentity(systemRandom);
  const serverId = serverIdentifier('192.0.2.1', 443);
  const now = options.now ?? 0;
  const client = new DustSession({
    role: 'client',
    model,
    now,
    unixTimeMs: PAIR_UNIX_TIME_MS,
    random: options.clientRandom,
    server: { publicKey: identity.staticKey.publicKey, serverId },
  });
  const server = new DustSession({
    role: 'server',
    model,
    now,
    unixTimeMs: PAIR_UNIX_TIME_MS,
    random: options.serverRandom,
    staticKey: identity.staticKey,
    serverId,
    replayFilter: new ReplayFilter(),
  });
  return { client, server };
}

/** The packets `from` sends at `now` (each exactly encodedReady() bytes long). */
export function sendDue(from: DustSession, now: number): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (let n = from.packetCount(now); n > 0; n--) packets.push(from.getEncoded(from.encodedReady()));
  return packets;
}

/** Sends what is due at `now` from each side to the other; returns the bytes moved. */
export function step(pair: SessionPair, now: number): number {
  let moved = 0;
  for (const packet of sendDue(pair.client, now)) {
    pair.server.putEncoded(packet);
    moved += packet.length;
  }
  for (const packet of sendDue(pair.server, now)) {
    pair.client.putEncoded(packet);
    moved += packet.length;
  }
  return moved;
}

/** Takes everything decoded so far. */
export function drain(session: DustSession): Uint8Array {
  return session.getDecoded(session.decodedReady());
}
