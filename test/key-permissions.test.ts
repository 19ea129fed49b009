/**
 * Issue 8.7: a private key file others can read. ssh(1) offers it by its public half and, when
 * the server accepts it, prints its UNPROTECTED PRIVATE KEY FILE block, ignores the key and goes
 * on (sshconnect2.c sign_and_send_pubkey → load_identity_file) (OpenSSH authfile.c sshkey_perm_ok: a file owned by the
 * user running it must have no group or other bits). The CLI does the same, word for word
 * with the real ssh; the library refuses with KeyPermissionsError (ERR_KEY_PERMISSIONS) unless
 * `allowUnprotectedKeyFiles: true`. Real files chmod'ed 0644 / 0640 / 0600 / 0400, real sshd.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyPermissionsError, loadIdentityFile, prepareIdentityFile } from '../src/index.js';
import { checkKeyFilePermissions } from '../src/node/identity-file.js';
import { connectTo } from './harness/client.js';
import { echoVia, freePort, startEchoServer, type TestServer } from './harness/net.js';
import { cliEnv, itWithHome, suiteDir } from './harness/home.js';
import { describeInterop, ensurePasswordUser, SSH_CLIENT_PATH, sshdSuite } from './harness/sshd.js';
import { CLI, runCli } from './support/cli-run.js';
import { startSshAgent } from './support/ssh-agent.js';

const execFileP = promisify(execFile);

/** ssh(1)'s lines for an unprotected key, as printed by OpenSSH 9.2 (sshkey_perm_ok + load_identity_file). */
function sshWarning(path: string, mode: string): string {
  return [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    `Permissions ${mode} for '${path}' are too open.`,
    'It is required that your private key files are NOT accessible by others.',
    'This private key will be ignored.',
    `Load key "${path}": bad permissions`,
  ].join('\r\n');
}

/** The harness's unprivileged user's uid and gid, for files mode 000 must keep from it (root reads them). */
async function unprivilegedIds(): Promise<{ uid: number; gid: number }> {
  const { user } = await ensurePasswordUser();
  const uid = Number((await execFileP('id', ['-u', user])).stdout.trim());
  const gid = Number((await execFileP('id', ['-g', String(uid)])).stdout.trim());
  return { uid, gid };
}

describe('checkKeyFilePermissions (OpenSSH sshkey_perm_ok)', () => {
  const me = 1000;
  it('refuses group or other bits on a file of ours, with ssh\'s words and mode', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o601, 0o610, 0o100644]) {
      let err: unknown;
      try {
        checkKeyFilePermissions('/k', { uid: me, mode }, me);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KeyPermissionsError);
      expect(err).toMatchObject({ code: 'ERR_KEY_PERMISSIONS', path: '/k', mode: mode & 0o777 });
      expect((err as Error).message).toContain(
        `Permissions 0${(mode & 0o777).toString(8)} for '/k' are too open. It is required that your private key files are NOT accessible by others.`,
      );
    }
  });
  it('accepts owner-only modes, and any mode on a file owned by someone else', () => {
    for (const mode of [0o600, 0o400, 0o700, 0o100600]) checkKeyFilePermissions('/k', { uid: me, mode }, me);
    checkKeyFilePermissions('/k', { uid: 0, mode: 0o644 }, me);
    checkKeyFilePermissions('/k', { uid: me, mode: 0o644 }, undefined); // no uids (Windows)
  });
});

