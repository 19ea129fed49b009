/**
 * When the CLI runs SSH_ASKPASS for a key's passphrase, with no terminal, beside ssh 9.2
 * (readpass.c read_passphrase): askpass is allowed only with a non-empty DISPLAY;
 * SSH_ASKPASS_REQUIRE, compared without case, `force` uses it regardless, `prefer` only when
 * allowed, `never` forbids it; unset, no terminal and a DISPLAY use it. Each client runs setsid
 * (no controlling terminal, stdin not a tty); the askpass script records each prompt it is run
 * with, and answers the right passphrase.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';
import { cliEnv, itWithHome, suiteDir } from './harness/home.js';
import { startCli } from './harness/proc.js';
import { describeInterop, sshClientAvailable, sshdSuite } from './harness/sshd.js';

const PASS = 'hunter2';

/** Environment beside SSH_ASKPASS, and whether ssh 9.2 runs the askpass program with it. */
const CASES: { env: Record<string, string>; runs: boolean }[] = [
  { env: { SSH_ASKPASS_REQUIRE: 'FORCE' }, runs: true }, // no DISPLAY: force allows it
  { env: { SSH_ASKPASS_REQUIRE: 'prefer' }, runs: false }, // prefer needs a DISPLAY
  { env: { SSH_ASKPASS_REQUIRE: 'Prefer', DISPLAY: ':0' }, runs: true },
  { env: { SSH_ASKPASS_REQUIRE: 'NEVER', DISPLAY: ':0' }, runs: false },
  { env: { DISPLAY: ':0' }, runs: true }, // no terminal, a display
  { env: { DISPLAY: '' }, runs: false }, // an empty DISPLAY is none
];

