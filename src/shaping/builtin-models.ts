/**
 * The built-in models, embedded in the bundle (DECISIONS.md "PT binary": a bridge line may name a
 * built-in model). The JSON files in models/ are the source of truth; they are imported as JSON
 * modules, which tsc, Jest (swc) and the esbuild bundle all accept, and validated at load like any
 * other model file. docs/models.md describes each one.
 * - `uniform`: uniform bytes (Dust v1 behaviour), moderate rate.
 * - `text`: English/HTTP-text-like bytes, lengths and rates (written by hand, not fitted).
 * - `bulk`: uniform bytes, 16 KiB packets, flow `on_demand` (throughput tests; leaks timing).
 * - `http`: HTTP/1.1 between curl and nginx, fitted to a loopback capture by `dust model build`
 *   (scripts/capture-http/; models/http.md says how, and which timing fields were changed).
 * @module
 */
import bulkJson from '../../models/bulk.json' with { type: 'json' };
import httpJson from '../../models/http.json' with { type: 'json' };
import textJson from '../../models/text.json' with { type: 'json' };
import uniformJson from '../../models/uniform.json' with { type: 'json' };
import { parseModel, type DustModel } from './model.js';

/** The built-in models by name, in the order uniform, text, bulk, http. */
export const builtinModels: ReadonlyMap<string, DustModel> = freezeMap(
  new Map(
    [
      parseModel(uniformJson, 'models/uniform.json'),
      parseModel(textJson, 'models/text.json'),
      parseModel(bulkJson, 'models/bulk.json'),
      parseModel(httpJson, 'models/http.json'),
    ].map((model) => [model.name, model] as const),
  ),
);

/**
 * The built-in model called `name`.
 * @throws RangeError naming the built-in models when there is none by that name
 */
export function getBuiltinModel(name: string): DustModel {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`);
  const model = builtinModels.get(name);
  if (model === undefined) {
    throw new RangeError(`no built-in model named ${JSON.stringify(name)} (built-in: ${[...builtinModels.keys()].join(', ')})`);
  }
  return model;
}

/** A Map whose mutators throw, so no caller can replace a built-in model. */
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('builtinModels is read-only');
  };
  map.set = refuse;
  map.delete = refuse;
  map.clear = refuse;
  return Object.freeze(map);
}
