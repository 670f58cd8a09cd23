/**
 * The managed-proxy environment (pt-spec §3.2; tor-pt.md §1): turns the `TOR_PT_*` variables tor
 * (or Arti) sets into a typed client or server configuration, or into the exact error lines tor
 * expects (tor-pt.md §1.2, texts as goptlib/obfs4proxy print them).
 *
 * The environment object is passed in; nothing here reads `process.env`. The whole environment is
 * validated before anything is printed, so every ENV-ERROR and VERSION-ERROR comes before
 * `VERSION 1`, the only time tor shows its text (tor-pt.md §1.2 "Important tor detail"). Only
 * PROXY-ERROR follows `VERSION 1`, because tor accepts it only then (pt-spec §3.3.2). Every error
 * sequence also carries a `LOG SEVERITY=error` line first, which tor accepts in any state.
 * @module
 */
import { isAbsolute } from 'node:path';
import { parseServerTransportOptions } from './args.js';
import {
  envErrorLine,
  formatIpAddress,
  goQuote,
  isLoopback,
  logLine,
  parseHostPort,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
  proxyErrorLine,
  versionErrorLine,
  versionLine,
  type IpAddress,
  type ParsedHostPort,
  type PtArgs,
} from './lines.js';

/** The transport this PT implements (DECISIONS.md "PT binary"). */
export const DUST_TRANSPORT = 'dust';

/** Upstream proxy schemes tor can put in `TOR_PT_PROXY` (tor `get_pt_proxy_uri()`). */
export type ProxyScheme = 'socks5' | 'socks4a' | 'http';
const ALL_PROXY_SCHEMES: readonly ProxyScheme[] = ['socks5', 'socks4a', 'http'];

/** `TOR_PT_PROXY`, parsed. User name and password are taken verbatim: tor does not percent-encode them. */
export interface UpstreamProxy {
  readonly scheme: ProxyScheme;
  /** IP literal, canonical, without brackets. */
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly username?: string;
  readonly password?: string;
}

/** What both modes share. */
export interface ManagedEnvCommon {
  /** The negotiated PT protocol version: always `'1'`. */
  readonly version: '1';
  /** `TOR_PT_STATE_LOCATION`: absolute; may not exist yet (the driver creates it, mode 0700). */
  readonly stateLocation: string;
  /** `TOR_PT_EXIT_ON_STDIN_CLOSE` is exactly `1`: exit gracefully when stdin closes. */
  readonly exitOnStdinClose: boolean;
  /** `TOR_PT_OUTBOUND_BIND_ADDRESS_V4`, canonical; see {@link outboundBindAddressFor}. */
  readonly outboundBindAddressV4?: string;
  /** `TOR_PT_OUTBOUND_BIND_ADDRESS_V6`, canonical, without the brackets tor adds. */
  readonly outboundBindAddressV6?: string;
  /** Requested transport names this PT does not implement, in order, without duplicates. */
  readonly ignoredTransports: readonly string[];
  /** Things the driver should pass on to tor as `LOG SEVERITY=warning` lines. */
  readonly warnings: readonly string[];
}

/** Client mode (`TOR_PT_CLIENT_TRANSPORTS`). */
export interface ClientEnv extends ManagedEnvCommon {
  readonly mode: 'client';
  /** Transports to launch: `['dust']` or `[]` (then print only `CMETHODS DONE`, pt-spec §3.3.2). */
  readonly transports: readonly string[];
  /** `TOR_PT_PROXY`; when set, the driver must print `PROXY DONE` before any CMETHOD. */
  readonly proxy?: UpstreamProxy;
}

/** One server transport to launch. */
export interface ServerTransportEnv {
  readonly name: string;
  /** Where to listen: from `TOR_PT_SERVER_BINDADDR`, or `0.0.0.0:0` when it names no address. */
  readonly bindAddress: ParsedHostPort;
  /** True when `TOR_PT_SERVER_BINDADDR` gave the address ("MUST be initialized using that", pt-spec §3.3.3). */
  readonly bindAddressGiven: boolean;
  /** This transport's `TOR_PT_SERVER_TRANSPORT_OPTIONS`, in order (duplicates kept). */
  readonly options: PtArgs;
}

