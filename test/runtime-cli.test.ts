/**
 * The Node CLI (dist/node/cli.js) under Node, Bun and Deno: `-v` names the real runtime, and `-N -L`
 * carries a transfer intact (sha256) through the real sshd. Deno needs
 * `--allow-net --allow-read --allow-env --allow-sys` (docs/runtimes.md; --allow-sys for the CLI's
 * check that no inspector is attached, as on Node).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, hashStream, startSourceServer, type SourceServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';

const CLI = fileURLToPath(new URL('../dist/node/cli.js', import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

/** How each runtime runs the CLI (Deno: the permissions it needs, no prompts). */
export const RUNTIME_COMMANDS: Record<string, { cmd: string; args: string[]; version: RegExp }> = {
  Node: { cmd: process.execPath, args: [CLI], version: /pure-ssh_\S+, Node\.js v\d+\./ },
  Bun: { cmd: bin('bun'), args: [CLI], version: /pure-ssh_\S+, Bun 1\.\d+/ },
  Deno: {
    cmd: bin('deno'),
    args: ['run', '--no-prompt', '--allow-net', '--allow-read', '--allow-env', '--allow-sys', CLI],
    version: /pure-ssh_\S+, Deno 2\.\d+/,
  },
};

describeInteropWithHome('the pure-ssh CLI under Node, Bun and Deno', () => {
  const sshd = sshdSuite();
  let source: SourceServer;
  const children = new Set<ChildProcess>();
  beforeAll(async () => {
    source = await startSourceServer(8 * 1024 * 1024, 11);
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await source?.close();
  });

  for (const [name, rt] of Object.entries(RUNTIME_COMMANDS)) {
    it(`${name}: -v names the runtime; -N -L carries 8 MiB intact`, async () => {
      const lport = await freePort();
      const child = spawn(
        rt.cmd,
        [
          ...rt.args,
          '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
          '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
          '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
          '-N', '-v', '-L', `127.0.0.1:${lport}:127.0.0.1:${source.port}`, '127.0.0.1',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome(), { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }) },
      );
      children.add(child);
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listener within 20 s:\n${stderr}`)), 20_000);
          child.stderr!.on('data', (d: string) => {
            stderr += d;
            if (stderr.includes(`Local forwarding listening on 127.0.0.1 port ${lport}.`)) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`${name} exited ${code}:\n${stderr}`));
          });
        });
        expect(stderr).toMatch(rt.version);
        // The runtime provider (node:crypto) in each: Bun lacks node:crypto's chacha20, not its
        // AES-GCM. Deno's node:crypto AES-GCM is slower than its ChaCha20 (bench/runtimes/micro.md):
        // there chacha20-poly1305 comes first, and -v says why.
        expect(stderr).toMatch(/crypto provider: node\r\n/);
        const deno = 'Deno: chacha20-poly1305@openssh.com first (node:crypto AES-GCM is slower than ChaCha20 in Deno)';
        if (name === 'Deno') {
          expect(stderr).toContain(deno);
          expect(stderr).toMatch(/cipher: chacha20-poly1305@openssh\.com /);
        } else {
          expect(stderr).not.toContain(deno);
          expect(stderr).toMatch(/cipher: aes128-gcm@openssh\.com /);
        }
        const sock = net.connect({ host: '127.0.0.1', port: lport });
        expect(await hashStream(sock)).toEqual({ bytes: source.bytes, sha256: source.sha256 });
      } finally {
        child.kill('SIGTERM');
        children.delete(child);
      }
    }, 40_000);
  }
});
