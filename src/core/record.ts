/**
 * The Seattle record layer (seed "Message Protocol"; DECISIONS.md "Record protocol"): what the rest
 * of Dust imports. Sealing and opening live in their own files; the wire format, its sizes and the
 * failure codes in record-format.ts; the format byte by byte in docs/records.md.
 * @module
 */
export {
  MAX_PAYLOAD_LENGTH,
  MAX_RECORD_BYTES,
  MAX_RECORD_DATA,
  MIN_PAYLOAD_LENGTH,
  KEYSTREAM_LIMIT_BYTES,
  RECORD_OVERHEAD,
  type DirectionKeys,
  type RecordFailure,
} from './record-format.js';
export { RecordSealer } from './record-sealer.js';
export { RecordOpener } from './record-opener.js';
