/**
 * The identity content coder: the fast path of DECISIONS.md "Shaping" for a model whose content
 * is uniform (its code maps every byte to its own 8 bits, so reverse Huffman would copy the stream
 * unchanged). Shaping and unshaping are plain copies.
 * @module
 */
import { abytes } from '../core/bytes.js';
import type { ContentCoder, ContentDecoder, ContentEncoder } from './coder.js';
import { ShapedOutput } from './reverse-huffman.js';

const EIGHT_BITS: readonly number[] = Object.freeze(new Array<number>(256).fill(8));

/** True when `code[b]` is the 8-bit binary form of b for every byte b (the identity code). */
export function isIdentityCode(code: readonly string[]): boolean {
  if (code.length !== 256) return false;
  for (let b = 0; b < 256; b++) {
    if (code[b] !== b.toString(2).padStart(8, '0')) return false;
  }
  return true;
}

class IdentityEncoder implements ContentEncoder {
  private out: ShapedOutput;
  readonly heldBits = 0;

  constructor(out = new ShapedOutput()) {
    this.out = out;
  }

  get available(): number {
    return this.out.available;
  }

  push(uniform: Uint8Array): void {
    abytes(uniform, undefined, 'uniform');
    const buf = this.out.reserve(uniform.length);
    buf.set(uniform, this.out.end);
    this.out.end += uniform.length;
  }

  take(n: number): Uint8Array {
    return this.out.take(n);
  }

  takeInto(out: Uint8Array, offset: number, n: number): void {
    this.out.takeInto(out, offset, n);
  }

  trim(): void {
    this.out.trim();
  }

  clone(): ContentEncoder {
    return new IdentityEncoder(this.out.copy());
  }
}

const identityDecoder: ContentDecoder = {
  push(shaped: Uint8Array): Uint8Array {
    abytes(shaped, undefined, 'shaped');
    return shaped.slice();
  },
};

/** The identity coder: expansion 1, every byte 8 bits, copies in both directions. */
export function createIdentityCoder(): ContentCoder {
  return Object.freeze({
    kind: 'identity',
    codeLengths: EIGHT_BITS,
    expansion: 1,
    createEncoder: (): ContentEncoder => new IdentityEncoder(),
    // Stateless, so one decoder object serves every connection.
    createDecoder: (): ContentDecoder => identityDecoder,
  });
}
