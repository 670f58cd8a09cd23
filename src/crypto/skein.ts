/**
 * Skein-256-256 (Skein 1.3): Threefish-256 in UBI chaining mode, plain hashing only (no key,
 * personalisation or tree mode). This is the handshake hash of `DECISIONS.md` "Crypto suite";
 * the exact construction is `vectors/README.md` "Skein-256-256":
 *
 *   G0 = UBI(0, config, Cfg)      (precomputed below as IV)
 *   G1 = UBI(G0, message, Msg)
 *   digest = UBI(G1, 8 zero bytes, Out)
 *
 * 64-bit words are kept as 32-bit hi/lo halves: BigInt is about 25x slower (toolchain.md §4).
 * The 72 rounds run as 8 unrolled rounds inside a loop of 9; unrolling all 72 makes the function
 * too large for V8 to optimise (toolchain.md §4).
 * @module
 */
import { abytes } from '../core/bytes.js';

/** Block, key and output size of Skein-256, in bytes. */
const BLOCK_BYTES = 32;

// Tweak word 1, high half (tweak bits 96..127): type in bits 120..125, First = 126, Final = 127.
const T1_FIRST = 1 << 30;
const T1_FINAL = 1 << 31;
const TYPE_MSG = 48 << 24;
const TYPE_OUT = 63 << 24;

/** Threefish key-schedule parity constant C240 (Skein 1.3 §3.3.2), as hi/lo halves. */
const C240_HI = 0x1bd11bda;
const C240_LO = 0xa9fc1a22;

/**
 * G0 = UBI(0, config, Cfg) for 256 output bits: config = "SHA3" ‖ version 1 ‖ output length 256,
 * no tree parameters. It is the same for every message, so it is a constant (vectors/README.md
 * quotes it: fc9da860d048b449 2fca66479fa7d833 b33bc3896656840f 6a54e920fde8da69). Layout: word i
 * is [2i] = high half, [2i+1] = low half.
 */
const IV = Uint32Array.of(
  0xfc9da860, 0xd048b449,
  0x2fca6647, 0x9fa7d833,
  0xb33bc389, 0x6656840f,
  0x6a54e920, 0xfde8da69,
);

// Scratch for one Threefish call. Threefish never re-enters, so one module-wide set is enough;
// `wipeScratch` zeroes it after each digest because it holds chaining values.
/** Extended key k0..k4, stored twice so that k[(s + i) mod 5] never needs a modulo. */
const KS = new Uint32Array(20);
/** Tweak t0, t1, t2 = t0 ^ t1, stored twice for the same reason. */
const TS = new Uint32Array(12);
/** The Threefish state x0..x3. */
const X = new Uint32Array(8);
/** The plaintext block M (UBI feeds it forward: chain = E(chain, tweak, M) ^ M). */
const M = new Uint32Array(8);

/**
 * x[a] += (hi, lo) modulo 2^64, for halves below 2^32. Uint32Array stores reduce modulo 2^32
 * by themselves, so only the carry out of the low half needs handling.
 */
function add(x: Uint32Array, a: number, hi: number, lo: number): void {
  const l = x[2 * a + 1]! + lo;
  x[2 * a] = x[2 * a]! + hi + (l > 0xffffffff ? 1 : 0);
  x[2 * a + 1] = l;
}

/**
 * One Threefish MIX: x[a] += x[b]; x[b] = rotl64(x[b], r) ^ x[a]. Every rotation constant of
 * Threefish-256 lies in 5..58, so `r` is never 0 or 64.
 */
