/**
 * The library's own host-key question (strictHostKeyChecking 'ask' without a `prompt` option:
 * known-hosts-file.ts terminalPrompt) on a real terminal, as ssh(1)'s confirm() asks it: on
 * /dev/tty, with what was typed before the question discarded (readpassphrase(3)'s TCSAFLUSH). It
 * read process.stdin when that was a TTY, through readline, so a "yes" typed ahead (or piped
 * into the terminal) accepted an unknown host key: the CLI stopped that (break27 #2), the
 * library's default prompt did not. A script using the built library runs under script(1) against
 * sshd 9.2 with an empty known_hosts file; and in a session of its own, without a terminal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const LIB = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const QUESTION = /\(yes\/no\/\[fingerprint\]\)\? $/;

describeInterop("the library's host-key question on a terminal", () => {
  let sshd: SshdHandle;
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(LIB)) throw new Error(`${LIB} is missing: run \`npm run build\` first`);
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'lib-hostkey-question-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * An empty known_hosts file and a script connecting to sshd with 'ask' that prints `RESULT
   * CONNECTED` or `RESULT CODE MESSAGE`.
   */
  const askScript = (name: string): { known: string; script: string } => {
    const known = join(dir, `known_hosts_${name}`);
    writeFileSync(known, '');
    const script = join(dir, `${name}.mjs`);
    writeFileSync(
      script,
      `import { connect } from ${JSON.stringify(LIB)};
const o = ${JSON.stringify({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: known, strictHostKeyChecking: 'ask' })};
try { await (await connect(o)).close(); console.log('RESULT CONNECTED'); } catch (e) { console.log('RESULT ' + e.code + ' ' + e.message); }
`,
    );
    return { known, script };
  };

  /**
   * Connects with 'ask' under script(1); `ahead` is typed at once (before the question), `answer`
   * once the question shows. What the script printed (CONNECTED or the error) and the known_hosts file.
   */
  const ask = async (ahead: string, answer: string): Promise<{ out: string; known: string }> => {
    const { known, script } = askScript(`ask-${Math.random().toString(36).slice(2)}`);
    const p = spawn('script', ['-qec', `'${process.execPath}' '${script}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let answered = false;
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!answered && QUESTION.test(out)) {
        answered = true;
        p.stdin.write(answer);
      }
    });
    if (ahead) p.stdin.write(ahead);
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await new Promise((r) => p.on('close', r));
    clearTimeout(timer);
    return { out, known: readFileSync(known, 'utf8') };
  };

  it('a "yes" typed before the question does not answer it: the "no" typed after it does; nothing written', async () => {
    const { out, known } = await ask('yes\n', 'no\n');
    expect(out).toMatch(/Are you sure you want to continue connecting/);
    expect(out).toMatch(/RESULT ERR_HOST_KEY_REJECTED Host key verification failed: you refused the ssh-ed25519 key/);
    expect(known).toBe('');
  }, 30_000);

  it('"yes" typed once the question shows accepts the key and writes it', async () => {
    const { out, known } = await ask('', 'yes\n');
    expect(out).toMatch(/RESULT CONNECTED/);
    expect(known).toMatch(/ssh-ed25519 /);
  }, 30_000);

  it('Ctrl-D on an empty line is "no", as ssh\'s confirm() takes it: refused, nothing written', async () => {
    const { out, known } = await ask('', '\x04');
    expect(out).toMatch(/RESULT ERR_HOST_KEY_REJECTED Host key verification failed: you refused the ssh-ed25519 key/);
    expect(known).toBe('');
  }, 30_000);

  it('two connections asking at once: one question on the terminal at a time, each answer its own', async () => {
    const known = join(dir, 'known_hosts_two');
    writeFileSync(known, '');
    const script = join(dir, 'ask-two.mjs');
    const base = { port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: known, strictHostKeyChecking: 'ask' };
    writeFileSync(
      script,
      `import { connect } from ${JSON.stringify(LIB)};
const one = async (host) => { try { await (await connect({ ...${JSON.stringify(base)}, host })).close(); return host + ' CONNECTED'; } catch (e) { return host + ' ' + e.code; } };
const r = await Promise.all([one('127.0.0.1'), one('localhost')]);
console.log('RESULT ' + r.join(', '));
`,
    );
    const p = spawn('script', ['-qec', `'${process.execPath}' '${script}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const shownWhenAnswered: number[] = [];
    const answers = ['yes\n', 'no\n'];
    const shownNow = () => out.match(/Are you sure you want to continue connecting/g)?.length ?? 0;
    let pending = false;
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (pending || shownNow() <= shownWhenAnswered.length || !QUESTION.test(out) || answers.length === 0) return;
      // Answered 1.5 s after it shows: time enough for the other connection's question to show
      // too, were the two not queued.
      pending = true;
      setTimeout(() => {
        pending = false;
        shownWhenAnswered.push(shownNow());
        p.stdin.write(answers.shift()!);
      }, 1500);
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await new Promise((r) => p.on('close', r));
    clearTimeout(timer);
    // The second question showed only after the first was answered.
    expect(shownWhenAnswered, out).toEqual([1, 2]);
    const result = /RESULT (.*)/.exec(out)?.[1]?.trim();
    // One accepted, the other refused; which host asked first is the connections' race.
    expect(result?.split(', ').map((r) => r.split(' ')[1]).sort(), out).toEqual(['CONNECTED', 'ERR_HOST_KEY_REJECTED']);
    expect(readFileSync(known, 'utf8').trim().split('\n')).toHaveLength(1);
  }, 30_000);

  // (Was test/ask-without-terminal.test.ts, tester tlib's finding 10j: the refusal said it twice,
  // "no terminal to ask (no terminal available to ask the question)".)
  it('without a terminal (setsid, stdin a pipe): refused with one "no terminal to ask", nothing written', () => {
    const { known, script } = askScript('notty');
    // setsid(1): a session of its own, so /dev/tty cannot be opened; stdin a pipe, not a TTY.
    const r = spawnSync('setsid', ['-w', process.execPath, script], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
    const [, code = '', message = ''] = /^RESULT (\S+) (.*)$/.exec(r.stdout.trim()) ?? [];
    const out = { code, message };
    expect(out.code).toBe('ERR_HOST_KEY_UNKNOWN');
    expect(out.message).toMatch(/^No matching host key for \[127\.0\.0\.1\]:\d+ \(ssh-ed25519 SHA256:\S+\) and no terminal to ask\. Host key verification failed\.$/);
    expect(out.message.match(/terminal/g)).toHaveLength(1);
    expect(readFileSync(known, 'utf8')).toBe('');
  });
});
