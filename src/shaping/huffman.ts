/**
 * Huffman code tables for reverse Huffman shaping (DECISIONS.md "Shaping"; seed "Shaping Layer";
 * dust-original.md §4.1): checking a code table a model gives explicitly, and building one
 * deterministically from the model's 256 byte weights, so that both ends of a connection derive
 * the same code. A code table is 256 bit strings, entry `b` being the codeword of byte value `b`.
 *
 * The construction is specified in docs/shaping.md ("Building the code from weights") precisely
 * enough for another implementation to produce the same table bit for bit.
 * @module
 */

/** Longest codeword a code table may contain (`checkCodeTable`). */
export const MAX_TABLE_CODE_LENGTH = 32;

/**
 * Longest codeword `huffmanCodeFromWeights` produces. 15 bits, as in DEFLATE and in the Dust2015
 * test model: the sender's lookup tables stay small, and the rarest byte still has probability
 * 2^-15 in the shaped stream.
 */
export const MAX_WEIGHT_CODE_LENGTH = 15;

/** Weights are quantised to integers summing to about 2^24 before the tree is built (exact sums). */
const WEIGHT_SCALE = 2 ** 24;

const CODEWORD = /^[01]+$/;

function hexByte(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

/**
 * Checks that `codes` is a usable code table: 256 strings of '0'/'1', each 1..32 characters long,
 * no codeword a prefix of (or equal to) another, and Kraft sum exactly 1 (complete: every bit
 * sequence starts with some codeword, so the sender can turn any uniform input into bytes).
 * @param codes - candidate table; entry b is the codeword of byte value b, most significant bit first
 * @returns null when the table is a complete prefix code, else one sentence naming the first problem
 * @example checkCodeTable(table) === null
 */
export function checkCodeTable(codes: readonly string[]): string | null {
  if (!Array.isArray(codes)) return 'the code table must be an array of 256 bit strings';
  if (codes.length !== 256) return `the code table must have 256 codewords, got ${codes.length}`;
  for (let b = 0; b < 256; b++) {
    const c: unknown = codes[b];
    if (typeof c !== 'string') return `codeword of byte ${hexByte(b)} is not a string`;
    if (c.length === 0) return `codeword of byte ${hexByte(b)} is empty`;
    if (!CODEWORD.test(c)) return `codeword of byte ${hexByte(b)} contains a character other than 0 and 1`;
    if (c.length > MAX_TABLE_CODE_LENGTH) {
      return `codeword of byte ${hexByte(b)} is ${c.length} bits long, more than ${MAX_TABLE_CODE_LENGTH}`;
    }
  }
  // In lexicographic order a codeword that is a prefix of others is immediately followed by one of
  // them (everything sorted between a prefix p and a word starting with p also starts with p), so
  // comparing neighbours finds every conflict.
  const order = Array.from({ length: 256 }, (_, b) => b).sort((x, y) =>
    codes[x]! < codes[y]! ? -1 : codes[x]! > codes[y]! ? 1 : x - y,
  );
  for (let k = 0; k + 1 < 256; k++) {
    const a = order[k]!;
    const b = order[k + 1]!;
    if (codes[a] === codes[b]) return `bytes ${hexByte(a)} and ${hexByte(b)} have the same codeword`;
    if (codes[b]!.startsWith(codes[a]!)) {
      return `codeword of byte ${hexByte(a)} is a prefix of the codeword of byte ${hexByte(b)}`;
    }
  }
  // A prefix code has Kraft sum <= 1; in units of 2^-32 the sum is an integer below 2^41, exact in
  // a double.
  let kraft = 0;
  for (let b = 0; b < 256; b++) kraft += 2 ** (MAX_TABLE_CODE_LENGTH - codes[b]!.length);
  if (kraft !== 2 ** MAX_TABLE_CODE_LENGTH) {
    return `Kraft sum is ${kraft / 2 ** MAX_TABLE_CODE_LENGTH}, the code is incomplete`;
  }
  return null;
}

/**
 * Canonical codewords for the given lengths (as in DEFLATE, RFC 1951 §3.2.2): bytes sorted by
 * (length, byte value) receive consecutive binary numbers, shifted left whenever the length grows.
 * @param lengths - 256 codeword lengths 1..32 whose Kraft sum is exactly 1
 * @returns the code table (entry b = codeword of byte b)
 * @throws RangeError when the lengths do not describe a complete prefix code
 */
export function canonicalCode(lengths: readonly number[]): string[] {
  if (!Array.isArray(lengths)) throw new TypeError('lengths must be an array of 256 numbers');
  if (lengths.length !== 256) throw new RangeError(`lengths must have 256 entries, got ${lengths.length}`);
  let kraft = 0;
  for (let b = 0; b < 256; b++) {
    const l = lengths[b];
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 1 || l > MAX_TABLE_CODE_LENGTH) {
      throw new RangeError(
        `lengths[${b}] must be an integer in [1, ${MAX_TABLE_CODE_LENGTH}], got ${String(l)}`,
      );
    }
    kraft += 2 ** (MAX_TABLE_CODE_LENGTH - l);
  }
  if (kraft !== 2 ** MAX_TABLE_CODE_LENGTH) {
    throw new RangeError(`lengths have Kraft sum ${kraft / 2 ** MAX_TABLE_CODE_LENGTH}, not 1`);
  }
  const order = Array.from({ length: 256 }, (_, b) => b).sort((x, y) => lengths[x]! - lengths[y]! || x - y);
  const codes = new Array<string>(256);
  // The running code needs up to 32 bits: keep it as a non-negative double, exact below 2^53.
  let code = 0;
  let prevLen = lengths[order[0]!]!;
  for (const b of order) {
    const l = lengths[b]!;
    code *= 2 ** (l - prevLen);
    prevLen = l;
    codes[b] = code.toString(2).padStart(l, '0');
    code++;
  }
  return codes;
}

