/**
 * Issue 11 against the real peers: Debian's ssh-agent (keys added with ssh-add, files removed
 * afterwards) and sshd, through the library and the built CLI; the signer event, key order,
 * encrypted keys offered by their public half, passphrase and password prompts.
 * Needs `npm run build` first for the CLI cases.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentClient, AuthenticationError, connect, parsePublicKeyFile, prepareIdentityFile, type ConnectOptions } from '../src/index.js';
import { fingerprintSha256 } from '../src/keys/hostkey.js';
import { SshWriter } from '../src/protocol/wire.js';
import { cliEnv, itWithHome } from './harness/home.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { startSshAgent } from './support/ssh-agent.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI, startCli, type CliResult } from './harness/proc.js';

const execFileP = promisify(execFile);

type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

interface Agent {
  sock: string;
  child: ChildProcess;
}

const children = new Set<ChildProcess>();

async function startAgent(dir: string, name: string): Promise<Agent> {
  const sock = join(dir, `${name}.sock`);
  const child = await startSshAgent(sock);
  children.add(child);
  return { sock, child };
}

async function keygen(dir: string, name: string, type: KeyType, passphrase = ''): Promise<{ path: string; pub: string }> {
  const path = join(dir, name);
  const bits = type === 'rsa' ? ['-b', '2048'] : [];
  await execFileP('/usr/bin/ssh-keygen', ['-q', '-t', type, ...bits, '-N', passphrase, '-C', `${name}@test`, '-f', path]);
  return { path, pub: (await readFile(`${path}.pub`, 'utf8')).trim() };
}

async function sshAdd(agent: Agent, path: string, extra: string[] = []): Promise<void> {
  await execFileP('/usr/bin/ssh-add', [...extra, path], { env: { ...process.env, SSH_AUTH_SOCK: agent.sock, SSH_ASKPASS: '', DISPLAY: '' } });
}

function blobOf(pub: string): Uint8Array {
  return parsePublicKeyFile(pub).keyBlob;
}

/** Run the built CLI in `env` until it authenticates (then stop it) or exits. */
async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const run = startCli('pure-ssh bin', args, { env, until: /Authenticated to /, detached: true });
  children.add(run.child);
  try {
    return await run.done;
  } finally {
    children.delete(run.child);
  }
}