describeInterop('SSH_ASKPASS_REQUIRE and DISPLAY decide askpass as ssh 9.2 does', () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-askpass-require-');
  let key = '';

  beforeAll(() => {
    key = join(dir, 'id_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASS, '-C', '', '-f', key]);
    writeFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(`${key}.pub`), { flag: 'a' });
  });

  CASES.forEach((c, i) => {
    itWithHome(`${JSON.stringify(c.env)}: askpass ${c.runs ? 'runs' : 'does not run'}, as for ssh 9.2`, async () => {
      const args = ['-F', 'none', '-p', String(sshd.port), '-l', 'root', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-v'];
      const seen: Record<string, { prompts: string[]; loggedIn: boolean; requested: boolean }> = {};
      for (const client of ['pure-ssh', 'ssh'] as const) {
        const prompts = join(dir, `prompts-${client}-${i}`);
        const askpass = join(dir, `askpass-${client}-${i}.sh`);
        rmSync(prompts, { force: true });
        writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${prompts}\necho ${PASS}\n`, { mode: 0o755 });
        const { DISPLAY: _display, SSH_ASKPASS_REQUIRE: _require, ...base } = cliEnv(join(dir, `home-${client}-${i}`), { SSH_AUTH_SOCK: '' });
        const env = { ...base, SSH_ASKPASS: askpass, ...c.env };
        const r =
          client === 'pure-ssh'
            ? await startCli('pure-ssh', [...args, '-N', '127.0.0.1'], { env, until: /Authenticated to |Permission denied/, detached: true, killAfterMs: 30_000 }).done
            : await startCli('ssh', [...args, '127.0.0.1', 'true'], { env, detached: true, killAfterMs: 30_000 }).done;
        seen[client] = {
          prompts: existsSync(prompts) ? readFileSync(prompts, 'utf8').split('\n').filter(Boolean) : [],
          loggedIn: r.stderr.includes('Authenticated to 127.0.0.1'),
          requested: r.stderr.includes('read_passphrase: requested to askpass'),
        };
      }
      const expected = { prompts: c.runs ? [`Enter passphrase for key '${key}': `] : [], loggedIn: c.runs };
      expect(seen.ssh, 'ssh 9.2').toMatchObject(expected);
      expect(seen['pure-ssh'], 'pure-ssh').toEqual(seen.ssh);
    }, 60_000);
  });
});

describeInterop('the password prompt names HostKeyAlias when set, as ssh 9.2 (sshconnect2.c userauth_passwd)', () => {
  const sshd = sshdSuite({ password: true });
  const dir = suiteDir('pure-ssh-askpass-alias-');

  for (const alias of [undefined, 'myalias']) {
    itWithHome(`HostKeyAlias ${alias ?? 'unset'}: the prompt as ssh's`, async () => {
      const prompts: Record<string, string[]> = {};
      for (const client of ['pure-ssh', 'ssh'] as const) {
        const log = join(dir, `prompts-${client}-${alias ?? 'none'}`);
        const askpass = join(dir, `askpass-${client}-${alias ?? 'none'}.sh`);
        rmSync(log, { force: true });
        writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${log}\necho not-the-password\n`, { mode: 0o755 });
        const kh = join(dir, `kh-${client}-${alias ?? 'none'}`);
        // The alias's known_hosts entry: the host key check passes under the alias as under the address.
        const entry = readFileSync(sshd.knownHostsPath, 'utf8').split('\n')[0]!.replace(/^\S+/, alias ?? `[127.0.0.1]:${sshd.port}`);
        writeFileSync(kh, `${entry}\n`);
        const args = ['-F', 'none', '-p', String(sshd.port), '-l', sshd.password!.user, '-o', 'PubkeyAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
          '-o', 'PasswordAuthentication=yes', '-o', 'NumberOfPasswordPrompts=1', '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
          ...(alias ? ['-o', `HostKeyAlias=${alias}`] : []), '-N', '127.0.0.1'];
        const { DISPLAY: _display, ...base } = cliEnv(join(dir, `home-${client}-${alias ?? 'none'}`), { SSH_AUTH_SOCK: '' });
        const env = { ...base, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' };
        await startCli(client, args, { env, until: /Permission denied|Authenticated to /, detached: true, killAfterMs: 30_000 }).done;
        prompts[client] = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      }
      expect(prompts.ssh, 'ssh 9.2').toEqual([`${sshd.password!.user}@${alias ?? '127.0.0.1'}'s password: `]);
      expect(prompts['pure-ssh']).toEqual(prompts.ssh);
    }, 60_000);
  }
});

describeInterop("a key's passphrase refused, then not given: ssh 9.2's debug2 lines (sshconnect2.c load_identity_file; break27 #4)", () => {
  const sshd = sshdSuite();
  const dir = suiteDir('pure-ssh-passphrase-lines-');

  itWithHome('-v shows neither line, -vv both, worded as ssh', async () => {
    const key = join(dir, 'id_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASS, '-C', '', '-f', key]);
    // Accepted by the server, so that both clients load the private half (after PK_OK).
    writeFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(`${key}.pub`), { flag: 'a' });
    const lines: Record<string, string[]> = {};
    for (const client of ['pure-ssh', 'ssh'] as const) {
      for (const v of ['-v', '-vv']) {
        const count = join(dir, `count-${client}${v}`);
        const askpass = join(dir, `askpass-${client}${v}.sh`);
        // A wrong passphrase, then none: the key is given up.
        writeFileSync(askpass, `#!/bin/sh\necho >> ${count}\n[ "$(wc -l < ${count})" -eq 1 ] && echo wrong\nexit 0\n`, { mode: 0o755 });
        const { DISPLAY: _display, SSH_ASKPASS_REQUIRE: _require, ...base } = cliEnv(join(dir, `home-${client}`), { SSH_AUTH_SOCK: '' });
        const env = { ...base, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' };
        const args = ['-F', 'none', '-p', String(sshd.port), '-l', 'root', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
          '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-o', 'BatchMode=no', v, '-N', '127.0.0.1'];
        const r = await startCli(client, args, { env, detached: true, killAfterMs: 30_000 }).done;
        lines[`${client}${v}`] = r.stderr.split(/\r?\n/).filter((l) => /passphrase given/.test(l));
      }
    }
    expect(lines['pure-ssh-v']).toEqual([]);
    expect(lines['pure-ssh-vv']).toEqual(['debug2: bad passphrase given, try again...', 'debug2: no passphrase given, try next key']);
    if (sshClientAvailable()) {
      expect(lines['pure-ssh-v']).toEqual(lines['ssh-v']);
      expect(lines['pure-ssh-vv']).toEqual(lines['ssh-vv']);
    }
  }, 90_000);
});
