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

/**
 * The message block M of the current UBI step (UBI feeds it forward: chain = E(chain, tweak, M) ^ M).
 * One module-wide block is enough because Threefish never re-enters; `wipeScratch` zeroes it
 * after each digest.
 */
const M = new Uint32Array(8);

/**
 * One UBI step over a block already loaded into M: chain = Threefish-256(chain, tweak, M) ^ M.
 * `position` is the number of message bytes processed so far, this block included (tweak bits
 * 0..95; it stays below 2^53 here, so only t0 is non-zero), `t1hi` the type and First/Final flags.
 *
 * Every 64-bit word lives in two local int32 variables (`x0h`/`x0l` = high/low half of x0), which
 * V8 keeps in registers: twice as fast as words in a typed array. The lines are regular:
 * - `x += y` mod 2^64: `lo = (xl >>> 0) + (yl >>> 0); xh = (xh + yh + carry) | 0; xl = lo | 0`,
 *   the carry being `(lo / 2^32) | 0`;
 * - MIX(a, b, r) (Skein 1.3 §3.3.1): xa += xb, then xb = rotl64(xb, r) ^ xa, where a rotation by
 *   r >= 32 swaps the halves and rotates by r - 32;
 * - subkey s (§3.3.2): x0 += k[s], x1 += k[s+1] + t[s], x2 += k[s+2] + t[s+1], x3 += k[s+3] + s
 *   (key indices mod 5, tweak indices mod 3). Instead of indexing, the key words k0..k4 and the
 *   tweak words t0..t2 are rotated by one place after each injection.
 * The word permutation (0 3 2 1) is folded into which words each MIX takes; applied twice it is
 * the identity, so 8 rounds (two subkeys) make one loop pass, 9 passes make 72 rounds. Unrolling
 * all 72 would make the function too large for V8 to optimise (toolchain.md §4).
 */
