import { bytesToHex } from '../src/core/bytes.js';
import { scriptedRandom, systemRandom } from '../src/core/random.js';
import {
  decodeBridgeKey,
  encodeBridgeKey,
  generateServerIdentity,
  parseServerState,
  serializeServerState,
} from '../src/core/server-keys.js';
import { x25519PublicKey } from '../src/crypto/x25519.js';

describe('server keys and their encodings', () => {
  test('generation: public key matches, probe delay in 30..90 s', () => {
    for (let i = 0; i < 50; i++) {
      const id = generateServerIdentity(systemRandom);
      expect(bytesToHex(id.staticKey.publicKey)).toBe(bytesToHex(x25519PublicKey(id.staticKey.privateKey)));
      expect(id.probeCloseDelayMs).toBeGreaterThanOrEqual(30_000);
      expect(id.probeCloseDelayMs).toBeLessThanOrEqual(90_000);
    }
  });

  test('the probe delay is drawn without bias (rejection of the top draw)', () => {
    const key = new Uint8Array(32).fill(7);
    const reject = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    const id = generateServerIdentity(scriptedRandom(key, reject, Uint8Array.of(0, 0, 0, 5)));
    expect(id.probeCloseDelayMs).toBe(30_005);
  });

  test('bridge key: 43 base64url characters, round trip, clear errors', () => {
    const pub = systemRandom(32);
    const text = encodeBridgeKey(pub);
    expect(text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(bytesToHex(decodeBridgeKey(text))).toBe(bytesToHex(pub));
    expect(() => decodeBridgeKey(text.slice(1))).toThrow(/43 characters/);
    expect(() => decodeBridgeKey(text + '=')).toThrow(/43 characters/);
    expect(() => decodeBridgeKey(text.slice(0, 42) + '/')).toThrow(/43 characters/);
    const nonCanonical = text.slice(0, 42) + (text[42] === 'B' ? 'C' : 'B');
    if (Buffer.from(nonCanonical, 'base64url').toString('base64url') !== nonCanonical) {
      expect(() => decodeBridgeKey(nonCanonical)).toThrow(/canonical/);
    }
  });

  test('state file round trip and every error names its field', () => {
    const id = generateServerIdentity(systemRandom);
    const back = parseServerState(serializeServerState(id));
    expect(bytesToHex(back.staticKey.privateKey)).toBe(bytesToHex(id.staticKey.privateKey));
    expect(back.probeCloseDelayMs).toBe(id.probeCloseDelayMs);
    const good = JSON.parse(serializeServerState(id));
    const bad = (patch: object) => JSON.stringify({ ...good, ...patch });
    expect(() => parseServerState('{', 'x.json')).toThrow(/^x.json: not valid JSON/);
    expect(() => parseServerState('[]')).toThrow(/must be a JSON object/);
    expect(() => parseServerState(bad({ format: 'v0' }))).toThrow(/format must be/);
    expect(() => parseServerState(bad({ private_key: 'abc' }))).toThrow(/private_key must be 64 hex digits/);
    expect(() => parseServerState(bad({ public_key: encodeBridgeKey(systemRandom(32)) }))).toThrow(/public_key does not match/);
    expect(() => parseServerState(bad({ probe_close_delay_ms: 5 }))).toThrow(/probe_close_delay_ms/);
  });
});
