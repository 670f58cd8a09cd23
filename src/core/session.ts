/**
 * DustSession: one connection end (client or server) behind the seed's Dust API — handshake,
 * records and shaping joined into one sans-IO object (seed "Dust API", "Shaping Features";
 * DECISIONS.md; the decisions are written out in docs/session.md).
 *
 * Sending: uniform stream (handshake message, then records: data when plaintext is queued, blank
 * otherwise) → content encoder (reverse Huffman) → after the model's prefix, packets whose times and
 * lengths come from the shaping CSPRNG. Receiving: prefix check → content decoder → handshake →
 * record opener → decoded queue. Time is passed in; nothing here touches a socket, timer or clock.
 * @module
 */
import type { DustModel, DirectionModel } from '../shaping/model.js';
import { createContentCoder, type ContentCoder, type ContentDecoder, type ContentEncoder, type ContentSpec } from '../shaping/coder.js';
import { PacketSchedule } from '../shaping/packet-schedule.js';
import { PrefixChecker } from '../shaping/prefix.js';
import { ShapingPrng } from '../shaping/prng.js';
import { ByteQueue } from './byte-queue.js';
import { abytes, aint } from './bytes.js';
import {
  ClientHandshake,
  type EphemeralKeySource,
  MAX_CLIENT_PADDING,
  ServerHandshake,
  type ServerStaticKey,
  type ServerTarget,
  type SessionKeys,
} from './handshake.js';
import { systemRandom, type RandomSource } from './random.js';
import { MAX_RECORD_DATA, RECORD_OVERHEAD, RecordOpener, RecordSealer, type DirectionKeys } from './record.js';
import type { ReplayFilter } from './replay-filter.js';

export type SessionState = 'handshaking' | 'open' | 'failed' | 'closed';

export type SessionFailure =
  | 'DUST_ERR_SERVER_MISMATCH'
  | 'DUST_ERR_PROBE'
  | 'DUST_ERR_BAD_PREFIX'
  | 'DUST_ERR_BAD_LENGTH'
  | 'DUST_ERR_BAD_FLAGS'
  | 'DUST_ERR_BAD_MAC'
  | 'DUST_ERR_BAD_BLANK'
  | 'DUST_ERR_KEYSTREAM_EXHAUSTED';

interface CommonOptions {
  model: DustModel;
  /** Monotonic time in ms (the driver's `performance.now()`); later calls must not go backwards. */
  now: number;
  /** Wall-clock time in ms, for the handshake's epoch hour. */
  unixTimeMs: number;
  /** Cryptographic randomness; defaults to the system CSPRNG. */
  random?: RandomSource;
  /** Ephemeral keys made ahead of time (default: one is generated when the handshake needs it). */
  ephemeralKeys?: EphemeralKeySource;
}

export interface ClientSessionOptions extends CommonOptions {
  role: 'client';
  server: ServerTarget;
}

export interface ServerSessionOptions extends CommonOptions {
  role: 'server';
  staticKey: ServerStaticKey;
  /** The identifier of the address the client dialled (server-id.ts). */
  serverId: Uint8Array;
  replayFilter: ReplayFilter;
}

export type DustSessionOptions = ClientSessionOptions | ServerSessionOptions;

/**
 * Where the sending side is. `announce`: the client's handshake packets are planned and due at
 * once; `wait`: nothing may be sent (server before authentication, client before the answer,
 * a probe forever); `flow`: packets follow the model.
 */
type SendPhase = 'announce' | 'wait' | 'flow';

/** Extra uniform bytes asked for beyond the estimate, so a packet rarely needs a second record. */
const UNIFORM_SLACK = 8;
const EMPTY = new Uint8Array(0);

/**
 * Building a code table costs about half a millisecond, and models are immutable: every session
 * of a model shares its coders (they are factories; the encoders and decoders hold the state).
 */
const coderCache = new WeakMap<ContentSpec, ContentCoder>();
function coderFor(content: ContentSpec): ContentCoder {
  let coder = coderCache.get(content);
  if (coder === undefined) {
    coder = createContentCoder(content);
    coderCache.set(content, coder);
  }
  return coder;
}

export class DustSession {
  readonly role: 'client' | 'server';
  /** The sampled connection duration; the client closes the connection when it has passed. */
  readonly durationMs: number;

  private _state: SessionState = 'handshaking';
  private _failure: SessionFailure | null = null;
  private _silent = false;
  private _peerEnded = false;