/** Server mode (`TOR_PT_SERVER_TRANSPORTS`). */
export interface ServerEnv extends ManagedEnvCommon {
  readonly mode: 'server';
  readonly transports: readonly ServerTransportEnv[];
  /** `TOR_PT_ORPORT`: plain ORPort, used when there is no Extended ORPort. */
  readonly orPort?: ParsedHostPort;
  /** `TOR_PT_EXTENDED_SERVER_PORT` (empty means none). */
  readonly extOrPort?: ParsedHostPort;
  /** `TOR_PT_AUTH_COOKIE_FILE`; set whenever `extOrPort` is. Re-read it for every connection (tor bug 15240). */
  readonly authCookieFile?: string;
}

export type ManagedEnv = ClientEnv | ServerEnv;

/** Stable codes for setup failures. */
export type PtSetupErrorCode = 'DUST_ERR_PT_ENV' | 'DUST_ERR_PT_VERSION' | 'DUST_ERR_PT_PROXY';

/** A setup failure: print `lines` in order (through a PtLineWriter), then exit non-zero. */
export interface PtSetupError {
  readonly ok: false;
  readonly code: PtSetupErrorCode;
  readonly keyword: 'ENV-ERROR' | 'VERSION-ERROR' | 'PROXY-ERROR';
  /** The variable at fault. */
  readonly variable: string;
  /** Human-readable reason (for VERSION-ERROR the line itself only says `no-version`). */
  readonly message: string;
  /** The exact `*-ERROR` line, without newline. */
  readonly line: string;
  /** Everything to print, in order: `VERSION 1` (PROXY-ERROR only), a LOG line, then `line`. */
  readonly lines: readonly string[];
}

export type ManagedEnvResult = { readonly ok: true; readonly config: ManagedEnv } | PtSetupError;

/** Options for {@link parseManagedEnv}. */
export interface ManagedEnvOptions {
  /** Transport names this PT implements (default `['dust']`); `*` in a transport list means all of them. */
  readonly supportedTransports?: readonly string[];
  /** Upstream proxy schemes the driver can dial through (default: all three tor emits). */
  readonly proxySchemes?: readonly ProxyScheme[];
  /** Force a mode (e.g. from a command-line flag) instead of inferring it from which list is set. */
  readonly mode?: 'client' | 'server';
}

/** The environment shape: `process.env` fits. */
export type EnvLike = Readonly<Record<string, string | undefined>>;

function envError(variable: string, message: string): PtSetupError {
  const line = envErrorLine(message);
  return { ok: false, code: 'DUST_ERR_PT_ENV', keyword: 'ENV-ERROR', variable, message, line, lines: [logLine('error', message), line] };
}

function proxyError(message: string): PtSetupError {
  const line = proxyErrorLine(message);
  return {
    ok: false,
    code: 'DUST_ERR_PT_PROXY',
    keyword: 'PROXY-ERROR',
    variable: 'TOR_PT_PROXY',
    message,
    line,
    lines: [versionLine(), logLine('error', message), line],
  };
}

/** goptlib's `getenvRequired`: unset and empty are the same. */
function present(env: EnvLike, name: string): string | undefined {
  const value = env[name];
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`env.${name} must be a string or undefined`);
  return value === undefined || value === '' ? undefined : value;
}

function noVariable(name: string): PtSetupError {
  return envError(name, `no ${name} environment variable`);
}

/**
 * A transport list (`TOR_PT_CLIENT_TRANSPORTS`, `TOR_PT_SERVER_TRANSPORTS`). pt-spec §3.2.2:
 * "PTs SHOULD ignore PT names that it does not recognize", and unknown names "MUST NOT result in a
 * CMETHOD-ERROR message" (§3.3.2), so they are only reported in `ignored`.
 */
function splitTransports(list: string, supported: readonly string[]): { transports: string[]; ignored: string[] } {
  const transports: string[] = [];
  const ignored: string[] = [];
  for (const name of list.split(',')) {
    if (name === '') continue;
    const picked = name === '*' ? supported : supported.includes(name) ? [name] : [];
    if (picked.length === 0 && !ignored.includes(name)) ignored.push(name);
    for (const p of picked) if (!transports.includes(p)) transports.push(p);
  }
  return { transports, ignored };
}

/**
 * Parses `TOR_PT_PROXY` (pt-spec §3.2.2: `<proxy_type>://[<user_name>[:<password>][@]<ip>:<port>`).
 * tor emits `socks4a://ADDR:PORT`, `socks5://[USER:PASS@]ADDR:PORT` or `http://[AUTH@]ADDR:PORT`
 * with IP literals (IPv6 bracketed) and raw user/password (tor-pt.md §1). So the address is what
 * follows the last `@`, and the user name ends at the first `:`. Messages follow obfs4proxy and
 * lyrebird (tor-pt.md §1.2). Never throws on the text.
 */
