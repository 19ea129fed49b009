/**
 * Mistakes a user makes with the library and the CLI, found by trying pure-ssh as a new user
 * would: each must be an error at the call that names the mistake, never a crash later and never
 * a silently weaker setting (host keys above all).
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, UsageError, type SshClient } from '../src/index.js';
import { Pair } from './support/pair.js';
import { connectTo } from './harness/client.js';
import { cliEnv, describeWithHome, itWithHome, suiteDir, suiteHome } from './harness/home.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';
import { freePort } from './harness/net.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

// The passwd home of every pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
const home = suiteHome();

describeInterop('library mistakes against sshd', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-mistakes-');
  let ssh: SshClient;
  beforeAll(async () => {
    ssh = await connectTo(sshd);
  });
  afterAll(async () => {
    await ssh?.close();
  });

  it('forwardLocal with a missing or string port is refused at the call, not by a crash at the first connection', async () => {
    for (const to of [{ host: '127.0.0.1' }, { host: '127.0.0.1', port: '5432' }, { host: '', port: 5432 }, { host: 'x', port: 70000 }]) {
      await expect(ssh.forwardLocal({ listen: { port: 0 }, to } as never)).rejects.toBeInstanceOf(UsageError);
    }
    await expect(ssh.forwardLocal({ listen: { port: -1 }, to: { host: 'x', port: 1 } } as never)).rejects.toThrow(/listen.port/);
  });

  it('strictHostKeyChecking with anything but yes/accept-new/no/ask is an error, never trust', async () => {
    const kh = join(dir, 'empty_known_hosts');
    await writeFile(kh, '');
    for (const mode of ['bogus', 'No', 'YES', true, false]) {
      const err = await connectTo(sshd, { knownHosts: kh, strictHostKeyChecking: mode as never }).catch((e) => e);
      expect(err, String(mode)).toBeInstanceOf(UsageError);
    }
  });

  it('a verifyHostKey callback that returns false refuses the host (as ssh2 users expect)', async () => {
    const err = await connectTo(sshd, { knownHosts: undefined, verifyHostKey: () => false }).catch((e) => e);
    expect(err?.code).toBe('ERR_HOST_KEY_REJECTED');
  });

  it('algorithms: a misspelt category, an empty list or a non-string is an error', async () => {
    for (const algorithms of [{ ciphers: 'aes128-ctr' }, { cipher: '' }, { cipher: 42 }, { mac: [] }]) {
      const err = await connectTo(sshd, { algorithms: algorithms as never }).catch((e) => e);
      expect(err, JSON.stringify(algorithms)).toBeInstanceOf(UsageError);
    }
  });

  itWithHome('PureSshReconnect: SIGTERM ends the tunnel without talking about reconnecting', async () => {
    const { spawn } = await import('node:child_process');
    // A local listener needs a real port: ssh refuses -L with port 0.
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, '-v', '-F', 'none', '-N', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o', 'BatchMode=yes', '-o', 'PureSshReconnect=yes', '-L', `127.0.0.1:${port}:127.0.0.1:9`, `${sshd.user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    for (let i = 0; i < 150 && !/Entering interactive session/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
    expect(err).toMatch(/Entering interactive session/);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    expect(err).not.toMatch(/reconnecting to/);
  }, 30_000);

  itWithHome('PURE_SSH_CRYPTO with an unknown value is an error naming it, not a silent default', () => {
    const r = spawnSync(process.execPath, [CLI, '-F', 'none', '-N', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', `${sshd.user}@127.0.0.1`], {
      encoding: 'utf8',
      env: cliEnv(home, { PURE_SSH_CRYPTO: 'bogus' }),
      timeout: 15_000,
    });
    expect(r.status).toBe(255);
    expect(r.stderr).toContain(`PURE_SSH_CRYPTO must be 'pure' or 'runtime', got "bogus"`);
  });

  itWithHome('-G prints the cipher list the connection offers: the runtime provider\'s order by default, the pure one\'s with PURE_SSH_CRYPTO=pure', async () => {
    const { defaultCiphers } = await import('../src/cipher/registry.js');
    for (const [env, provider] of [[{}, 'node'], [{ PURE_SSH_CRYPTO: 'pure' }, 'pure']] as const) {
      const r = spawnSync(process.execPath, [CLI, '-F', 'none', '-G', 'h'], { encoding: 'utf8', env: cliEnv(home, env) });
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').find((l) => l.startsWith('ciphers '))).toBe(`ciphers ${defaultCiphers(provider).join(',')}`);
    }
    // The two orders differ on Node (AES-GCM first on node:crypto), which is what -G got wrong.
    expect(defaultCiphers('node')[0]).not.toBe(defaultCiphers('pure')[0]);
  });

  itWithHome("the CLI's -c '' and -m '' are errors as in ssh (Unknown cipher type '')", () => {
    for (const [flag, word] of [['-c', 'cipher'], ['-m', 'mac']]) {
      const r = spawnSync(process.execPath, [CLI, '-F', 'none', flag!, '', '-N', 'h'], { encoding: 'utf8', env: cliEnv(home) });
      expect(r.status).toBe(255);
      expect(r.stderr).toContain(`Unknown ${word} type ''`);
    }
  });
});

describe('an option the core refuses, with a port that refuses the connection', () => {
  // The client opened its socket before the core refused the option: that socket's own
  // ECONNREFUSED then came as an 'error' no one listened to and crashed the process.
  it('rejects connect() with the UsageError and nothing else follows', async () => {
    const port = await freePort();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      for (const mistake of [{ username: '' }, { username: 'x', keepaliveInterval: Infinity }]) {
        await expect(connect({ host: '127.0.0.1', port, knownHosts: '/dev/null', ...mistake } as never)).rejects.toBeInstanceOf(UsageError);
      }
      // A refused connect on loopback fails within milliseconds: time for it to surface.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });
});

describeWithHome('-4 / -6 with an address literal of the other family (ssh refuses, as getaddrinfo does)', () => {
  it('exits 255 with ssh\'s message instead of connecting anyway', () => {
    for (const [flag, host] of [['-6', '127.0.0.1'], ['-4', '::1']]) {
      const r = spawnSync(process.execPath, [CLI, flag!, '-F', 'none', '-N', '-o', 'BatchMode=yes', host!], { encoding: 'utf8', env: cliEnv(home), timeout: 15_000 });
      expect(r.status).toBe(255);
      expect(r.stderr).toContain(`ssh: Could not resolve hostname ${host}: Address family for hostname not supported`);
    }
  });
});

describeWithHome('pure-ssh-check against a closed port', () => {
  it('says Connection refused at once (not a timeout after seconds)', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
    await new Promise((r) => srv.close(r));
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url)), '-t', '60', '-p', String(port), '127.0.0.1'], { encoding: 'utf8', env: cliEnv(home) });
    expect(r.stderr).toContain(`connect to host 127.0.0.1 port ${port}: Connection refused`);
    expect(r.status).toBe(255);
    // With a 60 s timeout: a refusal seen at once, not waited out (a start under load took 3.9 s).
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 70_000);
});

describe('a server that sends binary garbage or NUL before its version line (OpenSSH refuses at once)', () => {
  it('fails fast with OpenSSH wording, not a hang until ConnectTimeout', () => {
    for (const junk of [Uint8Array.of(0x68, 0x69, 0x00, 0x0d, 0x0a), Uint8Array.of(0x41, 0x0d, 0x42)]) {
      const p = new Pair();
      p.toClient = (b) => {
        p.toClient = undefined;
        const out = new Uint8Array(junk.length + b.length);
        out.set(junk);
        out.set(b, junk.length);
        return out;
      };
      p.start();
      expect(p.closedError?.message).toBe('kex_exchange_identification: banner line contains invalid characters');
    }
  });
});
