/**
 * DECISIONS.md "PT binary": Dust's bridge arguments (key, model, model-digest), built-in models and
 * models from a directory, every refusal naming its argument; bridge lines in torrc form
 * (tor-pt.md §5.2 placeholders).
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBridgeKey } from '../src/core/server-keys.js';
import { formatSocksArgs, parseSocksArgs } from '../src/pt/args.js';
import {
  ModelResolver,
  formatBridgeArgs,
  formatBridgeLine,
  parseBridgeArgs,
  parseBridgeLine,
  type BridgeArgsResult,
} from '../src/pt/bridge-args.js';
import { builtinModels, getBuiltinModel } from '../src/shaping/builtin-models.js';
import { modelDigest } from '../src/shaping/model-digest.js';
import { loadModelFromText, serializeModel } from '../src/shaping/model.js';

const BUILTIN_NAMES = [...builtinModels.keys()].join(', ');

const PUBLIC_KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const KEY = encodeBridgeKey(PUBLIC_KEY);
const TEXT_DIGEST = modelDigest(getBuiltinModel('text'));

let dir: string;
let customDigest: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dust-models-'));
  // A model that is not built in: `text` with another name and a different duration.
  const def = JSON.parse(serializeModel(getBuiltinModel('text')));
  def.name = 'custom';
  def.duration_ms = { family: 'fixed', value: 1234 };
  const text = JSON.stringify(def);
  writeFileSync(join(dir, 'custom.json'), text);
  writeFileSync(join(dir, 'broken.json'), '{"format": "dust-model/1"');
  // A file with a built-in name but other content: must never be read.
  writeFileSync(join(dir, 'text.json'), text);
  customDigest = modelDigest(loadModelFromText(text, 'custom.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refused(r: BridgeArgsResult): { argument: string; error: string } {
  if (r.ok) throw new Error('expected a refusal');
  expect(r.code).toBe('DUST_ERR_BRIDGE_ARGS');
  return { argument: r.argument, error: r.error };
}

describe('parseBridgeArgs: built-in models', () => {
  test('key and model, digest optional', () => {
    const r = parseBridgeArgs([['key', KEY], ['model', 'text']]);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.publicKey).toEqual(PUBLIC_KEY);
    expect(r.value.model).toBe(getBuiltinModel('text'));
    expect(r.value.modelName).toBe('text');
    expect(r.value.modelDigest).toBe(TEXT_DIGEST);
    expect(r.value.modelSource).toBe('builtin');
    expect(r.value.ignored).toEqual([]);
  });

  test('a matching digest is accepted, in either case', () => {
    for (const d of [TEXT_DIGEST, TEXT_DIGEST.toUpperCase()]) {
      expect(parseBridgeArgs([['key', KEY], ['model', 'text'], ['model-digest', d]]).ok).toBe(true);
    }
  });

  test('unknown keys are ignored and reported', () => {
    const r = parseBridgeArgs([['key', KEY], ['iat-mode', '0'], ['model', 'bulk']]);
    expect(r.ok && r.value.ignored).toEqual(['iat-mode']);
  });

  test.each([
    [[['model', 'text']], 'key', "missing argument 'key'"],
    [[['key', KEY]], 'model', "missing argument 'model'"],
    [[['key', 'abc'], ['model', 'text']], 'key', '43 characters of unpadded base64url'],
    [[['key', KEY.slice(0, 42) + 'B'], ['model', 'text']], 'key', 'not canonical'],
    [[['key', KEY + '='], ['model', 'text']], 'key', '43 characters'],
    [[['key', KEY], ['model', 'nosuch']], 'model', `not a built-in model (${BUILTIN_NAMES}) and no models directory was given (-modelsDir)`],
    [[['key', KEY], ['model', '../etc/passwd']], 'model', 'is not a model name'],
    [[['key', KEY], ['model', '']], 'model', 'is not a model name'],
    [[['key', KEY], ['model', 'x'.repeat(65)]], 'model', 'is not a model name'],
    [[['key', KEY], ['model', 'text'], ['model-digest', 'abc']], 'model-digest', 'is not 64 hex digits'],
    [[['key', KEY], ['model', 'text'], ['model-digest', TEXT_DIGEST + '0']], 'model-digest', 'is not 64 hex digits'],
    [[['key', KEY], ['model', 'text'], ['model', 'bulk']], 'args', 'duplicate key "model"'],
  ] as Array<[Array<[string, string]>, string, string]>)('%j is refused (%s)', (args, argument, text) => {
    const r = refused(parseBridgeArgs(args));
    expect(r.argument).toBe(argument);
    expect(r.error).toContain(text);
  });

  test('a digest mismatch names both digests', () => {
    const wrong = 'ab'.repeat(32);
    const r = refused(parseBridgeArgs([['key', KEY], ['model', 'text'], ['model-digest', wrong]]));
    expect(r.argument).toBe('model-digest');
    expect(r.error).toBe(`model-digest mismatch for model "text": the bridge line says ${wrong}, the built-in model has ${TEXT_DIGEST}`);
  });
});

describe('parseBridgeArgs: models directory', () => {
  test('NAME.json is found, and needs its digest', () => {
    const resolver = new ModelResolver(dir);
    const r1 = refused(parseBridgeArgs([['key', KEY], ['model', 'custom']], resolver));
    expect(r1.argument).toBe('model-digest');
    expect(r1.error).toContain('needs model-digest=');
    const digest = customDigest;
    expect(digest).not.toBe(TEXT_DIGEST);
    const r = parseBridgeArgs([['key', KEY], ['model', 'custom'], ['model-digest', digest]], resolver);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.model.name).toBe('custom');
    expect(r.value.modelDigest).toBe(digest);
    expect(r.value.modelSource).toBe(join(dir, 'custom.json'));
  });

  test('the mismatch message names the file and both digests', () => {
    const r = refused(parseBridgeArgs([['key', KEY], ['model', 'custom'], ['model-digest', '1'.repeat(64)]], new ModelResolver(dir)));
    expect(r.error).toBe(`model-digest mismatch for model "custom": the bridge line says ${'1'.repeat(64)}, ${join(dir, 'custom.json')} has ${customDigest}`);
  });

  test('a built-in name never reads the directory', () => {
    const r = parseBridgeArgs([['key', KEY], ['model', 'text']], new ModelResolver(dir));
    expect(r.ok && r.value.model).toBe(getBuiltinModel('text'));
  });

  test('a missing file and a broken file are refused as model errors', () => {
    const resolver = new ModelResolver(dir);
    const missing = refused(parseBridgeArgs([['key', KEY], ['model', 'absent'], ['model-digest', TEXT_DIGEST]], resolver));
    expect(missing.argument).toBe('model');
    expect(missing.error).toContain(`${join(dir, 'absent.json')} cannot be read (ENOENT)`);
    const broken = refused(parseBridgeArgs([['key', KEY], ['model', 'broken'], ['model-digest', TEXT_DIGEST]], resolver));
    expect(broken.argument).toBe('model');
    expect(broken.error).toContain('is not valid JSON');
  });

  test('a changed file is read again', () => {
    const resolver = new ModelResolver(dir);
    const def = JSON.parse(serializeModel(getBuiltinModel('uniform')));
    writeFileSync(join(dir, 'changing.json'), JSON.stringify(def));
    const first = resolver.resolve('changing', modelDigest(getBuiltinModel('uniform')));
    expect(first.ok).toBe(true);
    def.duration_ms = { family: 'fixed', value: 777 };
    writeFileSync(join(dir, 'changing.json'), JSON.stringify(def, null, 1));
    const second = resolver.resolve('changing', modelDigest(getBuiltinModel('uniform')));
    expect(second.ok).toBe(false);
  });
});

describe('formatBridgeArgs', () => {
  test('key, model, full digest, in that order', () => {
    expect(formatBridgeArgs({ publicKey: PUBLIC_KEY, model: getBuiltinModel('bulk') })).toEqual([
      ['key', KEY],
      ['model', 'bulk'],
      ['model-digest', modelDigest(getBuiltinModel('bulk'))],
    ]);
  });

  test('round trip through the SOCKS argument string tor sends', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom('uniform', 'text', 'bulk'), (pk, name) => {
        const text = formatSocksArgs(formatBridgeArgs({ publicKey: pk, model: getBuiltinModel(name) }));
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(255); // fits in UNAME alone
        const parsed = parseSocksArgs(text);
        if (!parsed.ok) throw new Error(parsed.error);
        const r = parseBridgeArgs(parsed.value);
        if (!r.ok) throw new Error(r.error);
        expect(r.value.publicKey).toEqual(pk);
        expect(r.value.model).toBe(getBuiltinModel(name));
      }),
      { numRuns: 50 },
    );
  });

  test('misuse throws', () => {
    expect(() => formatBridgeArgs({ publicKey: new Uint8Array(31), model: getBuiltinModel('text') })).toThrow(TypeError);
    expect(() => formatBridgeArgs({ publicKey: PUBLIC_KEY, model: getBuiltinModel('text'), modelName: 'a b' })).toThrow(RangeError);
  });
});

describe('bridge lines', () => {
  const args = formatBridgeArgs({ publicKey: PUBLIC_KEY, model: getBuiltinModel('text') });

  test('placeholders like obfs4_bridgeline.txt', () => {
    expect(formatBridgeLine({ args })).toBe(`Bridge dust <IP ADDRESS>:<PORT> <FINGERPRINT> key=${KEY} model=text model-digest=${TEXT_DIGEST}`);
  });

  test('filled in, IPv6 bracketed', () => {
    const fp = 'a'.repeat(40);
    expect(formatBridgeLine({ address: { host: '2001:db8::1', port: 443 }, fingerprint: fp, args })).toBe(
      `Bridge dust [2001:db8::1]:443 ${'A'.repeat(40)} key=${KEY} model=text model-digest=${TEXT_DIGEST}`,
    );
    expect(formatBridgeLine({ port: 8443, args }).startsWith('Bridge dust <IP ADDRESS>:8443 <FINGERPRINT> key=')).toBe(true);
    expect(() => formatBridgeLine({ fingerprint: 'xyz', args })).toThrow(RangeError);
    expect(() => formatBridgeLine({ port: 0, args })).toThrow(RangeError);
  });

  test('parse: torrc form and short form', () => {
    const fp = 'B'.repeat(40);
    for (const line of [
      formatBridgeLine({ address: { host: '192.0.2.7', port: 9443 }, fingerprint: fp, args }),
      `dust 192.0.2.7:9443 ${fp} key=${KEY} model=text`,
      `  192.0.2.7:9443   key=${KEY} model=text  `,
    ]) {
      const r = parseBridgeLine(line);
      if (!r.ok) throw new Error(`${line}: ${r.error}`);
      expect(r.value.address).toEqual({ host: '192.0.2.7', port: 9443, family: 4 });
      expect(r.value.args.model).toBe(getBuiltinModel('text'));
    }
    const v6 = parseBridgeLine(`[2001:DB8::1]:443 key=${KEY} model=bulk`);
    expect(v6.ok && v6.value.address).toEqual({ host: '2001:db8::1', port: 443, family: 6 });
  });

  test.each([
    ['Bridge obfs4 192.0.2.7:1 key=x', 'transport "obfs4"'],
    ['', 'no IP:PORT'],
    ['bridge.example:443 key=x', 'not an IP string'],
    ['192.0.2.7 key=x', 'lacks a port part'],
    [`192.0.2.7:443 ZZZ key=${KEY} model=text`, 'not 40 hex digits'],
    [`192.0.2.7:443 key=${KEY} model`, 'is not k=v'],
    [`192.0.2.7:443 key=${KEY}`, "missing argument 'model'"],
  ])('parse refuses %j', (line, text) => {
    const r = parseBridgeLine(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(text);
  });
});
