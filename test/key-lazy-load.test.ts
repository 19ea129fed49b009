/**
 * Encrypted key files whose public half needs the passphrase (PEM, PKCS#8, no `.pub` beside
 * them) are loaded at their turn, as ssh 9.2's sshconnect2.c userauth_pubkey → load_identity_file:
 * `Trying private key: PATH`, the passphrase asked then, a signed request at once. Beside ssh 9.2
 * against a real sshd 9.2, the passphrases through SSH_ASKPASS (logged per call): the prompts,
 * their order and the -v lines match, and an unreachable server asks none (the tester's finding:
 * pure-ssh asked all of them at start-up). Needs `npm run build` (cli-bin.cjs).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';
import { cliEnv, itWithHome, suiteDir } from './harness/home.js';
import { startCli, type CliClient } from './harness/proc.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

/** `client`'s stderr, run with no terminal (setsid) until it exits or `until` matches stderr (then killed). */
const run = async (client: CliClient, args: string[], env: NodeJS.ProcessEnv, until?: RegExp) =>
  (await startCli(client, args, { env, until, detached: true, killAfterMs: 30_000 }).done).stderr;

/** A loopback port nothing listens on (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describeInterop('key files without a public half: loaded, passphrase asked, at their turn (beside ssh 9.2)', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-lazykey-');
  const keys: string[] = [];
  const pubs: string[] = [];

  beforeAll(async () => {
    // PEM ECDSA, PKCS#8 ECDSA, PEM RSA; passphrase passN; no .pub kept.
    const forms: [string, string[]][] = [
      ['k1', ['-t', 'ecdsa', '-m', 'PEM']],
      ['k2', ['-t', 'ecdsa', '-m', 'PKCS8']],
      ['k3', ['-t', 'rsa', '-b', '2048', '-m', 'PEM']],
    ];
    forms.forEach(([name, args], i) => {
      const path = join(dir, name);
      execFileSync('/usr/bin/ssh-keygen', ['-q', ...args, '-N', `pass${i + 1}`, '-C', '', '-f', path]);
      rmSync(`${path}.pub`);
      chmodSync(path, 0o600);
      expect(readFileSync(path, 'utf8')).toMatch(/ENCRYPTED/);
      keys.push(path);
      pubs.push(execFileSync('/usr/bin/ssh-keygen', ['-y', '-P', `pass${i + 1}`, '-f', path], { encoding: 'utf8' }).trim());
    });
  }, 60_000);

  /** Both clients with -i k1 -i k2 -i k3: the prompts each asked, in order, and their -v key lines. */
  async function both(tag: string, port: number, wrongFor: string | undefined): Promise<Record<'pure-ssh' | 'ssh', { prompts: string[]; lines: string[]; stderr: string }>> {
    const out = {} as Record<'pure-ssh' | 'ssh', { prompts: string[]; lines: string[]; stderr: string }>;
    const args = ['-F', 'none', '-p', String(port), '-l', 'root', ...keys.flatMap((k) => ['-i', k]), '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-v'];
    for (const client of ['pure-ssh', 'ssh'] as const) {
      const home = join(dir, `home-${client}-${tag}`);
      const log = join(dir, `prompts-${client}-${tag}`);
      const askpass = join(dir, `askpass-${client}-${tag}.sh`);
      writeFileSync(log, '');
      const answers = keys.map((k, i) => `*/${k.split('/').pop()}\\'*) echo ${k === wrongFor ? 'wrong' : `pass${i + 1}`} ;;`).join('\n');
      writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${log}\ncase "$1" in\n${answers}\nesac\n`, { mode: 0o755 });
      const env = cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '', DISPLAY: ':0' });
      const stderr =
        client === 'pure-ssh'
          ? await run('pure-ssh bin', [...args, '-N', '127.0.0.1'], env, /Authenticated to /)
          : await run('ssh', [...args, '127.0.0.1', 'true'], env);
      const prompts = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      const lines = stderr.split(/\r?\n/).filter((l) => /^debug1: (Will attempt key|Trying private key|identity file \S+\/k\d )/.test(l));
      out[client] = { prompts, lines, stderr };
    }
    return out;
  }

  const ask = (k: string) => `Enter passphrase for key '${k}': `;

  itWithHome('the server accepts the third key: k1, k2, k3 asked in turn, as ssh 9.2', async () => {
    writeFileSync(join(sshd.dir, 'authorized_keys'), `${pubs[2]}\n`);
    const r = await both('third', sshd.port, undefined);
    for (const c of ['pure-ssh', 'ssh'] as const) {
      expect(r[c].stderr, c).toContain('Authenticated to 127.0.0.1');
      expect(r[c].prompts, c).toEqual(keys.map(ask));
    }
    expect(r['pure-ssh'].lines).toEqual(r.ssh.lines);
    expect(r.ssh.lines).toEqual([
      ...keys.map((k) => `debug1: identity file ${k} type -1`),
      ...keys.map((k) => `debug1: Will attempt key: ${k}  explicit`),
      ...keys.map((k) => `debug1: Trying private key: ${k}`),
    ]);
  }, 60_000);

  itWithHome('the server accepts the first key: only its passphrase is asked, as ssh 9.2', async () => {
    writeFileSync(join(sshd.dir, 'authorized_keys'), `${pubs[0]}\n`);
    const r = await both('first', sshd.port, undefined);
    for (const c of ['pure-ssh', 'ssh'] as const) {
      expect(r[c].stderr, c).toContain('Authenticated to 127.0.0.1');
      expect(r[c].prompts, c).toEqual([ask(keys[0]!)]);
    }
    expect(r['pure-ssh'].lines).toEqual(r.ssh.lines);
  }, 60_000);

  itWithHome('three wrong passphrases for k1: asked three times, then k2 and k3, as ssh 9.2', async () => {
    writeFileSync(join(sshd.dir, 'authorized_keys'), `${pubs[2]}\n`);
    const r = await both('wrong', sshd.port, keys[0]);
    for (const c of ['pure-ssh', 'ssh'] as const) {
      expect(r[c].stderr, c).toContain('Authenticated to 127.0.0.1');
      expect(r[c].prompts, c).toEqual([ask(keys[0]!), ask(keys[0]!), ask(keys[0]!), ask(keys[1]!), ask(keys[2]!)]);
    }
    expect(r['pure-ssh'].lines).toEqual(r.ssh.lines);
  }, 60_000);

  itWithHome('the server is unreachable (connection refused): no passphrase asked, as ssh 9.2', async () => {
    const r = await both('refused', await closedPort(), undefined);
    for (const c of ['pure-ssh', 'ssh'] as const) {
      expect(r[c].stderr, c).toMatch(/Connection refused/);
      expect(r[c].prompts, c).toEqual([]);
    }
  }, 60_000);
});
