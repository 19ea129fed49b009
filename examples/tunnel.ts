/**
 * The PostgreSQL manual's tunnel, as a library call:
 *
 *     ssh -L 63333:localhost:5432 joe@foo.com
 *     psql -h localhost -p 63333 postgres
 *
 * `forwardLocal` listens on 127.0.0.1:LOCAL_PORT (loopback only, like ssh's default bind
 * address) and turns each accepted connection into a direct-tcpip channel to PG_HOST:PG_PORT,
 * which the SSH server resolves and connects to. Ctrl-C closes it.
 *
 * Run (see README.md): `SSH_HOST=foo.com SSH_USER=joe node examples/dist/examples/tunnel.js`
 */
import { connect, type LocalForward, type SshClient, type SshError } from '../src/index.js';
import { exampleConfig, isMain, type PgTarget } from './config.js';

/**
 * Starts the forward and reports refused channels the way ssh does
 * ("channel 2: open failed: connect failed: Connection refused"): the tunnel stays up, only
 * that client connection is closed.
 */
export async function startTunnel(
  ssh: SshClient,
  localPort: number,
  target: PgTarget,
  report: (line: string) => void = (line) => console.error(line),
): Promise<LocalForward> {
  const fwd = await ssh.forwardLocal({ listen: { host: '127.0.0.1', port: localPort }, to: target });
  fwd.on('connection-error', (err: SshError) => report(err.message));
  return fwd;
}

async function main(): Promise<void> {
  const config = exampleConfig();
  const ssh = await connect(config.ssh);
  const fwd = await startTunnel(ssh, config.localPort, config.target);
  const address = fwd.address;
  const port = 'port' in address ? address.port : config.localPort;
  console.log(`Forwarding 127.0.0.1:${port} -> ${'path' in config.target ? config.target.path : `${config.target.host}:${config.target.port}`} via ${config.ssh.host}`);
  console.log(`Now: psql -h localhost -p ${port} -U ${config.pg.user} ${config.pg.database}`);
  const stop = async () => {
    console.log(`closing; ${fwd.counters.connections} connection(s), ${fwd.counters.bytesIn} bytes in, ${fwd.counters.bytesOut} out`);
    await ssh.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // ssh exits 255 when the connection is lost; do the same.
  const lost = await ssh.closed;
  if (lost) {
    console.error(lost.message);
    process.exit(255);
  }
}

if (isMain(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(255);
  });
}
