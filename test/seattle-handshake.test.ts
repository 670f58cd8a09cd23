/**
 * Dust/Seattle handshake (DECISIONS.md "Handshake") against test/vectors/seattle.json: every
 * intermediate value, both ends, any chunking; then the probe decisions.
 */
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes } from '../src/core/bytes.js';
import {
  ClientHandshake,
  MAX_CLIENT_PADDING,
  MAX_MARK_END,
  ServerHandshake,
  type ServerStaticKey,
} from '../src/core/handshake.js';
import { confirmationCode, directionKeys, epochHour, handshakeMark, sharedKey } from '../src/core/key-schedule.js';
import { scriptedRandom, systemRandom } from '../src/core/random.js';
import { ReplayFilter } from '../src/core/replay-filter.js';
import { serverIdentifier } from '../src/core/server-id.js';
import { generateEphemeralKey } from '../src/crypto/ephemeral-key.js';
import { x25519, x25519PublicKey } from '../src/crypto/x25519.js';
import vectors from './vectors/seattle.json' with { type: 'json' };

const HOUR_MS = 3_600_000;
const h = hexToBytes;

interface Transcript {
  name: string;
  inputs: {
    client_ephemeral_private: string;
    client_ephemeral_tweak: string;
    server_ephemeral_private: string;
    server_ephemeral_tweak: string;
    server_static_private: string;
    server_address: { ip: string; port: number; transport: string };
    epoch_hour: number;
    client_iv: string;
    server_iv: string;
    client_padding: string;
  };
  [key: string]: unknown;
}
const transcripts = vectors.transcripts as unknown as Transcript[];
const str = (t: Transcript, key: string) => t[key] as string;

function setup(t: Transcript, offsetMs = 1234) {
  const i = t.inputs;
  const staticKey: ServerStaticKey = {
    privateKey: h(i.server_static_private),
    publicKey: x25519PublicKey(h(i.server_static_private)),
  };
  const serverId = serverIdentifier(i.server_address.ip, i.server_address.port);
  const unixTimeMs = i.epoch_hour * HOUR_MS + offsetMs;
  const client = new ClientHandshake(
    { publicKey: staticKey.publicKey, serverId },
    {
      unixTimeMs,
      random: scriptedRandom(h(i.client_ephemeral_private), h(i.client_ephemeral_tweak), h(i.client_iv)),
    },
  );
  const server = new ServerHandshake(staticKey, serverId, new ReplayFilter(), {
    unixTimeMs,
    random: scriptedRandom(h(i.server_ephemeral_private), h(i.server_ephemeral_tweak), h(i.server_iv)),
  });
  return { staticKey, serverId, unixTimeMs, client, server };
}

