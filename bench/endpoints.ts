/**
 * The data endpoints behind sshd, in their own process so that the client being measured pays
 * only for its own work. Forked by run.ts with an IPC channel: it reports its ports and the
 * sha256 every sink connection received (the receiving end does the verifying).
 *
 * argv: JSON of {@link EndpointConfig}.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import {
  startEchoServer,
  startServerFirst,
  startSinkServer,
  startSourceServer,
} from '../test/harness/net.js';
import { patternSha256, writePattern } from './data.js';
import { GREETING, SEED, type EndpointConfig, type EndpointsReady, type SinkResult } from './config.js';

/** Sends `bytes` of the repeated pattern (bench/data.ts) to each connection, then ends. */
async function startPatternSource(host: string, bytes: number, seed: number): Promise<{ port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    sock.resume();
    writePattern(sock, bytes, seed).catch(() => sock.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  return { port: (server.address() as AddressInfo).port };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as EndpointConfig;
  const opts = { host: config.host };
  const [bulk, small, sink, echo, first] = await Promise.all([
    startPatternSource(config.host, config.bulkBytes, SEED.bulk),
    startSourceServer(config.smallBytes, SEED.small, opts),
    startSinkServer(opts),
    startEchoServer(opts),
    startServerFirst(GREETING, opts),
  ]);
  const send = (m: EndpointsReady | SinkResult) => process.send!(m);
  (async () => {
    for (;;) {
      const d = await sink.next();
      send({ kind: 'sink', bytes: d.bytes, sha256: d.sha256 });
    }
  })();
  send({
    kind: 'ready',
    ports: { bulk: bulk.port, small: small.port, sink: sink.port, echo: echo.port, first: first.port },
    sha256: { bulk: patternSha256(config.bulkBytes, SEED.bulk), small: small.sha256 },
  });
  // The parent going away (normally or not) ends us.
  process.on('disconnect', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`endpoints: ${(err as Error).stack}\n`);
  process.exit(1);
});
