/**
 * Reverse Huffman content coding (DECISIONS.md "Shaping"; dust-original.md §4.1), table-driven in
 * both directions.
 *
 * Sender: a Huffman *decoder* run over the uniform stream, bits most significant first; each
 * completed codeword emits its byte, so byte b appears with probability 2^-len(code(b)). Lookup
 * is by the next k bits in a multi-level table (root k <= 12 bits, whose entries give up to three
 * bytes at once; longer codewords continue in sub-tables of at most 12 bits), never a walk bit
 * by bit; large pushes run two decoding chains at once. Receiver: a Huffman *encoder*; each byte
 * (two at a time through a pair table) becomes its codeword through a 32-bit accumulator and
 * complete octets go out, which is exactly the sender's input (the code is complete and
 * prefix-free; the last partial octet is held). Layout and invariants: docs/shaping.md.
 * @module
 */
import { abytes, aint } from '../core/bytes.js';
import type { ContentCoder, ContentDecoder, ContentEncoder } from './coder.js';
import { checkCodeTable } from './huffman.js';

/**
 * Width of the sender's root tables and the most any sub-table indexes: 2^12 entries of 4 bytes.
 * The hot loop reads only the multi-symbol root (16 KiB), which stays in the L1 cache.
 */
const TABLE_BITS = 12;

/** A ShapedOutput's starting (and trimmed) capacity. */
const DEFAULT_OUTPUT_BYTES = 1024;

/**
 * A growable queue of shaped bytes that encoders write into directly: `buf[start, end)` is ready.
 * It grows by doubling and is reused, so steady-state pushes allocate nothing.
 * @internal shared by the encoders of this folder
 */
export class ShapedOutput {
  buf: Uint8Array;
  /** A DataView of `buf`, for 4-byte stores. */
  view: DataView;
  start = 0;
  end = 0;

  constructor(capacity = DEFAULT_OUTPUT_BYTES) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Makes room for `extra` more bytes after `end` and returns the buffer to write into. */
  reserve(extra: number): Uint8Array {
    if (this.end + extra <= this.buf.length) return this.buf;
    const ready = this.end - this.start;
    const need = ready + extra;
    if (need * 2 > this.buf.length) {
      // Grow (at least double) so that compactions stay rare: each one is followed by at least
      // half a buffer of writes before the next.
      const bigger = new Uint8Array(Math.max(need * 2, this.buf.length * 2));
      bigger.set(this.buf.subarray(this.start, this.end));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    } else {
      this.buf.copyWithin(0, this.start, this.end);
    }
    this.start = 0;
    this.end = ready;
    return this.buf;
  }

  take(n: number): Uint8Array {
    aint(n, 0, this.available, 'n');
    const out = this.buf.slice(this.start, this.start + n);
    this.consumed(n);
    return out;
  }

  takeInto(out: Uint8Array, offset: number, n: number): void {
    abytes(out, undefined, 'out');
    aint(n, 0, this.available, 'n');
    aint(offset, 0, out.length, 'offset');
    if (offset + n > out.length) {
      throw new RangeError(`out has room for ${out.length - offset} bytes after offset ${offset}, not ${n}`);
    }
    out.set(this.buf.subarray(this.start, this.start + n), offset);
    this.consumed(n);
  }

  /**
   * Gives back a buffer grown for large packets once the ready bytes fit in a small one (the
   * driver calls this on an idle connection: a bulk session's 32 KiB would otherwise stay).
   */
  trim(): void {
    if (this.buf.length <= DEFAULT_OUTPUT_BYTES || this.available > DEFAULT_OUTPUT_BYTES / 2) return;
    const small = new Uint8Array(DEFAULT_OUTPUT_BYTES);
    small.set(this.buf.subarray(this.start, this.end));
    this.end = this.available;
    this.start = 0;
    this.buf = small;
    this.view = new DataView(small.buffer);
  }

  /** An independent queue holding the same ready bytes. */
  copy(): ShapedOutput {
    const twin = new ShapedOutput(Math.max(DEFAULT_OUTPUT_BYTES, this.available));
    twin.buf.set(this.buf.subarray(this.start, this.end));
    twin.end = this.available;
    return twin;
  }