function mix(x: Uint32Array, a: number, b: number, r: number): void {
  add(x, a, x[2 * b]!, x[2 * b + 1]!);
  let h = x[2 * b]!;
  let l = x[2 * b + 1]!;
  if (r >= 32) {
    // rotating by 32 swaps the halves; what is left is a rotation by r - 32
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  if (r !== 0) {
    const nh = (h << r) | (l >>> (32 - r));
    l = (l << r) | (h >>> (32 - r));
    h = nh;
  }
  x[2 * b] = h ^ x[2 * a]!;
  x[2 * b + 1] = l ^ x[2 * a + 1]!;
}

/** Adds subkey s (Skein 1.3 §3.3.2): k[s+i mod 5], tweak words into x1 and x2, and s into x3. */
function inject(x: Uint32Array, s: number): void {
  const k = s % 5;
  const t = s % 3;
  add(x, 0, KS[2 * k]!, KS[2 * k + 1]!);
  add(x, 1, KS[2 * k + 2]!, KS[2 * k + 3]!);
  add(x, 1, TS[2 * t]!, TS[2 * t + 1]!);
  add(x, 2, KS[2 * k + 4]!, KS[2 * k + 5]!);
  add(x, 2, TS[2 * t + 2]!, TS[2 * t + 3]!);
  add(x, 3, KS[2 * k + 6]!, KS[2 * k + 7]!);
  add(x, 3, 0, s);
}

/**
 * One UBI step over a block already loaded into M: chain = Threefish-256(chain, tweak, M) ^ M.
 * `position` is the number of message bytes processed so far, this block included (tweak bits
 * 0..95; it stays below 2^53 here, so only t0 is non-zero), `t1hi` the type and First/Final flags.
 */
function ubiBlock(chain: Uint32Array, position: number, t1hi: number): void {
  // key schedule: k4 = C240 ^ k0 ^ k1 ^ k2 ^ k3
  let k4h = C240_HI;
  let k4l = C240_LO;
  for (let i = 0; i < 4; i++) {
    const h = chain[2 * i]!;
    const l = chain[2 * i + 1]!;
    KS[2 * i] = KS[2 * i + 10] = h;
    KS[2 * i + 1] = KS[2 * i + 11] = l;
    k4h ^= h;
    k4l ^= l;
  }
  KS[8] = KS[18] = k4h;
  KS[9] = KS[19] = k4l;
  const t0h = Math.floor(position / 0x100000000);
  const t0l = position >>> 0;
  TS[0] = TS[6] = t0h;
  TS[1] = TS[7] = t0l;
  TS[2] = TS[8] = t1hi;
  TS[3] = TS[9] = 0;
  TS[4] = TS[10] = t0h ^ t1hi;
  TS[5] = TS[11] = t0l;

  X.set(M);
  inject(X, 0);
  // Threefish-256 rounds; the word permutation (0 3 2 1) is folded into which words each MIX
  // takes, and applying it twice is the identity, so the pattern repeats every 2 rounds.
  for (let s = 1; s < 19; s += 2) {
    mix(X, 0, 1, 14); mix(X, 2, 3, 16);
    mix(X, 0, 3, 52); mix(X, 2, 1, 57);
    mix(X, 0, 1, 23); mix(X, 2, 3, 40);
    mix(X, 0, 3, 5); mix(X, 2, 1, 37);
    inject(X, s);
    mix(X, 0, 1, 25); mix(X, 2, 3, 33);
    mix(X, 0, 3, 46); mix(X, 2, 1, 12);
    mix(X, 0, 1, 58); mix(X, 2, 3, 22);
    mix(X, 0, 3, 32); mix(X, 2, 1, 32);
    inject(X, s + 1);
  }
  for (let i = 0; i < 8; i++) chain[i] = X[i]! ^ M[i]!;
}

/** Loads 32 bytes at `offset` as four little-endian 64-bit words into M. */
function loadBlock(src: Uint8Array, offset: number): void {
  for (let i = 0; i < 8; i++) {
    const o = offset + 4 * i;
    // word i/2: bytes 0..3 are its low half, bytes 4..7 its high half
    M[i ^ 1] = src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24);
  }
}

function wipeScratch(): void {
  KS.fill(0);
  TS.fill(0);
  X.fill(0);
  M.fill(0);
}

