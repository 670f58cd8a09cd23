/**
 * The seed's command-byte Dust API over a byte pipe (`dust engine`), framed so that any language
 * can drive a DustSession (docs/engine.md). This file is the I/O-free part: bytes in, bytes out.
 *
 *   request  = length (2, BE: 1 + args) ‖ command (1) ‖ args            (seed: command byte + args)
 *   response = length (2, BE: 1 + body) ‖ status (1: 0x00 ok, 0x01 error) ‖ body
 *
 * The outer length is our addition (the Haskell Dust-command used the same framing): with it an
 * unknown command or a malformed frame is answered with an error and skipped, and the pipe stays in
 * step. The session keeps a virtual clock: the sum of the milliseconds given to packet_count.
 * @module
 */
import type { DustSession } from '../core/session.js';

export const COMMAND = {
  packetCount: 0x00,
  encodedReady: 0x01,
  putDecoded: 0x02,
  getEncoded: 0x03,
  decodedReady: 0x11,
  putEncoded: 0x12,
  getDecoded: 0x13,
  /** Ours: the sampled connection duration, 4 bytes BE (ms). */
  duration: 0x21,
  /** Ours: state (1 byte: 0 handshaking, 1 open, 2 failed, 3 closed) ‖ failure code (UTF-8, may be empty). */
  status: 0x22,
} as const;

const STATUS_OK = 0x00;
const STATUS_ERROR = 0x01;
const MAX_FRAME = 0xffff;
const STATE_CODES = { handshaking: 0, open: 1, failed: 2, closed: 3 } as const;

/** A request that cannot be served; its message goes back in the error response. */
class RequestError extends Error {}

export class EngineProtocol {
  private buffer = new Uint8Array(0);
  private clock = 0;

  constructor(private readonly session: DustSession) {}

  /** Feeds request bytes (any chunking); returns the responses to every complete request. */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const responses: Uint8Array[] = [];
    let at = 0;
    while (joined.length - at >= 2) {
      const length = (joined[at]! << 8) | joined[at + 1]!;
      if (joined.length - at - 2 < length) break;
      responses.push(this.handle(joined.subarray(at + 2, at + 2 + length)));
      at += 2 + length;
    }
    // Never more than one incomplete frame (at most 65,537 bytes) stays buffered.
    this.buffer = joined.slice(at);
    return responses;
  }

  private handle(frame: Uint8Array): Uint8Array {
    try {
      if (frame.length === 0) throw new RequestError('empty frame: a request needs a command byte');
      return response(STATUS_OK, this.run(frame[0]!, frame.subarray(1)));
    } catch (err) {
      if (err instanceof RequestError || err instanceof RangeError || err instanceof TypeError) {
        return response(STATUS_ERROR, new TextEncoder().encode(err.message));
      }
      throw err;
    }
  }

  private run(command: number, args: Uint8Array): Uint8Array {
    const session = this.session;
    switch (command) {
      case COMMAND.packetCount:
        this.clock += u16(args, 'packet_count', true);
        return be16(Math.min(0xffff, session.packetCount(this.clock)));
      case COMMAND.encodedReady:
        noArgs(args, 'encoded_ready');
        return be16(Math.min(0xffff, session.encodedReady()));
      case COMMAND.putDecoded:
        session.putDecoded(lengthPrefixed(args, 'put_decoded'));
        return new Uint8Array(0);
      case COMMAND.getEncoded:
        return session.getEncoded(u16(args, 'get_encoded', true));
      case COMMAND.decodedReady:
        noArgs(args, 'decoded_ready');
        return be16(Math.min(0xffff, session.decodedReady()));
      case COMMAND.putEncoded:
        session.putEncoded(lengthPrefixed(args, 'put_encoded'));
        return new Uint8Array(0);
      case COMMAND.getDecoded: {
        const len = u16(args, 'get_decoded', true);
        if (len > session.decodedReady()) {
          throw new RequestError(`get_decoded: asked for ${len} bytes, only ${session.decodedReady()} are ready`);
        }
        return session.getDecoded(len);
      }
      case COMMAND.duration: {
        noArgs(args, 'duration');
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, Math.min(0xffff_ffff, Math.round(session.durationMs)));
        return out;
      }
      case COMMAND.status: {
        noArgs(args, 'status');
        const failure = new TextEncoder().encode(session.failure ?? '');
        const out = new Uint8Array(1 + failure.length);
        out[0] = STATE_CODES[session.state];
        out.set(failure, 1);
        return out;
      }
      default:
        throw new RequestError(`unknown command byte 0x${command.toString(16).padStart(2, '0')}`);
    }
  }
}

function response(status: number, body: Uint8Array): Uint8Array {
  if (body.length + 1 > MAX_FRAME) throw new Error('BUG: response larger than a frame');
  const out = new Uint8Array(3 + body.length);
  out[0] = (body.length + 1) >>> 8;
  out[1] = (body.length + 1) & 0xff;
  out[2] = status;
  out.set(body, 3);
  return out;
}

function be16(value: number): Uint8Array {
  return Uint8Array.of(value >>> 8, value & 0xff);
}

function noArgs(args: Uint8Array, name: string): void {
  if (args.length !== 0) throw new RequestError(`${name}: takes no arguments, got ${args.length} bytes`);
}

function u16(args: Uint8Array, name: string, exact: boolean): number {
  if (args.length < 2 || (exact && args.length !== 2)) {
    throw new RequestError(`${name}: needs a 2-byte argument, got ${args.length} bytes`);
  }
  return (args[0]! << 8) | args[1]!;
}

/** The seed's "2 bytes, variable" argument: a length, then exactly that many bytes. */
function lengthPrefixed(args: Uint8Array, name: string): Uint8Array {
  const len = u16(args, name, false);
  if (args.length - 2 !== len) {
    throw new RequestError(`${name}: length field says ${len} bytes, the frame carries ${args.length - 2}`);
  }
  return args.subarray(2);
}
