/**
 * The Dust/Seattle handshake as two sans-IO state machines (seed "Dust/Seattle Handshake",
 * DECISIONS.md "Handshake"; vectors: test/vectors/seattle.json).
 *
 *   client → server: R_X ‖ padding (0..8,192 random bytes) ‖ mark ‖ IV_c
 *   server → client: R_Y ‖ confirmation code ‖ IV_s            (records follow in both directions)
 *
 * Both objects work on the *uniform* stream (after unshaping); bytes may arrive in any chunking.
 * The server decides "authenticated client" or "probe" here; what it then does over time (silence,
 * read and discard, close after its fixed delay) belongs to the transport driver.
 * Neither object reads a clock or a global random source: the caller passes `unixTimeMs` and
 * `random`. Draws happen in a fixed order so tests can replay the vectors:
 * client: ephemeral key (32 + 1 bytes per attempt), then IV_c (32); server, once authenticated:
 * ephemeral key, then IV_s.
 * @module
 */
import { elligator2Decode } from '../crypto/elligator2.js';
import { generateEphemeralKey, type EphemeralKey } from '../crypto/ephemeral-key.js';
import { x25519 } from '../crypto/x25519.js';
import { abytes, aint, concatBytes, equalBytes } from './bytes.js';
import {
  MARK_BYTES,
  confirmationCode,
  directionKeys,
  epochHour,
  handshakeMark,
  sharedKey,
} from './key-schedule.js';
import type { RandomSource } from './random.js';
import type { DirectionKeys } from './record.js';
import type { ReplayFilter } from './replay-filter.js';

export const REPRESENTATIVE_BYTES = 32;
export const IV_BYTES = 32;
export const CODE_BYTES = 32;
export const MAX_CLIENT_PADDING = 8192;
/** The mark must end within this many uniform bytes of the client stream (32 + 8,192 + 16). */
export const MAX_MARK_END = REPRESENTATIVE_BYTES + MAX_CLIENT_PADDING + MARK_BYTES;
/** The longest client message: the mark at its latest position, then the IV. */
export const MAX_CLIENT_MESSAGE = MAX_MARK_END + IV_BYTES;
export const SERVER_MESSAGE_BYTES = REPRESENTATIVE_BYTES + CODE_BYTES + IV_BYTES;

/** Record keys of one end: what it sends with and what it receives with. */
export interface SessionKeys {
  send: DirectionKeys;
  receive: DirectionKeys;
}

/** What a client knows of its server from the bridge line and the address it dials. */
export interface ServerTarget {
  /** B, the server's static X25519 public key (32 bytes). */
  publicKey: Uint8Array;
  /** The server identifier of the dialled address (server-id.ts). */
  serverId: Uint8Array;
}

/** The server's long-term X25519 key pair (an ordinary, clean key). */
export interface ServerStaticKey {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * Where a handshake gets its single-use ephemeral key: by default `generateEphemeralKey(random)`
 * at the moment it is needed; a driver may hand out keys made ahead of time, off the connection's
 * critical path (src/drivers/ephemeral-key-pool.ts). Each key must be given out once only.
 */
export type EphemeralKeySource = () => EphemeralKey;

/** Options both handshake sides take. */
export interface HandshakeOptions {
  unixTimeMs: number;
  random: RandomSource;
  ephemeralKeys?: EphemeralKeySource;
}

/** The key for this handshake: from the caller's source if it gave one, else made now from `random`. */
function takeEphemeralKey(options: HandshakeOptions): EphemeralKey {
  return options.ephemeralKeys?.() ?? generateEphemeralKey(options.random);
}

export type ClientHandshakeFailure = 'DUST_ERR_SERVER_MISMATCH';
export type ServerProbeReason = 'DUST_ERR_BAD_REPRESENTATIVE' | 'DUST_ERR_NO_MARK' | 'DUST_ERR_REPLAY';

/** Client side: builds the first message, then checks the server's answer. */
export class ClientHandshake {
  /** R_X: the first 32 bytes the client sends. */
  readonly head: Uint8Array;
  /** mark ‖ IV_c: the last 48 bytes of the client message (padding goes between head and tail). */
  readonly tail: Uint8Array;
  private _state: 'awaiting-server' | 'done' | 'failed' = 'awaiting-server';
  private _failure: ClientHandshakeFailure | null = null;
  private _keys: SessionKeys | null = null;
  private readonly received = new Uint8Array(SERVER_MESSAGE_BYTES);
  private receivedLength = 0;
  private ephemeral: EphemeralKey | null;
  private readonly dh2: Uint8Array;
  private readonly clientIv: Uint8Array;

