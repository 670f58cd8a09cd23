/**
 * pt-spec §3.2.1 TOR_PT_STATE_LOCATION and tor-pt.md §5.2 (obfs4proxy's state and bridge line
 * files): Dust's dust_state.json and dust_bridgeline.txt.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBridgeKey, serializeServerState, generateServerIdentity } from '../src/core/server-keys.js';
import { systemRandom } from '../src/core/random.js';
import {
  BRIDGELINE_FILE_NAME,
  bridgeLineFileText,
  ensureStateDir,
  loadOrCreateServerIdentity,
  readServerIdentityFile,
  readTorFingerprint,
  STATE_FILE_NAME,
  writeBridgeLineFile,
} from '../src/pt/state-dir.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dust-state-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('ensureStateDir creates missing parents with mode 0700 and accepts an existing dir', () => {
  const dir = join(root, 'a', 'pt_state') + '/';
  ensureStateDir(dir);
  expect(statSync(dir).isDirectory()).toBe(true);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(() => ensureStateDir(dir)).not.toThrow();
  writeFileSync(join(root, 'file'), '');
  expect(() => ensureStateDir(join(root, 'file', 'x'))).toThrow();
});

describe('dust_state.json', () => {
  test('created on first run (0600), the same identity afterwards', () => {
    const first = loadOrCreateServerIdentity(root, systemRandom);
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(root, STATE_FILE_NAME));
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateServerIdentity(root, systemRandom);
    expect(second.created).toBe(false);
    expect(second.identity.staticKey.privateKey).toEqual(first.identity.staticKey.privateKey);
    expect(second.identity.probeCloseDelayMs).toBe(first.identity.probeCloseDelayMs);
    expect(JSON.parse(readFileSync(first.path, 'utf8')).public_key).toBe(encodeBridgeKey(first.identity.staticKey.publicKey));
  });

  test('a broken state file is an error naming the file, and is left alone', () => {
    const path = join(root, STATE_FILE_NAME);
    writeFileSync(path, '{"format":"dust-server-state/1","private_key":"zz"}');
    expect(() => loadOrCreateServerIdentity(root, systemRandom)).toThrow(`${path}: private_key must be 64 hex digits`);
    expect(readFileSync(path, 'utf8')).toContain('"zz"');
  });

  test('an unreadable state dir is an error', () => {
    expect(() => loadOrCreateServerIdentity(join(root, 'missing'), systemRandom)).toThrow(/cannot write .*ENOENT/);
  });

  test('readServerIdentityFile reads a keygen file and names a missing one', () => {
    const id = generateServerIdentity(systemRandom);
    writeFileSync(join(root, 'k.json'), serializeServerState(id));
    expect(readServerIdentityFile(join(root, 'k.json')).staticKey.publicKey).toEqual(id.staticKey.publicKey);
    expect(() => readServerIdentityFile(join(root, 'nope.json'))).toThrow(`cannot read ${join(root, 'nope.json')}: ENOENT`);
  });
});

describe('dust_bridgeline.txt', () => {
  const line = 'Bridge dust <IP ADDRESS>:<PORT> <FINGERPRINT> key=abc model=text model-digest=00';

  test('header explains the placeholders that remain, then a blank line and the line', () => {
    const text = bridgeLineFileText(line);
    expect(text.startsWith('# Dust torrc client bridge line\n#\n')).toBe(true);
    expect(text).toContain('EDITING IT WILL HAVE NO EFFECT.');
    expect(text).toContain('#  <IP ADDRESS>  - The public IP address of your Dust bridge.');
    expect(text).toContain('#  <FINGERPRINT>');
    expect(text.endsWith(`\n\n${line}\n`)).toBe(true);
    const filled = bridgeLineFileText('Bridge dust 192.0.2.1:443 ' + 'A'.repeat(40) + ' key=abc');
    expect(filled).not.toContain('placeholder');
    expect(() => bridgeLineFileText('a\nb')).toThrow(TypeError);
  });

  test('written with mode 0600, replaced on the next start', () => {
    const path = writeBridgeLineFile(root, line);
    expect(path).toBe(join(root, BRIDGELINE_FILE_NAME));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeBridgeLineFile(root, line.replace('text', 'bulk'));
    expect(readFileSync(path, 'utf8')).toContain('model=bulk');
    expect(readFileSync(path, 'utf8')).not.toContain('model=text');
  });

  test("tor's fingerprint is read from DataDirectory/fingerprint", () => {
    const state = join(root, 'pt_state') + '/';
    mkdirSync(state);
    expect(readTorFingerprint(state)).toBeUndefined();
    writeFileSync(join(root, 'fingerprint'), `Unnamed ${'ab12'.repeat(10)}\n`);
    expect(readTorFingerprint(state)).toBe('AB12'.repeat(10));
    writeFileSync(join(root, 'fingerprint'), 'garbage\n');
    expect(readTorFingerprint(state)).toBeUndefined();
  });
});
