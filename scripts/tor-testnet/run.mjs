#!/usr/bin/env node
/**
 * Proof with real tor (issue 5): a private Tor network on 127.0.0.1 — 3 directory authorities (also
 * exits), 1 exit relay, 1 bridge running the pluggable transport under test as
 * `ServerTransportPlugin`, 1 bridge client running it as `ClientTransportPlugin` with the bridge line
 * the server PT wrote to its state directory — and a download of a random file through the client's
 * SocksPort from a local HTTP server. Topology and options: /work/shared/spec/tor-testnet-notes.md;
 * torrc lines: tor-pt.md §5.6.
 *
 * Passes (exit status 0) when the client logs "Bootstrapped 100%" and the file arrives with the right
 * sha256. Fails (exit status 1) when any tor logs that a managed proxy died or exited, when a tor
 * exits by itself, or on timeout. Every process it started (and every process those started, such as
 * the managed proxies) is stopped by PID before it exits, whatever happened; SIGINT/SIGTERM to the
 * runner count as a failure and clean up the same way.
 *
 * Usage: node scripts/tor-testnet/run.mjs [--transport dust|obfs4|none] [--pt dist/dust.cjs]
 *          [--build] [--pt-arg ARG]... [--server-options "k=v ..."] [--size BYTES] [--timeout SEC]
 *          [--keep] [--show-torrc]
 *   --transport  dust (default): node + the dust bundle; obfs4: Debian's obfs4proxy (a reference
 *                run); none: a plain bridge reached on its ORPort (to debug the network alone).
 *   --pt         the dust bundle (default <repo>/dist/dust.cjs); --build runs `npm run build` first.
 *   --pt-arg     an extra argument for the PT command line (repeatable), e.g. -enableLogging.
 *   --server-options  the bridge's `ServerTransportOptions` for the transport. For dust the default
 *                is `model=bulk`: the default model (`uniform`, 20 packets/s) moves ~15 kB/s, so
 *                a 20 MiB download would take half an hour; pass "" for the PT's default.
 *   --keep       keep the temporary directory (it is always kept on failure).
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchViaSocks, startFileServer } from './fetch.mjs';
import { startProcess, stopAll } from './procs.mjs';
import {
  authorityLines,
  bridgeLines,
  clientLines,
  commonLines,
  exitRelayLines,
  makeBridgeLine,
} from './torrc.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** tor log lines that mean the managed proxy under test failed (tor 0.4.9 wording, transports.c/process). */
const PT_FAILURE = [
  /Managed proxy at '.*' died in state/,
  /Managed proxy ".*" having PID \d+ terminated with status code/,
  /Managed proxy ".*" having PID \d+ has exited/,
  /Managed proxy at '.*' failed the configuration protocol/,
  /Managed proxy at '.*' failed at launch/,
  /Managed proxy '.*' was spawned successfully, but it didn't launch any pluggable transport listeners/,
  /Managed proxy couldn't understand the pluggable transport environment variables/,
  /Managed proxy could not pick a configuration protocol version/,
  /managed proxy encountered a method error/,
];

// ---------------------------------------------------------------------------------------------
// Options

const { values: opt } = parseArgs({
  options: {
    transport: { type: 'string', default: 'dust' },
    pt: { type: 'string' },
    build: { type: 'boolean', default: false },
    'pt-arg': { type: 'string', multiple: true, default: [] },
    'server-options': { type: 'string' },
    size: { type: 'string', default: String(20 * 1024 * 1024) },
    timeout: { type: 'string', default: '240' },
    keep: { type: 'boolean', default: false },
    'show-torrc': { type: 'boolean', default: false },
  },
  strict: true,
});

function usage(message) {
  process.stderr.write(`tor-testnet: ${message}\n`);
  process.exit(2);
}

/** Absolute path of `name` on PATH, or null. */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