export function parseProxyUri(text: string, schemes: readonly ProxyScheme[] = ALL_PROXY_SCHEMES): { ok: true; value: UpstreamProxy } | { ok: false; error: string } {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const sep = text.indexOf('://');
  if (sep < 0) return { ok: false, error: 'proxy URI is relative, must be absolute' };
  const schemeText = text.slice(0, sep).toLowerCase();
  if (!(schemes as readonly string[]).includes(schemeText)) return { ok: false, error: `proxy URI has invalid scheme: ${schemeText}` };
  const scheme = schemeText as ProxyScheme;
  const rest = text.slice(sep + 3);
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const hostPart = at >= 0 ? rest.slice(at + 1) : rest;
  for (const [ch, what] of [['/', 'a path'], ['?', 'a query'], ['#', 'a fragment']] as const) {
    if (hostPart.includes(ch)) return { ok: false, error: `proxy URI has ${what} defined` };
  }
  const addr = parseHostPort(hostPart);
  if (!addr.ok) return { ok: false, error: `proxy URI has invalid host: ${addr.error}` };
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    password = colon >= 0 ? userinfo.slice(colon + 1) : undefined;
  }
  const fieldOk = (s: string | undefined): boolean => s !== undefined && s.length > 0 && Buffer.byteLength(s, 'utf8') <= 255;
  if (scheme === 'socks4a' && password !== undefined) return { ok: false, error: 'proxy URI specified SOCKS4a and a password' };
  if (scheme === 'socks5' && userinfo !== undefined) {
    // RFC 1929: ULEN and PLEN are 1..255.
    if (!fieldOk(username)) return { ok: false, error: 'proxy URI specified a invalid SOCKS5 username' };
    if (!fieldOk(password)) return { ok: false, error: 'proxy URI specified a invalid SOCKS5 password' };
  }
  if (userinfo !== undefined && username === '') return { ok: false, error: 'proxy URI has an empty user name' };
  const { host, port, family } = addr.value;
  return {
    ok: true,
    value: { scheme, host, port, family, ...(username !== undefined && { username }), ...(password !== undefined && { password }) },
  };
}

/**
 * Reads the managed-proxy environment. Returns `{ ok: true, config }` or a {@link PtSetupError}
 * whose `lines` are exactly what to print before exiting. Checks run in pt-spec §3 order:
 * version, mode, common variables, then the mode's own, and `TOR_PT_PROXY` last.
 *
 * @example
 * const r = parseManagedEnv(process.env);
 * if (!r.ok) { for (const l of r.lines) out.writeLine(l); return 1; }
 */