  private consumed(n: number): void {
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
  }
}

/**
 * The sender's lookup tables. `entries` is flat: an entry >= 0 is a leaf, `(bits << 8) | byte`:
 * the byte to emit and how many of this level's bits its codeword still uses. An entry < 0 is a
 * link, `~((offset << 4) | width)`: consume this level's bits and continue in the sub-table at
 * `offset`, indexed by the next `width` bits. The root table is at offset 0, `rootBits` wide;
 * codewords shorter than a table's width fill every entry they prefix.
 *
 * `multi` is a second root table for the hot loop, used when at least `rootBits` input bits are
 * at hand: its leaves give up to three bytes decoded from the same index, `b0 | b1 << 8 | b2 << 16
 * | count << 24 | bits << 26` (count 1..3, bits = their total length); its links are the links of
 * the root table.
 */
interface DecodeTable {
  entries: Int32Array;
  multi: Int32Array;
  rootBits: number;
}

function buildDecodeTable(codes: readonly string[]): DecodeTable {
  const entries: number[] = [];
  let longest = 0;
  for (const c of codes) longest = Math.max(longest, c.length);
  const rootBits = Math.min(longest, TABLE_BITS);
  // Fills the table for all codewords sharing a prefix of `depth` bits; returns its offset.
  const fill = (group: number[], depth: number, width: number): number => {
    const offset = entries.length;
    for (let k = 0; k < 1 << width; k++) entries.push(0);
    const deeper = new Map<number, number[]>();
    for (const b of group) {
      const rest = codes[b]!.slice(depth);
      if (rest.length <= width) {
        const first = parseInt(rest, 2) << (width - rest.length);
        for (let k = 0; k < 1 << (width - rest.length); k++) {
          entries[offset + first + k] = (rest.length << 8) | b;
        }
      } else {
        const index = parseInt(rest.slice(0, width), 2);
        const list = deeper.get(index);
        if (list) list.push(b);
        else deeper.set(index, [b]);
      }
    }
    for (const [index, sub] of deeper) {
      let below = 0;
      for (const b of sub) below = Math.max(below, codes[b]!.length - depth - width);
      const subWidth = Math.min(below, TABLE_BITS);
      const subOffset = fill(sub, depth + width, subWidth);
      entries[offset + index] = ~((subOffset << 4) | subWidth);
    }
    return offset;
  };
  fill(codes.map((_, b) => b), 0, rootBits);
  // A complete prefix code covers every entry with a leaf or a link; a 0 entry (a leaf of length
  // 0) would mean the table was built from an unchecked code.
  for (const e of entries) if (e === 0) throw new Error('BUG: decode table has a hole');
  const mask = (1 << rootBits) - 1;
  const multi = new Int32Array(1 << rootBits);
  for (let index = 0; index <= mask; index++) {
    let used = 0;
    let count = 0;
    let packed = 0;
    while (count < 3) {
      // The codeword starting `used` bits into the index, if it ends within the index.
      const e = entries[(index << used) & mask]!;
      if (e < 0 || (e >>> 8) > rootBits - used) break;
      packed |= (e & 0xff) << (8 * count);
      used += e >>> 8;
      count++;
    }
    multi[index] = count === 0 ? entries[index]! : packed | (count << 24) | (used << 26);
  }
  return { entries: Int32Array.from(entries), multi, rootBits };
}

/**
 * Sender state between pushes. The low `n` bits of `acc` are input not yet used, oldest first
 * (higher bits are stale). While a codeword longer than the root table is being resolved and the
 * input runs out, `tab`/`tabBits` name the sub-table reached and `linkBits` the bits it already
 * consumed. `i` and `o` are the input and output positions during a push.
 */
interface ShapeState {
  acc: number;
  n: number;
  tab: number;
  tabBits: number;
  linkBits: number;
  i: number;
  o: number;
}

/*
 * The loops live in their own small functions (sender and receiver alike) so that V8 optimises
 * each on its own: inlined into `push`, code after a loop that has not run yet keeps
 * deoptimising the whole method.
 */

