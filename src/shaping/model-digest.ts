/**
 * Model digests: SHA-256 over a canonical serialisation of a normalised model, so that two ends
 * can check they shape with the same model (DECISIONS.md "PT binary": a model found in a models
 * directory is "checked by digest"; docs/models.md "Digest").
 *
 * Canonical form: JSON with object keys sorted by UTF-16 code units, no whitespace, numbers and
 * strings as `JSON.stringify` writes them (ECMAScript's shortest round-trip number form, so `1e3`,
 * `1000` and `1000.0` agree). It covers what changes the traffic: `format`, `duration_ms` and both
 * directions. `name` and `description` are left out, so renaming a model or editing its text does
 * not break bridge lines; a file converted from Dust2015 digests like its `dust-model/1` form.
 * @module
 */
import { createHash } from 'node:crypto';
import type { DustModel } from './model.js';

const digests = new WeakMap<DustModel, string>();

/**
 * The canonical JSON text of a JSON value: sorted keys, no whitespace.
 * @throws TypeError for values JSON cannot represent (undefined, functions, non-finite numbers)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort(); // default sort compares UTF-16 code units
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
}

/** The text the digest is computed over (exposed for tests and for other implementations). */
export function modelDigestInput(model: DustModel): string {
  const d = model.definition;
  return canonicalJson({
    format: d.format,
    duration_ms: d.duration_ms,
    client_to_server: d.client_to_server,
    server_to_client: d.server_to_client,
  });
}

/**
 * SHA-256 of the model's canonical form, as 64 lowercase hex digits.
 * @example modelDigest(getBuiltinModel('text')) // '…64 hex digits…'
 */
export function modelDigest(model: DustModel): string {
  if (typeof model !== 'object' || model === null || typeof model.definition !== 'object') {
    throw new TypeError('model must be a DustModel');
  }
  let digest = digests.get(model);
  if (digest === undefined) {
    digest = createHash('sha256').update(modelDigestInput(model), 'utf8').digest('hex');
    digests.set(model, digest);
  }
  return digest;
}