const transportName = opt.transport;
if (!['dust', 'obfs4', 'none'].includes(transportName)) usage(`unknown --transport ${transportName}`);
const fileSize = Number(opt.size);
if (!Number.isSafeInteger(fileSize) || fileSize < 1) usage(`--size must be a positive integer, got ${opt.size}`);
const timeoutSec = Number(opt.timeout);
if (!(timeoutSec > 0)) usage(`--timeout must be a positive number of seconds, got ${opt.timeout}`);

const torBin = which('tor');
const gencertBin = which('tor-gencert');
if (torBin === null || gencertBin === null) usage('tor and tor-gencert must be on PATH (apt-get install -y tor)');

/** @type {import('./torrc.mjs').Transport | undefined} */
let transport;
if (transportName === 'dust') {
  if (opt.build) execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' });
  const pt = resolve(opt.pt ?? join(REPO, 'dist', 'dust.cjs'));
  if (!existsSync(pt)) usage(`${pt} does not exist: run \`npm run build\` first, or pass --build or --pt`);
  transport = { name: 'dust', exec: [process.execPath, pt, ...opt['pt-arg']] };
  opt['server-options'] ??= 'model=bulk';
} else if (transportName === 'obfs4') {
  const bin = which('obfs4proxy');
  if (bin === null) usage('obfs4proxy is not on PATH (apt-get install -y obfs4proxy)');
  transport = { name: 'obfs4', exec: [bin, ...opt['pt-arg']] };
}

// ---------------------------------------------------------------------------------------------
// Failure, deadline and cleanup

const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const say = (line) => process.stdout.write(`[${elapsed().toFixed(1).padStart(6)}s] ${line}\n`);

/** @type {import('./procs.mjs').Proc[]} */
const procs = [];
let tearingDown = false;
let step = 'starting';
/** @type {string | null} */
let failure = null;
/** @type {(err: Error) => void} */
let rejectFailed = () => {};
/** Rejects on the first failure; every wait races against it. */
const failed = new Promise((_, reject) => {
  rejectFailed = reject;
});
failed.catch(() => {});

/** Aborts the short-lived helpers still running when the run fails. */
const toolAbort = new AbortController();

function fail(reason) {
  if (failure !== null || tearingDown) return;
  failure = reason;
  toolAbort.abort();
  rejectFailed(new Error(reason));
}

const deadline = setTimeout(() => fail(`timeout after ${timeoutSec} s while ${step}`), timeoutSec * 1000);
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(sig, () => fail(`interrupted by ${sig} while ${step}`));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `ms` until it returns a value other than undefined/false; aborts on failure. */
async function waitFor(what, check, ms = 100) {
  step = `waiting for ${what}`;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    await Promise.race([sleep(ms), failed]);
  }
}

// ---------------------------------------------------------------------------------------------
// Network setup

const dir = mkdtempSync(join(tmpdir(), 'dust-testnet-'));
const emptyDefaults = join(dir, 'empty-defaults');
writeFileSync(emptyDefaults, '');

/** Free TCP ports on 127.0.0.1, all distinct (every listener is held open until all are known). */
async function freePorts(n) {
  const servers = [];
  const ports = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise((res, rej) => {
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => res(undefined));
    });
    servers.push(s);
    ports.push(/** @type {import('node:net').AddressInfo} */ (s.address()).port);
  }
  await Promise.all(servers.map((s) => new Promise((res) => s.close(() => res(undefined)))));
  return ports;
}

/** Creates a tor data directory; tor insists on mode 0700. */
function dataDir(nickname) {
  const d = join(dir, nickname);
  mkdirSync(join(d, 'keys'), { recursive: true, mode: 0o700 });
  return d;
}

/**
 * Runs a short-lived helper (tor-gencert, tor --list-fingerprint) to completion. It is killed by
 * PID if the run fails meanwhile (the AbortSignal) or after 60 s.
 */
