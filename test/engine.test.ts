/**
 * The command-byte Dust API (`dust engine`, docs/engine.md): the framing as a sans-IO object, then
 * two real engine processes driven over pipes with a handshake and data between them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRandom } from '../src/core/random.js';
import { encodeBridgeKey, generateServerIdentity, serializeServerState } from '../src/core/server-keys.js';
import { COMMAND, EngineProtocol } from '../src/drivers/engine-protocol.js';
import { builtinModels, getBuiltinModel } from '../src/shaping/builtin-models.js';
import { buildCli } from './support/build-cli.js';
import { makePair } from './support/session-pair.js';

function frame(command: number, args: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(3 + args.length);
  out[0] = (1 + args.length) >>> 8;
  out[1] = (1 + args.length) & 0xff;
  out[2] = command;
  out.set(args, 3);
  return out;
}
const u16 = (n: number) => Uint8Array.of(n >>> 8, n & 0xff);
const withLength = (bytes: Uint8Array) => Buffer.concat([u16(bytes.length), bytes]);

/** Splits concatenated responses into [status, body] pairs. */
function parseResponses(bytes: Uint8Array): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let at = 0; at < bytes.length; ) {
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    out.push([bytes[at + 2]!, Buffer.from(bytes.subarray(at + 3, at + 2 + length))]);
    at += 2 + length;
  }
  return out;
}

describe('engine framing (sans-IO)', () => {
  const session = () => makePair(getBuiltinModel('uniform')).client;

  test('answers every command; requests may arrive in any chunking', () => {
    const requests = Buffer.concat([frame(COMMAND.encodedReady), frame(COMMAND.decodedReady), frame(COMMAND.duration), frame(COMMAND.status)]);
    const whole = parseResponses(Buffer.concat(new EngineProtocol(session()).push(requests)));
    const protocol = new EngineProtocol(session());
    const replies: Uint8Array[] = [];
    for (const byte of requests) replies.push(...protocol.push(Uint8Array.of(byte)));
    const bytewise = parseResponses(Buffer.concat(replies));
    for (const responses of [whole, bytewise]) {
      expect(responses.map(([status, body]) => [status, body.length])).toEqual([
        [0, 2],
        [0, 2],
        [0, 4],
        [0, 1],
      ]);
      expect(responses[1]![1].readUInt16BE(0)).toBe(0); // nothing decoded yet
      expect(responses[3]![1][0]).toBe(0); // handshaking
    }
  });

  test.each([
    ['unknown command', frame(0x7f), /unknown command byte 0x7f/],
    ['empty frame', Uint8Array.of(0, 0), /empty frame/],
    ['missing argument', frame(COMMAND.getEncoded, Uint8Array.of(1)), /needs a 2-byte argument/],
    ['extra argument', frame(COMMAND.encodedReady, Uint8Array.of(1)), /takes no arguments/],
    ['length field mismatch', frame(COMMAND.putDecoded, Uint8Array.of(0, 5, 1, 2)), /length field says 5 bytes, the frame carries 2/],
    ['reading more than is ready', frame(COMMAND.getDecoded, u16(10)), /asked for 10 bytes, only 0 are ready/],
    ['sending before the handshake allows it', frame(COMMAND.getEncoded, u16(60000)), /before the handshake completes/],
  ])('%s gets an error reply and the pipe stays in step', (_name, bad, message) => {
    const protocol = new EngineProtocol(session());
    const [error, next] = parseResponses(Buffer.concat(protocol.push(Buffer.concat([bad, frame(COMMAND.decodedReady)]))));
    expect(error![0]).toBe(1);
    expect(error![1].toString()).toMatch(message);
    expect(next![0]).toBe(0);
  });
});

