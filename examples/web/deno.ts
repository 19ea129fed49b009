/**
 * Deno: an HTTP GET through sshd with pure-ssh/web over `Deno.connect`'s streams.
 *
 *     deno run --sloppy-imports --allow-net --allow-read --allow-env deno.ts
 *
 * (`--sloppy-imports` because this example imports the repository's TypeScript sources by the
 * `.js` names tsc wants, `--allow-read` for the key and known_hosts files, `--allow-env` for the
 * settings below.)
 * Settings: SSH_HOST, SSH_PORT (22), SSH_USER, SSH_KEY (key file), SSH_KNOWN_HOSTS (file),
 * TARGET_HOST (localhost, as sshd resolves it), TARGET_PORT (80), TARGET_PATH (/).
 * In an application, import from 'npm:pure-ssh/web' (no `--sloppy-imports` needed then).
 *
 * The crypto stays the pure TypeScript default: Deno runs it well (chacha20-poly1305 at about
 * Node's speed per CPU second), while Deno's node:crypto AES-GCM costs more CPU than that
 * (bench/runtimes/results.md). `crypto: nodeCryptoProvider` from 'npm:pure-ssh/node-crypto' works
 * too (tested), and pays off on Bun.
 */
import { connect } from '../../src/web/index.js';
import { httpGetOverSsh } from './http-over-ssh.js';

declare const Deno: {
  env: { get(name: string): string | undefined };
  readTextFile(path: string): Promise<string>;
  connect(o: { hostname: string; port: number }): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>;
  exit(code: number): never;
};

const env = (name: string, dflt?: string): string => {
  const v = Deno.env.get(name) ?? dflt;
  if (v === undefined) throw new Error(`set ${name}`);
  return v;
};

const host = env('SSH_HOST');
const port = Number(env('SSH_PORT', '22'));
const ssh = await connect({
  transport: Deno.connect({ hostname: host, port }),
  host,
  port,
  username: env('SSH_USER'),
  privateKey: await Deno.readTextFile(env('SSH_KEY')),
  knownHosts: await Deno.readTextFile(env('SSH_KNOWN_HOSTS')),
  connectTimeout: 15_000,
});
const res = await httpGetOverSsh(ssh, env('TARGET_HOST', 'localhost'), Number(env('TARGET_PORT', '80')), env('TARGET_PATH', '/'));
await ssh.close();
console.log(`HTTP ${res.status}`);
console.log(res.body);
