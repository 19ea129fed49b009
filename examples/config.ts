/**
 * Settings shared by the examples, from the environment, with the PostgreSQL manual's names
 * as defaults (`ssh -L 63333:localhost:5432 joe@foo.com`). Only what you set differs from it.
 *
 * | variable            | default                 | meaning                                       |
 * |---------------------|-------------------------|-----------------------------------------------|
 * | SSH_HOST            | foo.com                 | the SSH server                                |
 * | SSH_PORT            | 22                      |                                               |
 * | SSH_USER            | joe                     |                                               |
 * | SSH_KEY             | ~/.ssh/id_ed25519       | private key file                              |
 * | SSH_KNOWN_HOSTS     | ~/.ssh/known_hosts      | the server's host key must be in it           |
 * | PG_HOST             | localhost               | resolved BY THE SSH SERVER                    |
 * | PG_PORT             | 5432                    |                                               |
 * | PG_SOCKET           | (unset)                 | a Unix socket path on the server instead      |
 * | PG_USER / PG_DATABASE | postgres              |                                               |
 * | PG_PASSWORD         | (unset)                 |                                               |
 * | LOCAL_PORT          | 63333                   | tunnel.ts's local port (0: any free port)     |
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ConnectOptions } from '../src/index.js';

/** Where the SSH server should connect: `{ host, port }` it resolves itself, or a socket path. */
export type PgTarget = { host: string; port: number } | { path: string };

/** Everything an example needs. */
export interface ExampleConfig {
  ssh: ConnectOptions;
  target: PgTarget;
  pg: { user: string; database: string; password?: string };
  localPort: number;
}

/** Reads {@link ExampleConfig} from `env` (process.env by default). */
export function exampleConfig(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  return {
    ssh: {
      host: env.SSH_HOST ?? 'foo.com',
      port: Number(env.SSH_PORT ?? 22),
      username: env.SSH_USER ?? 'joe',
      identityFiles: [env.SSH_KEY ?? '~/.ssh/id_ed25519'],
      // Never skip the host key check: the tunnel is only as private as this decision.
      knownHosts: env.SSH_KNOWN_HOSTS ?? '~/.ssh/known_hosts',
      strictHostKeyChecking: 'yes',
      connectTimeout: 15_000,
    },
    target: env.PG_SOCKET
      ? { path: env.PG_SOCKET }
      : { host: env.PG_HOST ?? 'localhost', port: Number(env.PG_PORT ?? 5432) },
    pg: {
      user: env.PG_USER ?? 'postgres',
      database: env.PG_DATABASE ?? 'postgres',
      password: env.PG_PASSWORD,
    },
    localPort: Number(env.LOCAL_PORT ?? 63333),
  };
}

/** True when `moduleUrl` is the script node was started with (not imported by a test). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}
