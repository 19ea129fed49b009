/**
 * Time from `connect()` to the first byte of a forwarded channel, inside one fresh process:
 * the library use case (no CLI, no local listener). argv[2]: JSON of InprocArgs; prints one
 * JSON line `{ "ms": N, "text": "...", "kex": "..." }` on stdout (`kex`: what pure-ssh
 * negotiated; ssh2 does not say).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from 'ssh2';
import { connect } from '../../src/index.js';
import { knownHostBlob, ssh2Algorithms, pureConnectOptions, type InprocArgs } from '../config.js';

const args = JSON.parse(process.argv[2]) as InprocArgs;
const { login, target } = args;

async function viaPure(): Promise<{ ms: number; text: string; kex?: string }> {
  const t0 = performance.now();
  const ssh = await connect(pureConnectOptions(login));
  const stream = await ssh.openDirectTcpip({ host: target.host, port: target.port, originatorAddress: '127.0.0.1', originatorPort: 0 });
  const first: Buffer = await new Promise((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
    stream.once('end', () => reject(new Error('channel ended before any data')));
  });
  const ms = performance.now() - t0;
  const kex = ssh.info.negotiated?.kex;
  stream.destroy();
  await ssh.close();
  return { ms, text: Buffer.from(first).toString('latin1'), kex };
}

function viaSsh2(): Promise<{ ms: number; text: string }> {
  const expected = Buffer.from(knownHostBlob(readFileSync(login.knownHostsPath, 'utf8')), 'base64');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // ssh2 reads the key file itself in the other path too; read it after t0 for parity.
    const privateKey = readFileSync(login.keyPath);
    const client = new Client();
    client.on('error', reject);
    client.on('ready', () => {
      client.setNoDelay(true);
      client.forwardOut('127.0.0.1', 0, target.host, target.port, (err, channel) => {
        if (err) return reject(err);
        channel.once('data', (d: Buffer) => {
          const ms = performance.now() - t0;
          channel.destroy();
          client.end();
          resolve({ ms, text: d.toString('latin1') });
        });
        channel.once('end', () => reject(new Error('channel ended before any data')));
      });
    });
    client.connect({
      host: login.host,
      port: login.port,
      username: login.user,
      privateKey,
      hostVerifier: (key: Buffer) => key.equals(expected),
      algorithms: ssh2Algorithms(login) as never,
    });
  });
}

(args.tool === 'pure' ? viaPure() : viaSsh2()).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`inproc-startup (${args.tool}): ${(err as Error).message}\n`);
    process.exit(1);
  },
);