/** Input bytes the hot loop may read in one round (see `shapeFast`). */
const FAST_ROUND_BYTES = 15;

/**
 * The sender's hot loop, while no codeword is half resolved and the input position is at most
 * `end` (at least `FAST_ROUND_BYTES` before the end of the input). Each round first tops the bit
 * reader up to 24..31 bits without a branch (k whole bytes fit; they come through a 3-byte
 * window), then makes two root lookups, each using at most 12 bits. A conditional refill would
 * follow the random input and often be mispredicted; doing without it made the loop about 12%
 * faster. Each lookup emits up to three bytes with one 4-byte store (`o` advances by the real
 * count; the caller leaves 3 bytes of slack). A link into a sub-table (codewords over 12 bits,
 * rare) refills 2 bytes at a time, at most twice for 12 + 12 + 8 = 32 bits, and once more to
 * leave 16 bits for the next lookup: a round reads at most 3 + 2 * 6 = 15 bytes.
 */
function shapeFast(
  st: ShapeState,
  input: Uint8Array,
  table: DecodeTable,
  out: Uint8Array,
  view: DataView,
  end: number,
): void {
  const t = table.entries;
  const m = table.multi;
  const K = table.rootBits;
  const rootMask = (1 << K) - 1;
  if (end > input.length - FAST_ROUND_BYTES) throw new Error('BUG: hot loop would read past the input');
  if (st.tab !== 0) throw new Error('BUG: hot loop entered inside a codeword');
  let acc = st.acc;
  let n = st.n;
  let i = st.i;
  let o = st.o;
  while (i <= end) {
    const s = ((31 - n) >>> 3) << 3;
    acc = (acc << s) | (((input[i]! << 16) | (input[i + 1]! << 8) | input[i + 2]!) >>> (24 - s));
    i += s >>> 3;
    n += s;
    for (let r = 0; r < 2; r++) {
      let e = m[(acc >>> (n - K)) & rootMask]!;
      if (e >= 0) {
        // One little-endian store puts b0, b1, b2 at o, o+1, o+2 (and junk at o+3).
        view.setUint32(o, e, true);
        o += (e >>> 24) & 3;
        n -= e >>> 26;
      } else {
        n -= K;
        do {
          const x = ~e;
          const w = x & 15;
          if (n < 16) {
            acc = (acc << 16) | (input[i]! << 8) | input[i + 1]!;
            i += 2;
            n += 16;
          }
          e = t[(x >>> 4) + ((acc >>> (n - w)) & ((1 << w) - 1))]!;
          if (e < 0) n -= w;
        } while (e < 0);
        out[o++] = e; // the store keeps the low 8 bits: the byte
        n -= e >>> 8;
        if (n < 16) {
          acc = (acc << 16) | (input[i]! << 8) | input[i + 1]!;
          i += 2;
          n += 16;
        }
      }
    }
  }
  st.acc = acc;
  st.n = n;
  st.i = i;
  st.o = o;
}

/**
 * One codeword (or one table level) at a time, taking input a byte at a time and accepting a
 * codeword only once all its bits have arrived: for the last bytes of an input and to resume a
 * codeword that a previous push left half resolved. Returns false when the input is exhausted.
 */
function shapeStep(st: ShapeState, input: Uint8Array, table: DecodeTable, out: Uint8Array): boolean {
  let acc = st.acc;
  let n = st.n;
  let i = st.i;
  while (n < 24 && i < input.length) {
    acc = (acc << 8) | input[i++]!;
    n += 8;
  }
  st.acc = acc;
  st.n = n;
  st.i = i;
  const w = st.tabBits;
  const mask = (1 << w) - 1;
  const e = table.entries[st.tab + (n >= w ? (acc >>> (n - w)) & mask : (acc << (w - n)) & mask)]!;
  if (e >= 0) {
    const bits = e >>> 8;
    if (bits > n) return false; // input exhausted (else n >= 24 > bits)
    out[st.o++] = e;
    st.n -= bits;
    st.tab = 0;
    st.tabBits = table.rootBits;
    st.linkBits = 0;
  } else {
    if (n < w) return false; // input exhausted
    st.n -= w;
    st.linkBits += w;
    const x = ~e;
    st.tab = x >>> 4;
    st.tabBits = x & 15;
  }
  return true;
}

