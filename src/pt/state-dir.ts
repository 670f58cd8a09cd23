/**
 * The PT state directory, `TOR_PT_STATE_LOCATION` (pt-spec §3.2.1; tor-pt.md §5.2): created if
 * missing (mode 0700, goptlib `MakeStateDir`), and the only place the PT writes.
 *
 * - `dust_state.json`: the server identity (`serializeServerState`: private key and per-server
 *   constants), created on first run with mode 0600 and never rewritten afterwards, so that the
 *   bridge line stays valid across restarts (obfs4proxy's `obfs4_state.json`).
 * - `dust_bridgeline.txt`: a ready torrc `Bridge dust ...` line under a comment header, in the
 *   style of obfs4proxy's `obfs4_bridgeline.txt`, rewritten at each start (mode 0600).
 * - `dust.log` when logging is on (logging.ts).
 *
 * tor keeps its relay fingerprint in `DataDirectory/fingerprint` and the state directory is
 * `DataDirectory/pt_state/`, so the bridge line's `<FINGERPRINT>` is filled in from there when
 * the file can be read (reading outside the state directory is allowed; writing is not).
 * @module
 */
import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RandomSource } from '../core/random.js';
import { generateServerIdentity, parseServerState, serializeServerState, type ServerIdentity } from '../core/server-keys.js';

/** The server identity file (obfs4proxy: `obfs4_state.json`). */
export const STATE_FILE_NAME = 'dust_state.json';
/** The bridge line file (obfs4proxy: `obfs4_bridgeline.txt`). */
export const BRIDGELINE_FILE_NAME = 'dust_bridgeline.txt';

/** Creates the state directory (and parents) with mode 0700 if it does not exist. */
export function ensureStateDir(dir: string): void {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** A server identity and where it came from. */
export interface LoadedIdentity {
  readonly identity: ServerIdentity;
  readonly path: string;
  /** True when this call generated it (first run). */
  readonly created: boolean;
}

/**
 * Reads `dust_state.json`, or makes a fresh identity and writes it (mode 0600, exclusive create,
 * so two PTs started at once cannot both write one). A file that exists but does not parse is an
 * error, never silently replaced: replacing it would change the bridge's key.
 * @throws Error naming the file and what is wrong with it
 */
export function loadOrCreateServerIdentity(dir: string, random: RandomSource): LoadedIdentity {
  const path = join(dir, STATE_FILE_NAME);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (text !== undefined) return { identity: parseServerState(text, path), path, created: false };
  const identity = generateServerIdentity(random);
  try {
    writeFileSync(path, serializeServerState(identity), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { identity: readServerIdentityFile(path), path, created: false };
    throw new Error(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { identity, path, created: true };
}

/**
 * Reads a server state file made elsewhere (`dust keygen --state FILE`), for the `key-file`
 * server option.
 * @throws Error naming the file and what is wrong with it
 */
export function readServerIdentityFile(path: string): ServerIdentity {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseServerState(text, path);
}

/**
 * The text of `dust_bridgeline.txt`: a header saying what the file is and which placeholders (if
 * any) the operator must fill in, a blank line, then the line.
 */
export function bridgeLineFileText(line: string): string {
  if (typeof line !== 'string' || line.includes('\n')) throw new TypeError('line must be one line of text');
  const placeholders: string[] = [];
  if (line.includes('<IP ADDRESS>')) placeholders.push('#  <IP ADDRESS>  - The public IP address of your Dust bridge.');
  if (line.includes('<PORT>')) placeholders.push('#  <PORT>        - The TCP port of your Dust bridge (not the ORPort).');
  if (line.includes('<FINGERPRINT>')) placeholders.push("#  <FINGERPRINT> - The bridge's fingerprint (DataDirectory/fingerprint).");
  const header = [
    '# Dust torrc client bridge line',
    '#',
    '# This file is an automatically generated bridge line based on',
    '# the current dust configuration.  EDITING IT WILL HAVE NO EFFECT.',
    '#',
    '# Clients also need "ClientTransportPlugin dust exec <path to dust>".',
  ];
  if (placeholders.length > 0) {
    header.push('#', '# Before distributing this Bridge, edit the placeholder fields', '# to contain the actual values:', ...placeholders);
  }
  return `${header.join('\n')}\n\n${line}\n`;
}

/**
 * Writes `dust_bridgeline.txt` (mode 0600) through a temporary file and a rename, so a reader
 * never sees half a line. Returns the path.
 */
export function writeBridgeLineFile(dir: string, line: string): string {
  const path = join(dir, BRIDGELINE_FILE_NAME);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeFileSync(fd, bridgeLineFileText(line));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}

/**
 * tor's relay fingerprint (40 hex digits) from `DataDirectory/fingerprint` (`<nickname>
 * <fingerprint>`), given the state directory `DataDirectory/pt_state/`; undefined if unreadable.
 */
export function readTorFingerprint(stateDir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dirname(stateDir.replace(/\/+$/, '')), 'fingerprint'), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\S+ ([0-9A-Fa-f]{40})\s*$/.exec(text.trim());
  return m ? m[1]!.toUpperCase() : undefined;
}
