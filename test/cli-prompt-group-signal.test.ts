/**
 * Ctrl-C (Ctrl-\) at a prompt stops a shell loop around the client, as it does around ssh 9.2
 * (break17 F3). readpassphrase(3) turns off only the terminal's echo, so the terminal itself sends
 * SIGINT to the whole foreground process group: a script run with `bash FILE` (no job control:
 * the shell and the client share the group) gets it too, and bash ends the loop only when it got
 * the signal itself while the client died of it. In an interactive shell (job control) the client
 * is a group of its own and bash ends the loop because the client died of SIGINT. Each shell runs
 * on a new terminal under script(1); the prompts: password, keyboard-interactive (PAM), a key's
 * passphrase and the host key question. The terminal must have its echo back afterwards.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `command` on a new terminal; when `prompt` shows (after `typed`, if given), types `key`;
 * `after` is typed once the prompt's line has ended (to an interactive shell). The terminal's text.
 */
function onTerminal(command: string, env: NodeJS.ProcessEnv, o: { typed?: string; prompt: RegExp; key: string; after?: string }): Promise<{ out: string; prompted: boolean }> {
  const p = spawn('script', ['-qfc', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let at = 0;
  let keyed = false;
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!keyed && o.prompt.test(out.slice(at))) {
      keyed = true;
      at = out.length;
      p.stdin.write(o.key);
    }
  });
  if (o.typed !== undefined) {
    // An interactive shell: the command line once its first prompt is up.
    const typeIt = setInterval(() => {
      if (out.includes('$ ')) {
        clearInterval(typeIt);
        at = out.length;
        p.stdin.write(o.typed!);
      }
    }, 50);
    const after = setInterval(() => {
      if (keyed && /\$ $/.test(out.slice(at))) {
        clearInterval(after);
        p.stdin.write(o.after ?? 'exit\n');
      }
    }, 50);
    p.on('close', () => {
      clearInterval(typeIt);
      clearInterval(after);
    });
  }
  const timer = setTimeout(() => p.kill('SIGKILL'), 25_000);
  return new Promise((resolve) =>
    p.on('close', () => {
      clearTimeout(timer);
      resolve({ out: out.replace(/\r/g, ''), prompted: keyed });
    }),
  );
}