/** Finishes one codeword with `shapeStep`; only where enough input is known to follow. */
function completeCodeword(st: ShapeState, input: Uint8Array, table: DecodeTable, out: Uint8Array): void {
  do {
    if (!shapeStep(st, input, table, out)) throw new Error('BUG: input ran out inside the hot region');
  } while (st.tab !== 0);
}

/** Pushes with at least this many bytes for the hot loop are shaped as two halves at once. */
const SPLIT_MIN_BYTES = 2048;

/** How many round starts of the second half are remembered for the resynchronisation. */
const SYNC_RECORDS = 256;

/** Where the second half started its rounds: bit positions in the push's input, output offsets. */
interface SyncRecords {
  pos: Float64Array;
  out: Int32Array;
  count: number;
}

/**
 * Two halves of one input at once (see `ReverseHuffmanEncoder.pushSplit`): `a` continues the
 * stream up to byte `mid`, `b` starts afresh at `mid` (guessing that a codeword starts there) and
 * writes to `side`. One lookup depends on the bits the previous one consumed, so a single chain
 * waits for each table load; two independent chains in one loop overlap those waits. The loop is
 * `shapeFast`'s, twice, and it leaves to `completeCodeword` any codeword longer than the root
 * table. It stops when either half reaches its end; `b` records where its first rounds started.
 */
function shapeSplit(
  a: ShapeState,
  b: ShapeState,
  input: Uint8Array,
  table: DecodeTable,
  out: Uint8Array,
  view: DataView,
  side: Uint8Array,
  sideView: DataView,
  mid: number,
  end: number,
  rec: SyncRecords,
): void {
  const m = table.multi;
  const K = table.rootBits;
  const rootMask = (1 << K) - 1;
  const recPos = rec.pos;
  const recOut = rec.out;
  const M = recPos.length;
  for (;;) {
    let accA = a.acc;
    let nA = a.n;
    let iA = a.i;
    let oA = a.o;
    let accB = b.acc;
    let nB = b.n;
    let iB = b.i;
    let oB = b.o;
    let rc = rec.count;
    let eA = 0;
    let eB = 0;
    while (iA < mid && iB <= end) {
      let s = ((31 - nA) >>> 3) << 3;
      accA = (accA << s) | (((input[iA]! << 16) | (input[iA + 1]! << 8) | input[iA + 2]!) >>> (24 - s));
      iA += s >>> 3;
      nA += s;
      s = ((31 - nB) >>> 3) << 3;
      accB = (accB << s) | (((input[iB]! << 16) | (input[iB + 1]! << 8) | input[iB + 2]!) >>> (24 - s));
      iB += s >>> 3;
      nB += s;
      if (rc < M) {
        recPos[rc] = 8 * iB - nB;
        recOut[rc] = oB;
        rc++;
      }
      eA = m[(accA >>> (nA - K)) & rootMask]!;
      eB = m[(accB >>> (nB - K)) & rootMask]!;
      if ((eA | eB) < 0) break;
      view.setUint32(oA, eA, true);
      oA += (eA >>> 24) & 3;
      nA -= eA >>> 26;
      sideView.setUint32(oB, eB, true);
      oB += (eB >>> 24) & 3;
      nB -= eB >>> 26;
      eA = m[(accA >>> (nA - K)) & rootMask]!;
      eB = m[(accB >>> (nB - K)) & rootMask]!;
      if ((eA | eB) < 0) break;
      view.setUint32(oA, eA, true);
      oA += (eA >>> 24) & 3;
      nA -= eA >>> 26;
      sideView.setUint32(oB, eB, true);
      oB += (eB >>> 24) & 3;
      nB -= eB >>> 26;
    }
    a.acc = accA;
    a.n = nA;
    a.i = iA;
    a.o = oA;
    b.acc = accB;
    b.n = nB;
    b.i = iB;
    b.o = oB;
    rec.count = rc;
    if ((eA | eB) >= 0) return; // a half reached its end
    if (eA < 0) completeCodeword(a, input, table, out);
    if (eB < 0) completeCodeword(b, input, table, side);
  }
}