function ubiBlock(chain: Uint32Array, position: number, t1hi: number): void {
  // key schedule: k4 = C240 ^ k0 ^ k1 ^ k2 ^ k3
  let k0h = chain[0]! | 0, k0l = chain[1]! | 0, k1h = chain[2]! | 0, k1l = chain[3]! | 0;
  let k2h = chain[4]! | 0, k2l = chain[5]! | 0, k3h = chain[6]! | 0, k3l = chain[7]! | 0;
  let k4h = C240_HI ^ k0h ^ k1h ^ k2h ^ k3h;
  let k4l = C240_LO ^ k0l ^ k1l ^ k2l ^ k3l;
  // tweak: t0 = position, t1 = type and flags, t2 = t0 ^ t1
  let t0h = Math.floor(position / 0x100000000) | 0, t0l = position | 0;
  let t1h = t1hi | 0, t1l = 0;
  let t2h = t0h ^ t1h, t2l = t0l;
  let x0h = M[0]! | 0, x0l = M[1]! | 0, x1h = M[2]! | 0, x1l = M[3]! | 0;
  let x2h = M[4]! | 0, x2l = M[5]! | 0, x3h = M[6]! | 0, x3l = M[7]! | 0;
  let s = 0;
  let lo = 0;
  let hi = 0;
  // inject subkey 0
  lo = (x0l >>> 0) + (k0l >>> 0); x0h = (x0h + k0h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
  lo = (x1l >>> 0) + (k1l >>> 0); x1h = (x1h + k1h + ((lo / 0x100000000) | 0)) | 0; x1l = lo | 0;
  lo = (x1l >>> 0) + (t0l >>> 0); x1h = (x1h + t0h + ((lo / 0x100000000) | 0)) | 0; x1l = lo | 0;
  lo = (x2l >>> 0) + (k2l >>> 0); x2h = (x2h + k2h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
  lo = (x2l >>> 0) + (t1l >>> 0); x2h = (x2h + t1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
  lo = (x3l >>> 0) + (k3l >>> 0); x3h = (x3h + k3h + ((lo / 0x100000000) | 0)) | 0; x3l = lo | 0;
  lo = (x3l >>> 0) + s; x3h = (x3h + ((lo / 0x100000000) | 0)) | 0; x3l = lo | 0;
  hi = k0h; lo = k0l; k0h = k1h; k0l = k1l; k1h = k2h; k1l = k2l; k2h = k3h; k2l = k3l; k3h = k4h; k3l = k4l; k4h = hi; k4l = lo;
  hi = t0h; lo = t0l; t0h = t1h; t0l = t1l; t1h = t2h; t1l = t2l; t2h = hi; t2l = lo;
  for (let round = 0; round < 9; round++) {
    // MIX(x0, x1, 14)
    lo = (x0l >>> 0) + (x1l >>> 0); x0h = (x0h + x1h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x1h << 14) | (x1l >>> 18); x1l = ((x1l << 14) | (x1h >>> 18)) ^ x0l; x1h = hi ^ x0h;
    // MIX(x2, x3, 16)
    lo = (x2l >>> 0) + (x3l >>> 0); x2h = (x2h + x3h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x3h << 16) | (x3l >>> 16); x3l = ((x3l << 16) | (x3h >>> 16)) ^ x2l; x3h = hi ^ x2h;
    // MIX(x0, x3, 52)
    lo = (x0l >>> 0) + (x3l >>> 0); x0h = (x0h + x3h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x3l << 20) | (x3h >>> 12); x3l = ((x3h << 20) | (x3l >>> 12)) ^ x0l; x3h = hi ^ x0h;
    // MIX(x2, x1, 57)
    lo = (x2l >>> 0) + (x1l >>> 0); x2h = (x2h + x1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x1l << 25) | (x1h >>> 7); x1l = ((x1h << 25) | (x1l >>> 7)) ^ x2l; x1h = hi ^ x2h;
    // MIX(x0, x1, 23)
    lo = (x0l >>> 0) + (x1l >>> 0); x0h = (x0h + x1h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x1h << 23) | (x1l >>> 9); x1l = ((x1l << 23) | (x1h >>> 9)) ^ x0l; x1h = hi ^ x0h;
    // MIX(x2, x3, 40)
    lo = (x2l >>> 0) + (x3l >>> 0); x2h = (x2h + x3h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x3l << 8) | (x3h >>> 24); x3l = ((x3h << 8) | (x3l >>> 24)) ^ x2l; x3h = hi ^ x2h;
    // MIX(x0, x3, 5)
    lo = (x0l >>> 0) + (x3l >>> 0); x0h = (x0h + x3h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x3h << 5) | (x3l >>> 27); x3l = ((x3l << 5) | (x3h >>> 27)) ^ x0l; x3h = hi ^ x0h;
    // MIX(x2, x1, 37)
    lo = (x2l >>> 0) + (x1l >>> 0); x2h = (x2h + x1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x1l << 5) | (x1h >>> 27); x1l = ((x1h << 5) | (x1l >>> 27)) ^ x2l; x1h = hi ^ x2h;
    s++;
    // inject subkey s
    lo = (x0l >>> 0) + (k0l >>> 0); x0h = (x0h + k0h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    lo = (x1l >>> 0) + (k1l >>> 0); x1h = (x1h + k1h + ((lo / 0x100000000) | 0)) | 0; x1l = lo | 0;
    lo = (x1l >>> 0) + (t0l >>> 0); x1h = (x1h + t0h + ((lo / 0x100000000) | 0)) | 0; x1l = lo | 0;
    lo = (x2l >>> 0) + (k2l >>> 0); x2h = (x2h + k2h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    lo = (x2l >>> 0) + (t1l >>> 0); x2h = (x2h + t1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    lo = (x3l >>> 0) + (k3l >>> 0); x3h = (x3h + k3h + ((lo / 0x100000000) | 0)) | 0; x3l = lo | 0;
    lo = (x3l >>> 0) + s; x3h = (x3h + ((lo / 0x100000000) | 0)) | 0; x3l = lo | 0;
    hi = k0h; lo = k0l; k0h = k1h; k0l = k1l; k1h = k2h; k1l = k2l; k2h = k3h; k2l = k3l; k3h = k4h; k3l = k4l; k4h = hi; k4l = lo;
    hi = t0h; lo = t0l; t0h = t1h; t0l = t1l; t1h = t2h; t1l = t2l; t2h = hi; t2l = lo;
    // MIX(x0, x1, 25)
    lo = (x0l >>> 0) + (x1l >>> 0); x0h = (x0h + x1h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x1h << 25) | (x1l >>> 7); x1l = ((x1l << 25) | (x1h >>> 7)) ^ x0l; x1h = hi ^ x0h;
    // MIX(x2, x3, 33)
    lo = (x2l >>> 0) + (x3l >>> 0); x2h = (x2h + x3h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x3l << 1) | (x3h >>> 31); x3l = ((x3h << 1) | (x3l >>> 31)) ^ x2l; x3h = hi ^ x2h;
    // MIX(x0, x3, 46)
    lo = (x0l >>> 0) + (x3l >>> 0); x0h = (x0h + x3h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x3l << 14) | (x3h >>> 18); x3l = ((x3h << 14) | (x3l >>> 18)) ^ x0l; x3h = hi ^ x0h;
    // MIX(x2, x1, 12)
    lo = (x2l >>> 0) + (x1l >>> 0); x2h = (x2h + x1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x1h << 12) | (x1l >>> 20); x1l = ((x1l << 12) | (x1h >>> 20)) ^ x2l; x1h = hi ^ x2h;
    // MIX(x0, x1, 58)
    lo = (x0l >>> 0) + (x1l >>> 0); x0h = (x0h + x1h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = (x1l << 26) | (x1h >>> 6); x1l = ((x1h << 26) | (x1l >>> 6)) ^ x0l; x1h = hi ^ x0h;
    // MIX(x2, x3, 22)
    lo = (x2l >>> 0) + (x3l >>> 0); x2h = (x2h + x3h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = (x3h << 22) | (x3l >>> 10); x3l = ((x3l << 22) | (x3h >>> 10)) ^ x2l; x3h = hi ^ x2h;
    // MIX(x0, x3, 32)
    lo = (x0l >>> 0) + (x3l >>> 0); x0h = (x0h + x3h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    hi = x3l; x3l = x3h ^ x0l; x3h = hi ^ x0h;
    // MIX(x2, x1, 32)
    lo = (x2l >>> 0) + (x1l >>> 0); x2h = (x2h + x1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    hi = x1l; x1l = x1h ^ x2l; x1h = hi ^ x2h;
    s++;
    // inject subkey s
    lo = (x0l >>> 0) + (k0l >>> 0); x0h = (x0h + k0h + ((lo / 0x100000000) | 0)) | 0; x0l = lo | 0;
    lo = (x1l >>> 0) + (k1l >>> 0); x1h = (x1h + k1h + ((lo / 0x100000000) | 0)) | 0; x1l = lo | 0;
    lo = (x1l >>> 0) + (t0l >>> 0); x1h = (x1h + t0h + ((lo / 0x100000000) | 0)) | 0; x1l = lo | 0;
    lo = (x2l >>> 0) + (k2l >>> 0); x2h = (x2h + k2h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    lo = (x2l >>> 0) + (t1l >>> 0); x2h = (x2h + t1h + ((lo / 0x100000000) | 0)) | 0; x2l = lo | 0;
    lo = (x3l >>> 0) + (k3l >>> 0); x3h = (x3h + k3h + ((lo / 0x100000000) | 0)) | 0; x3l = lo | 0;
    lo = (x3l >>> 0) + s; x3h = (x3h + ((lo / 0x100000000) | 0)) | 0; x3l = lo | 0;
    hi = k0h; lo = k0l; k0h = k1h; k0l = k1l; k1h = k2h; k1l = k2l; k2h = k3h; k2l = k3l; k3h = k4h; k3l = k4l; k4h = hi; k4l = lo;
    hi = t0h; lo = t0l; t0h = t1h; t0l = t1l; t1h = t2h; t1l = t2l; t2h = hi; t2l = lo;
  }
  chain[0] = x0h ^ M[0]!;
  chain[1] = x0l ^ M[1]!;
  chain[2] = x1h ^ M[2]!;
  chain[3] = x1l ^ M[3]!;
  chain[4] = x2h ^ M[4]!;
  chain[5] = x2l ^ M[5]!;
  chain[6] = x3h ^ M[6]!;
  chain[7] = x3l ^ M[7]!;
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
