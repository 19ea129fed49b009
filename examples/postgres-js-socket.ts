/**
 * Postgres.js (`postgres`, by porsager) over an SSH channel: its `socket` option takes a
 * function returning a socket-like Duplex (or a promise of one) for each connection of the
 * pool. Each pooled connection gets its own channel on the one SSH connection.
 *
 * Run (see README.md): `SSH_HOST=foo.com SSH_USER=joe node examples/dist/examples/postgres-js-socket.js`
 */
import type { Duplex } from 'node:stream';
import postgres from 'postgres';
import { connect, type ChannelStream, type SshClient } from '../src/index.js';
import { exampleConfig, isMain, type PgTarget } from './config.js';

/**
 * net.Socket's `readyState`, which Postgres.js reads when it closes a connection: it sends
 * Terminate and ends the socket only if `readyState === 'open'`, then waits for 'close'.
 * Without it `sql.end()` would wait out its whole timeout.
 */
function withReadyState(channel: ChannelStream): ChannelStream {
  Object.defineProperty(channel, 'readyState', {
    configurable: true,
    get(): string {
      if (channel.destroyed) return 'closed';
      if (!channel.isOpen) return 'opening';
      const readable = !channel.readableEnded;
      const writable = !channel.writableEnded;
      if (readable && writable) return 'open';
      if (readable) return 'readOnly';
      if (writable) return 'writeOnly';
      return 'closed';
    },
  });
  return channel;
}

/**
 * A `socket` option for Postgres.js: opens a channel to `target` (resolved by the SSH server)
 * and resolves once the server has connected, so a refused target rejects here with a
 * ChannelOpenError ("channel N: open failed: connect failed: Connection refused").
 */
export function postgresJsSocket(ssh: SshClient, target: PgTarget): () => Promise<Duplex> {
  return async () =>
    withReadyState('path' in target ? await ssh.openDirectStreamlocal(target.path) : await ssh.openDirectTcpip(target));
}

async function main(): Promise<void> {
  const config = exampleConfig();
  const ssh = await connect(config.ssh);
  // `socket` is a documented option of Postgres.js that its type definitions leave out.
  const options: postgres.Options<{}> & { socket: () => Promise<Duplex> } = {
    user: config.pg.user,
    database: config.pg.database,
    password: config.pg.password,
    max: 4,
    socket: postgresJsSocket(ssh, config.target),
  };
  const sql = postgres(options);
  try {
    const [row] = await sql<{ version: string; now: Date }[]>`SELECT version(), now()`;
    console.log(row.version);
    console.log(`server time: ${row.now.toISOString()}`);
  } finally {
    await sql.end({ timeout: 5 });
    await ssh.close();
  }
}

if (isMain(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