function runTool(file, args, input) {
  return new Promise((res, rej) => {
    const child = execFile(file, args, { signal: toolAbort.signal, timeout: 60_000 }, (err, _stdout, stderr) => {
      if (err) rej(new Error(`${file} ${args.join(' ')} failed: ${err.message} ${stderr}`));
      else res(undefined);
    });
    child.stdin?.end(input ?? '');
  });
}

/** The relay identity fingerprint, generating the keys in `d` (tor --list-fingerprint). */
async function relayFingerprint(d, nickname, orPort) {
  await runTool(torBin, ['--defaults-torrc', emptyDefaults, '-f', emptyDefaults, '--list-fingerprint',
    '--DataDirectory', d, '--ORPort', `127.0.0.1:${orPort}`, '--Nickname', nickname, '--Log', 'err stderr']);
  const [name, fp] = readFileSync(join(d, 'fingerprint'), 'utf8').trim().split(/\s+/);
  if (name !== nickname || !/^[0-9A-F]{40}$/.test(fp)) throw new Error(`bad fingerprint file in ${d}`);
  return fp;
}

/** Authority keys (tor-gencert, empty passphrase) and the v3ident of the certificate it writes. */
async function authorityIdent(d, dirPort) {
  const k = join(d, 'keys');
  await runTool(gencertBin, ['--create-identity-key', '--passphrase-fd', '0', '-m', '12', '-a', `127.0.0.1:${dirPort}`,
    '-i', join(k, 'authority_identity_key'), '-s', join(k, 'authority_signing_key'),
    '-c', join(k, 'authority_certificate')], '\n');
  const m = /^fingerprint ([0-9A-F]{40})$/m.exec(readFileSync(join(k, 'authority_certificate'), 'utf8'));
  if (m === null) throw new Error(`no fingerprint in ${k}/authority_certificate`);
  return m[1];
}

/** Per-tor log state the runner reacts to. */
const bootstrapped = new Map();
const registered = new Map();

function startTor(nickname, d, lines) {
  const torrc = join(d, 'torrc');
  writeFileSync(torrc, `${lines.join('\n')}\n`);
  const proc = startProcess({
    name: `tor ${nickname}`,
    command: torBin,
    args: ['--defaults-torrc', emptyDefaults, '-f', torrc],
    cwd: d,
    logFile: join(d, 'tor.log'),
    onLine: (line) => {
      if (tearingDown) return;
      if (PT_FAILURE.some((re) => re.test(line))) fail(`${nickname}: ${line}`);
      if (/Bootstrapped 100%/.test(line)) bootstrapped.set(nickname, elapsed());
      const reg = /Registered server transport '([^']+)' at '([^']+)'/.exec(line);
      if (reg !== null) registered.set(nickname, reg);
      if (/\[err\]/.test(line)) fail(`${nickname}: ${line}`);
    },
  });
  procs.push(proc);
  proc.exited.then(() => {
    if (!tearingDown) fail(`${proc.name} (pid ${proc.pid}) exited by itself: ${JSON.stringify(proc.exit)}`);
  });
  say(`started ${proc.name} (pid ${proc.pid})`);
  return proc;
}

/** The last `n` lines of a text file, or a note that it is missing. */
function tail(file, n) {
  if (!existsSync(file)) return ['(missing)'];
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return lines.slice(-n);
}

/** Log files a tor's managed proxies may keep in its pt_state directory (e.g. -enableLogging). */
function ptLogs(d) {
  const s = join(d, 'pt_state');
  if (!existsSync(s)) return [];
  return readdirSync(s)
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(s, f));
}

/** Bytes per second as MB/s, or kB/s below 1 MB/s (shaped models can be slow on purpose). */
function rate(bytesPerSec) {
  return bytesPerSec >= 1e6 ? `${(bytesPerSec / 1e6).toFixed(1)} MB/s` : `${(bytesPerSec / 1e3).toFixed(1)} kB/s`;
}

/** @type {Awaited<ReturnType<typeof startFileServer>> | null} */
let files = null;
const summary = [];
let torrcs = [];