  constructor(
    private readonly server: ServerTarget,
    options: HandshakeOptions,
  ) {
    abytes(server.publicKey, 32, 'server public key');
    abytes(server.serverId, undefined, 'server identifier');
    if (server.serverId.length !== 7 && server.serverId.length !== 19) {
      throw new RangeError(`server identifier must be 7 or 19 bytes, got ${server.serverId.length}`);
    }
    aint(options.unixTimeMs, 0, Number.MAX_SAFE_INTEGER, 'unixTimeMs');
    this.ephemeral = takeEphemeralKey(options);
    const dh2 = x25519(this.ephemeral.privateKey, server.publicKey);
    if (dh2 === null) throw new RangeError('server public key is not a usable X25519 key');
    this.dh2 = dh2;
    this.clientIv = options.random(IV_BYTES);
    this.head = this.ephemeral.representative;
    const mark = handshakeMark(dh2, this.head, epochHour(options.unixTimeMs));
    this.tail = concatBytes(mark, this.clientIv);
  }

  get state(): 'awaiting-server' | 'done' | 'failed' {
    return this._state;
  }
  get failure(): ClientHandshakeFailure | null {
    return this._failure;
  }
  /** The record keys, once the server's confirmation code has been checked. */
  get keys(): SessionKeys | null {
    return this._keys;
  }

  /** The whole client message with the given padding (0..8,192 bytes, random). */
  message(padding: Uint8Array): Uint8Array {
    abytes(padding, undefined, 'padding');
    if (padding.length > MAX_CLIENT_PADDING) {
      throw new RangeError(`padding must be at most ${MAX_CLIENT_PADDING} bytes, got ${padding.length}`);
    }
    return concatBytes(this.head, padding, this.tail);
  }

  /**
   * Feeds uniform bytes from the server. Returns the bytes that follow the server's message (the
   * start of its records) once the handshake is done; an empty array before that and after a failure.
   */
  push(chunk: Uint8Array): Uint8Array {
    abytes(chunk, undefined, 'chunk');
    if (this._state !== 'awaiting-server') return this._state === 'done' ? chunk : new Uint8Array(0);
    const take = Math.min(chunk.length, SERVER_MESSAGE_BYTES - this.receivedLength);
    this.received.set(chunk.subarray(0, take), this.receivedLength);
    this.receivedLength += take;
    if (this.receivedLength < SERVER_MESSAGE_BYTES) return new Uint8Array(0);
    return this.finish() ? chunk.subarray(take) : new Uint8Array(0);
  }

  /** Checks the server's answer; true when the handshake succeeded. */
  private finish(): boolean {
    const ephemeral = this.ephemeral;
    if (ephemeral === null) throw new Error('BUG: client handshake finished twice');
    this.ephemeral = null; // the ephemeral private key is not needed any more
    const serverRepresentative = this.received.subarray(0, REPRESENTATIVE_BYTES);
    const code = this.received.subarray(REPRESENTATIVE_BYTES, REPRESENTATIVE_BYTES + CODE_BYTES);
    const serverIv = this.received.slice(REPRESENTATIVE_BYTES + CODE_BYTES);
    const serverPublic = elligator2Decode(serverRepresentative);
    const dh1 = x25519(ephemeral.privateKey, serverPublic);
    if (dh1 === null) return this.fail();
    const key = sharedKey(dh1, this.dh2, this.server.serverId, this.server.publicKey, ephemeral.publicKey, serverPublic);
    const expected = confirmationCode(key, this.server.serverId, ephemeral.publicKey, serverPublic);
    if (!equalBytes(expected, code)) return this.fail();
    this._keys = {
      send: directionKeys(key, 'c2s', this.clientIv),
      receive: directionKeys(key, 's2c', serverIv),
    };
    this._state = 'done';
    return true;
  }