  private readonly random: RandomSource;
  private readonly rng: ShapingPrng;
  private readonly sendModel: DirectionModel;
  private readonly encoder: ContentEncoder;
  private readonly decoder: ContentDecoder;
  private readonly codeLengths: readonly number[];
  private readonly expansion: number;
  private readonly prefixIn: PrefixChecker;
  private prefixOut: Uint8Array;

  private clientHandshake: ClientHandshake | null = null;
  private serverHandshake: ServerHandshake | null = null;
  private sealer: RecordSealer | null = null;
  private opener: RecordOpener | null = null;

  private phase: SendPhase = 'wait';
  private schedule: PacketSchedule | null = null;
  private lastNow: number;
  /** Lengths of the client's handshake packets, in order, until they are taken. */
  private plannedLengths: number[] = [];
  /** The sampled length of the next packet (kept until that packet is taken). */
  private nextLength: number | null = null;

  private readonly outgoing = new ByteQueue();
  private readonly incoming = new ByteQueue();
  /** Uniform bits pushed into the encoder, and the position where the last data record ends. */
  private uniformBitsPushed = 0;
  private dataEndBits = 0;
  /** Uniform bits that have left in shaped bytes (sum of the code lengths of bytes taken). */
  private uniformBitsSent = 0;

  constructor(options: DustSessionOptions) {
    const { model } = options;
    this.role = options.role;
    this.random = options.random ?? systemRandom;
    this.lastNow = checkFinite(options.now, 'now');
    // The shaping CSPRNG is seeded first, then the handshake draws its keys.
    this.rng = ShapingPrng.fromRandom(this.random);
    this.durationMs = model.durationMs.sample(this.rng);
    const [sendModel, receiveModel] =
      options.role === 'client' ? [model.clientToServer, model.serverToClient] : [model.serverToClient, model.clientToServer];
    this.sendModel = sendModel;
    const sendCoder = coderFor(sendModel.content);
    this.encoder = sendCoder.createEncoder();
    this.codeLengths = sendCoder.codeLengths;
    this.expansion = sendCoder.expansion;
    this.decoder = coderFor(receiveModel.content).createDecoder();
    this.prefixOut = sendModel.prefix;
    this.prefixIn = new PrefixChecker(receiveModel.prefix);

    if (options.role === 'client') {
      this.clientHandshake = new ClientHandshake(options.server, {
        unixTimeMs: options.unixTimeMs,
        random: this.random,
        ephemeralKeys: options.ephemeralKeys,
      });
      this.planClientHandshake(this.clientHandshake);
      this.phase = 'announce';
    } else {
      this.serverHandshake = new ServerHandshake(options.staticKey, options.serverId, options.replayFilter, {
        unixTimeMs: options.unixTimeMs,
        random: this.random,
        ephemeralKeys: options.ephemeralKeys,
      });
    }
  }

  // ------------------------------------------------------------------ read-only state

  get state(): SessionState {
    return this._state;
  }
  /** Why the session failed or closed (a stable code), or null. */
  get failure(): SessionFailure | null {
    return this._failure;
  }
  /** True for a server that decided its peer is a probe: it must never send a byte. */
  get silent(): boolean {
    return this._silent;
  }
  /** True once the driver reported the end of the peer's byte stream. */
  get peerEnded(): boolean {
    return this._peerEnded;
  }
  /** True when the model's flow is `on_demand`: packets go out only when there is something to send. */
  get flowOnDemand(): boolean {
    return this.sendModel.flowPacketsPerSecond === 'on_demand';
  }
  /** True while queued plaintext, or a record already sealed, has not wholly left in packets. */
  get sendPending(): boolean {
    return this.hasOutputPending();
  }
  /**
   * Lets go of buffers grown for large packets, for a driver whose connection has gone idle. Only
   * memory changes: what is queued stays queued.
   */
  trimBuffers(): void {
    this.encoder.trim();
  }
  /** Plaintext queued by putDecoded and not yet sealed into records (for backpressure). */
  get pendingPlaintext(): number {
    return this.outgoing.length;
  }

  // ------------------------------------------------------------------ encoding (seed 0x00..0x03)

  /** packet_count: how many packets to send now (seed 0x00). `now` is monotonic ms. */
  packetCount(now: number): number {
    this.advanceTime(now);
    switch (this.phase) {
      case 'announce': {
        // The client's handshake packets are due at once, announced once.
        this.phase = 'wait';
        return this.plannedLengths.length;
      }
      case 'wait':
        return 0;
      case 'flow':
        if (this.sendModel.flowPacketsPerSecond === 'on_demand') return this.hasOutputPending() ? 1 : 0;
        if (this.schedule === null) {
          // What a side has to say when it may first send goes at once; the schedule starts now.
          this.schedule = new PacketSchedule(this.sendModel.flowPacketsPerSecond, this.rng, now);
          return this.planFirstBurst() + this.schedule.due(now);
        }
        return this.schedule.due(now);
    }
  }