async function main() {
  say(`tor-testnet: transport ${transportName}, ${fileSize} bytes, directory ${dir}`);
  const [
    a0Or, a0Dir, a1Or, a1Dir, a2Or, a2Dir, exitOr, bridgeOr, ptPort, socksPort,
  ] = await freePorts(10);
  files = await startFileServer(fileSize);
  say(`HTTP server on 127.0.0.1:${files.port}, sha256 ${files.sha256.slice(0, 16)}…`);

  step = 'generating keys';
  // RSA key generation takes a few seconds per authority: all helpers run at once.
  const exitDir = dataDir('exit0');
  const bridgeDir = dataDir('bridge');
  const clientDir = dataDir('client');
  const [authorities, , bridgeFp] = await Promise.race([
    Promise.all([
      Promise.all(
        [
          ['auth0', a0Or, a0Dir],
          ['auth1', a1Or, a1Dir],
          ['auth2', a2Or, a2Dir],
        ].map(async ([nickname, orPort, dirPort]) => {
          const d = dataDir(nickname);
          const [v3ident, fingerprint] = await Promise.all([authorityIdent(d, dirPort), relayFingerprint(d, nickname, orPort)]);
          return { nickname, orPort, dirPort, v3ident, fingerprint, d };
        }),
      ),
      relayFingerprint(exitDir, 'exit0', exitOr),
      relayFingerprint(bridgeDir, 'bridge', bridgeOr),
    ]),
    failed,
  ]);
  say('keys generated');

  const common = (nickname, d) => commonLines({ nickname, dataDir: d, ownerPid: process.pid, authorities });
  step = 'starting the network';
  for (const a of authorities) startTor(a.nickname, a.d, [...common(a.nickname, a.d), ...authorityLines(a)]);
  startTor('exit0', exitDir, [...common('exit0', exitDir), ...exitRelayLines({ orPort: exitOr })]);
  const bridgeTorrc = bridgeLines({ orPort: bridgeOr, transport, ptPort, serverOptions: opt['server-options'] });
  startTor('bridge', bridgeDir, [...common('bridge', bridgeDir), ...bridgeTorrc]);

  let bridgeLine;
  if (transport !== undefined) {
    const lineFile = join(bridgeDir, 'pt_state', `${transport.name}_bridgeline.txt`);
    const ptLine = await waitFor(`${lineFile}`, () => {
      if (!existsSync(lineFile)) return undefined;
      return readFileSync(lineFile, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`Bridge ${transport.name} `));
    });
    say(`bridge line from the server PT: ${ptLine.trim()}`);
    bridgeLine = makeBridgeLine({ transport: transport.name, host: '127.0.0.1', port: ptPort, fingerprint: bridgeFp, ptLine });
    const reg = await waitFor(`tor to register the server transport`, () => registered.get('bridge'));
    if (reg[1] !== transport.name || reg[2] !== `127.0.0.1:${ptPort}`) {
      throw new Error(`bridge registered transport ${reg[1]} at ${reg[2]}, expected ${transport.name} at 127.0.0.1:${ptPort}`);
    }
  } else {
    bridgeLine = makeBridgeLine({ host: '127.0.0.1', port: bridgeOr, fingerprint: bridgeFp });
  }
  // The client fetches the consensus from the bridge: start it once the bridge has one.
  await waitFor('the bridge to bootstrap (first consensus)', () => bootstrapped.has('bridge'), 200);
  const networkReady = elapsed();
  say(`network ready: bridge bootstrapped`);
  summary.push(`network ready (bridge bootstrapped${transport ? ', bridge line written' : ''}): ${networkReady.toFixed(1)} s`);

  const clientTorrc = clientLines({ socksPort, bridgeLine, transport });
  torrcs = [['bridge', bridgeTorrc], ['client', clientTorrc]];
  const clientStart = elapsed();
  startTor('client', clientDir, [...common('client', clientDir), ...clientTorrc]);
  await waitFor('the client to log "Bootstrapped 100%"', () => bootstrapped.has('client'), 50);
  const bootstrapSec = bootstrapped.get('client') - clientStart;
  say(`client bootstrapped in ${bootstrapSec.toFixed(1)} s`);
  summary.push(`client bootstrap: ${bootstrapSec.toFixed(1)} s (Bootstrapped 100% after the client started)`);

  // A first circuit can still fail right after bootstrap (an exit not yet usable): retry a few
  // times, but only when no body byte had arrived. The run's deadline bounds every attempt.
  step = 'fetching the file through the client SocksPort';
  let result;
  for (let attempt = 1; ; attempt++) {
    try {
      const timeoutMs = Math.max(1000, timeoutSec * 1000 - performance.now() + t0);
      result = await Promise.race([fetchViaSocks({ socksPort, targetPort: files.port, timeoutMs }), failed]);
      break;
    } catch (err) {
      if (failure !== null || attempt >= 5 || err.bodyStarted === true) throw err;
      say(`fetch attempt ${attempt} failed: ${err.message}; retrying`);
      await Promise.race([sleep(2000), failed]);
    }
  }
  const ok = result.sha256 === files.sha256;
  const bodySec = (result.totalMs - result.connectMs) / 1000;
  summary.push(
    `fetch ${(result.bytes / 1048576).toFixed(1)} MiB: ${(result.totalMs / 1000).toFixed(2)} s, ` +
      `${rate(result.bytes / bodySec)} after the SOCKS CONNECT (${result.connectMs.toFixed(0)} ms), ` +
      `first byte at ${result.firstByteMs.toFixed(0)} ms, sha256 ${ok ? 'OK' : `MISMATCH ${result.sha256}`}`,
  );
  if (!ok) throw new Error(`sha256 mismatch: got ${result.sha256}, expected ${files.sha256}`);
  // A managed proxy that died during the download is a failure even though the bytes arrived.
  await Promise.race([sleep(200), failed]);
  if (failure !== null) throw new Error(failure);
}

