/**
 * `HOST:PORT` and `[IPv6]:PORT` flags, checked with a message naming the flag.
 * @module
 */
import { UsageError } from './usage-error.js';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string, flag: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 0 || port > 65535) {
    throw new UsageError(`${flag} must be HOST:PORT or [IPv6]:PORT with a port in 0..65535, got ${JSON.stringify(text)}`);
  }
  return { host: match[1] ?? match[2]!, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
