/**
 * node-postgres (`pg`) over an SSH channel, with no local port at all: pg's `stream` option
 * takes a function returning the Duplex to speak the PostgreSQL protocol on, and a pure-ssh
 * channel is one. Nothing listens on your machine, so no other local user or process can use
 * the tunnel.
 *
 * Run (see README.md): `SSH_HOST=foo.com SSH_USER=joe node examples/dist/examples/pg-stream.js`
 */
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { connect, type SshClient } from '../src/index.js';
import { exampleConfig, isMain, type PgTarget } from './config.js';

/**
 * A `stream` factory for `new pg.Client({ stream })`: each call opens a new channel to
 * `target` (resolved by the SSH server). pg treats the stream as an unconnected `net.Socket`:
 * it calls `setNoDelay()` (a ChannelStream has net.Socket's setNoDelay, setKeepAlive, ref,
 * unref and setTimeout) and `connect(port, host)`, then waits for 'connect'. The channel is
 * already on its way to the server's target, so `connect` just waits for the open
 * confirmation; a refusal arrives as an 'error' (ChannelOpenError, "connect failed") that pg
 * reports from `client.connect()`.
 */
export function pgChannelStream(ssh: SshClient, target: PgTarget): () => Duplex {
  return () => {
    const channel = 'path' in target ? ssh.directStreamlocal(target.path) : ssh.directTcpip(target);
    // The one socket method pg calls that a ChannelStream does not have.
    return Object.assign(channel, {
      connect: () => {
        if (channel.isOpen) queueMicrotask(() => channel.emit('connect'));
        else channel.once('open', () => channel.emit('connect'));
        return channel;
      },
    });
  };
}

async function main(): Promise<void> {
  const config = exampleConfig();
  const ssh = await connect(config.ssh);
  try {
    const client = new pg.Client({
      ...config.pg,
      stream: pgChannelStream(ssh, config.target),
      // The bytes are already inside SSH; libpq's default would try TLS first.
      ssl: false,
    });
    await client.connect();
    const { rows } = await client.query<{ version: string; server: string | null }>(
      'SELECT version(), inet_server_addr()::text AS server',
    );
    console.log(rows[0].version);
    // The address the server accepted on: loopback when you tunnelled to `localhost`.
    console.log(`server address: ${rows[0].server ?? 'Unix socket'}`);
    await client.end();
  } finally {
    await ssh.close();
  }
}

if (isMain(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