let exitCode = 1;
try {
  await main();
  exitCode = failure === null ? 0 : 1;
} catch (err) {
  if (failure === null) failure = err instanceof Error ? err.message : String(err);
}
clearTimeout(deadline);
toolAbort.abort();
tearingDown = true;
step = 'stopping';
const killed = await stopAll(procs, 10_000);
await files?.close();

if (opt['show-torrc'] || exitCode !== 0) {
  for (const [name, lines] of torrcs) {
    process.stdout.write(`--- ${name} torrc (role lines) ---\n${lines.join('\n')}\n`);
  }
}
if (exitCode !== 0) {
  process.stdout.write(`tor-testnet: FAIL (${transportName}): ${failure}\n`);
  for (const name of ['auth0', 'exit0', 'bridge', 'client']) {
    const d = join(dir, name);
    process.stdout.write(`--- ${name}/tor.log (last lines) ---\n${tail(join(d, 'tor.log'), 15).join('\n')}\n`);
    for (const f of ptLogs(d)) process.stdout.write(`--- ${f} (last lines) ---\n${tail(f, 15).join('\n')}\n`);
  }
  process.stdout.write(`kept ${dir}\n`);
} else {
  process.stdout.write(`tor-testnet: PASS (${transportName})\n`);
}
for (const line of summary) process.stdout.write(`  ${line}\n`);
process.stdout.write(`  stopped ${procs.length} tor processes and their managed proxies by PID (${killed.length} needed SIGKILL)\n`);
for (const k of killed) process.stdout.write(`  ${k}\n`);
if (exitCode === 0 && !opt.keep) rmSync(dir, { recursive: true, force: true });
else if (exitCode === 0) process.stdout.write(`kept ${dir}\n`);
process.exitCode = exitCode;
// Nothing should be left running; if something is, do not hang the caller.
setTimeout(() => process.exit(exitCode), 2000).unref();
