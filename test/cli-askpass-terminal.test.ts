/**
 * Which channel asks, side by side with ssh 9.2 (readpass.c read_passphrase, sshconnect.c
 * confirm): the first-connection host key question goes to SSH_ASKPASS as the passwords do (the
 * whole question as the one argument, SSH_ASKPASS_PROMPT not set, "Please type 'yes', 'no' or the
 * fingerprint: " asked again through it; an askpass that fails or answers nothing refuses); "has a
 * terminal" is whether /dev/tty opens, not whether stdin or stderr is one; an answer not had (no
 * terminal, an askpass that exits non-zero) is an empty password, sent and asked again
 * NumberOfPasswordPrompts times. The askpass script records its argument and SSH_ASKPASS_PROMPT
 * and gives the next answer of a list ("FAIL": exit 1). Each client runs without a controlling
 * terminal (setsid), or under script(1) with its streams redirected, or under script(1) through
 * setsid (its streams a terminal, no controlling one).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteDir } from './harness/home.js';
import { CLI_BIN_PATH } from './harness/proc.js';
import { sshClientAvailable, sshdSuite } from './harness/sshd.js';

type Where = 'setsid' | 'tty, streams redirected' | 'tty streams, setsid';

interface Run {
  /** What the askpass program was run with: its argument and SSH_ASKPASS_PROMPT. */
  asked: { arg: string; hint: string }[];
  code: number | null;
  /** stderr (and the terminal's text under script). */
  out: string;
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