/**
 * Incremental Skein-256-256. Feed it with `update` in any chunking, then call `digest` once.
 *
 * Skein marks the *last* message block with the Final flag, so a full block is held back until
 * more input shows it is not the last one; the empty message is one zero-padded final block at
 * position 0.
 * @example
 * const h = new Skein256().update(utf8('ab')).update(utf8('c')).digest(); // = skein256(utf8('abc'))
 */
export class Skein256 {
  private readonly chain = IV.slice();
  /** The pending block: the last bytes seen, which may turn out to be the final block. */
  private readonly buffer = new Uint8Array(BLOCK_BYTES);
  private buffered = 0;
  /** Message bytes already compressed into `chain` (the UBI position). */
  private position = 0;
  private first = true;
  private finished = false;

  /**
   * Absorbs `data`. Whole blocks are compressed straight from `data`; only a trailing partial
   * (or final-candidate) block is copied.
   * @param data - message bytes; not modified and not retained
   * @returns this, for chaining
   * @throws TypeError if `data` is not a Uint8Array; Error after `digest()`
   */
  update(data: Uint8Array): this {
    this.checkOpen();
    abytes(data, undefined, 'data');
    const length = data.length;
    let offset = 0;
    while (offset < length) {
      // More input follows, so a full pending block is not the last one.
      if (this.buffered === BLOCK_BYTES) {
        this.compress(this.buffer, 0, BLOCK_BYTES, 0);
        this.buffered = 0;
      }
      if (this.buffered === 0) {
        // Strictly more than a block left: this one cannot be the last.
        while (length - offset > BLOCK_BYTES) {
          this.compress(data, offset, BLOCK_BYTES, 0);
          offset += BLOCK_BYTES;
        }
      }
      const take = Math.min(BLOCK_BYTES - this.buffered, length - offset);
      this.buffer.set(data.subarray(offset, offset + take), this.buffered);
      this.buffered += take;
      offset += take;
    }
    return this;
  }

  /**
   * Finishes the hash. The object cannot be used afterwards.
   * @returns the 32-byte Skein-256-256 digest (a new array)
   * @throws Error if `digest()` was already called
   */
  digest(): Uint8Array {
    this.checkOpen();
    this.finished = true;
    // Final message block, zero-padded; the position counts only the real bytes.
    this.buffer.fill(0, this.buffered);
    this.compress(this.buffer, 0, this.buffered, T1_FINAL);
    // Output stage: UBI(G1, counter 0 as 8 bytes, Out), one block, First and Final.
    M.fill(0);
    ubiBlock(this.chain, 8, TYPE_OUT | T1_FIRST | T1_FINAL);
    const out = new Uint8Array(BLOCK_BYTES);
    for (let i = 0; i < 8; i++) {
      const w = this.chain[i ^ 1]!;
      out[4 * i] = w;
      out[4 * i + 1] = w >>> 8;
      out[4 * i + 2] = w >>> 16;
      out[4 * i + 3] = w >>> 24;
    }
    this.chain.fill(0);
    this.buffer.fill(0);
    wipeScratch();
    return out;
  }

  /** One message block of UBI(·, message, Msg); `byteCount` real bytes at `offset` in `src`. */
  private compress(src: Uint8Array, offset: number, byteCount: number, finalFlag: number): void {
    this.position += byteCount;
    loadBlock(src, offset);
    ubiBlock(this.chain, this.position, TYPE_MSG | (this.first ? T1_FIRST : 0) | finalFlag);
    this.first = false;
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('Skein256: digest() was already called; create a new instance');
  }
}

/**
 * Skein-256-256 of the concatenation of `parts` (no copy is made of the parts).
 * @param parts - message pieces, hashed as if concatenated
 * @returns the 32-byte digest
 * @throws TypeError if a part is not a Uint8Array
 * @example
 * skein256(utf8('ntor'));           // one message
 * skein256(dh1, dh2, serverId);     // = skein256(concatBytes(dh1, dh2, serverId))
 */
export function skein256(...parts: Uint8Array[]): Uint8Array {
  const h = new Skein256();
  for (const part of parts) h.update(part);
  return h.digest();
}