  private fail(): false {
    this._state = 'failed';
    this._failure = 'DUST_ERR_SERVER_MISMATCH';
    return false;
  }
}

/**
 * Server side: finds the client's mark in the first 8,240 uniform bytes, then answers at once.
 * Any input without a valid mark, with a representative that gives no usable key, or seen before
 * (replay) makes the connection a *probe*: the server answers nothing, whatever the input was.
 *
 * The answer does not wait for IV_c: the client's shaper may hold the last bits of IV_c until its
 * first record pushes them out, and the client cannot send records before the answer. IV_c is
 * needed only for the keys of the client's records (`keys`, complete once it has arrived).
 */
export class ServerHandshake {
  private _state: 'reading' | 'authenticated' | 'probe' = 'reading';
  private _probeReason: ServerProbeReason | null = null;
  private _keys: SessionKeys | null = null;
  private _sendKeys: DirectionKeys | null = null;
  private _serverMessage: Uint8Array | null = null;
  private sharedKey: Uint8Array | null = null;
  /** Client bytes so far: never more than the longest valid client message. */
  private readonly buffer = new Uint8Array(MAX_CLIENT_MESSAGE);
  private filled = 0;
  /** Mark start positions below this have been checked already (no input is rescanned). */
  private searchFrom = REPRESENTATIVE_BYTES;
  private markAt = -1;
  private clientPublic: Uint8Array | null = null;
  private dh2: Uint8Array | null = null;
  private candidateMarks: Uint8Array[] = [];
  private readonly unixTimeMs: number;
  private readonly options: HandshakeOptions;

  constructor(
    private readonly staticKey: ServerStaticKey,
    private readonly serverId: Uint8Array,
    private readonly replayFilter: ReplayFilter,
    options: HandshakeOptions,
  ) {
    abytes(staticKey.privateKey, 32, 'server private key');
    abytes(staticKey.publicKey, 32, 'server public key');
    abytes(serverId, undefined, 'server identifier');
    this.unixTimeMs = aint(options.unixTimeMs, 0, Number.MAX_SAFE_INTEGER, 'unixTimeMs');
    this.options = options;
  }

  get state(): 'reading' | 'authenticated' | 'probe' {
    return this._state;
  }
  get probeReason(): ServerProbeReason | null {
    return this._probeReason;
  }
  /** Keys for the server's own records: ready as soon as it is authenticated. */
  get sendKeys(): DirectionKeys | null {
    return this._sendKeys;
  }
  /** Keys of both directions, once IV_c has arrived too. */
  get keys(): SessionKeys | null {
    return this._keys;
  }
  /** R_Y ‖ code ‖ IV_s, once authenticated: the first uniform bytes the server sends. */
  get serverMessage(): Uint8Array | null {
    return this._serverMessage;
  }
  /** Uniform client bytes held (bounded by the longest client message). */
  get bufferedBytes(): number {
    return this._keys === null && this._state !== 'probe' ? this.filled : 0;
  }