describe.each(transcripts.map((t) => [t.name, t] as const))('seattle.json %s', (_name, t) => {
  test('key schedule reproduces every intermediate value', () => {
    const i = t.inputs;
    expect(bytesToHex(x25519PublicKey(h(i.server_static_private)))).toBe(str(t, 'server_static_public_B'));
    expect(bytesToHex(serverIdentifier(i.server_address.ip, i.server_address.port))).toBe(str(t, 'server_id'));
    const dh1 = x25519(h(i.client_ephemeral_private), h(str(t, 'Y')))!;
    const dh2 = x25519(h(i.client_ephemeral_private), h(str(t, 'server_static_public_B')))!;
    expect(bytesToHex(dh1)).toBe(str(t, 'DH1'));
    expect(bytesToHex(dh2)).toBe(str(t, 'DH2'));
    expect(bytesToHex(x25519(h(i.server_ephemeral_private), h(str(t, 'X')))!)).toBe(str(t, 'DH1'));
    expect(bytesToHex(x25519(h(i.server_static_private), h(str(t, 'X')))!)).toBe(str(t, 'DH2'));
    expect(bytesToHex(handshakeMark(dh2, h(str(t, 'R_X')), i.epoch_hour))).toBe(str(t, 'mark'));
    const serverId = h(str(t, 'server_id'));
    const key = sharedKey(dh1, dh2, serverId, h(str(t, 'server_static_public_B')), h(str(t, 'X')), h(str(t, 'Y')));
    expect(bytesToHex(key)).toBe(str(t, 'K'));
    expect(bytesToHex(confirmationCode(key, serverId, h(str(t, 'X')), h(str(t, 'Y'))))).toBe(str(t, 'confirmation_code'));
    const c2s = t.client_to_server as { iv: string; enc_key: string; mac_key: string };
    const s2c = t.server_to_client as { iv: string; enc_key: string; mac_key: string };
    const kc = directionKeys(key, 'c2s', h(c2s.iv));
    const ks = directionKeys(key, 's2c', h(s2c.iv));
    expect([bytesToHex(kc.encKey), bytesToHex(kc.macKey)]).toEqual([c2s.enc_key, c2s.mac_key]);
    expect([bytesToHex(ks.encKey), bytesToHex(ks.macKey)]).toEqual([s2c.enc_key, s2c.mac_key]);
  });

  test('server mark candidates for E-1, E, E+1 and where they occur', () => {
    const dh2 = h(str(t, 'DH2'));
    const message = str(t, 'client_message');
    for (const candidate of t.server_mark_candidates as Array<{ epoch_hour: number; mark: string; found_at_offset: number }>) {
      const mark = bytesToHex(handshakeMark(dh2, h(str(t, 'R_X')), candidate.epoch_hour));
      expect(mark).toBe(candidate.mark);
      const at = message.indexOf(mark);
      expect(at === -1 ? -1 : at / 2).toBe(candidate.found_at_offset);
    }
  });

  test('client builds the exact client message', () => {
    const { client } = setup(t);
    expect(bytesToHex(client.head)).toBe(str(t, 'R_X'));
    expect(bytesToHex(client.message(h(t.inputs.client_padding)))).toBe(str(t, 'client_message'));
  });

  test.each([
    ['whole', 1 << 20],
    ['byte by byte', 1],
    ['in 7-byte chunks', 7],
  ])('both ends agree, %s, with trailing record bytes handed back', (_how, chunkSize) => {
    const { client, server } = setup(t);
    const trailer = h('0102030405');
    const wire = concatBytes(client.message(h(t.inputs.client_padding)), trailer);
    const after: Uint8Array[] = [];
    for (let at = 0; at < wire.length; at += chunkSize) after.push(server.push(wire.subarray(at, at + chunkSize)));
    expect(server.state).toBe('authenticated');
    expect(bytesToHex(concatBytes(...after))).toBe('0102030405');
    expect(bytesToHex(server.serverMessage!)).toBe(str(t, 'server_message_prefix'));

    const back = concatBytes(server.serverMessage!, h('aabb'));
    const clientAfter: Uint8Array[] = [];
    for (let at = 0; at < back.length; at += chunkSize) clientAfter.push(client.push(back.subarray(at, at + chunkSize)));
    expect(client.state).toBe('done');
    expect(bytesToHex(concatBytes(...clientAfter))).toBe('aabb');

    const c2s = t.client_to_server as { enc_key: string; mac_key: string };
    const s2c = t.server_to_client as { enc_key: string; mac_key: string };
    expect(bytesToHex(client.keys!.send.encKey)).toBe(c2s.enc_key);
    expect(bytesToHex(client.keys!.receive.macKey)).toBe(s2c.mac_key);
    expect(bytesToHex(server.keys!.send.encKey)).toBe(s2c.enc_key);
    expect(bytesToHex(server.keys!.receive.macKey)).toBe(c2s.mac_key);
  });
});