class ReverseHuffmanEncoder implements ContentEncoder {
  private readonly table: DecodeTable;
  private readonly shortest: number;
  private readonly out: ShapedOutput;
  private readonly st: ShapeState;
  /** Whether large pushes are shaped in two halves (cleared after a failed resynchronisation). */
  private split = true;
  // Scratch for the second half of a split push, allocated on first use.
  private side: Uint8Array = new Uint8Array(0);
  private sideView = new DataView(this.side.buffer);
  private sync: SyncRecords | null = null;

  constructor(table: DecodeTable, shortest: number, out = new ShapedOutput(), st?: ShapeState) {
    this.table = table;
    this.shortest = shortest;
    this.out = out;
    this.st = st ?? { acc: 0, n: 0, tab: 0, tabBits: table.rootBits, linkBits: 0, i: 0, o: 0 };
  }

  get available(): number {
    return this.out.available;
  }

  get heldBits(): number {
    return this.st.n + this.st.linkBits;
  }

  take(n: number): Uint8Array {
    return this.out.take(n);
  }

  takeInto(out: Uint8Array, offset: number, n: number): void {
    this.out.takeInto(out, offset, n);
  }

  trim(): void {
    this.out.trim();
    if (this.side.length > 0) {
      this.side = new Uint8Array(0);
      this.sideView = new DataView(this.side.buffer);
    }
  }

  clone(): ContentEncoder {
    const twin = new ReverseHuffmanEncoder(this.table, this.shortest, this.out.copy(), { ...this.st });
    twin.split = this.split;
    return twin;
  }

  push(uniform: Uint8Array): void {
    abytes(uniform, undefined, 'uniform');
    if (uniform.length === 0) return;
    const st = this.st;
    // Every emitted byte consumes at least `shortest` bits: this bounds the output of this call
    // (plus 3 bytes of slack for the hot loop's 4-byte stores).
    const bound = Math.floor((st.n + st.linkBits + 8 * uniform.length) / this.shortest) + 3;
    const out = this.out.reserve(bound);
    st.i = 0;
    st.o = this.out.end;
    // Finish a codeword left half resolved by the last push, then the hot loop, then the tail
    // (under 15 bytes). Three separate loops: nested in one, the hot loop ran a third slower.
    let more = true;
    while (st.tab !== 0 && more) more = shapeStep(st, uniform, this.table, out);
    if (more) {
      const end = uniform.length - FAST_ROUND_BYTES;
      if (this.split && end - st.i >= SPLIT_MIN_BYTES) this.pushSplit(uniform, out, end);
      else shapeFast(st, uniform, this.table, out, this.out.view, end);
      while (shapeStep(st, uniform, this.table, out));
    }
    this.out.end = st.o;
    // Keep only the held bits, so that clones and later pushes never see stale input.
    st.acc = st.n === 0 ? 0 : st.acc & (0xffffffff >>> (32 - st.n));
  }

