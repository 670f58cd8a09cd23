/**
 * A plain Node.js TCP relay that a PT manager can start like a PT (`dist/bench.cjs --node-relay`),
 * for the `pt` bench's floor rows: the client side is a SOCKS5 server (username/password method,
 * IPv4 CONNECT) that connects to the target, the server side accepts and connects to
 * TOR_PT_ORPORT; both then pipe bytes unchanged. No handshake, no crypto, no shaping: what any
 * Node.js PT pays per connection and per byte for its sockets alone, next to what Dust and
 * obfs4proxy pay in the same run. For benchmarks only — it accepts any credentials.
 * @module
 */
import { connect, createServer, type Socket } from 'node:net';

const NAME = 'relay';

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

/** Server side: each accepted connection is piped to the ORPort. */
function serveOrPort(orPort: string): void {
  const at = orPort.lastIndexOf(':');
  const [host, port] = [orPort.slice(0, at), Number(orPort.slice(at + 1))];
  const server = createServer({ noDelay: true }, (socket) => {
    pipeBoth(socket, connect({ host, port, noDelay: true }));
  });
  server.listen(0, '127.0.0.1', () => {
    const { port: listening } = server.address() as { port: number };
    process.stdout.write(`VERSION 1\nSMETHOD ${NAME} 127.0.0.1:${listening} ARGS:bench=1\nSMETHODS DONE\n`);
  });
}

/**
 * Client side: SOCKS5 greeting → method 2, RFC 1929 sub-negotiation → success, CONNECT to an
 * IPv4 target → reply once connected. Input may arrive in any chunking; a malformed request closes.
 */
function serveSocks(socket: Socket): void {
  let buffered = Buffer.alloc(0);
  let stage: 'greeting' | 'auth' | 'request' = 'greeting';
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (stage === 'greeting') {
        if (buffered.length < 2 || buffered.length < 2 + buffered[1]!) return;
        buffered = buffered.subarray(2 + buffered[1]!);
        socket.write(Buffer.of(5, 2));
        stage = 'auth';
      } else if (stage === 'auth') {
        const userEnd = 2 + (buffered[1] ?? 0);
        if (buffered.length < userEnd + 1 || buffered.length < userEnd + 1 + buffered[userEnd]!) return;
        buffered = buffered.subarray(userEnd + 1 + buffered[userEnd]!);
        socket.write(Buffer.of(1, 0));
        stage = 'request';
      } else {
        if (buffered.length < 10) return;
        if (buffered[3] !== 1) return void socket.destroy(); // IPv4 only
        const host = [...buffered.subarray(4, 8)].join('.');
        const port = buffered.readUInt16BE(8);
        const early = buffered.subarray(10);
        socket.removeListener('data', onData);
        socket.pause();
        const upstream = connect({ host, port, noDelay: true }, () => {
          socket.write(Buffer.of(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
          if (early.length > 0) upstream.write(early);
          pipeBoth(socket, upstream);
          socket.resume();
        });
        upstream.on('error', () => socket.destroy());
        return;
      }
    }
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
}

/** Runs as a PT: server mode when TOR_PT_ORPORT is set, client mode otherwise; exits on stdin close. */
export function runNodeRelay(): void {
  const orPort = process.env.TOR_PT_ORPORT;
  if (orPort) serveOrPort(orPort);
  else {
    const server = createServer({ noDelay: true }, serveSocks);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      process.stdout.write(`VERSION 1\nCMETHOD ${NAME} socks5 127.0.0.1:${port}\nCMETHODS DONE\n`);
    });
  }
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
