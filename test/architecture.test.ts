/**
 * The sans-IO rule, kept honest: the protocol core never touches sockets, timers, the process or
 * the clock. Only drivers (src/drivers, src/pt, src/cli) may.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SANS_IO_DIRS = ['src/crypto', 'src/core', 'src/shaping', 'src/ensemble'];
const FORBIDDEN: Array<[RegExp, string]> = [
  [/from ['"]node:(net|dgram|tls|http|https|timers|fs|child_process|worker_threads)['"]/, 'an I/O module'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, 'a timer'],
  [/\bDate\.now\b|\bnew Date\(|\bperformance\.now\b/, 'the clock'],
  [/\bprocess\./, 'the process'],
];

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('sans-IO core', () => {
  const files = SANS_IO_DIRS.flatMap((d) => sourceFiles(d));
  test.each(files.length ? files : ['(none)'])('%s uses no I/O, timer or clock', (file) => {
    if (file === '(none)') return;
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const [pattern, what] of FORBIDDEN) {
      expect({ file, uses: pattern.test(text) ? what : null }).toEqual({ file, uses: null });
    }
  });
});