  /**
   * The hot region of a large push, `[st.i, end]`, in two halves at once. The second half starts
   * at byte `mid` as if a codeword began there, which is a guess. Its output counts only from a
   * point where the first half, continued one codeword at a time past `mid`, starts a codeword
   * at a bit position where the second half started a round. From a codeword boundary the rest
   * decodes the same whichever way it was reached, so the result is exactly the sequential one.
   * Huffman codes regain step after a few codewords (they are self-synchronising), so that
   * point comes soon. If it does not come within the recorded rounds, the second half's work is
   * dropped and the first half carries on alone; the encoder then stops splitting, as that code
   * may never resynchronise.
   */
  private pushSplit(uniform: Uint8Array, out: Uint8Array, end: number): void {
    const st = this.st;
    const table = this.table;
    const view = this.out.view;
    const mid = st.i + ((end - st.i) >>> 1);
    const sideBound = Math.floor((8 * (uniform.length - mid)) / this.shortest) + 3;
    if (this.side.length < sideBound) {
      this.side = new Uint8Array(Math.max(sideBound, this.side.length * 2));
      this.sideView = new DataView(this.side.buffer);
    }
    const side = this.side;
    const rec = (this.sync ??= {
      pos: new Float64Array(SYNC_RECORDS),
      out: new Int32Array(SYNC_RECORDS),
      count: 0,
    });
    rec.count = 0;
    const b: ShapeState = { acc: 0, n: 0, tab: 0, tabBits: table.rootBits, linkBits: 0, i: mid, o: 0 };
    shapeSplit(st, b, uniform, table, out, view, side, this.sideView, mid, end, rec);
    // Whichever half stopped early catches up alone.
    if (st.i < mid) shapeFast(st, uniform, table, out, view, mid - 1);
    if (b.i <= end) shapeFast(b, uniform, table, side, this.sideView, end);
    // Resynchronise: the first half goes on a codeword at a time until it starts one where the
    // second half started a round.
    const { pos, out: recOut, count } = rec;
    let k = 0;
    for (;;) {
      const at = 8 * st.i - st.n;
      while (k < count && pos[k]! < at) k++;
      if (k === count) break;
      if (pos[k] === at) {
        const from = recOut[k]!;
        out.set(side.subarray(from, b.o), st.o);
        st.o += b.o - from;
        st.acc = b.acc;
        st.n = b.n;
        st.i = b.i;
        return;
      }
      completeCodeword(st, uniform, table, out);
    }
    this.split = false;
    shapeFast(st, uniform, table, out, view, end);
  }
}

/** Receiver state between pushes: the low `n` (< 8) bits of `acc` are output bits not yet in an octet. */
interface BitCarry {
  acc: number;
  n: number;
}

/**
 * The receiver's pair table: entry `(b0 << 8) | b1` holds the codewords of b0 then b1 joined,
 * `code | (bits << 24)`, when they total at most 24 bits, else 0 (never a real entry, as every
 * codeword has at least one bit). 64 Ki entries, 256 KiB, built once per coder.
 */
function buildPairTable(codes: Int32Array, lengths: Uint8Array): Int32Array {
  const pairs = new Int32Array(65536);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      const bits = lengths[a]! + lengths[b]!;
      if (bits <= 24) pairs[(a << 8) | b] = (codes[a]! << lengths[b]!) | codes[b]! | (bits << 24);
    }
  }
  return pairs;
}

/**
 * Receiver loop for codes of at most 24 bits, two bytes per step through the pair table (a pair
 * over 24 bits goes one byte at a time). n <= 7 + 24 bits, so at most three octets complete per
 * step. One big-endian 4-byte store writes the top of the n pending bits at `o`, and `o` advances
 * by the complete octets (n >>> 3): no branch on how many there are. The bytes stored past the
 * complete octets are junk that later stores overwrite (the caller leaves 4 bytes of slack).
 */
function unshapePairs(
  carry: BitCarry,
  input: Uint8Array,
  pairs: Int32Array,
  lengths: Uint8Array,
  codes: Int32Array,
  view: DataView,
): number {
  let acc = carry.acc;
  let n = carry.n;
  let o = 0;
  const len = input.length;
  let j = 0;
  for (; j + 1 < len; j += 2) {
    const e = pairs[(input[j]! << 8) | input[j + 1]!]!;
    if (e !== 0) {
      const l = e >>> 24;
      acc = (acc << l) | (e & 0xffffff);
      n += l;
      view.setUint32(o, acc << (32 - n));
      o += n >>> 3;
      n &= 7;
    } else {
      for (let k = j; k < j + 2; k++) {
        const b = input[k]!;
        const l = lengths[b]!;
        acc = (acc << l) | codes[b]!;
        n += l;
        view.setUint32(o, acc << (32 - n));
        o += n >>> 3;
        n &= 7;
      }
    }
  }
  if (j < len) {
    const b = input[j]!;
    const l = lengths[b]!;
    acc = (acc << l) | codes[b]!;
    n += l;
    view.setUint32(o, acc << (32 - n));
    o += n >>> 3;
    n &= 7;
  }
  carry.acc = acc & ((1 << n) - 1);
  carry.n = n;
  return o;
}

