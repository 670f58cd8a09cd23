/**
 * pt-spec §3.2.2 TOR_PT_PROXY (prop 232: socks5, socks4a, http CONNECT) and
 * TOR_PT_OUTBOUND_BIND_ADDRESS_V4/V6 (tor-pt.md §1), against fake proxies in this file.
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createDialer, DialError } from '../src/pt/proxy-dial.js';
import type { UpstreamProxy } from '../src/pt/env.js';

const servers: Array<{ close(): void }> = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

/** An echo server that also remembers the peer address of each connection. */
async function echoServer(host = '127.0.0.1'): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    peers.push(s.remoteAddress!);
    s.pipe(s);
  });
  return { port: await listen(server, host), peers };
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  sockets.push(socket);
  socket.resume();
  socket.write(text);
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) resolve(got);
    });
  });
}

/** A minimal SOCKS5/SOCKS4 proxy: records what the client sent, answers `reply` (0 = connect and pipe). */
async function fakeSocksProxy(reply = 0): Promise<{ port: number; seen: Array<{ version: number; user?: string; pass?: string; host: string; port: number }> }> {
  const seen: Array<{ version: number; user?: string; pass?: string; host: string; port: number }> = [];
  const server = createServer((s) => {
    sockets.push(s);
    let buf = Buffer.alloc(0);
    let stage = 0;
    let user: string | undefined;
    let pass: string | undefined;
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (stage === 0 && buf.length >= 1 && buf[0] === 4) {
          const nul = buf.indexOf(0, 8);
          if (nul < 0) return;
          const host = `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
          const port = buf.readUInt16BE(2);
          seen.push({ version: 4, user: buf.subarray(8, nul).toString(), host, port });
          buf = buf.subarray(nul + 1);
          if (reply !== 0) return void s.end(Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]));
          s.removeListener('data', onData);
          const up = connect(port, host, () => {
            s.write(Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]));
            s.pipe(up).pipe(s);
          });
          sockets.push(up);
          return;
        }
        if (stage === 0) {
          if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
          const methods = [...buf.subarray(2, 2 + buf[1]!)];
          buf = buf.subarray(2 + buf[1]!);
          const m = methods.includes(2) ? 2 : 0;
          s.write(Buffer.from([5, m]));
          stage = m === 2 ? 1 : 2;
        } else if (stage === 1) {
          if (buf.length < 2) return;
          const ulen = buf[1]!;
          if (buf.length < 3 + ulen) return;
          const plen = buf[2 + ulen]!;
          if (buf.length < 3 + ulen + plen) return;
          user = buf.subarray(2, 2 + ulen).toString();
          pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
          buf = buf.subarray(3 + ulen + plen);
          s.write(Buffer.from([1, 0]));
          stage = 2;
        } else {
          if (buf.length < 5) return;
          const len = buf[3] === 1 ? 4 : buf[3] === 4 ? 16 : 1 + buf[4]!;
          if (buf.length < 4 + len + 2) return;
          const addr = buf.subarray(4, 4 + len);
          const host = buf[3] === 1 ? [...addr].join('.') : buf[3] === 4 ? (addr.toString('hex').match(/.{4}/g)!.join(':')) : addr.subarray(1).toString();
          const port = buf.readUInt16BE(4 + len);
          seen.push({ version: 5, ...(user !== undefined && { user, pass }), host, port });
          s.removeListener('data', onData);
          if (reply !== 0) return void s.end(Buffer.from([5, reply, 0, 1, 0, 0, 0, 0, 0, 0]));
          const up = connect(port, buf[3] === 1 ? host : '::1', () => {
            s.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
            s.pipe(up).pipe(s);
          });
          sockets.push(up);
          return;
        }
      }
    };
    s.on('data', onData);
  });
  return { port: await listen(server), seen };
}

const proxy = (scheme: UpstreamProxy['scheme'], port: number, extra: Partial<UpstreamProxy> = {}): UpstreamProxy => ({
  scheme,
  host: '127.0.0.1',
  port,
  family: 4,
  ...extra,
});

describe('direct', () => {
  test('connects and keeps the socket error code', async () => {
    const echo = await echoServer();
    const dial = createDialer();
    expect(await roundTrip(await dial('127.0.0.1', echo.port), 'hello')).toBe('hello');
    const closed = createServer();
    const port = await listen(closed);
    closed.close();
    await expect(dial('127.0.0.1', port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('refuses a host name and a bad port', async () => {
    const dial = createDialer();
    await expect(dial('localhost', 80)).rejects.toBeInstanceOf(DialError);
    await expect(dial('127.0.0.1', 0)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  test('the outbound bind address is ignored for loopback destinations', async () => {
    const echo = await echoServer();
    const dial = createDialer({ bind: { outboundBindAddressV4: '192.0.2.1' } });
    expect(await roundTrip(await dial('127.0.0.1', echo.port), 'x')).toBe('x');
    expect(echo.peers).toEqual(['127.0.0.1']);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  (external ? test : test.skip)('the outbound bind address is used for other destinations', async () => {
    const echo = await echoServer('0.0.0.0');
    const dial = createDialer({ bind: { outboundBindAddressV4: '127.0.0.9' } });
    expect(await roundTrip(await dial(external!.address, echo.port), 'y')).toBe('y');
    expect(echo.peers).toEqual(['127.0.0.9']);
  });
});

describe('TOR_PT_PROXY', () => {
  test('socks5 without and with credentials', async () => {
    const echo = await echoServer();
    const p = await fakeSocksProxy();
    expect(await roundTrip(await createDialer({ proxy: proxy('socks5', p.port) })('127.0.0.1', echo.port), 'one')).toBe('one');
    const withAuth = createDialer({ proxy: proxy('socks5', p.port, { username: 'user', password: 'p:a@ss' }) });
    expect(await roundTrip(await withAuth('127.0.0.1', echo.port), 'two')).toBe('two');
    expect(p.seen).toEqual([
      { version: 5, host: '127.0.0.1', port: echo.port },
      { version: 5, user: 'user', pass: 'p:a@ss', host: '127.0.0.1', port: echo.port },
    ]);
  });

  test('socks5: an IPv6 bridge goes as an IPv6 address', async () => {
    const echo = await echoServer('::1');
    const p = await fakeSocksProxy();
    expect(await roundTrip(await createDialer({ proxy: proxy('socks5', p.port) })('::1', echo.port), 'v6')).toBe('v6');
    expect(p.seen[0]!.host).toBe('0000:0000:0000:0000:0000:0000:0000:0001');
  });

  test('socks5: the proxy refusal becomes a code tor can be told', async () => {
    const refusing = await fakeSocksProxy(5);
    await expect(createDialer({ proxy: proxy('socks5', refusing.port) })('127.0.0.1', 1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const unreachable = await fakeSocksProxy(4);
    await expect(createDialer({ proxy: proxy('socks5', unreachable.port) })('127.0.0.1', 1)).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
  });

  test('socks4a: IPv4 works, IPv6 is refused before dialling', async () => {
    const echo = await echoServer();
    const p = await fakeSocksProxy();
    expect(await roundTrip(await createDialer({ proxy: proxy('socks4a', p.port) })('127.0.0.1', echo.port), 'four')).toBe('four');
    expect(p.seen).toEqual([{ version: 4, user: '', host: '127.0.0.1', port: echo.port }]);
    await expect(createDialer({ proxy: proxy('socks4a', p.port) })('2001:db8::1', 443)).rejects.toMatchObject({ code: 'EAFNOSUPPORT' });
    const refusing = await fakeSocksProxy(1);
    await expect(createDialer({ proxy: proxy('socks4a', refusing.port) })('127.0.0.1', 1)).rejects.toMatchObject({ code: 'DUST_ERR_PROXY' });
  });

  test('a proxy that is down: the TCP error code', async () => {
    const closed = createServer();
    const port = await listen(closed);
    closed.close();
    for (const scheme of ['socks5', 'socks4a', 'http'] as const) {
      await expect(createDialer({ proxy: proxy(scheme, port) })('127.0.0.1', 1)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
  });

  test('a proxy that never answers: ETIMEDOUT', async () => {
    const silent = createServer((s) => sockets.push(s));
    const port = await listen(silent);
    for (const scheme of ['socks5', 'http'] as const) {
      await expect(createDialer({ proxy: proxy(scheme, port), timeoutMs: 200 })('127.0.0.1', 1)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    }
  });

  describe('http CONNECT', () => {
    async function httpProxy(status = 200, early = ''): Promise<{ port: number; requests: IncomingMessage[] }> {
      const requests: IncomingMessage[] = [];
      const server = createHttpServer();
      server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
        requests.push(req);
        sockets.push(client);
        if (status !== 200) return void client.end(`HTTP/1.1 ${status} Nope\r\n\r\n`);
        const [host, port] = [req.url!.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''), Number(/:(\d+)$/.exec(req.url!)![1])];
        const up = connect(port, host, () => {
          client.write(`HTTP/1.1 200 Connection established\r\nX-Test: 1\r\n\r\n${early}`);
          if (head.length) up.write(head);
          client.pipe(up).pipe(client);
        });
        sockets.push(up);
      });
      return { port: await listen(server as unknown as Server), requests };
    }

    test('tunnels, with Basic credentials taken verbatim', async () => {
      const echo = await echoServer();
      const p = await httpProxy();
      const dial = createDialer({ proxy: proxy('http', p.port, { username: 'us er', password: 'pw' }) });
      expect(await roundTrip(await dial('127.0.0.1', echo.port), 'through http')).toBe('through http');
      expect(p.requests[0]!.url).toBe(`127.0.0.1:${echo.port}`);
      expect(p.requests[0]!.headers['proxy-authorization']).toBe(`Basic ${Buffer.from('us er:pw').toString('base64')}`);
      expect(p.requests[0]!.headers.host).toBe(`127.0.0.1:${echo.port}`);
    });

    test('IPv6 authority in brackets; bytes after the head are kept', async () => {
      const echo = await echoServer('::1');
      const p = await httpProxy(200, 'EARLY');
      const socket = await createDialer({ proxy: proxy('http', p.port) })('::1', echo.port);
      expect(p.requests[0]!.url).toBe(`[::1]:${echo.port}`);
      expect(p.requests[0]!.headers['proxy-authorization']).toBeUndefined();
      expect(await roundTrip(socket, '')).toBe('EARLY');
    });

    test.each([
      [407, 'EACCES'],
      [403, 'EACCES'],
      [502, 'EHOSTUNREACH'],
      [504, 'ETIMEDOUT'],
      [500, 'DUST_ERR_PROXY'],
    ])('status %d refuses with %s', async (status, code) => {
      const p = await httpProxy(status);
      await expect(createDialer({ proxy: proxy('http', p.port) })('127.0.0.1', 1)).rejects.toMatchObject({ code, message: expect.stringContaining(`${status}`) });
    });
  });
});