describe.each(transcripts.map((t) => [t.name, t] as const))('seattle.json %s, ephemeral keys made ahead', (_name, t) => {
  test('a key from an EphemeralKeySource (a pool) gives the same transcript', () => {
    const i = t.inputs;
    const staticKey: ServerStaticKey = { privateKey: h(i.server_static_private), publicKey: x25519PublicKey(h(i.server_static_private)) };
    const serverId = serverIdentifier(i.server_address.ip, i.server_address.port);
    const unixTimeMs = i.epoch_hour * HOUR_MS + 1234;
    // The keys come from the source; `random` then gives only the IVs.
    const clientKey = generateEphemeralKey(scriptedRandom(h(i.client_ephemeral_private), h(i.client_ephemeral_tweak)));
    const serverKey = generateEphemeralKey(scriptedRandom(h(i.server_ephemeral_private), h(i.server_ephemeral_tweak)));
    const client = new ClientHandshake({ publicKey: staticKey.publicKey, serverId }, { unixTimeMs, random: scriptedRandom(h(i.client_iv)), ephemeralKeys: () => clientKey });
    const server = new ServerHandshake(staticKey, serverId, new ReplayFilter(), { unixTimeMs, random: scriptedRandom(h(i.server_iv)), ephemeralKeys: () => serverKey });
    expect(bytesToHex(client.head)).toBe(str(t, 'R_X'));
    server.push(h(str(t, 'client_message')));
    expect(server.state).toBe('authenticated');
    expect(bytesToHex(server.serverMessage!.subarray(0, 32))).toBe(str(t, 'R_Y'));
    client.push(server.serverMessage!);
    expect(client.state).toBe('done');
    expect(bytesToHex(client.keys!.send.encKey)).toBe(bytesToHex(server.keys!.receive.encKey));
  });
});

/** A fresh random server and a client for it, at the given hour offset between their clocks. */
function freshPair(clientHourOffset = 0, filter = new ReplayFilter()) {
  const privateKey = systemRandom(32);
  const staticKey = { privateKey, publicKey: x25519PublicKey(privateKey) };
  const serverId = serverIdentifier('203.0.113.5', 443);
  const now = 490_000 * HOUR_MS + 600_000;
  const client = new ClientHandshake(
    { publicKey: staticKey.publicKey, serverId },
    { unixTimeMs: now + clientHourOffset * HOUR_MS, random: systemRandom },
  );
  const server = new ServerHandshake(staticKey, serverId, filter, { unixTimeMs: now, random: systemRandom });
  return { client, server, staticKey, serverId, now, filter };
}

