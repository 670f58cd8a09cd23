/**
 * Content coding, the byte-distribution half of the shaping layer (seed "Shaping Layer";
 * DECISIONS.md "Shaping"): the sender turns the uniform stream of a direction into bytes that
 * follow the model's content distribution, and the receiver turns them back into exactly the same
 * uniform stream. These interfaces are coder-neutral: reverse Huffman today, an exact
 * distribution-matching (arithmetic) coder later, selected by `createContentCoder`.
 * @module
 */
import { checkCodeTable, huffmanCodeFromWeights } from './huffman.js';
import { createIdentityCoder, isIdentityCode } from './identity-coder.js';
import { createReverseHuffmanCoder } from './reverse-huffman.js';

/** Sender side: uniform bytes in, shaped bytes out, in any chunking. */
export interface ContentEncoder {
  /** Adds uniform bytes (any length, including 0); the encoder copies what it needs. */
  push(uniform: Uint8Array): void;
  /** Shaped bytes ready to take. */
  readonly available: number;
  /**
   * Removes and returns the next `n` shaped bytes (a new array).
   * @throws RangeError when n > available
   */
  take(n: number): Uint8Array;
  /**
   * Removes the next `n` shaped bytes into `out[offset .. offset + n)`.
   * @throws RangeError when n > available or the range does not fit in `out`
   */
  takeInto(out: Uint8Array, offset: number, n: number): void;
  /** Input bits pushed but not yet turned into a byte; always less than the longest codeword. */
  readonly heldBits: number;
  /**
   * An independent copy (held bits and untaken output included): the session pushes some future
   * input into a clone to learn how many shaped bytes it would produce, without touching this one.
   */
  clone(): ContentEncoder;
  /** Lets go of buffers grown for large pushes that are empty now (an idle connection). */
  trim(): void;
}

/** Receiver side: shaped bytes in, the uniform stream out. */
export interface ContentDecoder {
  /**
   * Adds shaped bytes (any chunking; packet boundaries carry no meaning).
   * @returns the uniform bytes completed by this call (a new array, possibly empty); bits of an
   *   incomplete last octet stay inside until more input completes it
   */
  push(shaped: Uint8Array): Uint8Array;
}

/** A content coding for one direction of a model: a factory of encoders and decoders. */
export interface ContentCoder {
  /** 'identity' | 'reverse-huffman' (later also an arithmetic coder). */
  readonly kind: string;
  /** Bits per byte value: byte b appears in shaped output with probability 2^-codeLengths[b]. */
  readonly codeLengths: readonly number[];
  /** Mean shaped bytes per uniform byte (= 8 / mean code length). */
  readonly expansion: number;
  createEncoder(): ContentEncoder;
  createDecoder(): ContentDecoder;
}

/** What a model half says about content: byte weights, or an explicit code table. */
export type ContentSpec = { weights: readonly number[] } | { code: readonly string[] };

/**
 * The content coder for a model half. Weights are turned into a code by `huffmanCodeFromWeights`;
 * an explicit code table must pass `checkCodeTable`. When the code maps every byte to its own
 * 8 bits (e.g. uniform weights) the identity coder is used: a plain copy.
 * @param content - `{ weights }` (256 non-negative numbers) or `{ code }` (256 bit strings)
 * @throws TypeError when `content` has neither field; RangeError for a bad table (the message is
 *   `checkCodeTable`'s sentence) or bad weights
 * @example createContentCoder({ weights: model.c2s.content.weights }).createEncoder()
 */
export function createContentCoder(content: ContentSpec): ContentCoder {
  if (typeof content !== 'object' || content === null) {
    throw new TypeError('content must be an object with "weights" or "code"');
  }
  let code: readonly string[];
  if ('code' in content && content.code !== undefined) {
    const problem = checkCodeTable(content.code);
    if (problem !== null) throw new RangeError(`content.code: ${problem}`);
    code = content.code;
  } else if ('weights' in content && content.weights !== undefined) {
    code = huffmanCodeFromWeights(content.weights);
  } else {
    throw new TypeError('content must have "weights" or "code"');
  }
  return isIdentityCode(code) ? createIdentityCoder() : createReverseHuffmanCoder(code);
}
