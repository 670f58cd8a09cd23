/**
 * The download target and the download: a node HTTP server on 127.0.0.1 serving one random file,
 * and an HTTP/1.0 GET through a SOCKS5 proxy (RFC 1928, no authentication, IPv4 CONNECT) that
 * hashes the body as it arrives.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { connect } from 'node:net';

/**
 * Starts an HTTP server on 127.0.0.1 (free port) that serves `size` random bytes at `/file`.
 * @param {number} size
 * @returns {Promise<{ port: number, sha256: string, size: number, close: () => Promise<void> }>}
 */
export async function startFileServer(size) {
  const body = randomBytes(size);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const server = createServer((req, res) => {
    if (req.url !== '/file') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    res.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  const close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve(undefined));
    });
  return { port, sha256, size, close };
}

/** SOCKS5 reply codes (RFC 1928 §6), for error messages. */
const SOCKS_REPLIES = [
  'succeeded',
  'general SOCKS server failure',
  'connection not allowed by ruleset',
  'Network unreachable',
  'Host unreachable',
  'Connection refused',
  'TTL expired',
  'Command not supported',
  'Address type not supported',
];

/** What the client waits for in each phase, for error messages. */
const PHASES = ['the SOCKS greeting', 'the SOCKS CONNECT reply', 'the HTTP response head', 'the body'];

/**
 * Fetches `http://127.0.0.1:targetPort/file` through the SOCKS5 proxy at 127.0.0.1:socksPort.
 * Rejects on any protocol error, a non-200 status, a short body, or after `timeoutMs`; the error's
 * `bodyStarted` is true when body bytes had arrived (a retry would not help).
 * @param {{ socksPort: number, targetPort: number, timeoutMs: number }} o
 * @returns {Promise<{ sha256: string, bytes: number, connectMs: number, firstByteMs: number, totalMs: number }>}
 */
export function fetchViaSocks(o) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let connectMs = 0;
    let firstByteMs = 0;
    const sock = connect(o.socksPort, '127.0.0.1');
    const timer = setTimeout(() => {
      const where = phase === 3 ? `${received} of ${expected} body bytes received` : `during ${PHASES[phase]}`;
      fail(Object.assign(new Error(`fetch timed out after ${o.timeoutMs} ms, ${where}`), { bodyStarted: phase === 3 }));
    }, o.timeoutMs);
    let done = false;
    const fail = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    sock.on('error', fail);

    // Phases: 0 = method reply, 1 = CONNECT reply, 2 = HTTP head, 3 = body.
    let phase = 0;
    let buf = Buffer.alloc(0);
    const hash = createHash('sha256');
    let expected = -1;
    let received = 0;
    sock.on('connect', () => sock.write(Buffer.from([5, 1, 0])));
    sock.on('data', (chunk) => {
      if (phase === 3) {
        hash.update(chunk);
        received += chunk.length;
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      if (phase === 0) {
        if (buf.length < 2) return;
        if (buf[0] !== 5 || buf[1] !== 0) return fail(new Error(`SOCKS method reply ${buf.subarray(0, 2).toString('hex')}`));
        buf = buf.subarray(2);
        phase = 1;
        const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, o.targetPort >> 8, o.targetPort & 0xff]);
        sock.write(req);
      }
      if (phase === 1) {
        if (buf.length < 2) return;
        if (buf[1] !== 0) {
          return fail(new Error(`SOCKS CONNECT failed: ${SOCKS_REPLIES[buf[1]] ?? `reply ${buf[1]}`}`));
        }
        // Tor answers with an IPv4 bound address: 4 + 4 + 2 bytes.
        if (buf.length < 10) return;
        if (buf[3] !== 1) return fail(new Error(`SOCKS CONNECT reply with address type ${buf[3]}`));
        buf = buf.subarray(10);
        connectMs = performance.now() - t0;
        phase = 2;
        sock.write(`GET /file HTTP/1.0\r\nHost: 127.0.0.1:${o.targetPort}\r\n\r\n`);
      }
      if (phase === 2) {
        if (firstByteMs === 0 && buf.length > 0) firstByteMs = performance.now() - t0;
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 16384) fail(new Error('HTTP response head too long'));
          return;
        }
        const head = buf.subarray(0, end).toString('latin1');
        const status = head.split('\r\n')[0];
        if (!/^HTTP\/1\.[01] 200 /.test(status)) return fail(new Error(`HTTP status line: ${status}`));
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (m === null) return fail(new Error('HTTP response without Content-Length'));
        expected = Number(m[1]);
        const rest = buf.subarray(end + 4);
        hash.update(rest);
        received += rest.length;
        buf = Buffer.alloc(0);
        phase = 3;
      }
    });
    sock.on('end', () => {
      if (done) return;
      if (phase !== 3) return fail(new Error(`connection closed during ${PHASES[phase]}`));
      if (received !== expected) {
        return fail(Object.assign(new Error(`short body: ${received} of ${expected} bytes`), { bodyStarted: true }));
      }
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ sha256: hash.digest('hex'), bytes: received, connectMs, firstByteMs, totalMs: performance.now() - t0 });
    });
  });
}