describeInteropWithHome('CLI: SSH_ASKPASS and the terminal decided as ssh 9.2 read_passphrase decides', () => {
  const sshd = sshdSuite({ password: true, builtCli: true });
  const dir = suiteDir('pure-ssh-askpass-terminal-');
  let n = 0;

  /**
   * Runs `client` with `args` `where` says, SSH_ASKPASS a script answering `answers` in turn;
   * `typed` is typed at each password prompt the terminal shows.
   */
  async function run(
    client: 'pure-ssh' | 'ssh',
    args: string[],
    where: Where,
    env: Record<string, string>,
    answers: string[],
    typed = '',
    typeahead?: { ahead: string; prompt: RegExp },
  ): Promise<Run> {
    const id = `${client.replace(/\W/g, '')}-${++n}`;
    const log = join(dir, `asked-${id}`);
    const count = join(dir, `count-${id}`);
    const errFile = join(dir, `stderr-${id}`);
    const askpass = join(dir, `askpass-${id}.sh`);
    writeFileSync(join(dir, `answers-${id}`), answers.map((a) => `${a}\n`).join(''));
    writeFileSync(
      askpass,
      `#!/bin/sh\nprintf '%s\\0%s\\0' "$1" "\${SSH_ASKPASS_PROMPT-unset}" >> ${log}\necho >> ${count}\n` +
        `a=$(sed -n "$(wc -l < ${count})p" ${join(dir, `answers-${id}`)})\n[ "$a" = FAIL ] && exit 1\nprintf '%s\\n' "$a"\n`,
      { mode: 0o755 },
    );
    const { DISPLAY: _d, WAYLAND_DISPLAY: _w, SSH_ASKPASS_REQUIRE: _r, SSH_ASKPASS_PROMPT: _p, ...base } = cliEnv(join(dir, `home-${id}`), { SSH_AUTH_SOCK: '' });
    // The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about
    // half its start-up CPU.
    const argv = [...(client === 'ssh' ? ['/usr/bin/ssh'] : [process.execPath, CLI_BIN_PATH]), ...args].map(quote).join(' ');
    const command =
      where === 'setsid' ? ['sh', ['-c', `exec ${argv} </dev/null`]] as const
        : where === 'tty, streams redirected' ? ['script', ['-qefc', `${argv} </dev/null 2>${quote(errFile)}`, '/dev/null']] as const
          : ['script', ['-qefc', `setsid -w ${argv}`, '/dev/null']] as const;
    const p = spawn(command[0], [...command[1]], { env: { ...base, SSH_ASKPASS: askpass, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: where === 'setsid' });
    let out = '';
    let prompts = 0;
    if (typeahead) p.stdin.write(typeahead.ahead);
    const onData = (d: string) => {
      out += d;
      const seen = out.match(typeahead?.prompt ?? /password: /g)?.length ?? 0;
      for (; prompts < seen; prompts++) p.stdin.write(typed);
    };
    p.stdout.setEncoding('utf8').on('data', onData);
    p.stderr.setEncoding('utf8').on('data', onData);
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    const fields = existsSync(log) ? readFileSync(log, 'utf8').split('\0') : [];
    const asked: Run['asked'] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) asked.push({ arg: fields[i]!, hint: fields[i + 1]! });
    if (existsSync(errFile)) out += readFileSync(errFile, 'utf8');
    rmSync(log, { force: true });
    return { asked, code, out: out.replace(/\r/g, '') };
  }

  /** What is compared between the two clients. */
  const shape = (r: Run) => ({
    asked: r.asked,
    code: r.code,
    readPassphrase: r.out.match(/^debug1: read_passphrase: .*$/gm) ?? [],
    again: r.out.match(/^Permission denied, please try again\.$/gm)?.length ?? 0,
    verificationFailed: /^Host key verification failed\.$/m.test(r.out),
    added: /^Warning: Permanently added /m.test(r.out),
    terminalPrompts: r.out.match(/password: /g)?.length ?? 0,
  });

  const both = async (args: () => string[], where: Where, env: Record<string, string>, answers: string[], typed = '', typeahead?: { ahead: string; prompt: RegExp }) => {
    const ours = await run('pure-ssh', args(), where, env, answers, typed, typeahead);
    if (!sshClientAvailable()) return { ours: shape(ours), theirs: undefined, text: ours.out };
    const theirs = await run('ssh', args(), where, env, answers, typed, typeahead);
    expect(shape(ours), `pure-ssh:\n${ours.out}\nssh:\n${theirs.out}`).toEqual(shape(theirs));
    return { ours: shape(ours), theirs: shape(theirs), text: ours.out };
  };

  // A host whose key is not known yet: the question, then no way to log in (no password, no key).
  const newHost = (kh: string) => [
    '-v', '-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PubkeyAuthentication=no', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-N', `${sshd.password!.user}@127.0.0.1`,
  ];
  const question = () => {
    const fp = readFileSync(sshd.knownHostsPath, 'utf8');
    expect(fp).toContain('ssh-ed25519');
    return expect.stringMatching(
      new RegExp(`^The authenticity of host '\\[127\\.0\\.0\\.1\\]:${sshd.port} \\(\\[127\\.0\\.0\\.1\\]:${sshd.port}\\)' can't be established\\.\\nED25519 key fingerprint is SHA256:\\S+\\.\\nThis key is not known by any other names\\.\\nAre you sure you want to continue connecting \\(yes/no/\\[fingerprint\\]\\)\\? $`),
    );
  };
  const again = { arg: "Please type 'yes', 'no' or the fingerprint: ", hint: 'unset' };

  const hostKeyCases: [string, string[], boolean, number][] = [
    ['"maybe" asks again, then "yes" accepts', ['maybe', 'yes'], true, 2],
    ['" yes please" is yes (confirm() reads up to a blank)', [' yes please'], true, 1],
    ['"maybe" then "NO" refuses', ['maybe', 'NO'], false, 2],
    ['an empty answer refuses', [''], false, 1],
    ['an askpass that exits 1 refuses', ['FAIL'], false, 1],
  ];
  for (const [what, answers, accepted, asks] of hostKeyCases) {
    it(`host key question through SSH_ASKPASS (no terminal, DISPLAY): ${what}`, async () => {
      const kh = () => join(dir, `kh-${++n}`);
      const { ours } = await both(() => newHost(kh()), 'setsid', { DISPLAY: ':0' }, answers);
      expect(ours.asked).toEqual([{ arg: question(), hint: 'unset' }, again].slice(0, asks));
      expect(ours.readPassphrase).toEqual(Array(asks).fill("debug1: read_passphrase: can't open /dev/tty: No such device or address"));
      expect(ours.added).toBe(accepted);
      expect(ours.verificationFailed).toBe(!accepted);
      expect(ours.code).toBe(255);
    }, 90_000);
  }

  it('host key question with SSH_ASKPASS_REQUIRE=force on a terminal: askpass, "requested to askpass"', async () => {
    const { ours } = await both(() => newHost(join(dir, `kh-${++n}`)), 'tty, streams redirected', { SSH_ASKPASS_REQUIRE: 'force' }, ['no']);
    expect(ours.asked).toEqual([{ arg: question(), hint: 'unset' }]);
    expect(ours.readPassphrase).toEqual(['debug1: read_passphrase: requested to askpass']);
    expect(ours.verificationFailed).toBe(true);
  }, 90_000);

  it('text typed ahead of the host-key question does not answer it: discarded, as readpassphrase(3)\'s TCSAFLUSH discards it (break27 #2)', async () => {
    // "yes" reaches the terminal before the client starts; "no" is typed once the question shows.
    const { ours } = await both(() => newHost(join(dir, `kh-${++n}`)), 'tty, streams redirected', {}, [], 'no\r', {
      ahead: 'yes\r',
      prompt: /continue connecting \(yes\/no\/\[fingerprint\]\)\? /g,
    });
    expect(ours).toMatchObject({ asked: [], added: false, verificationFailed: true, code: 255 });
  }, 90_000);

  it('a password typed ahead of its prompt is discarded too: the one typed at the prompt is what is sent', async () => {
    const { ours } = await both(password, 'tty, streams redirected', {}, [], 'wrong\r', { ahead: `${sshd.password!.password}\r`, prompt: /password: /g });
    expect(ours).toMatchObject({ asked: [], terminalPrompts: 2, again: 1, code: 255 });
  }, 90_000);

  // Password prompts: a wrong answer typed on the terminal, or askpass's, NumberOfPasswordPrompts=2.
  const password = () => [
    '-v', '-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'PubkeyAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-o', 'NumberOfPasswordPrompts=2', '-N', `${sshd.password!.user}@127.0.0.1`,
  ];
  const prompt = () => ({ arg: `${sshd.password!.user}@127.0.0.1's password: `, hint: 'unset' });

  it('a terminal with stdin and stderr redirected is still a terminal: the prompt is on it, not askpass', async () => {
    const { ours } = await both(password, 'tty, streams redirected', { DISPLAY: ':0' }, ['wrong', 'wrong'], 'wrong\r');
    expect(ours).toMatchObject({ asked: [], terminalPrompts: 2, again: 1, readPassphrase: [], code: 255 });
  }, 90_000);

  it('stdin and stderr a terminal but no controlling one (setsid): askpass with a DISPLAY', async () => {
    const { ours } = await both(password, 'tty streams, setsid', { DISPLAY: ':0' }, ['wrong', 'wrong']);
    expect(ours).toMatchObject({ asked: [prompt(), prompt()], again: 1, code: 255 });
    expect(ours.readPassphrase).toEqual(Array(2).fill("debug1: read_passphrase: can't open /dev/tty: No such device or address"));
  }, 90_000);

  it('no controlling terminal and no askpass: empty passwords, sent and asked again', async () => {
    const { ours } = await both(password, 'tty streams, setsid', {}, []);
    expect(ours).toMatchObject({ asked: [], again: 1, terminalPrompts: 0, code: 255 });
    expect(ours.readPassphrase).toHaveLength(2);
  }, 90_000);

  it('an askpass that exits 1 is an empty password: sent, and asked again', async () => {
    const { ours } = await both(password, 'setsid', { DISPLAY: ':0' }, ['FAIL', 'FAIL']);
    expect(ours).toMatchObject({ asked: [prompt(), prompt()], again: 1, code: 255 });
  }, 90_000);
});
