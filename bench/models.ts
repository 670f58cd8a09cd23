/**
 * Benchmarks for models (group "models"): the shaping CSPRNG, sampling each kind of model
 * quantity, parsing a model file and computing its digest.
 * @module
 */
import { createHash } from 'node:crypto';
import { getBuiltinModel } from '../src/shaping/builtin-models.js';
import { exponential, normal, poisson, roundedTruncated, type Distribution } from '../src/shaping/distributions.js';
import { loadModelFromText, serializeModel } from '../src/shaping/model.js';
import { modelDigestInput } from '../src/shaping/model-digest.js';
import { ShapingPrng } from '../src/shaping/prng.js';
import { opsPerSecond, type BenchRow } from './table.js';

const GROUP = 'models';
const BATCH = 10_000;

export function modelsBench(): BenchRow[] {
  const rng = new ShapingPrng(new Uint8Array(32).fill(7));
  const rows: BenchRow[] = [];
  const perSample = (name: string, fn: () => void, note?: string) => {
    const value = (opsPerSecond(() => { for (let i = 0; i < BATCH; i++) fn(); }) * BATCH) / 1e6;
    rows.push({ group: GROUP, name, value, unit: 'M/s', ...(note ? { note } : {}) });
  };

  perSample('ShapingPrng.nextUint32', () => rng.nextUint32(), 'ChaCha20 via OpenSSL, 4 KiB refills');
  perSample('ShapingPrng.nextFloat', () => rng.nextFloat());

  const text = getBuiltinModel('text');
  const uniform = getBuiltinModel('uniform');
  const cases: Array<[string, Distribution]> = [
    ['sample length: text s2c (histogram)', text.serverToClient.lengthBytes],
    ['sample length: uniform (integer uniform)', uniform.clientToServer.lengthBytes],
    ['sample length: normal(500, 300) rounded', roundedTruncated(normal(500, 300), 1, 65535)],
    ['sample flow: poisson 4 (inversion)', text.clientToServer.flowPacketsPerSecond as Distribution],
    ['sample poisson 10,000 (PTRS)', poisson(10_000)],
    ['sample exponential', exponential(30_000)],
    ['sample duration: text (truncated normal)', text.durationMs],
  ];
  for (const [name, d] of cases) perSample(name, () => d.sample(rng));

  const textFile = serializeModel(text);
  rows.push({
    group: GROUP,
    name: 'loadModelFromText(text.json)',
    value: opsPerSecond(() => loadModelFromText(textFile, 'text.json')),
    unit: 'ops/s',
    note: `${textFile.length} characters`,
  });
  rows.push({
    group: GROUP,
    name: 'model digest (canonical JSON + SHA-256), text',
    value: opsPerSecond(() => createHash('sha256').update(modelDigestInput(text)).digest('hex')),
    unit: 'ops/s',
  });
  rows.push({
    group: GROUP,
    name: 'rounded normal: first `mean` (sum over 65,535 lengths)',
    value: opsPerSecond(() => roundedTruncated(normal(500, 300), 1, 65535).mean, 300),
    unit: 'ops/s',
  });
  return rows;
}