describeInterop('private key files readable by others (issue 8.7)', () => {
  const sshd = sshdSuite();
  let echo: TestServer;
  const dir = suiteDir('pure-ssh-keyperm-');
  /** The authorised key, copied with the given mode. */
  const keyWithMode = async (name: string, mode: number): Promise<string> => {
    const path = join(dir, name);
    await copyFile(sshd.clientKeyPath, path);
    await chmod(path, mode);
    return path;
  };

  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  /** Only the files given: the harness key (the same key, at 0600) must not log in instead. */
  const connectWith = (identityFiles: string[], extra: { allowUnprotectedKeyFiles?: boolean; warn?: (w: string) => void } = {}) =>
    connectTo(sshd, { privateKey: undefined, identityFiles, ...extra });

  it('library: 0644 and 0640 are refused with ERR_KEY_PERMISSIONS before connecting; the error names file and mode', async () => {
    for (const [name, mode, text] of [['k644', 0o644, '0644'], ['k640', 0o640, '0640']] as const) {
      const path = await keyWithMode(name, mode);
      await expect(loadIdentityFile(path)).rejects.toBeInstanceOf(KeyPermissionsError);
      const err = await connectWith([path]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KeyPermissionsError);
      expect(err).toMatchObject({ code: 'ERR_KEY_PERMISSIONS', path, mode });
      expect((err as Error).message).toContain(`Permissions ${text} for '${path}' are too open.`);
      expect((err as Error).message).toContain(`chmod 600 '${path}'`);
    }
    // Refused locally: sshd never saw a connection from these attempts.
    expect(sshd.logs()).not.toMatch(/Accepted publickey/);
  });

  it('library: a 0644 file fails connect() even with a good key after it (never skipped unseen); prepared with deferPermissionCheck, ssh\'s block through warn and the next key logs in', async () => {
    // identityFiles are all the caller's own choice (the library looks for no default key
    // files): the key is never used, and the caller hears of it as an error, not a skip.
    const open = await keyWithMode('k644-first', 0o644);
    const good = await keyWithMode('k600-after', 0o600);
    const warnings: string[] = [];
    const err = await connectWith([open, good], { warn: (w) => warnings.push(w) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KeyPermissionsError);
    expect(err).toMatchObject({ code: 'ERR_KEY_PERMISSIONS', path: open, mode: 0o644 });
    expect(warnings).toEqual([]);
    // ssh's order, asked for: offered by its public half, refused at its turn, the next key used.
    const deferred = await prepareIdentityFile(open, { deferPermissionCheck: true });
    const ssh = await connectTo(sshd, { privateKey: undefined, identityFiles: [deferred, good], warn: (w) => warnings.push(w) });
    await ssh.close();
    expect(warnings).toEqual([sshWarning(open, '0644').replace(/\r\n/g, '\n')]);
  });

  it('library: 0600 and 0400 authenticate; allowUnprotectedKeyFiles: true accepts 0644', async () => {
    for (const path of [await keyWithMode('k600', 0o600), await keyWithMode('k400', 0o400)]) {
      const ssh = await connectWith([path]);
      const s = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      s.end('ok');
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('ok');
      await ssh.close();
    }
    const open = await keyWithMode('k644-allowed', 0o644);
    const ssh = await connectWith([open], { allowUnprotectedKeyFiles: true });
    expect(ssh.channelCount).toBe(0);
    await ssh.close();
  });

  it.runIf(process.getuid?.() === 0)('library: a 0644 key owned by another user is not judged, as in ssh', async () => {
    const path = await keyWithMode('k644-other', 0o644);
    await chown(path, 65534, 65534); // nobody: root still reads it
    const ssh = await connectWith([path]);
    await ssh.close();
  });

  const cliArgs = (keys: string[], extra: string[] = []) => [
    '-F', 'none', '-p', String(sshd.port), '-l', sshd.user,
    ...keys.flatMap((k) => ['-i', k]),
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
    ...extra, sshd.host,
  ];

  itWithHome('CLI: 0644 and 0640 print ssh\'s warning block word for word (compared with the real ssh), the key is ignored, exit 255', async () => {
    for (const [name, mode, text] of [['c644', 0o644, '0644'], ['c640', 0o640, '0640']] as const) {
      const path = await keyWithMode(name, mode);
      const run = runCli([...cliArgs([path]), '-N'], { env: cliEnv(dir) });
      const { code } = await run.exited;
      expect(code).toBe(255);
      const ours = run.stderr();
      expect(ours).toContain(sshWarning(path, text));
      expect(ours).toContain(`${sshd.user}@${sshd.host}: Permission denied (publickey).`);
      // OpenSSH's own client, same file: the same lines.
      const theirs = await execFileP('ssh', [...cliArgs([path]), 'true'], { env: cliEnv(dir) }).then(
        () => '',
        (e: { stderr: string }) => e.stderr, // ssh ends its log lines with CRLF, as pure-ssh does
      );
      expect(theirs).toContain(sshWarning(path, text));
    }
  });

  itWithHome('CLI: an unprotected key is skipped and a good one after it is used: the tunnel works', async () => {
    const bad = await keyWithMode('c644-first', 0o644);
    const good = await keyWithMode('c600-second', 0o600);
    const lport = await freePort();
    const run = runCli([...cliArgs([bad, good], ['-L', `${lport}:127.0.0.1:${echo.port}`]), '-N', '-v'], {
      env: cliEnv(dir),
    });
    try {
      await run.waitFor(/Entering interactive session/);
      expect(run.stderr()).toContain(sshWarning(bad, '0644'));
      expect(await echoVia(lport, 'through')).toBe('through');
    } finally {
      await run.kill();
    }
  });
  /** stderr and exit of pure-ssh and of ssh 9.2 for the same arguments and environment. */
  const both = async (args: string[], env: NodeJS.ProcessEnv) => {
    const run = runCli(args, { env });
    const { code } = await run.exited;
    // stdin /dev/null for both: -W ends at its EOF.
    const ssh = spawn(SSH_CLIENT_PATH, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ssh.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const theirs = await new Promise<{ code: number | null; stderr: string }>((resolve) => ssh.on('close', (c) => resolve({ code: c, stderr })));
    return { ours: { code, stderr: run.stderr() }, theirs };
  };

  itWithHome("CLI: a 0644 key is offered; ssh's block and 'Load key' only once the server accepts it, then the next key; none for a key it refuses (beside ssh 9.2)", async () => {
    const accepted = await keyWithMode('d644-accepted', 0o644);
    // sshconnect2.c sign_and_send_pubkey → load_identity_file: the block at the signature, then
    // Permission denied (no other key).
    const one = await both([...cliArgs([accepted]), '-N'], cliEnv(dir));
    const denied = `${sshd.user}@${sshd.host}: Permission denied (publickey).\r\n`;
    expect(one.ours).toEqual({ code: 255, stderr: `${sshWarning(accepted, '0644')}\r\n${denied}` });
    expect(one.theirs).toEqual(one.ours);
    // The server logged the offer: the public half went out.
    expect(sshd.logs()).toMatch(/Postponed publickey for root/);

    // A key the server does not know: offered, refused, never loaded: no word about it.
    const unknown = join(dir, 'd644-unknown');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', unknown]);
    await chmod(unknown, 0o644);
    const two = await both([...cliArgs([unknown]), '-N'], cliEnv(dir));
    expect(two.ours).toEqual({ code: 255, stderr: denied });
    expect(two.theirs).toEqual(two.ours);

    // The refused key, then the accepted 0644 one, then a good one: the block, and the login.
    const good = await keyWithMode('d600-good', 0o600);
    const three = await both([...cliArgs([unknown, accepted, good]), '-W', `127.0.0.1:${echo.port}`], cliEnv(dir));
    expect(three.ours).toEqual({ code: 0, stderr: `${sshWarning(accepted, '0644')}\r\n` });
    expect(three.theirs).toEqual(three.ours);
  }, 60_000);

  itWithHome('CLI: a 0644 key whose private half the agent holds signs through the agent: no warning (beside ssh 9.2)', async () => {
    const path = await keyWithMode('e644-agent', 0o644);
    const sock = join(dir, 'agent.sock');
    const agent = await startSshAgent(sock);
    try {
      await execFileP('ssh-add', [sshd.clientKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const env = cliEnv(dir, { SSH_AUTH_SOCK: sock });
      const r = await both([...cliArgs([path]), '-W', `127.0.0.1:${echo.port}`], env);
      expect(r.ours).toEqual({ code: 0, stderr: '' });
      expect(r.theirs).toEqual(r.ours);
    } finally {
      agent.kill();
      await rm(sock, { force: true });
    }
  }, 60_000);

  it('CLI: identity files it cannot load (mode 000, directories, not a key, missing) print what ssh 9.2 prints, byte for byte, as -i and as IdentityFile', async () => {
    // Mode 000 stops only a user other than root: as root, both clients run as the harness's
    // unprivileged user, who owns the files (sshkey_perm_ok judges only the user's own files).
    const asRoot = process.getuid?.() === 0;
    const ids = asRoot ? await unprivilegedIds() : undefined;
    const base = join(dir, 'unloadable');
    await mkdir(base, { mode: 0o755 });
    await chmod(dir, 0o755);
    const unreadable = await keyWithMode('unloadable/k000', 0o000);
    const openDir = join(base, 'dir755');
    const closedDir = join(base, 'dir700');
    await mkdir(openDir, { mode: 0o755 });
    await mkdir(closedDir, { mode: 0o700 });
    const notKey = join(base, 'notkey');
    await writeFile(notKey, 'not a key\n', { mode: 0o600 });
    const badPem = join(base, 'badpem');
    await writeFile(badPem, '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n', { mode: 0o600 });
    const missing = join(base, 'missing');
    const knownHosts = join(base, 'known_hosts');
    await copyFile(sshd.knownHostsPath, knownHosts);
    await chmod(knownHosts, 0o644);
    if (ids) for (const p of [base, unreadable, openDir, closedDir, notKey, badPem, knownHosts]) await chown(p, ids.uid, ids.gid);
    const files = [unreadable, openDir, closedDir, notKey, badPem, missing];
    const common = [
      '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-N', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
    ];
    const stderrOf = (file: string, args: string[]) =>
      execFileP(file, args, { env: { ...process.env, HOME: base }, ...ids }).then(
        () => 'exit 0',
        (e: { stderr: string }) => e.stderr,
      );
    for (const how of [files.flatMap((f) => ['-i', f]), files.map((f) => `-oIdentityFile=${f}`)]) {
      const args = [...common, ...how, sshd.host];
      const ours = await stderrOf(process.execPath, [CLI, ...args]);
      // ssh 9.2 parses a file that is no key at all with libcrypto last and says so ("error in
      // libcrypto"); a malformed PEM body is "invalid format": the same words from pure-ssh.
      const theirs = await stderrOf(SSH_CLIENT_PATH, args);
      expect(ours).toContain(`Load key "${unreadable}": Permission denied\r\n`);
      expect(ours).toContain(sshWarning(openDir, '0755'));
      expect(ours).toContain(`Load key "${closedDir}": Is a directory\r\n`);
      expect(ours).toContain(`Load key "${notKey}": error in libcrypto\r\n`);
      expect(ours).toContain(`Load key "${badPem}": invalid format\r\n`);
      expect(ours).toBe(theirs);
    }

    // break17 F4: the same files, the host key unknown (StrictHostKeyChecking=yes): ssh says
    // nothing about the keys, whose turn never comes; pure-ssh judged them before the host key.
    const emptyKnownHosts = join(base, 'known_hosts_empty');
    await writeFile(emptyKnownHosts, '', { mode: 0o644 });
    if (ids) await chown(emptyKnownHosts, ids.uid, ids.gid);
    const unknownHost = [...common.map((a) => (a === `UserKnownHostsFile=${knownHosts}` ? `UserKnownHostsFile=${emptyKnownHosts}` : a)), ...files.flatMap((f) => ['-i', f]), sshd.host];
    const refusedOurs = await stderrOf(process.execPath, [CLI, ...unknownHost]);
    const refusedTheirs = await stderrOf(SSH_CLIENT_PATH, unknownHost);
    expect(refusedTheirs).toMatch(/Host key verification failed\.\r\n$/);
    expect(refusedTheirs).not.toMatch(/Load key|UNPROTECTED/);
    expect(refusedOurs).toBe(refusedTheirs);

    // break17 F1: at -v, the identity files' lines: `identity file PATH type -1` for each, then
    // `Will attempt key:` for all of them and, at each one's turn, `Trying private key:` and
    // what load_identity_file says; the default keys (none there) likewise, silent once tried.
    const keyLines = (text: string) =>
      text
        .replace(/\r/g, '')
        .split('\n')
        .filter((l) => /identity file |Will attempt key|Trying private key|Load key|no such identity|signing failed|UNPROTECTED|are too open/.test(l));
    for (const how of [files.flatMap((f) => ['-i', f]), ['-o', 'IdentitiesOnly=no']]) {
      const args = [...common.filter((a, i, all) => a !== 'IdentitiesOnly=yes' && !(a === '-o' && all[i + 1] === 'IdentitiesOnly=yes')), ...how, '-v', sshd.host];
      const ours = keyLines(await stderrOf(process.execPath, [CLI, ...args]));
      const theirs = keyLines(await stderrOf(SSH_CLIENT_PATH, args));
      expect(theirs.filter((l) => l.includes('Will attempt key')).length, theirs.join('\n')).toBeGreaterThanOrEqual(5);
      expect(ours).toEqual(theirs);
    }
  });

  it('CLI: a key offered by its readable .pub whose private half cannot be loaded (mode 000, 0644): ssh 9.2\'s lines only, at the default level and -v', async () => {
    // As above: run as the harness's unprivileged user when root, for whom mode 000 is unreadable.
    const asRoot = process.getuid?.() === 0;
    const ids = asRoot ? await unprivilegedIds() : undefined;
    const base = join(dir, 'halves');
    await mkdir(base, { mode: 0o755 });
    await chmod(dir, 0o755);
    const unreadable = await keyWithMode('halves/k000', 0o000);
    const open = await keyWithMode('halves/k644', 0o644);
    const knownHosts = join(base, 'known_hosts');
    await copyFile(sshd.knownHostsPath, knownHosts);
    await chmod(knownHosts, 0o644);
    for (const k of [unreadable, open]) await writeFile(`${k}.pub`, `${sshd.clientPublicKey}\n`, { mode: 0o644 });
    if (ids) for (const p of [base, unreadable, `${unreadable}.pub`, open, `${open}.pub`, knownHosts]) await chown(p, ids.uid, ids.gid);
    const stderrOf = (file: string, args: string[]) =>
      execFileP(file, args, { env: { ...process.env, HOME: base }, ...ids }).then(
        () => 'exit 0',
        (e: { code: number; stderr: string }) => `exit ${e.code}\n${e.stderr}`,
      );
    // sshconnect2.c sign_and_send_pubkey: load_identity_file fails (SSH_ERR_KEY_NOT_FOUND), a soft
    // failure: its own line (Load key, or the UNPROTECTED block), no "signing failed" line.
    // -v: from the publickey method on.
    const authLines = (text: string) => {
      const lines = text.replace(/\r/g, '').split('\n');
      const from = lines.indexOf('debug1: Next authentication method: publickey');
      return [lines[0], ...lines.slice(from)];
    };
    for (const key of [unreadable, open]) {
      const args = [
        '-F', 'none', '-p', String(sshd.port), '-l', sshd.user, '-N', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
        '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-i', key,
      ];
      const ours = await stderrOf(process.execPath, [CLI, ...args, sshd.host]);
      const theirs = await stderrOf(SSH_CLIENT_PATH, [...args, sshd.host]);
      const denied = `${sshd.user}@${sshd.host}: Permission denied (publickey).\r\n`;
      const said = key === unreadable ? `Load key "${key}": Permission denied\r\n` : `${sshWarning(key, '0644')}\r\n`;
      expect(theirs).toBe(`exit 255\n${said}${denied}`);
      expect(ours).toBe(theirs);

      const oursV = authLines(await stderrOf(process.execPath, [CLI, ...args, '-v', sshd.host]));
      const theirsV = authLines(await stderrOf(SSH_CLIENT_PATH, [...args, '-v', sshd.host]));
      expect(theirsV.some((l) => l.startsWith(`debug1: Server accepts key: ${key} ED25519 `)), theirsV.join('\n')).toBe(true);
      expect(oursV).toEqual(theirsV);
    }
  });
});