/** Receiver loop for any code (up to 32 bits): codewords over 24 bits go in two parts. */
function unshapeLong(
  carry: BitCarry,
  input: Uint8Array,
  lengths: Uint8Array,
  codes: Int32Array,
  out: Uint8Array,
): number {
  let acc = carry.acc;
  let n = carry.n;
  let o = 0;
  const len = input.length;
  for (let j = 0; j < len; j++) {
    const b = input[j]!;
    let l = lengths[b]!;
    let code = codes[b]!;
    if (l > 24) {
      // n + l must stay within the 32-bit accumulator: the top l - 16 bits first.
      const hi = l - 16;
      acc = (acc << hi) | (code >>> 16);
      n += hi;
      out[o] = acc >>> (n - 8);
      out[o + 1] = acc >>> (n - 16);
      o += n >>> 3;
      n &= 7;
      l = 16;
      code &= 0xffff;
    }
    acc = (acc << l) | code;
    n += l;
    out[o] = acc >>> (n - 8);
    out[o + 1] = acc >>> (n - 16);
    out[o + 2] = acc >>> (n - 24);
    o += n >>> 3;
    n &= 7;
  }
  carry.acc = acc & ((1 << n) - 1);
  carry.n = n;
  return o;
}

/** What every decoder of one coder shares (read-only). */
interface UnshapeTables {
  codes: Int32Array;
  lengths: Uint8Array;
  longest: number;
  /** Built on first use; only for codes of at most 24 bits. */
  pairs: Int32Array | null;
}

class ReverseHuffmanDecoder implements ContentDecoder {
  private readonly tables: UnshapeTables;
  private scratch = new Uint8Array(1024);
  private view = new DataView(this.scratch.buffer);
  private readonly carry: BitCarry = { acc: 0, n: 0 };

  constructor(tables: UnshapeTables) {
    this.tables = tables;
  }

  push(shaped: Uint8Array): Uint8Array {
    abytes(shaped, undefined, 'shaped');
    const { codes, lengths, longest, pairs } = this.tables;
    // 4 bytes of slack for the speculative stores.
    const bound = Math.floor((this.carry.n + longest * shaped.length) / 8) + 4;
    if (this.scratch.length < bound) {
      this.scratch = new Uint8Array(Math.max(bound, this.scratch.length * 2));
      this.view = new DataView(this.scratch.buffer);
    }
    const o =
      pairs !== null
        ? unshapePairs(this.carry, shaped, pairs, lengths, codes, this.view)
        : unshapeLong(this.carry, shaped, lengths, codes, this.scratch);
    return this.scratch.slice(0, o);
  }
}

/**
 * A reverse Huffman content coder for a code table (which must pass `checkCodeTable`).
 * @param code - 256 codewords, entry b for byte b, most significant bit first
 * @throws RangeError with `checkCodeTable`'s sentence when the table is not a complete prefix code
 */
export function createReverseHuffmanCoder(code: readonly string[]): ContentCoder {
  const problem = checkCodeTable(code);
  if (problem !== null) throw new RangeError(`code: ${problem}`);
  const codes = [...code];
  const lengths = Uint8Array.from(codes, (c) => c.length);
  // parseInt gives up to 2^32 - 1; the Int32Array keeps the same 32 bits.
  const values = Int32Array.from(codes, (c) => parseInt(c, 2));
  let longest = 0;
  let shortest = 64;
  let meanBits = 0;
  for (const l of lengths) {
    longest = Math.max(longest, l);
    shortest = Math.min(shortest, l);
    meanBits += l * 2 ** -l;
  }
  const table = buildDecodeTable(codes);
  const unshape: UnshapeTables = { codes: values, lengths, longest, pairs: null };
  const codeLengths = Object.freeze(Array.from(lengths));
  return Object.freeze({
    kind: 'reverse-huffman',
    codeLengths,
    expansion: 8 / meanBits,
    createEncoder: (): ContentEncoder => new ReverseHuffmanEncoder(table, shortest),
    createDecoder: (): ContentDecoder => {
      if (unshape.pairs === null && longest <= 24) unshape.pairs = buildPairTable(values, lengths);
      return new ReverseHuffmanDecoder(unshape);
    },
  });
}