describe('server decisions: authenticated client or probe', () => {
  test.each([-1, 0, 1])('accepts a client whose clock is %i hour(s) off', (offset) => {
    const { client, server } = freshPair(offset);
    server.push(client.message(systemRandom(10)));
    expect(server.state).toBe('authenticated');
  });

  test.each([-2, 2])('a client %i hours off is a probe (no mark)', (offset) => {
    const { client, server } = freshPair(offset);
    server.push(client.message(new Uint8Array(0)));
    server.push(systemRandom(MAX_MARK_END));
    expect([server.state, server.probeReason]).toEqual(['probe', 'DUST_ERR_NO_MARK']);
  });

  test('every padding length from 0 to 8,192 is accepted; a mark ending at byte 8,241 is not', () => {
    for (const padding of [0, 1, 2, 100, 4096, MAX_CLIENT_PADDING - 1, MAX_CLIENT_PADDING]) {
      const { client, server } = freshPair();
      server.push(client.message(systemRandom(padding)));
      expect([padding, server.state]).toEqual([padding, 'authenticated']);
    }
    const { client, server } = freshPair();
    expect(() => client.message(new Uint8Array(MAX_CLIENT_PADDING + 1))).toThrow(RangeError);
    const late = concatBytes(client.head, systemRandom(MAX_CLIENT_PADDING + 1), client.tail);
    server.push(late);
    expect([server.state, server.probeReason]).toEqual(['probe', 'DUST_ERR_NO_MARK']);
  });

  test('a replayed client message is a probe, even with other padding or flipped top bits', () => {
    const filter = new ReplayFilter();
    const { client, staticKey, serverId, now } = freshPair(0, filter);
    const original = client.message(systemRandom(40));
    const serverAt = (ms: number) => new ServerHandshake(staticKey, serverId, filter, { unixTimeMs: ms, random: systemRandom });
    const first = serverAt(now);
    first.push(original);
    expect(first.state).toBe('authenticated');

    const replay = serverAt(now + 60_000);
    replay.push(original);
    expect([replay.state, replay.probeReason]).toEqual(['probe', 'DUST_ERR_REPLAY']);

    const repadded = serverAt(now + 120_000);
    repadded.push(client.message(systemRandom(3)));
    expect(repadded.probeReason).toBe('DUST_ERR_REPLAY');

    const flipped = original.slice();
    flipped[31]! ^= 0x80;
    const flippedServer = serverAt(now + 180_000);
    flippedServer.push(flipped);
    flippedServer.push(systemRandom(MAX_MARK_END));
    expect(flippedServer.state).toBe('probe');
  });

  test('a client with the wrong bridge key never gets an answer', () => {
    const { server, serverId, now } = freshPair();
    const impostor = new ClientHandshake(
      { publicKey: x25519PublicKey(systemRandom(32)), serverId },
      { unixTimeMs: now, random: systemRandom },
    );
    server.push(impostor.message(systemRandom(20)));
    server.push(systemRandom(MAX_MARK_END));
    expect([server.state, server.serverMessage]).toEqual(['probe', null]);
  });

  test('the server id is bound in: a different dialled address fails the confirmation', () => {
    const { client: _unused, staticKey, now } = freshPair();
    const client = new ClientHandshake(
      { publicKey: staticKey.publicKey, serverId: serverIdentifier('198.51.100.1', 443) },
      { unixTimeMs: now, random: systemRandom },
    );
    const server = new ServerHandshake(staticKey, serverIdentifier('203.0.113.5', 443), new ReplayFilter(), {
      unixTimeMs: now,
      random: systemRandom,
    });
    server.push(client.message(new Uint8Array(0)));
    expect(server.state).toBe('authenticated'); // the mark does not depend on the address ...
    client.push(server.serverMessage!);
    expect([client.state, client.failure]).toEqual(['failed', 'DUST_ERR_SERVER_MISMATCH']); // ... K does
  });

  test('a tampered confirmation code or IV-less answer fails the client, and it stays failed', () => {
    const { client, server } = freshPair();
    server.push(client.message(new Uint8Array(0)));
    const answer = server.serverMessage!.slice();
    answer[40]! ^= 1;
    expect(client.push(concatBytes(answer, h('00ff'))).length).toBe(0);
    expect(client.failure).toBe('DUST_ERR_SERVER_MISMATCH');
    expect(client.push(h('0102')).length).toBe(0);
    expect(client.keys).toBeNull();
  });

  test('garbage in any chunking never throws, stays bounded and ends as a probe', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 9000 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }),
        (garbage, splits) => {
          const { server } = freshPair();
          let at = 0;
          let i = 0;
          while (at < garbage.length) {
            const size = splits[i++ % splits.length]!;
            expect(server.push(garbage.subarray(at, at + size)).length).toBe(0);
            expect(server.bufferedBytes).toBeLessThanOrEqual(MAX_MARK_END + 32);
            at += size;
          }
          server.push(systemRandom(MAX_MARK_END)); // enough to decide
          expect(server.state).toBe('probe');
          expect(server.serverMessage).toBeNull();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('epochHour is the floor of hours since the epoch', () => {
    expect(epochHour(482_136 * HOUR_MS)).toBe(482_136);
    expect(epochHour(482_137 * HOUR_MS - 1)).toBe(482_136);
  });
});
