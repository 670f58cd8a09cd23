/**
 * Ensemble core throughput in memory (no crypto, no sockets): a client and a server wired back to
 * back, moving application bytes through Data messages, acknowledgements and in-order delivery.
 * What this measures is the cost the Ensemble layer adds on top of the Dust session.
 * @module
 */
import { EnsembleClient } from '../src/ensemble/client.js';
import { MessageDecoder, encodeMessage, type Message } from '../src/ensemble/messages.js';
import { EnsembleServer } from '../src/ensemble/server.js';
import { megabytesPerSecond, type BenchRow } from './table.js';

const BLOCK = 1 << 20;

interface Wired {
  client: EnsembleClient;
  server: EnsembleServer;
  session: number;
  conn: number;
  /** Moves everything both sides have for `conn`, `packet` bytes at a time. */
  pump(packet: number): void;
  /** Replaces the connection by a new one (the old one's in-flight bytes are lost). */
  reconnect(): void;
}

function wire(): Wired {
  let n = 0;
  const client = new EnsembleClient();
  const server = new EnsembleServer({ random: (k) => new Uint8Array(k).fill(++n) });
  let now = 0;
  const w: Wired = {
    client,
    server,
    session: 0,
    conn: 1,
    pump(packet) {
      for (;;) {
        const up = client.pollSend(w.conn, packet);
        if (up !== null) server.receive(w.conn, up, now);
        const down = server.pollSend(w.conn, packet);
        if (down !== null) client.receive(w.conn, down, now);
        if (up === null && down === null) return;
      }
    },
    reconnect() {
      const old = w.conn;
      client.connectionClosed(old, now);
      server.connectionClosed(old, now);
      w.conn = old + 1;
      now++;
      server.acceptConnection(w.conn, now);
      client.attachConnection(w.conn, now);
    },
  };
  server.acceptConnection(1, now);
  client.attachConnection(1, now);
  w.pump(1400);
  for (let e = server.pollEvent(); e !== null; e = server.pollEvent()) if (e.type === 'session-opened') w.session = e.session;
  return w;
}

/** Client → server: `BLOCK` bytes per call, pulled in `packet`-byte pieces. */
function upstream(packet: number, reconnectEvery = 0): number {
  const w = wire();
  const block = new Uint8Array(BLOCK).fill(7);
  let calls = 0;
  return megabytesPerSecond(() => {
    let written = 0;
    while (written < block.length) {
      written += w.client.write(block.subarray(written));
      w.pump(packet);
      for (let e = w.server.pollEvent(); e !== null; e = w.server.pollEvent()) {
        if (e.type === 'upstream-data' && e.data.length === 0) throw new Error('BUG: empty delivery');
      }
    }
    if (reconnectEvery > 0 && ++calls % reconnectEvery === 0) w.reconnect();
  }, BLOCK);
}

/** Server → client. */
function downstream(packet: number): number {
  const w = wire();
  const block = new Uint8Array(BLOCK).fill(9);
  return megabytesPerSecond(() => {
    let written = 0;
    while (written < block.length) {
      written += w.server.send(w.session, block.subarray(written));
      w.pump(packet);
      w.client.read();
    }
    while (w.server.pollEvent() !== null);
  }, BLOCK);
}

/** Both directions at once: counts bytes moved each way. */
function bothWays(packet: number): number {
  const w = wire();
  const block = new Uint8Array(BLOCK).fill(3);
  return megabytesPerSecond(() => {
    let up = 0;
    let down = 0;
    while (up < block.length || down < block.length) {
      if (up < block.length) up += w.client.write(block.subarray(up));
      if (down < block.length) down += w.server.send(w.session, block.subarray(down));
      w.pump(packet);
      w.client.read();
      while (w.server.pollEvent() !== null);
    }
  }, 2 * BLOCK);
}

function codec(): number {
  const id = new Uint8Array(32).fill(1);
  const messages: Message[] = [];
  for (let i = 0; i < 1024; i++) messages.push({ type: 'data', id, seq: i, data: new Uint8Array(1024) });
  const wireBytes = new Uint8Array(Buffer.concat(messages.map((m) => encodeMessage(m))));
  return megabytesPerSecond(() => {
    const d = new MessageDecoder();
    for (let i = 0; i < wireBytes.length; i += 1400) d.push(wireBytes.subarray(i, i + 1400));
  }, wireBytes.length);
}

export function ensembleBench(): BenchRow[] {
  const group = 'ensemble core';
  return [
    { group, name: 'decode 1 KiB Data messages (1400 B chunks)', value: codec(), unit: 'MB/s' },
    { group, name: 'client → server, 16 KiB pollSend', value: upstream(16_384), unit: 'MB/s plaintext' },
    { group, name: 'client → server, 1400 B pollSend', value: upstream(1400), unit: 'MB/s plaintext' },
    { group, name: 'server → client, 16 KiB pollSend', value: downstream(16_384), unit: 'MB/s plaintext' },
    { group, name: 'both ways at once, 16 KiB pollSend', value: bothWays(16_384), unit: 'MB/s plaintext (sum)' },
    {
      group,
      name: 'client → server, new connection every 4 MiB',
      value: upstream(16_384, 4),
      unit: 'MB/s plaintext',
      note: 'resume cost included',
    },
  ];
}
