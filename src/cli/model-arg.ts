/**
 * Turns a `--model` flag into a model: a built-in name, or a path to a model file (anything with
 * a slash or ending in .json). Errors are ModelError/RangeError with a message fit for one line.
 * @module
 */
import { readFileSync } from 'node:fs';
import { getBuiltinModel } from '../shaping/builtin-models.js';
import { loadModelFromText, type DustModel } from '../shaping/model.js';

export function resolveModel(nameOrPath: string): DustModel {
  if (!nameOrPath.includes('/') && !nameOrPath.endsWith('.json')) return getBuiltinModel(nameOrPath);
  let text: string;
  try {
    text = readFileSync(nameOrPath, 'utf8');
  } catch (err) {
    throw new RangeError(`cannot read model file ${nameOrPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return loadModelFromText(text, nameOrPath);
}
