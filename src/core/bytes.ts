/**
 * Byte helpers shared by every layer: argument checks in the noble style (they return their
 * argument and throw TypeError/RangeError naming it), hex, concatenation and constant-time equality.
 * @module
 */

/** Throws TypeError unless `value` is a Uint8Array (of `length` bytes, when given: RangeError). */
export function abytes(value: unknown, length?: number, title = 'value'): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${title} must be a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${title} must be ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** Throws unless `value` is an integer in [min, max]. */
export function aint(value: unknown, min: number, max: number, title = 'value'): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${title} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${title} must be in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  return typeof value;
}

/** Concatenates byte strings into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** ASCII/UTF-8 bytes of a string (protocol labels such as "ntor"). */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Parses lowercase or uppercase hex; throws RangeError on odd length or a non-hex digit. */
export function hexToBytes(hex: string, title = 'hex'): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`${title} must be a string`);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RangeError(`${title} is not valid hex`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Equality in time that depends only on the lengths, never on where the inputs differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** True when every byte is zero, in time that depends only on the length. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  let i = 0;
  // Whole 32-bit words where the view is aligned (blank records are checked on the hot path).
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  for (; i < Math.min(head, bytes.length); i++) acc |= bytes[i]!;
  const words = (bytes.length - i) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) acc |= view[w]!;
    i += words * 4;
  }
  for (; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/** 8-byte big-endian encoding of a non-negative safe integer (the epoch hour). */
export function u64be(value: number): Uint8Array {
  aint(value, 0, Number.MAX_SAFE_INTEGER, 'u64 value');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}
