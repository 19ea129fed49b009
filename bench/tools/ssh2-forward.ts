/**
 * `ssh -L` built on the ssh2 npm package: a local listener per forward whose connections go
 * through `client.forwardOut`. A process of its own so that its CPU and RSS can be measured
 * like the other tools'. argv[2]: JSON of TunnelChildArgs.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Client } from 'ssh2';
import { knownHostBlob, ssh2Algorithms, type TunnelChildArgs } from '../config.js';

const args = JSON.parse(process.argv[2]) as TunnelChildArgs;
const { login } = args;
const expected = Buffer.from(knownHostBlob(readFileSync(login.knownHostsPath, 'utf8')), 'base64');

const client = new Client();
client.on('error', (err) => {
  process.stderr.write(`ssh2-forward: ${err.message}\n`);
  process.exit(255);
});
client.on('close', () => process.exit(0));
client.on('ready', () => {
  // ssh2 leaves Nagle on by default; pure-ssh and OpenSSH's forwarding do not wait on it, so the
  // baseline gets the same (otherwise every small exchange can stall on a delayed ACK).
  client.setNoDelay(true);
  for (const f of args.forwards) {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
      sock.on('error', () => sock.destroy());
      client.forwardOut(sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0, f.host, f.port, (err, channel) => {
        if (err) {
          sock.destroy();
          return;
        }
        channel.on('error', () => sock.destroy());
        sock.on('close', () => channel.destroy());
        channel.on('close', () => sock.destroy());
        sock.pipe(channel);
        channel.pipe(sock);
      });
    });
    server.listen({ host: '127.0.0.1', port: f.listenPort });
  }
});
client.connect({
  host: login.host,
  port: login.port,
  username: login.user,
  privateKey: readFileSync(login.keyPath),
  // The same pinning the other tools get from known_hosts.
  hostVerifier: (key: Buffer) => key.equals(expected),
  algorithms: ssh2Algorithms(login) as never,
  keepaliveInterval: 0,
  readyTimeout: 20_000,
  // Verbose (cipher matrix): only the negotiated-algorithm lines, so the bench can check them.
  ...(login.verbose ? { debug: (line: string) => /^Handshake: (S->C|C->S) (cipher|MAC):/i.test(line) && process.stderr.write(`ssh2: ${line}\n`) } : {}),
});
process.on('SIGTERM', () => {
  client.end();
  process.exit(0);
});
