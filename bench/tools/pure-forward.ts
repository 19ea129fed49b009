/**
 * A stand-in for the pure-ssh CLI built on the library (connect + forwardLocal), used only when
 * dist/node/cli.js has not been built. argv[2]: JSON of TunnelChildArgs.
 */
import { connect } from '../../src/index.js';
import { pureConnectOptions, type TunnelChildArgs } from '../config.js';

const args = JSON.parse(process.argv[2]) as TunnelChildArgs;
const { login } = args;

async function main(): Promise<void> {
  const ssh = await connect({
    ...pureConnectOptions(login),
    // Verbose (cipher matrix): the lines the bench reads the negotiated algorithms from, as -v.
    ...(login.verbose ? { debug: (m: string) => /^(kex|crypto provider):/.test(m) && process.stderr.write(`debug1: ${m}\n`) } : {}),
  });
  for (const f of args.forwards) {
    await ssh.forwardLocal({ listen: { host: '127.0.0.1', port: f.listenPort }, to: { host: f.host, port: f.port } });
  }
  const err = await ssh.closed;
  if (err) process.stderr.write(`pure-forward: ${err.message}\n`);
  process.exit(err ? 255 : 0);
}

main().catch((err) => {
  process.stderr.write(`pure-forward: ${(err as Error).message}\n`);
  process.exit(255);
});