export function parseManagedEnv(env: EnvLike, options: ManagedEnvOptions = {}): ManagedEnvResult {
  if (typeof env !== 'object' || env === null) throw new TypeError('env must be an object');
  const supported = options.supportedTransports ?? [DUST_TRANSPORT];
  if (!Array.isArray(supported) || supported.length === 0 || !supported.every((n) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n))) {
    throw new RangeError('options.supportedTransports must be a non-empty list of transport names');
  }

  // pt-spec §3.2.1 TOR_PT_MANAGED_TRANSPORT_VER: "All PTs MUST accept any well-formed list, as long
  // as a compatible version is present."
  const versions = present(env, 'TOR_PT_MANAGED_TRANSPORT_VER');
  if (versions === undefined) return noVariable('TOR_PT_MANAGED_TRANSPORT_VER');
  if (!versions.split(',').includes('1')) {
    const message = `no supported PT protocol version in TOR_PT_MANAGED_TRANSPORT_VER=${goQuote(versions)} (this PT speaks 1)`;
    const line = versionErrorLine();
    return {
      ok: false,
      code: 'DUST_ERR_PT_VERSION',
      keyword: 'VERSION-ERROR',
      variable: 'TOR_PT_MANAGED_TRANSPORT_VER',
      message,
      line,
      lines: [logLine('error', message), line],
    };
  }

  // pt-spec §3 step 3.2: the mode follows from which transport list is set.
  const clientList = present(env, 'TOR_PT_CLIENT_TRANSPORTS');
  const serverList = present(env, 'TOR_PT_SERVER_TRANSPORTS');
  let mode = options.mode;
  if (mode === undefined) {
    if (clientList !== undefined && serverList !== undefined) {
      return envError('TOR_PT_CLIENT_TRANSPORTS', 'TOR_PT_[CLIENT,SERVER]_TRANSPORTS both set');
    }
    if (clientList === undefined && serverList === undefined) {
      return envError('TOR_PT_CLIENT_TRANSPORTS', 'no TOR_PT_CLIENT_TRANSPORTS or TOR_PT_SERVER_TRANSPORTS environment variable (not launched as a managed transport?)');
    }
    mode = clientList !== undefined ? 'client' : 'server';
  } else if (mode !== 'client' && mode !== 'server') {
    throw new RangeError(`options.mode must be "client" or "server", got ${String(mode)}`);
  }

  const stateLocation = present(env, 'TOR_PT_STATE_LOCATION');
  if (stateLocation === undefined) return noVariable('TOR_PT_STATE_LOCATION');
  if (!isAbsolute(stateLocation)) {
    return envError('TOR_PT_STATE_LOCATION', `TOR_PT_STATE_LOCATION: ${goQuote(stateLocation)}: not an absolute path`);
  }

  // pt-spec §3.2.1: "PTs MUST NOT treat a closed stdin as a signal to terminate unless this
  // environment variable is set to "1"."
  const exitOnStdinClose = env.TOR_PT_EXIT_ON_STDIN_CLOSE === '1';

  // Not in pt-spec's text; tor sets them since 0.4.5.1-alpha. V6 comes bracketed (tor-pt.md §1).
  const v4Text = present(env, 'TOR_PT_OUTBOUND_BIND_ADDRESS_V4');
  let outboundBindAddressV4: string | undefined;
  if (v4Text !== undefined) {
    const v4 = parseIpv4(v4Text);
    if (v4 === undefined) return envError('TOR_PT_OUTBOUND_BIND_ADDRESS_V4', `TOR_PT_OUTBOUND_BIND_ADDRESS_V4: ${goQuote(v4Text)}: not an IPv4 address`);
    outboundBindAddressV4 = formatIpAddress(v4);
  }
  const v6Text = present(env, 'TOR_PT_OUTBOUND_BIND_ADDRESS_V6');
  let outboundBindAddressV6: string | undefined;
  if (v6Text !== undefined) {
    const inner = v6Text.startsWith('[') && v6Text.endsWith(']') ? v6Text.slice(1, -1) : v6Text;
    const v6 = parseIpv6(inner);
    if (v6 === undefined) return envError('TOR_PT_OUTBOUND_BIND_ADDRESS_V6', `TOR_PT_OUTBOUND_BIND_ADDRESS_V6: ${goQuote(v6Text)}: not an IPv6 address`);
    outboundBindAddressV6 = formatIpAddress(v6);
  }
  const common = {
    version: '1' as const,
    stateLocation,
    exitOnStdinClose,
    ...(outboundBindAddressV4 !== undefined && { outboundBindAddressV4 }),
    ...(outboundBindAddressV6 !== undefined && { outboundBindAddressV6 }),
  };

  if (mode === 'client') {
    if (clientList === undefined) return noVariable('TOR_PT_CLIENT_TRANSPORTS');
    const { transports, ignored } = splitTransports(clientList, supported);
    const proxyText = present(env, 'TOR_PT_PROXY');
    let proxy: UpstreamProxy | undefined;
    if (proxyText !== undefined) {
      const parsed = parseProxyUri(proxyText, options.proxySchemes ?? ALL_PROXY_SCHEMES);
      if (!parsed.ok) return proxyError(parsed.error);
      proxy = parsed.value;
    }
    const config: ClientEnv = { mode: 'client', ...common, transports, ignoredTransports: ignored, warnings: [], ...(proxy && { proxy }) };
    return { ok: true, config };
  }

  if (serverList === undefined) return noVariable('TOR_PT_SERVER_TRANSPORTS');
  const { transports: names, ignored } = splitTransports(serverList, supported);

  const optionsText = env.TOR_PT_SERVER_TRANSPORT_OPTIONS ?? '';
  const parsedOptions = parseServerTransportOptions(optionsText);
  if (!parsedOptions.ok) {
    return envError('TOR_PT_SERVER_TRANSPORT_OPTIONS', `TOR_PT_SERVER_TRANSPORT_OPTIONS: ${goQuote(optionsText)}: ${parsedOptions.error}`);
  }

  // pt-spec §3.2.3 TOR_PT_SERVER_BINDADDR: "A comma separated list of <key>-<value> pairs, where
  // <key> is a PT name and <value> is the <address>:<port> on which it should listen". tor always
  // sets it (goptlib requires it); Arti may set it empty, which here means "no specific address".
  const bindText = env.TOR_PT_SERVER_BINDADDR;
  if (bindText === undefined) return noVariable('TOR_PT_SERVER_BINDADDR');
  const binds = new Map<string, ParsedHostPort>();
  if (bindText !== '') {
    for (const spec of bindText.split(',')) {
      const dash = spec.indexOf('-');
      if (dash < 0) return envError('TOR_PT_SERVER_BINDADDR', `TOR_PT_SERVER_BINDADDR: ${goQuote(spec)}: doesn't contain "-"`);
      const name = spec.slice(0, dash);
      // "Applications MUST NOT set more than one <address>:<port> pair per PT name."
      if (binds.has(name)) return envError('TOR_PT_SERVER_BINDADDR', `TOR_PT_SERVER_BINDADDR: ${goQuote(spec)}: duplicate method name ${goQuote(name)}`);
      const addr = parseHostPort(spec.slice(dash + 1), { allowPortZero: true });
      if (!addr.ok) return envError('TOR_PT_SERVER_BINDADDR', `TOR_PT_SERVER_BINDADDR: ${goQuote(spec)}: ${addr.error}`);
      binds.set(name, addr.value);
    }
  }

  const orText = present(env, 'TOR_PT_ORPORT');
  let orPort: ParsedHostPort | undefined;
  if (orText !== undefined) {
    const addr = parseHostPort(orText);
    if (!addr.ok) return envError('TOR_PT_ORPORT', `cannot resolve TOR_PT_ORPORT ${goQuote(orText)}: ${addr.error}`);
    orPort = addr.value;
  }
  const authCookieFile = present(env, 'TOR_PT_AUTH_COOKIE_FILE');
  // pt-spec §3.2.3: a parent without ExtORPort "MUST set TOR_PT_EXTENDED_SERVER_PORT to an empty string".
  const extText = present(env, 'TOR_PT_EXTENDED_SERVER_PORT');
  let extOrPort: ParsedHostPort | undefined;
  const warnings: string[] = [];
  if (extText !== undefined) {
    if (authCookieFile === undefined) {
      return envError('TOR_PT_AUTH_COOKIE_FILE', 'need TOR_PT_AUTH_COOKIE_FILE environment variable with TOR_PT_EXTENDED_SERVER_PORT');
    }
    const addr = parseHostPort(extText);
    if (!addr.ok) return envError('TOR_PT_EXTENDED_SERVER_PORT', `cannot resolve TOR_PT_EXTENDED_SERVER_PORT ${goQuote(extText)}: ${addr.error}`);
    extOrPort = addr.value;
    // ext-orport-spec §4: "Pluggable transport proxies SHOULD issue a warning if they are
    // instructed to connect to a non-localhost Extended ORPort."
    if (!isLoopback(parseIpAddress(extOrPort.host)!)) {
      warnings.push('the Extended ORPort is not on localhost: its traffic, client addresses included, is not encrypted');
    }
  }
  if (orPort === undefined && extOrPort === undefined) {
    return envError('TOR_PT_ORPORT', 'need TOR_PT_ORPORT or TOR_PT_EXTENDED_SERVER_PORT environment variable');
  }

  const transports: ServerTransportEnv[] = names.map((name) => {
    const given = binds.get(name);
    return {
      name,
      bindAddress: given ?? { host: '0.0.0.0', port: 0, family: 4 },
      bindAddressGiven: given !== undefined,
      options: parsedOptions.value.get(name) ?? [],
    };
  });
  const config: ServerEnv = {
    mode: 'server',
    ...common,
    transports,
    ignoredTransports: ignored,
    warnings,
    ...(orPort && { orPort }),
    ...(extOrPort && { extOrPort, authCookieFile }),
  };
  return { ok: true, config };
}

/**
 * The local address to bind an outgoing connection to, or undefined for the OS default: the
 * configured `TOR_PT_OUTBOUND_BIND_ADDRESS_*` of the destination's family, except for loopback
 * destinations, where tor-pt.md §1 says the setting "MUST be ignored".
 */
export function outboundBindAddressFor(config: ManagedEnvCommon, destination: IpAddress): string | undefined {
  if (isLoopback(destination)) return undefined;
  return destination.family === 4 ? config.outboundBindAddressV4 : config.outboundBindAddressV6;
}