/** A running engine process with a request/response helper. */
class EngineProcess {
  private pending = Buffer.alloc(0);
  private waiters: Array<(r: [number, Buffer]) => void> = [];
  readonly child: ChildProcessWithoutNullStreams;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [buildCli(), 'engine', ...args]);
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2 && this.pending.length >= 2 + this.pending.readUInt16BE(0)) {
        const length = this.pending.readUInt16BE(0);
        const reply: [number, Buffer] = [this.pending[2]!, this.pending.subarray(3, 2 + length)];
        this.pending = this.pending.subarray(2 + length);
        this.waiters.shift()!(reply);
      }
    });
  }

  request(command: number, args?: Uint8Array): Promise<[number, Buffer]> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.child.stdin.write(frame(command, args));
    });
  }

  async ok(command: number, args?: Uint8Array): Promise<Buffer> {
    const [status, body] = await this.request(command, args);
    if (status !== 0) throw new Error(`engine error: ${body.toString()}`);
    return body;
  }

  /** packet_count, then encoded_ready + get_encoded per packet: the bytes to put on the wire. */
  async send(ms: number): Promise<Buffer[]> {
    const count = (await this.ok(COMMAND.packetCount, u16(ms))).readUInt16BE(0);
    const packets: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const length = (await this.ok(COMMAND.encodedReady)).readUInt16BE(0);
      packets.push(await this.ok(COMMAND.getEncoded, u16(length)));
    }
    return packets;
  }

  async deliver(packets: Buffer[]): Promise<void> {
    for (const p of packets) {
      for (let at = 0; at < p.length; at += 60000) await this.ok(COMMAND.putEncoded, withLength(p.subarray(at, at + 60000)));
    }
  }

  async read(): Promise<Buffer> {
    const ready = (await this.ok(COMMAND.decodedReady)).readUInt16BE(0);
    return ready ? this.ok(COMMAND.getDecoded, u16(ready)) : Buffer.alloc(0);
  }

  stop(): Promise<number | null> {
    return new Promise((resolve) => {
      this.child.on('exit', (code) => resolve(code));
      this.child.stdin.end();
    });
  }
}

describe('dust engine as child processes', () => {
  test('two engines complete a handshake and move data both ways over their pipes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dust-engine-'));
    const identity = generateServerIdentity(systemRandom);
    writeFileSync(join(dir, 'state.json'), serializeServerState(identity));
    const common = ['--model', 'text', '--server', '192.0.2.1:443'];
    const client = new EngineProcess(['--role', 'client', '--bridge-key', encodeBridgeKey(identity.staticKey.publicKey), ...common]);
    const server = new EngineProcess(['--role', 'server', '--state', join(dir, 'state.json'), ...common]);
    try {
      await client.ok(COMMAND.putDecoded, withLength(Buffer.from('hello from the client')));
      await server.ok(COMMAND.putDecoded, withLength(Buffer.from('hello from the server')));
      let up = '';
      let down = '';
      for (let i = 0; i < 300 && (up.length < 21 || down.length < 21); i++) {
        await server.deliver(await client.send(50));
        await client.deliver(await server.send(50));
        up += (await server.read()).toString();
        down += (await client.read()).toString();
      }
      expect([up, down]).toEqual(['hello from the client', 'hello from the server']);
      const status = await client.ok(COMMAND.status);
      expect(status[0]).toBe(1); // open
      const [bad, badBody] = await client.request(0x55);
      expect([bad, badBody.toString()]).toEqual([1, 'unknown command byte 0x55']);
    } finally {
      expect(await client.stop()).toBe(0);
      expect(await server.stop()).toBe(0);
    }
  });

  test('bad flags: one clear line and exit status 2', async () => {
    const run = (args: string[]) =>
      new Promise<[number | null, string]>((resolve) => {
        const child = spawn(process.execPath, [buildCli(), 'engine', ...args]);
        let err = '';
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('exit', (code) => resolve([code, err.split('\n')[0]!]));
        child.stdin.end();
      });
    expect(await run(['--role', 'client', '--model', 'text', '--server', '1.2.3.4:5'])).toEqual([2, 'dust: --bridge-key is required']);
    expect(await run(['--role', 'x', '--model', 'text', '--server', '1.2.3.4:5'])).toEqual([2, 'dust: --role must be client or server, got "x"']);
    expect(await run(['--role', 'client', '--model', 'nope', '--server', '1.2.3.4:5', '--bridge-key', 'k'])).toEqual([
      1,
      `dust: no built-in model named "nope" (built-in: ${[...builtinModels.keys()].join(', ')})`,
    ]);
    expect((await run(['--role', 'client', '--model', 'text', '--server', '1.2.3.4'])).join(' ')).toMatch(/--server must be HOST:PORT/);
  });
});