  /**
   * Feeds uniform client bytes. Once the whole client message (IV_c included) is in, returns the
   * bytes after it — the start of the client's records — and every later chunk unchanged; before
   * that, and for a probe, an empty array. Never throws on input.
   */
  push(chunk: Uint8Array): Uint8Array {
    abytes(chunk, undefined, 'chunk');
    if (this._keys !== null) return chunk;
    if (this._state === 'probe') return new Uint8Array(0);
    const take = Math.min(chunk.length, this.buffer.length - this.filled);
    this.buffer.set(chunk.subarray(0, take), this.filled);
    this.filled += take;
    if (this._state === 'reading' && !this.advance()) return new Uint8Array(0);
    const messageEnd = this.markAt + MARK_BYTES + IV_BYTES;
    if (this.filled < messageEnd) return new Uint8Array(0);
    this.completeKeys(this.buffer.slice(messageEnd - IV_BYTES, messageEnd));
    return concatBytes(this.buffer.subarray(messageEnd, this.filled), chunk.subarray(take));
  }

  /** Moves the search on with what has arrived; true once the client is authenticated. */
  private advance(): boolean {
    if (this.clientPublic === null) {
      if (this.filled < REPRESENTATIVE_BYTES) return false;
      if (!this.prepareMarks()) return this.probe('DUST_ERR_BAD_REPRESENTATIVE');
    }
    this.markAt = this.searchMark();
    if (this.markAt < 0) {
      if (this.searchFrom + MARK_BYTES > MAX_MARK_END) this.probe('DUST_ERR_NO_MARK');
      return false;
    }
    return this.authenticate();
  }

  /** Decodes X and computes the marks for E-1, E and E+1 (clocks may differ by up to an hour). */
  private prepareMarks(): boolean {
    const representative = this.buffer.slice(0, REPRESENTATIVE_BYTES);
    this.clientPublic = elligator2Decode(representative);
    this.dh2 = x25519(this.staticKey.privateKey, this.clientPublic);
    if (this.dh2 === null) return false;
    const hour = epochHour(this.unixTimeMs);
    this.candidateMarks = [hour - 1, hour, hour + 1].map((e) => handshakeMark(this.dh2!, representative, e));
    return true;
  }

  private searchMark(): number {
    const lastStart = Math.min(this.filled, MAX_MARK_END) - MARK_BYTES;
    for (let at = this.searchFrom; at <= lastStart; at++) {
      for (const mark of this.candidateMarks) {
        if (this.buffer[at] === mark[0] && equalBytes(this.buffer.subarray(at, at + MARK_BYTES), mark)) return at;
      }
    }
    this.searchFrom = Math.max(this.searchFrom, lastStart + 1);
    return -1;
  }

  private authenticate(): boolean {
    const representative = this.buffer.subarray(0, REPRESENTATIVE_BYTES);
    if (this.replayFilter.testAndAdd(representative, this.unixTimeMs)) return this.probe('DUST_ERR_REPLAY');
    const clientPublic = this.clientPublic!;
    const ephemeral = takeEphemeralKey(this.options);
    const dh1 = x25519(ephemeral.privateKey, clientPublic);
    // X decoded to a low-order point: DH1 is zero. No honest client does that; treat it as a probe.
    if (dh1 === null) return this.probe('DUST_ERR_BAD_REPRESENTATIVE');
    const key = sharedKey(dh1, this.dh2!, this.serverId, this.staticKey.publicKey, clientPublic, ephemeral.publicKey);
    const code = confirmationCode(key, this.serverId, clientPublic, ephemeral.publicKey);
    const serverIv = this.options.random(IV_BYTES);
    this._serverMessage = concatBytes(ephemeral.representative, code, serverIv);
    this._sendKeys = directionKeys(key, 's2c', serverIv);
    this.sharedKey = key;
    this.candidateMarks = [];
    this._state = 'authenticated';
    return true;
  }

  private completeKeys(clientIv: Uint8Array): void {
    this._keys = { send: this._sendKeys!, receive: directionKeys(this.sharedKey!, 'c2s', clientIv) };
    this.sharedKey = null;
  }

  private probe(reason: ServerProbeReason): false {
    this._state = 'probe';
    this._probeReason = reason;
    this.candidateMarks = [];
    return false;
  }
}