describeInterop('ssh-agent, signers and passphrases against sshd', () => {
  let sshd: SshdHandle;
  let dir: string;
  let home: string;
  const agents = {} as Record<KeyType, Agent>;
  const agentPubs = {} as Record<KeyType, string>;
  let base: ConnectOptions;

  beforeAll(async () => {
    sshd = await startSshd({ password: true, config: { LogLevel: 'DEBUG2' } });
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-agent-'));
    home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const k = await keygen(dir, `agent_${type}`, type);
      await appendFile(join(sshd.dir, 'authorized_keys'), `${k.pub}\n`);
      agents[type] = await startAgent(dir, type);
      await sshAdd(agents[type], k.path);
      agentPubs[type] = k.pub;
      // The agent alone holds the key now.
      await rm(k.path);
      await rm(`${k.path}.pub`);
    }
    base = { host: sshd.host, port: sshd.port, username: sshd.user, knownHosts: sshd.knownHostsPath };
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
    it(`library: logs in with an ${type} key held only by ssh-agent`, async () => {
      const lines: string[] = [];
      const ssh = await connect({ ...base, agent: agents[type].sock, debug: (m) => lines.push(m) });
      await ssh.close();
      const fp = fingerprintSha256(blobOf(agentPubs[type]));
      const label = { ed25519: 'ED25519', ecdsa: 'ECDSA', rsa: 'RSA' }[type];
      expect(lines).toContain(`Offering public key: agent_${type}@test ${label} ${fp} agent`);
      expect(lines).toContain(`Server accepts key: agent_${type}@test ${label} ${fp} agent`);
      await expect.poll(() => sshd.logs(), { timeout: 5000 }).toContain(`Accepted publickey for root from 127.0.0.1`);
      expect(sshd.logs()).toMatch(new RegExp(`Accepted publickey for root .* ${label} ${fp.replace(/[+/]/g, '\\$&')}`));
      if (type === 'rsa') {
        // RFC 8332 through the agent's SSH_AGENT_RSA_SHA2_512 flag: sshd saw rsa-sha2-512.
        // (sshd checks that the signature's own format is the pkalg offered.)
        expect(sshd.logs()).toMatch(/attempting public key rsa-sha2-512 AAAAB3NzaC1yc2E/);
        expect(sshd.logs()).not.toMatch(/attempting public key ssh-rsa /);
      }
    });
  }

  itWithHome('CLI: logs in through SSH_AUTH_SOCK and names the agent key under -v', async () => {
    const r = await runCli(
      ['-F', 'none', '-N', '-v', '-p', String(sshd.port), '-l', 'root', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '127.0.0.1'],
      cliEnv(home, { SSH_AUTH_SOCK: agents.ed25519.sock }),
    );
    const fp = fingerprintSha256(blobOf(agentPubs.ed25519));
    expect(r.stderr).toContain(`debug1: Offering public key: agent_ed25519@test ED25519 ${fp} agent`);
    expect(r.stderr).toContain(`debug1: Server accepts key: agent_ed25519@test ED25519 ${fp} agent`);
    expect(r.stderr).toContain('Authenticated to 127.0.0.1');
    // IdentityAgent none wins over SSH_AUTH_SOCK: no key, permission denied.
    const none = await runCli(
      ['-F', 'none', '-N', '-p', String(sshd.port), '-l', 'root', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none', '127.0.0.1'],
      cliEnv(home, { SSH_AUTH_SOCK: agents.ed25519.sock }),
    );
    expect(none.code).toBe(255);
    expect(none.stderr).toContain('root@127.0.0.1: Permission denied (publickey,password).');
  }, 30_000);

  it('an agent that refuses to sign: a clear error naming the key and the refusal', async () => {
    const pub = blobOf(agentPubs.ed25519);
    const sock = join(dir, 'refusing.sock');
    const signs: number[] = [];
    // Not an SSH server: a stand-in agent that lists a real key and answers FAILURE to SIGN.
    const server = net.createServer((c) => {
      c.on('data', (d) => {
        const type = d[4];
        if (type === 11) c.write(new SshWriter().string(new SshWriter().byte(12).uint32(1).string(pub).string('refuser').toBytes()).toBytes());
        else {
          signs.push(type!);
          c.write(Uint8Array.of(0, 0, 0, 1, 5));
        }
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const warnings: string[] = [];
      const lines: string[] = [];
      const debug = (m: string, level?: number) => lines.push(`debug${level ?? 1}: ${m}`);
      const err = await connect({ ...base, agent: sock, passwordAuthentication: false, kbdInteractiveAuthentication: false, warn: (m) => warnings.push(m), debug }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toContain('signing failed for ED25519 "refuser": agent refused operation');
      // 27: session-bind@openssh.com, refused as by an agent before OpenSSH 8.9, which ssh(1)
      // logs at debug2 and ignores (sshconnect2.c get_agent_identities); then the sign request.
      expect(signs).toEqual([27, 13]);
      expect(lines).toContain('debug2: get_agent_identities: ssh_agent_bind_hostkey: agent refused operation');
      expect(lines).toContain('debug1: get_agent_identities: agent returned 1 keys');
      expect(warnings).toEqual(['sign_and_send_pubkey: signing failed for ED25519 "refuser" from agent: agent refused operation']);
    } finally {
      server.close();
    }
  });

  it('a key deleted from the agent between listing and signing is skipped for the next one', async () => {
    const k = await keygen(dir, 'deleted', 'ed25519');
    await appendFile(join(sshd.dir, 'authorized_keys'), `${k.pub}\n`);
    const agent = await startAgent(dir, 'deleting');
    await sshAdd(agent, k.path);
    const client = await AgentClient.connect(agent.sock);
    const [listed] = await client.identities();
    await sshAdd(agent, k.path, ['-d']);
    expect(await client.sign(listed!.keyBlob, Uint8Array.of(1), 0)).toBeNull();
    client.close();
    await sshAdd(agent, k.path);
    const lines: string[] = [];
    const signers = [
      { publicKeyBlob: listed!.keyBlob, comment: 'gone', sign: () => Promise.reject(new Error('agent refused operation')) },
    ];
    const ssh = await connect({ ...base, signers, agent: agents.ecdsa.sock, debug: (m) => lines.push(m) });
    await ssh.close();
    expect(lines).toContain('signing failed for ED25519 "gone": agent refused operation');
    expect(lines.some((l) => /^Server accepts key: agent_ecdsa@test ECDSA /.test(l))).toBe(true);
  });

  it('a custom Signer (the application signs) logs in', async () => {
    const k = await keygen(dir, 'custom', 'ed25519');
    await appendFile(join(sshd.dir, 'authorized_keys'), `${k.pub}\n`);
    const { parsePrivateKey } = await import('../src/keys/privatekey.js');
    const key = parsePrivateKey(await readFile(k.path, 'utf8'));
    await rm(k.path);
    const seen: string[] = [];
    const signer = {
      publicKeyBlob: blobOf(k.pub),
      comment: 'kms://test',
      sign: async (data: Uint8Array, algorithm: string) => {
        seen.push(algorithm);
        return key.sign(algorithm, data);
      },
    };
    const ssh = await connect({ ...base, signers: [signer] });
    await ssh.close();
    expect(seen).toEqual(['ssh-ed25519']);
  });

  it('IdentitiesOnly: only agent keys named by an IdentityFile, then the files; order as ssh(1)', async () => {
    // Keys the server does not know, so every one is offered.
    const a = await keygen(dir, 'order_a', 'ed25519');
    const b = await keygen(dir, 'order_b', 'ecdsa');
    const c = await keygen(dir, 'order_c', 'ed25519');
    const agent = await startAgent(dir, 'order');
    await sshAdd(agent, a.path);
    await sshAdd(agent, b.path);
    await rm(a.path);
    await rm(b.path); // b.pub stays: it names the agent key
    const offered = async (identitiesOnly: boolean) => {
      const lines: string[] = [];
      const err = await connect({
        ...base,
        agent: agent.sock,
        identitiesOnly,
        // With a prompt to avoid, files are offered by their public half first, as ssh(1) does.
        askPassphrase: async () => null,
        identityFiles: [c.path, await prepareIdentityFile(`${b.path}.pub`, { explicit: true })],
        passwordAuthentication: false,
        kbdInteractiveAuthentication: false,
        debug: (m) => lines.push(m),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      return lines.filter((l) => l.startsWith('Offering public key:')).map((l) => l.split(' ').slice(3, 4)[0] + ' ' + l.split(' ').slice(6).join(' '));
    };
    expect(await offered(true)).toEqual([`${b.path}.pub explicit agent`, `${c.path} `]);
    expect(await offered(false)).toEqual([`${b.path}.pub explicit agent`, 'order_a@test agent', `${c.path} `]);
  });

  it('an encrypted key with its .pub beside it is not decrypted when the server refuses it; accepted, it asks (wrong, then right)', async () => {
    const refused = await keygen(dir, 'enc_refused', 'ed25519', 'sesame');
    const accepted = await keygen(dir, 'enc_accepted', 'ed25519', 'open sesame');
    await appendFile(join(sshd.dir, 'authorized_keys'), `${accepted.pub}\n`);
    const asked: string[] = [];
    const answers = ['wrong', 'open sesame'];
    const lines: string[] = [];
    const ssh = await connect({
      ...base,
      identityFiles: [refused.path, accepted.path],
      askPassphrase: async (p) => {
        asked.push(p);
        return p === accepted.path ? answers.shift()! : 'never asked';
      },
      debug: (m) => lines.push(m),
    });
    await ssh.close();
    expect(asked).toEqual([accepted.path, accepted.path]);
    expect(lines.filter((l) => l.startsWith('Offering public key:')).length).toBe(2);
    expect(lines).toContain('bad passphrase given, try again...');
    // The same without a .pub: the public half comes from the OpenSSH file's clear header.
    await rm(`${refused.path}.pub`);
    asked.length = 0;
    answers.push('open sesame');
    const again = await connect({ ...base, identityFiles: [refused.path, accepted.path], askPassphrase: async (p) => (asked.push(p), answers.shift() ?? null) });
    await again.close();
    expect(asked).toEqual([accepted.path]);
  });

  itWithHome('CLI: passphrase through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force), wrong then right; BatchMode skips the key', async () => {
    const k = await keygen(dir, 'cli_enc', 'ecdsa', 'letmein');
    await appendFile(join(sshd.dir, 'authorized_keys'), `${k.pub}\n`);
    const askpass = join(dir, 'askpass.sh');
    const count = join(dir, 'askpass.count');
    const prompts = join(dir, 'askpass.prompts');
    await writeFile(count, '');
    await writeFile(
      askpass,
      `#!/bin/sh\nprintf '%s\\n' "$1" >> ${prompts}\necho x >> ${count}\nif [ "$(wc -l < ${count})" -ge 2 ]; then echo letmein; else echo nope; fi\n`,
    );
    await chmod(askpass, 0o755);
    const args = ['-F', 'none', '-N', '-v', '-p', String(sshd.port), '-l', 'root', '-i', k.path, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no'];
    const r = await runCli([...args, '127.0.0.1'], cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '' }));
    expect(r.stderr).toContain('Authenticated to 127.0.0.1');
    expect((await readFile(prompts, 'utf8')).split('\n').filter(Boolean)).toEqual([
      `Enter passphrase for key '${k.path}': `,
      `Enter passphrase for key '${k.path}': `,
    ]);
    expect(r.stderr).toMatch(new RegExp(`debug1: Offering public key: ${k.path} ECDSA SHA256:\\S+ explicit`));
    const batch = await runCli([...args, '-o', 'BatchMode=yes', '127.0.0.1'], cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '' }));
    expect(batch.code).toBe(255);
    expect(batch.stderr).toContain(`debug1: Key ${k.path} is encrypted and BatchMode is set: not asking for its passphrase, key skipped`);
    expect(batch.stderr).toContain('root@127.0.0.1: Permission denied (publickey,password).');
    expect((await readFile(prompts, 'utf8')).split('\n').filter(Boolean).length).toBe(2);
  }, 40_000);

  itWithHome('CLI: "Permission denied, please try again." between password prompts, as ssh prints it', async () => {
    const pw = sshd.password!;
    const askpass = join(dir, 'askpw.sh');
    const count = join(dir, 'askpw.count');
    await writeFile(count, '');
    await writeFile(askpass, `#!/bin/sh\necho x >> ${count}\nif [ "$(wc -l < ${count})" -ge 2 ]; then echo '${pw.password}'; else echo wrong; fi\n`);
    await chmod(askpass, 0o755);
    const r = await runCli(
      ['-F', 'none', '-N', '-p', String(sshd.port), '-l', pw.user, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PubkeyAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-v', '127.0.0.1'],
      cliEnv(home, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', SSH_AUTH_SOCK: '' }),
    );
    expect(r.stderr).toContain('Authenticated to 127.0.0.1');
    expect(r.stderr.split('\r\n').filter((l) => l === 'Permission denied, please try again.').length).toBe(1);
  }, 30_000);
});