  /** When packetCount will next return more than 0 (Infinity: not before some input arrives). */
  nextWakeup(): number {
    if (this.phase === 'announce') return this.lastNow;
    if (this.phase === 'wait') return Infinity;
    if (this.sendModel.flowPacketsPerSecond === 'on_demand') return this.hasOutputPending() ? this.lastNow : Infinity;
    return this.schedule === null ? this.lastNow : this.schedule.nextWakeup();
  }

  /** encoded_ready: the length of the next packet, sampled from the model (seed 0x01). */
  encodedReady(): number {
    if (this.plannedLengths.length > 0) return this.plannedLengths[0]!;
    this.nextLength ??= this.sendModel.lengthBytes.sample(this.rng);
    return this.nextLength;
  }

  /**
   * Plaintext bytes the next packet can still carry beyond what is queued (an estimate for
   * Huffman-shaped models). Drivers that pull data just in time ask for this much, so that data
   * fills packets instead of spilling a few bytes into a packet of padding.
   */
  plaintextRoom(): number {
    if (this._state !== 'open') return 0;
    const shapedFree = this.encodedReady() - this.prefixOut.length - this.encoder.available;
    return Math.max(0, Math.floor(shapedFree / this.expansion) - RECORD_OVERHEAD - this.outgoing.length);
  }

  /**
   * put_decoded: queues plaintext to send (seed 0x02). The bytes are not copied: the session reads
   * them when it seals them into records, so the caller must not modify them afterwards (the
   * contract of a socket write). Every driver hands over arrays nobody else keeps; a copy here
   * cost one 16 KiB copy per bulk packet.
   */
  putDecoded(bytes: Uint8Array): void {
    abytes(bytes, undefined, 'bytes');
    this.outgoing.push(bytes);
  }

  /**
   * get_encoded: exactly `len` shaped bytes (seed 0x03): data when plaintext is queued, padding
   * otherwise. Before a side may send (server before authentication, client waiting for the
   * answer) only the bytes already planned exist: asking for more is an error.
   */
  getEncoded(len: number): Uint8Array {
    aint(len, 0, 0xffff_ffff, 'len');
    if (this._silent) throw new RangeError('this session must stay silent (its peer is a probe)');
    const out = new Uint8Array(len);
    const fromPrefix = Math.min(len, this.prefixOut.length);
    out.set(this.prefixOut.subarray(0, fromPrefix));
    this.prefixOut = this.prefixOut.subarray(fromPrefix);
    const shaped = len - fromPrefix;
    if (this.encoder.available < shaped) {
      if (this.phase !== 'flow') {
        throw new RangeError(`only ${this.encoder.available + fromPrefix} bytes can be sent before the handshake completes, asked for ${len}`);
      }
      this.produceUniform(shaped - this.encoder.available);
    }
    this.encoder.takeInto(out, fromPrefix, shaped);
    this.countSentBits(out.subarray(fromPrefix));
    if (this.plannedLengths.length > 0) this.plannedLengths.shift();
    else this.nextLength = null;
    return out;
  }

  // ------------------------------------------------------------------ decoding (seed 0x11..0x13)

  /** decoded_ready: plaintext bytes waiting (seed 0x11). */
  decodedReady(): number {
    return this.incoming.length;
  }

  /** put_encoded: shaped bytes from the peer, any chunking (seed 0x12). Never throws on content. */
  putEncoded(bytes: Uint8Array): void {
    abytes(bytes, undefined, 'bytes');
    // A failed session delivers nothing more, so there is nothing to decode.
    if (this._state === 'failed' || this._state === 'closed' || bytes.length === 0) return;
    const shaped = this.prefixIn.push(bytes);
    if (this.prefixIn.state === 'failed') return this.failOnInput('DUST_ERR_BAD_PREFIX');
    if (shaped.length === 0) return;
    let uniform = this.decoder.push(shaped);
    if (this.clientHandshake !== null) uniform = this.pushClientHandshake(this.clientHandshake, uniform);
    else if (this.serverHandshake !== null) uniform = this.pushServerHandshake(this.serverHandshake, uniform);
    if (this.opener === null || uniform.length === 0 || this._state !== 'open') return;
    for (const data of this.opener.push(uniform)) this.incoming.push(data);
    if (this.opener.failure !== null) this.fail(this.opener.failure);
  }