/**
 * Builds the code table for a model's byte weights, deterministically (docs/shaping.md):
 * 1. W = the sum of the weights in byte order; q_b = floor((w_b / W) * 2^24) (IEEE doubles).
 * 2. For f = 1, 2, 4, ...: x_b = max(q_b, f); build Huffman lengths over x, always merging the two
 *    nodes smallest by (weight, key), where byte b has key b and the k-th merged node key 256 + k;
 *    stop at the first f whose longest codeword has at most 15 bits. (The floor f gives every byte,
 *    even one of weight 0, a codeword, and bounds the lengths.)
 * 3. Assign canonical codewords to those lengths (`canonicalCode`).
 * Equal weights therefore give equal lengths where possible, and the smaller byte value the smaller
 * codeword; 256 equal weights give the identity code (byte b -> its own 8 bits).
 * @param weights - 256 finite non-negative numbers, not all zero (counts or probabilities)
 * @returns the code table (entry b = codeword of byte b), a complete prefix code
 * @throws TypeError / RangeError when `weights` is not such a list
 */
export function huffmanCodeFromWeights(weights: readonly number[]): string[] {
  return canonicalCode(huffmanLengthsFromWeights(weights));
}

/**
 * The codeword lengths `huffmanCodeFromWeights` assigns (steps 1 and 2 of its algorithm).
 * @param weights - 256 finite non-negative numbers, not all zero
 * @returns 256 lengths in [1, 15] with Kraft sum 1
 */
export function huffmanLengthsFromWeights(weights: readonly number[]): number[] {
  if (!Array.isArray(weights)) throw new TypeError('weights must be an array of 256 numbers');
  if (weights.length !== 256) throw new RangeError(`weights must have 256 entries, got ${weights.length}`);
  let total = 0;
  for (let b = 0; b < 256; b++) {
    const w = weights[b];
    if (typeof w !== 'number') throw new TypeError(`weights[${b}] must be a number, got ${typeof w}`);
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`weights[${b}] must be finite and >= 0, got ${w}`);
    total += w;
  }
  if (!Number.isFinite(total)) throw new RangeError('the sum of the weights must be finite');
  if (total === 0) throw new RangeError('weights must not all be zero');
  const quantised = weights.map((w) => Math.floor((w / total) * WEIGHT_SCALE));
  for (let floor = 1; ; floor *= 2) {
    const lengths = huffmanLengths(quantised.map((q) => Math.max(q, floor)));
    let longest = 0;
    for (const l of lengths) longest = Math.max(longest, l);
    if (longest <= MAX_WEIGHT_CODE_LENGTH) return lengths;
    // At floor >= 2^24 every weight equals the floor and all lengths are 8, so this ends.
    if (floor > WEIGHT_SCALE) throw new Error('BUG: length limit not reached');
  }
}

/**
 * Huffman codeword lengths for 256 positive integer weights, merging the two nodes smallest by
 * (weight, key) each time (leaves: key = byte; k-th merged node: 256 + k). Two queues do this in
 * linear time after the sort: leaves sorted by (weight, byte), and merged nodes, which are created
 * in non-decreasing weight order and have ever larger keys. On equal weights a leaf beats a merged
 * node (its key is smaller), which keeps the tree as shallow as Huffman allows.
 */
function huffmanLengths(weight: readonly number[]): number[] {
  const leaves = Array.from({ length: 256 }, (_, b) => b).sort((x, y) => weight[x]! - weight[y]! || x - y);
  // Nodes 0..255 are leaves (by byte), 256.. merged; parent[] gives the tree, depth comes after.
  const nodeWeight = new Float64Array(511);
  const parent = new Int32Array(511).fill(-1);
  for (let b = 0; b < 256; b++) nodeWeight[b] = weight[b]!;
  let li = 0; // next leaf in `leaves`
  let mi = 256; // next merged node not yet taken
  let next = 256; // next merged node to create
  const pick = (): number => {
    if (li < 256 && (mi >= next || nodeWeight[leaves[li]!]! <= nodeWeight[mi]!)) return leaves[li++]!;
    return mi++;
  };
  while (next < 511) {
    const a = pick();
    const b = pick();
    nodeWeight[next] = nodeWeight[a]! + nodeWeight[b]!;
    parent[a] = next;
    parent[b] = next;
    next++;
  }
  // Parents have larger indices than children, so one downward pass over the nodes fills depth.
  const depth = new Int32Array(511);
  for (let v = 509; v >= 0; v--) depth[v] = depth[parent[v]!]! + 1;
  return Array.from(depth.subarray(0, 256));
}