describeInteropWithHome('CLI: Ctrl-C at a prompt stops the shell loop around it, beside ssh 9.2', () => {
  const home = suiteHome();
  let sshd: SshdHandle;
  let env: NodeJS.ProcessEnv;
  let key: string;
  let emptyKnownHosts: string;
  beforeAll(async () => {
    sshd = await startSshd({ password: true, config: { UsePAM: 'yes', KbdInteractiveAuthentication: 'yes' } });
    key = join(sshd.dir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret1', '-C', 'enc', '-f', key]);
    appendFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    emptyKnownHosts = join(sshd.dir, 'empty_known_hosts');
    writeFileSync(emptyKnownHosts, '');
    env = cliEnv(home, { SSH_AUTH_SOCK: '', PS1: '$ ', SHELL: '/bin/sh' });
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  const user = () => sshd.password!.user;
  const base = () => ['-N', '-F', 'none', '-p', String(sshd.port), '-o', 'GlobalKnownHostsFile=/dev/null'];
  const cases: { at: string; args: () => string[]; prompt: RegExp }[] = [
    {
      at: 'the password prompt',
      args: () => [...base(), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PreferredAuthentications=password', `${user()}@127.0.0.1`],
      prompt: /'s password: $/,
    },
    {
      at: 'the keyboard-interactive prompt',
      args: () => [...base(), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PubkeyAuthentication=no', `${user()}@127.0.0.1`],
      prompt: /\) Password: $/,
    },
    {
      at: 'the passphrase prompt',
      args: () => [
        ...base(), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'PreferredAuthentications=publickey',
        // root: the password user cannot read the test's authorized_keys.
        '-o', 'IdentitiesOnly=yes', '-i', key, 'root@127.0.0.1',
      ],
      prompt: /Enter passphrase for key '[^']*': $/,
    },
    {
      at: 'the host key question',
      args: () => [...base(), '-o', `UserKnownHostsFile=${emptyKnownHosts}`, '-o', 'StrictHostKeyChecking=ask', '-o', 'PasswordAuthentication=no', `${user()}@127.0.0.1`],
      prompt: /\(yes\/no\/\[fingerprint\]\)\? $/,
    },
  ];
  const clients = [['ssh', ['/usr/bin/ssh']], ['pure-ssh', ['node', CLI]]] as const;
  /** The loop; `echo` shows whether the terminal has its echo back once it stopped. */
  const loop = (argv: readonly string[]) =>
    `for i in 1 2; do echo loop$i; ${argv.map(quote).join(' ')}; echo rc=$?; done`;
  // The pause after it: script(1) can end before it has read the last output of a command that
  // exits at once (the ssh side missed its ECHO-ON line once in a loaded CI run).
  const echoState = `case $(stty) in *-echo*) echo ECHO-OFF;; *) echo ECHO-ON;; esac; sleep 0.3\n`;

  const scripted = [
    ...cases.map((c) => ({ ...c, what: 'Ctrl-C', key: '\x03', shell: 'bash' })),
    // bash ignores SIGQUIT in every case; a script run by sh (dash) is ended by it.
    { ...cases[0]!, what: 'Ctrl-\\', key: '\x1c', shell: 'sh' },
  ];
  for (const c of scripted) {
    it(`a script run by ${c.shell}: ${c.what} at ${c.at} ends the loop`, async () => {
      const seen = [];
      for (const [name, cmd] of clients) {
        const file = join(sshd.dir, `loop-${name}.sh`);
        writeFileSync(file, `${loop([...cmd, ...c.args()])}\necho after-loop\n`);
        // The shell script(1) runs shares the group too: a trap keeps it for the echo check.
        const { out, prompted } = await onTerminal(`trap true INT QUIT; ${c.shell} ${quote(file)}; ${echoState}`, env, { prompt: c.prompt, key: c.key });
        seen.push({ name, prompted, loop2: out.includes('loop2'), rc: /rc=\d/.exec(out)?.[0], after: out.includes('after-loop'), echo: /ECHO-O\w+(?=\n)/.exec(out)?.[0] });
      }
      const expected = { prompted: true, loop2: false, rc: undefined, after: false, echo: 'ECHO-ON' };
      expect(seen).toEqual([{ name: 'ssh', ...expected }, { name: 'pure-ssh', ...expected }]);
    }, 60_000);
  }

  // (bash ends a loop for a job killed by SIGINT only: Ctrl-\\ goes on to loop2 around ssh too.)
  for (const [what, key, code] of [['Ctrl-C', '\x03', 130]] as const) {
    it(`an interactive shell: ${what} at the password prompt ends the loop, $? ${code}, echo back on`, async () => {
      const seen = [];
      for (const [name, cmd] of clients) {
        const { out, prompted } = await onTerminal('bash --norc --noprofile -i', env, {
          typed: `${loop([...cmd, ...cases[0]!.args()])}; echo after-loop\n`,
          prompt: cases[0]!.prompt,
          key,
          after: `echo status=$?; ${echoState}exit\n`,
        });
        // Past the echoed command line: what the loop printed.
        const tail = out.slice(out.indexOf('loop1\n'));
        seen.push({ name, prompted, loop2: tail.includes('loop2'), rc: /rc=\d/.exec(tail)?.[0], after: /^after-loop$/m.test(tail), status: /status=(\d+)/.exec(tail)?.[1], echo: /ECHO-O\w+(?=\n)/.exec(tail)?.[0] });
      }
      const expected = { prompted: true, loop2: false, rc: undefined, after: false, status: String(code), echo: 'ECHO-ON' };
      expect(seen).toEqual([{ name: 'ssh', ...expected }, { name: 'pure-ssh', ...expected }]);
    }, 60_000);
  }
});