  /** get_decoded: takes `len` <= decodedReady() plaintext bytes (seed 0x13; more is an error). */
  getDecoded(len: number): Uint8Array {
    aint(len, 0, this.incoming.length, 'len (at most decodedReady())');
    return this.incoming.take(len);
  }

  /** The driver saw the peer end its byte stream (TCP FIN). */
  endOfInput(): void {
    this._peerEnded = true;
  }

  // ------------------------------------------------------------------ handshake

  /**
   * Plans the client's first packets: the fewest model-sampled lengths that hold the prefix and
   * the handshake message, and padding that makes the shaped message fill them exactly (see
   * docs/session.md). The whole message goes into the encoder now.
   */
  private planClientHandshake(handshake: ClientHandshake): void {
    const prefix = this.prefixOut.length;
    const shapedLength = (padding: Uint8Array): number => {
      const probe = this.encoder.clone();
      probe.push(handshake.head);
      probe.push(padding);
      probe.push(handshake.tail);
      return probe.available;
    };
    const pool = this.random(MAX_CLIENT_PADDING);
    const minimal = prefix + shapedLength(EMPTY);
    const lengths: number[] = [];
    let total = 0;
    while (total < minimal) {
      const length = this.sendModel.lengthBytes.sample(this.rng);
      lengths.push(length);
      total += length;
    }
    const target = total - prefix;
    let padding: Uint8Array = EMPTY;
    if (shapedLength(pool) >= target) {
      // Largest padding length whose shaped message is not longer than the target.
      let lo = 0;
      let hi = MAX_CLIENT_PADDING;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (shapedLength(pool.subarray(0, mid)) <= target) lo = mid;
        else hi = mid - 1;
      }
      padding = pool.subarray(0, lo);
      if (shapedLength(padding) !== target) padding = this.fitLastPaddingByte(handshake, pool, lo, target) ?? padding;
    }
    const message = handshake.message(padding);
    this.pushUniform(message);
    // The last packet carries what the message really fills (short only when no fit was found).
    const shapedTotal = prefix + this.encoder.available;
    lengths[lengths.length - 1]! -= total - Math.min(total, shapedTotal);
    this.plannedLengths = lengths.filter((length) => length > 0);
  }

  /**
   * Near the fit the shaped length moves in steps of one or two bytes as the padding grows; the
   * value of the last padding byte shifts how the tail's bits fall into codewords. Tries every
   * value of the last byte for padding lengths around `length`; returns a padding that makes the
   * shaped message exactly `target` bytes, or null. (The byte chosen is still a single-use value.)
   */
  private fitLastPaddingByte(handshake: ClientHandshake, pool: Uint8Array, length: number, target: number): Uint8Array | null {
    for (const candidate of [length, length + 1, length - 1]) {
      if (candidate < 1 || candidate > MAX_CLIENT_PADDING) continue;
      const base = this.encoder.clone();
      base.push(handshake.head);
      base.push(pool.subarray(0, candidate - 1));
      const last = new Uint8Array(1);
      const start = pool[candidate - 1]!;
      for (let i = 0; i < 256; i++) {
        last[0] = (start + i) & 0xff;
        const probe = base.clone();
        probe.push(last);
        probe.push(handshake.tail);
        if (probe.available === target) {
          const padding = pool.slice(0, candidate);
          padding[candidate - 1] = last[0];
          return padding;
        }
      }
    }
    return null;
  }

  /**
   * The packets (at model-sampled lengths) that carry everything already queued for the wire —
   * the server's answer, with room for the bits the shaper still holds — at least one.
   */
  private planFirstBurst(): number {
    const need = this.prefixOut.length + this.encoder.available + Math.ceil(this.encoder.heldBits / 8) + 1;
    let total = 0;
    do {
      const length = this.sendModel.lengthBytes.sample(this.rng);
      this.plannedLengths.push(length);
      total += length;
    } while (total < need);
    return this.plannedLengths.length;
  }

  private pushClientHandshake(handshake: ClientHandshake, uniform: Uint8Array): Uint8Array {
    const rest = handshake.push(uniform);
    if (handshake.state === 'awaiting-server') return EMPTY;
    this.clientHandshake = null;
    if (handshake.state === 'failed') {
      this.fail('DUST_ERR_SERVER_MISMATCH');
      return EMPTY;
    }
    this.openRecords(handshake.keys!);
    return rest;
  }

  private pushServerHandshake(handshake: ServerHandshake, uniform: Uint8Array): Uint8Array {
    const rest = handshake.push(uniform);
    if (handshake.state === 'probe') {
      this.becomeSilent();
      return EMPTY;
    }
    if (handshake.state === 'authenticated' && this.sealer === null) {
      // Answer at once; the client's records (and the last bits of IV_c) come after the answer.
      this.pushUniform(handshake.serverMessage!);
      this.dataEndBits = this.uniformBitsPushed; // the answer must leave even under on_demand flow
      this.startSending(handshake.sendKeys!);
    }
    if (handshake.keys === null) return EMPTY;
    this.serverHandshake = null;
    this.opener = new RecordOpener(handshake.keys.receive);
    return rest;
  }

  private openRecords(keys: SessionKeys): void {
    this.startSending(keys.send);
    this.opener = new RecordOpener(keys.receive);
  }

  private startSending(keys: DirectionKeys): void {
    this.sealer = new RecordSealer(keys);
    this._state = 'open';
    this.phase = 'flow';
  }

  // ------------------------------------------------------------------ the uniform stream

  /** Pushes uniform bytes until the encoder holds at least `shapedNeeded` more shaped bytes. */
  private produceUniform(shapedNeeded: number): void {
    const goal = this.encoder.available + shapedNeeded;
    while (this.encoder.available < goal) {
      const want = Math.ceil((goal - this.encoder.available) / this.expansion) + UNIFORM_SLACK;
      if (this._state === 'open' && this.sealer !== null) {
        if (this.sealer.exhausted) {
          this._state = 'closed';
          this._failure = 'DUST_ERR_KEYSTREAM_EXHAUSTED';
          continue;
        }
        this.pushRecord(want);
      } else {
        // Failed or closed: padding is plain random bytes, which look exactly like records.
        this.pushUniform(this.random(want));
      }
    }
  }

  /** One record of about `want` uniform bytes: data if any is queued, blank otherwise. */
  private pushRecord(want: number): void {
    const sealer = this.sealer!;
    const room = Math.min(MAX_RECORD_DATA, Math.max(0, want - RECORD_OVERHEAD));
    if (this.outgoing.length > 0) {
      const dataLength = Math.max(1, Math.min(room, this.outgoing.length));
      this.pushUniform(sealer.sealData(this.outgoing.take(dataLength)));
      this.dataEndBits = this.uniformBitsPushed;
    } else {
      this.pushUniform(sealer.sealBlank(room));
    }
  }

  private pushUniform(bytes: Uint8Array): void {
    this.encoder.push(bytes);
    this.uniformBitsPushed += bytes.length * 8;
  }

  private countSentBits(shaped: Uint8Array): void {
    if (this.expansion === 1) {
      this.uniformBitsSent += shaped.length * 8;
      return;
    }
    const lengths = this.codeLengths;
    let bits = 0;
    for (let i = 0; i < shaped.length; i++) bits += lengths[shaped[i]!]!;
    this.uniformBitsSent += bits;
  }

  /** For on_demand flow: plaintext queued, or data-record bits that have not left yet. */
  private hasOutputPending(): boolean {
    return this.outgoing.length > 0 || this.uniformBitsSent < this.dataEndBits;
  }

  // ------------------------------------------------------------------ failure

  private failOnInput(failure: SessionFailure): void {
    // A server that has not authenticated its client treats any bad input as a probe.
    if (this.serverHandshake !== null && this.sealer === null) this.becomeSilent();
    else this.fail(failure);
  }

  private becomeSilent(): void {
    this.serverHandshake = null;
    this._silent = true;
    this._state = 'failed';
    this._failure = 'DUST_ERR_PROBE';
    this.phase = 'wait';
    this.outgoing.clear();
  }

  /** Sticky: nothing more is delivered; sending goes on with shaped padding. */
  private fail(failure: SessionFailure): void {
    if (this._state === 'failed' || this._state === 'closed') return;
    this._state = 'failed';
    this._failure = failure;
    this.opener = null;
    this.outgoing.clear();
    this.phase = 'flow';
  }

  private advanceTime(now: number): void {
    checkFinite(now, 'now');
    if (now < this.lastNow) throw new RangeError(`time went backwards: ${now} < ${this.lastNow}`);
    this.lastNow = now;
  }
}

function checkFinite(value: number, title: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${title} must be a finite number`);
  return value;
}

