/**
 * Corner cases of ssh_config lines and the command line where pure-ssh once differed from
 * OpenSSH: the built `pure-ssh -G` is run next to the machine's own `ssh -G` (OpenSSH 9.2 here)
 * on the same file and arguments, and their exit status, messages and the relevant output lines
 * must be the same. Where pure-ssh deliberately refuses what ssh 9.2 lets through (a list left
 * empty, which OpenSSH 10.4 refuses too), the test says so. Needs `npm run build` first and
 * OpenSSH's client (CI=true: a missing `ssh` fails).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, describeWithHome, itWithHome } from './harness/home.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { jumpHostArgv, resolveCommandLine } from '../src/config/cli-args.js';
import { escapeCharText } from '../src/config/keywords.js';
import { processCliEnvironment } from '../src/node/connect-host.js';
import { inCI, openssh10, openssh10Available, SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';
import { PURE_SSH_VERSION } from '../src/transport/version.js';

const SSH = SSH_CLIENT_PATH;
// Under CI a missing ssh fails the tests (spawning it fails), never skips them.
const haveSsh = sshClientAvailable() || inCI();

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The passwd home of the ssh and pure-ssh runs that name none (harness/home.ts): never the real user's ~/.ssh.
const defaultHome = join(dir, 'default-home');

let n = 0;
/** A config file holding `text` (a string, NUL bytes allowed). */
function conf(text: string): string {
  const path = join(dir, `c${n++}.conf`);
  writeFileSync(path, text);
  return path;
}

interface Out {
  status: number | null;
  stdout: string[];
  stderr: string[];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = cliEnv(defaultHome)): Out {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    status: r.status,
    stdout: r.stdout.split('\n').filter((l) => l !== ''),
    // ssh's own notice about its stdin, which says nothing about the configuration (compared on
    // its own below).
    stderr: r.stderr.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('Pseudo-terminal will not be allocated')),
  };
}

const ours = (args: string[], env?: NodeJS.ProcessEnv) => run(process.execPath, [CLI, '-G', ...args], env);
const theirs = (args: string[], env?: NodeJS.ProcessEnv) => run(SSH, ['-G', ...args], env);

/** The output lines starting with `keyword ` (ssh -G's lowercase names). */
const lines = (o: Out, keyword: string) => o.stdout.filter((l) => l.startsWith(`${keyword} `));

/** Same exit status and messages, and the same `keyword` lines. */
function expectSame(args: string[], keyword?: string, env?: NodeJS.ProcessEnv): Out {
  const a = ours(args, env);
  const b = theirs(args, env);
  expect({ status: a.status, stderr: a.stderr }, args.join(' ')).toEqual({ status: b.status, stderr: b.stderr });
  if (keyword !== undefined) {
    expect(lines(b, keyword).length, `ssh prints ${keyword}`).toBeGreaterThan(0);
    expect(lines(a, keyword), args.join(' ')).toEqual(lines(b, keyword));
  }
  return a;
}

(haveSsh ? describeWithHome : describe.skip)('pure-ssh -G and ssh -G on the same corner cases', () => {
  it('"Pseudo-terminal will not be allocated because stdin is not a terminal." when ssh would want one (no command, no -N/-W/-T, SessionType not none) and LogLevel shows INFO', () => {
    const note = 'Pseudo-terminal will not be allocated because stdin is not a terminal.';
    const raw = (cmd: string, args: string[]) => spawnSync(cmd, args, { env: cliEnv(defaultHome), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    for (const extra of [[], ['-n'], ['-T'], ['-N'], ['-W', 'h:1'], ['-q'], ['-o', 'SessionType=none'], ['-o', 'LogLevel=ERROR'], ['-f'], ['cmd']]) {
      const args = ['-G', '-F', 'none', ...extra.filter((a) => a !== 'cmd'), 'h', ...extra.filter((a) => a === 'cmd')];
      const a = raw(process.execPath, [CLI, ...args]);
      const b = raw(SSH, args);
      // stdin is /dev/null here: the note for the first two, ssh -f's refusal without a command.
      expect({ status: a.status, stderr: a.stderr }, args.join(' ')).toEqual({ status: b.status, stderr: b.stderr });
      expect(a.stderr.includes(note), args.join(' ')).toBe(extra.length === 0 || extra[0] === '-n');
    }
  });

  it('an empty argument ("") to Host, Include and the list keywords is refused with ssh\'s message', () => {
    for (const line of ['Host ""', 'Host a ""', 'Include ""', 'Include a ""', 'UserKnownHostsFile a ""', 'GlobalKnownHostsFile ""', 'CanonicalDomains a ""', 'LogVerbose ""']) {
      const path = conf(`${line}\nPort 2\n`);
      const a = expectSame(['-F', path, 'h']);
      expect(a.status, line).toBe(255);
      expect(a.stderr[0], line).toMatch(/ line 1: keyword [a-z]+ empty argument$/);
    }
  });

  it('Match criterion=value in one word, Match all "", Match all # comment', () => {
    for (const text of ['Match host=h\nPort 3\n', 'Match HOST=x,h\nPort 3\n', 'Match !host=h\nPort 3\n', 'Match host=nope\nPort 3\n', 'Match all ""\nPort 3\n', 'Match all # note\nPort 3\n', 'Match host h # note\nPort 3\n']) {
      const a = expectSame(['-F', conf(text), 'h'], 'port');
      expect(a.status, text).toBe(0);
    }
    // And one that the previous code got right and must still refuse, as ssh does.
    expect(expectSame(['-F', conf('Match all host h\n'), 'h']).status).toBe(255);
    // A word after `all ""` is left over: readconf.c's "keyword match extra arguments at end of line".
    for (const text of ['Match all "" x\nPort 3\n', 'Match all "" ""\nPort 3\n']) {
      expect(expectSame(['-F', conf(text), 'h']).status, text).toBe(255);
    }
  });

  (openssh10Available() || inCI() ? it : it.skip)('Match lines where OpenSSH 10 differs from 9.2 (argv_split drops the comment first): pure-ssh follows 10', () => {
    const ssh10 = openssh10().ssh;
    for (const text of ['Match all "" # note', 'Match all ""# note', 'Match host h "" # x', 'Match host', 'Match !host # x', 'Match canonical foo', 'Match host ""', 'Match host "#x"']) {
      const path = conf(`${text}\nPort 3\n`);
      const a = ours(['-F', path, 'h']);
      const b = run(ssh10, ['-G', '-F', path, 'h']);
      expect({ status: a.status, stderr: a.stderr, port: lines(a, 'port') }, text).toEqual({ status: b.status, stderr: b.stderr, port: lines(b, 'port') });
    }
    // ssh 9.2 refused the first one ("keyword match extra arguments at end of line").
    expect(theirs(['-F', conf('Match all "" # note\nPort 3\n'), 'h']).status).toBe(255);
  });

  (openssh10Available() || inCI() ? it : it.skip)('Match tagged and Match command, "" included, with Tag, -P and a command line (OpenSSH 10; 9.2 knew neither)', () => {
    const ssh10 = openssh10().ssh;
    const text =
      'Match tagged ""\nPort 3\nMatch command ""\nPort 4\nMatch tagged t*,!tx\nPort 5\nMatch command "ls -l,x"\nPort 6\nMatch !tagged ""\nUser u\nHost *\nTag ty\n';
    const path = conf(text);
    const cases = [[], ['-P', 'tz'], ['-P', 'tx'], ['-P', 'a', '-P', 'tz'], ['h', 'ls', '-l'], ['h', 'x']];
    for (const extra of cases) {
      const args = ['-G', '-F', path, ...(extra[0] === 'h' ? extra : [...extra, 'h'])];
      const a = run(process.execPath, [CLI, ...args]);
      const b = run(ssh10, args);
      const pick = (o: Out) => o.stdout.filter((l) => /^(port|user|tag) /.test(l));
      expect({ status: a.status, stderr: a.stderr, out: pick(a) }, extra.join(' ')).toEqual({ status: b.status, stderr: b.stderr, out: pick(b) });
    }
    // The criteria were evaluated: no tag matches `tagged ""` (port 3); with -P tz and a command
    // neither empty criterion holds and `tagged t*,!tx` does (port 5).
    expect(lines(ours(['-F', path, 'h']), 'port')).toEqual(['port 3']);
    expect(lines(ours(['-F', path, '-P', 'tz', 'h', 'x']), 'port')).toEqual(['port 5']);
    // ssh 9.2 refuses both criteria.
    expect(theirs(['-F', conf('Match tagged ""\n'), 'h']).status).toBe(255);
  });

  (openssh10Available() || inCI() ? it : it.skip)('Match localnetwork and Match sessiontype as OpenSSH 10 evaluates them (9.2 knew neither), bad address lists named as ssh names them', () => {
    const ssh10 = openssh10().ssh;
    // The lines of -vvv that are about the Match (check_match_ifaddrs lists the interfaces).
    // (With a bad configuration, pure-ssh drops the debug lines it had gathered: only the error
    // lines are compared then.)
    const about = (o: Out) =>
      o.stderr.filter((l) => /check_match_ifaddrs|matched '|match (not )?found|^addr_match|network|Bad Match|terminating/.test(l) && (o.status === 0 || !l.startsWith('debug')));
    const lists = ['127.0.0.0/8', '10.0.0.0/8,::1/128', 'fe80::/10', '127.1/32', '10.0.0.0/8', '1.2.3.4/8', '1.2.3.0/33', '10.0.0.0/8x', '!x', 'zz,1.0.0.0/8',
      '10.0.0.0/8,,1.2.3.0/24', `${'1'.repeat(50)}`];
    for (const list of lists) {
      const path = conf(`Match localnetwork ${list}\nPort 3\nMatch !localnetwork=${list.split(',')[0]}\nUser nobody\n`);
      const a = ours(['-vvv', '-F', path, 'h']);
      const b = run(ssh10, ['-G', '-vvv', '-F', path, 'h']);
      const pick = (o: Out) => o.stdout.filter((l) => /^(port|user) /.test(l));
      expect({ status: a.status, stderr: about(a), out: pick(a) }, list).toEqual({ status: b.status, stderr: about(b), out: pick(b) });
    }
    // The loopback network holds here, an unused one does not.
    expect(lines(ours(['-F', conf('Match localnetwork 127.0.0.0/8\nPort 3\n'), 'h']), 'port')).toEqual(['port 3']);
    expect(lines(ours(['-F', conf('Match localnetwork 203.0.113.0/24\nPort 3\n'), 'h']), 'port')).toEqual(['port 22']);

    const st = conf('Match sessiontype none\nPort 3\nMatch sessiontype exec\nPort 4\nMatch sessiontype shell\nPort 5\nMatch !sessiontype shell,exec\nUser nn\n');
    const st2 = conf('SessionType none\nMatch sessiontype none\nPort 6\n');
    for (const args of [['-F', st, 'h'], ['-N', '-F', st, 'h'], ['-F', st, 'h', 'ls'], ['-W', 'a:1', '-F', st, 'h'], ['-F', st2, 'h'], ['-o', 'SessionType=none', '-F', st, 'h']]) {
      const a = run(process.execPath, [CLI, '-G', ...args]);
      const b = run(ssh10, ['-G', ...args]);
      const pick = (o: Out) => o.stdout.filter((l) => /^(port|user) /.test(l));
      expect({ status: a.status, stderr: a.stderr, out: pick(a) }, args.join(' ')).toEqual({ status: b.status, stderr: b.stderr, out: pick(b) });
    }
    expect(lines(ours(['-N', '-F', st, 'h']), 'port')).toEqual(['port 3']);
    expect(lines(ours(['-F', st, 'h', 'ls']), 'port')).toEqual(['port 4']);
  });

  (openssh10Available() || inCI() ? it : it.skip)('Match version: ssh 10 matches its own release, pure-ssh its own (pure-ssh_VERSION, as -V prints it)', () => {
    const path = conf('Match version OpenSSH_*\nPort 3\nMatch version pure-ssh_*\nPort 4\nMatch !version=pure-ssh_*\nUser u\n');
    expect(lines(run(openssh10().ssh, ['-G', '-F', path, 'h']), 'port')).toEqual(['port 3']);
    const a = ours(['-vvv', '-F', path, 'h']);
    expect(a.status).toBe(0);
    expect(lines(a, 'port')).toEqual(['port 4']);
    expect(a.stderr).toContain(`debug3: ${path} line 3: matched 'version "pure-ssh_${PURE_SSH_VERSION}"' `);
  });

  it('-h and an unknown letter: getopt\'s "unknown option -- X" line, then the usage text, exit 255', () => {
    for (const args of [['-h'], ['-h', 'host'], ['-Nh', 'host'], ['-H'], ['-?']]) {
      const a = run(process.execPath, [CLI, ...args]);
      const b = run(SSH, args);
      expect(b.status, args.join(' ')).toBe(255);
      expect(b.stderr[1], args.join(' ')).toMatch(/^usage: ssh /);
      expect(a.status, args.join(' ')).toBe(255);
      // The usage text is pure-ssh's own; the line before it is ssh's.
      expect(a.stderr[0], args.join(' ')).toBe(b.stderr[0]);
      expect(a.stderr[1], args.join(' ')).toMatch(/^usage: pure-ssh /);
      expect(a.stdout, args.join(' ')).toEqual([]);
    }
  });

  it('ForwardAgent: an unset ${VAR}, an unclosed ${, a bad $NAME, no argument or two: readconf.c\'s lines, naming file and line, exit 255', () => {
    const env = cliEnv(defaultHome);
    delete env.NOPE_VAR;
    delete env.ALSO_NOPE;
    for (const v of ['${NOPE_VAR}', '${NOPE_VAR}/x${ALSO_NOPE}', '${unclosed', '${}', '$a-b', '""', 'yes extra']) {
      const file = conf(`Host *\n  User x\n  ForwardAgent ${v}\n`);
      const b = expectSame(['-F', file, 'h'], undefined, env);
      expect(b.status, v).toBe(255);
      expect(b.stderr.at(-1), v).toBe(`${file}: terminating, 1 bad configuration options`);
    }
    expect(expectSame(['-F', 'none', '-o', 'ForwardAgent=${NOPE_VAR}', 'h'], undefined, env).stderr).toEqual([
      'vdollar_percent_expand: env var ${NOPE_VAR} has no value',
      'command-line line 0: Invalid environment expansion ${NOPE_VAR}.',
    ]);
    // yes and no (any case) are no path: nothing to expand.
    expect(expectSame(['-F', conf('ForwardAgent No\n'), 'h'], 'forwardagent', env).status).toBe(0);
  });

  // ssh.c main, before -G prints and before connecting: the path (`~`, tokens and ${VAR} expanded)
  // is stat(2)ed, and a missing one is error()ed; ExitOnForwardFailure (yes with -W) then exits 255.
  // pure-ssh only skipped the line (-v), exit 0 even with ExitOnForwardFailure.
  it('ForwardAgent with a socket path that does not exist: ssh.c\'s "Cannot forward agent socket path" line, exit 0 unless ExitOnForwardFailure', () => {
    const env = cliEnv(defaultHome);
    delete env.FOO;
    const missing = (p: string) => [`Cannot forward agent socket path "${p}": No such file or directory`];
    const cases: [string, string[], number, string[]][] = [
      ['Host *\n  ForwardAgent /nonexistent/sock\n', [], 0, missing('/nonexistent/sock')],
      // A `ForwardAgent no` first keeps the path all the same (readconf.c parse_agent_path).
      ['Host *\n  ForwardAgent no\n  ForwardAgent /nonexistent/sock\n', [], 0, missing('/nonexistent/sock')],
      // The first path obtained is the one checked.
      ['Host *\n  ForwardAgent /nonexistent/a\n  ForwardAgent /nonexistent/b\n', [], 0, missing('/nonexistent/a')],
      ['Host *\n  ForwardAgent ~/nope-%h-%r\n', [], 0, missing(`${defaultHome}/nope-h-x`)],
      // The legacy $NAME form is stat(2)ed as written (ssh 9.2 reads the variable later).
      ['Host *\n  ForwardAgent $FOO\n', [], 0, missing('$FOO')],
      ['Host *\n  ForwardAgent /tmp\n', [], 0, []],
      ['Host other\n  ForwardAgent /nonexistent/sock\n', [], 0, []],
      ['Host *\n  ForwardAgent yes\n', [], 0, []],
      ['Host *\n  ForwardAgent /nonexistent/sock\n', ['-q'], 0, []],
      ['Host *\n  ForwardAgent /nonexistent/sock\n', ['-o', 'ExitOnForwardFailure=yes'], 255, missing('/nonexistent/sock')],
      ['Host *\n  ForwardAgent /nonexistent/sock\n', ['-W', 'a:1'], 255, missing('/nonexistent/sock')],
      ['Host *\n  ForwardAgent /nonexistent/sock\n', ['-q', '-W', 'a:1'], 255, []],
      ['Host *\n  ForwardAgent /nonexistent/%Z\n', [], 255, ['vdollar_percent_expand: unknown key %Z', 'percent_dollar_expand: failed']],
    ];
    for (const [text, extra, status, stderr] of cases) {
      const file = conf(`User x\n${text}`);
      const b = expectSame(['-F', file, ...extra, 'h'], undefined, env);
      expect({ status: b.status, stderr: b.stderr }, `${text} ${extra.join(' ')}`).toEqual({ status, stderr });
    }
  });

  // break38 F13: pure-ssh took `-e none` only, refused -o EscapeChar, and ignored the keyword in a
  // file. Every value ssh takes is now taken from all three, -G prints it as ssh does, and -v says
  // it has no effect (pure-ssh opens no session to read it in).
  it('-e, -o EscapeChar and EscapeChar in a file: every value ssh takes, printed as ssh prints it; -e beats the rest; a bad one is ssh\'s line', () => {
    const file = conf('Host *\n  EscapeChar x\n  EscapeChar y\n');
    const cases = [
      ['-e', 'none'], ['-e', '~'], ['-e', '~', '-e', 'none'], ['-e', 'none', '-e', '~'], ['-enone', '-N'], ['-e', '^A'], ['-e', '^`'], ['-e', '^~'],
      ['-e', '\\'], ['-e', ' '], ['-e', '\t'], ['-e', '\x7f'], ['-e', '\x01'], ['-o', 'EscapeChar=^B'], ['-o', 'EscapeChar=#'], ['-o', 'EscapeChar=~'],
      ['-o', 'EscapeChar=z', '-e', 'q'], ['-F', file], ['-F', file, '-o', 'EscapeChar=z'], ['-F', file, '-e', '!'],
    ];
    for (const args of cases) {
      const all = args.includes('-F') ? args : ['-F', 'none', ...args];
      const [a, b] = [ours([...all, 'h']), theirs([...all, 'h'])];
      const seen = (o: Out) => ({ status: o.status, stderr: o.stderr, line: lines(o, 'escapechar') });
      expect(seen(a), all.join(' ')).toEqual(seen(b));
    }
    expect(lines(ours(['-F', 'none', 'h']), 'escapechar')).toEqual(['escapechar ~']);
    for (const v of ['ab', '^~x', 'NONE', 'é', '^?', '']) expect(expectSame(['-F', 'none', '-e', v, 'h']).stderr).toEqual([`Bad escape character '${v}'.`]);
    for (const v of ['ab', '^?', 'é']) expect(expectSame(['-F', conf(`EscapeChar ${v}\n`), 'h']).status).toBe(255);
    // Nothing asked for is dropped silently: a -v line wherever the value came from; none for `none`.
    const said = (args: string[]) => run(process.execPath, [CLI, '-G', '-v', ...args, 'h']).stderr.filter((l) => l.includes('has no effect'));
    const reason = 'has no effect: it applies to sessions, and pure-ssh opens none, like ssh -N';
    expect(said(['-F', 'none', '-e', '~'])).toEqual([`debug1: -e ~ ${reason}`]);
    // The value as -G prints it, its vis(3) backslash once (the log's escaping doubled it: `\\^B`).
    expect(said(['-F', 'none', '-o', 'EscapeChar=^B'])).toEqual([`debug1: command-line line 0: EscapeChar \\^B ${reason}`]);
    expect(said(['-F', 'none', '-e', '^A'])).toEqual([`debug1: -e \\^A ${reason}`]);
    expect(said(['-F', 'none', '-e', '\\'])).toEqual([`debug1: -e \\\\ ${reason}`]);
    expect(said(['-F', conf('EscapeChar \x7f\n')])).toEqual([expect.stringMatching(/^debug1: .* line 1: EscapeChar \\\^\? has no effect: /)]);
    expect(said(['-F', file])).toEqual([`debug1: ${file} line 2: EscapeChar x ${reason}`]);
    expect(said(['-F', 'none', '-e', 'none'])).toEqual([]);
  });

  // ssh.c main checks ConnectionAttempts <= 0 (after the ProxyJump loop and line) before
  // "Cannot execute command-line and remote command." and the -f check; pure-ssh checked it last.
  it('ConnectionAttempts 0 is said before the command-line/RemoteCommand and -f checks, after the jumphost loop, as ssh.c main orders them', () => {
    const cases = [
      ['-o', 'ConnectionAttempts=0', '-o', 'RemoteCommand=x', 'h', 'cmd'],
      ['-o', 'ConnectionAttempts=0', '-f', 'h'],
      ['-o', 'ConnectionAttempts=0', '-J', 'x', 'h', 'cmd'],
      ['-o', 'ConnectionAttempts=0', '-J', 'h', 'h'],
      ['-J', 'h', '-o', 'RemoteCommand=x', 'h', 'cmd'],
    ];
    for (const args of cases) {
      expectSame(['-F', 'none', ...args]);
      // Without -G too: each is fatal before anything connects.
      const [a, b] = [run(process.execPath, [CLI, '-F', 'none', ...args]), run(SSH, ['-F', 'none', ...args])];
      expect({ status: a.status, stderr: a.stderr }, args.join(' ')).toEqual({ status: b.status, stderr: b.stderr });
    }
    expect(ours(['-F', 'none', '-o', 'ConnectionAttempts=0', '-f', 'h']).stderr).toEqual(['Invalid number of ConnectionAttempts']);
  });

  // A byte that is no UTF-8 as the escape character: ssh takes the one byte (`escapechar \M-i`);
  // pure-ssh read U+FFFD (Node's argv and file decoding) and said "Bad escape character".
  it('a raw byte (0xE9) as -e, -o EscapeChar and a file\'s EscapeChar: the byte, as ssh takes it; with another byte after it, ssh\'s error with the bytes as given', () => {
    /** Both CLIs through sh, so that the argument holds the raw byte; output as bytes (latin1). */
    const viaSh = (script: string) => {
      const one = (argv0: string[]) => {
        const r = spawnSync('sh', ['-c', script, ...argv0], { env: cliEnv(defaultHome), stdio: ['ignore', 'pipe', 'pipe'] });
        const text = (b: Buffer) => b.toString('latin1').split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('Pseudo-terminal will not be allocated'));
        return { status: r.status, stdout: text(r.stdout).filter((l) => l.startsWith('escapechar ')), stderr: text(r.stderr) };
      };
      return [one([process.execPath, CLI]), one([SSH, ''])] as const;
    };
    const file = conf('Host *\n');
    writeFileSync(file, Buffer.from('Host *\n  EscapeChar \xe9\n', 'latin1'));
    const bad = conf('Host *\n');
    writeFileSync(bad, Buffer.from('Host *\n  EscapeChar \xe9x\n', 'latin1'));
    const run2 = (rest: string) => `if [ -n "$1" ]; then exec "$0" "$1" ${rest}; else exec "$0" ${rest}; fi`;
    const cases: [string, string[] | undefined][] = [
      [run2(`-G -F none -e "$(printf '\\351')" h`), ['escapechar \\M-i']],
      [run2(`-G -F none -e"$(printf '\\351')" h`), ['escapechar \\M-i']],
      [run2(`-G -F none -o "EscapeChar=$(printf '\\351')" h`), ['escapechar \\M-i']],
      [run2(`-G -F ${file} h`), ['escapechar \\M-i']],
      [run2(`-G -F none -e "$(printf '\\351x')" h`), undefined],
      [run2(`-G -F ${bad} h`), undefined],
    ];
    for (const [script, want] of cases) {
      const [a, b] = viaSh(script);
      expect(a, script).toEqual(b);
      if (want) expect(a.stdout, script).toEqual(want);
      else expect(a.status, script).toBe(255);
    }
    expect(viaSh(run2(`-G -F none -e "$(printf '\\351x')" h`))[0].stderr).toEqual(["Bad escape character '\xe9x'."]);
    // -v says it has no effect, the value as -G prints it.
    const [v] = viaSh(run2(`-G -v -F ${file} h`));
    expect(v.stderr.filter((l) => l.includes('has no effect'))).toEqual([`debug1: ${file} line 2: EscapeChar \\M-i has no effect: it applies to sessions, and pure-ssh opens none, like ssh -N`]);
  });

  it('escapeCharText: vis(3) with VIS_WHITE, as ssh -G prints a byte (one above 0x7f given through sh)', () => {
    // Each kind of byte vis(3) tells apart, at its edges.
    for (const b of [0x01, 0x09, 0x1f, 0x20, 0x21, 0x5c, 0x7e, 0x7f, 0x80, 0x81, 0x9f, 0xa0, 0xa1, 0xdc, 0xe9, 0xff]) {
      const r = spawnSync('sh', ['-c', `exec "$0" -G -F none -e "$(printf '\\${b.toString(8).padStart(3, '0')}')" h`, SSH], { env: cliEnv(defaultHome), stdio: ['ignore', 'pipe', 'pipe'] });
      const line = r.stdout.toString('latin1').split('\n').find((l) => l.startsWith('escapechar '));
      expect(`escapechar ${escapeCharText(b)}`, String(b)).toBe(line);
    }
    expect(escapeCharText('none')).toBe('none');
  });

  // break38 F10: ssh.c keeps `''` and `user@` as the host name "" (only a missing destination is
  // usage()); pure-ssh called both usage errors.
  it("an empty destination ('', user@, a@@) is the host name \"\": Host * and HostName apply, -G prints it; `@` and `@h` are usage", () => {
    const named = conf('Host *\n  HostName 127.0.0.9\n  User u\n');
    for (const dest of ['', 'root@', 'a@@', '@@']) {
      for (const f of ['none', named]) {
        const a = expectSame(['-F', f, dest], 'hostname');
        expect(a.status, dest).toBe(0);
        expect(lines(a, 'host'), dest).toEqual(lines(theirs(['-F', f, dest]), 'host'));
        expect(lines(a, 'user'), dest).toEqual(lines(theirs(['-F', f, dest]), 'user'));
      }
    }
    expect(lines(ours(['-F', named, '']), 'hostname')).toEqual(['hostname 127.0.0.9']);
    for (const dest of ['@', '@h', 'ssh://u@', 'ssh://']) {
      expect(theirs(['-F', 'none', dest]).stderr[0], dest).toMatch(/^usage: ssh /);
      expect(ours(['-F', 'none', dest]).stderr[0], dest).toMatch(/^usage: pure-ssh /);
    }
  });

  it('a lone empty command word (`ssh host \'\'`) is no command: the pseudo-terminal note, -f refused; two empty words are one', () => {
    const raw = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { env: cliEnv(defaultHome), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: r.status, stderr: r.stderr };
    };
    for (const extra of [[''], ['-f', ''], ['-L', '1234:a:1', ''], ['-N', ''], ['', ''], ['-f', '', '']]) {
      const args = ['-G', '-F', 'none', ...extra.filter((a) => a !== ''), 'h', ...extra.filter((a) => a === '')];
      const b = raw(SSH, args);
      expect(raw(process.execPath, [CLI, ...args]), JSON.stringify(args)).toEqual(b);
    }
    expect(raw(SSH, ['-G', '-F', 'none', 'h', '']).stderr).toBe('Pseudo-terminal will not be allocated because stdin is not a terminal.\r\n');
    expect(raw(SSH, ['-G', '-F', 'none', '-f', 'h', ''])).toEqual({ status: 255, stderr: 'Cannot fork into background without a command to execute.\r\n' });
    // Without -G: a shell asked for, pure-ssh's refusal of one (not of a command).
    expect(raw(process.execPath, [CLI, '-F', 'none', 'h', '']).stderr).toMatch(/^pure-ssh: remote shells are not supported/);
  });

  it('an ssh:// destination ssh cannot parse (an IPv6 address in brackets included) is the usage text alone, exit 255', () => {
    for (const dest of ['ssh://[::1]:22', 'ssh://[::1]', 'ssh://u@[fe80::1]/', 'ssh://a@b@host', 'ssh://host/path', 'ssh://host:0', 'ssh://@host']) {
      const a = ours(['-F', 'none', dest]);
      const b = theirs(['-F', 'none', dest]);
      expect(b.status, dest).toBe(255);
      expect(b.stderr[0], dest).toMatch(/^usage: ssh /);
      expect(a.status, dest).toBe(255);
      expect(a.stderr[0], dest).toMatch(/^usage: pure-ssh /);
      expect(a.stdout, dest).toEqual([]);
    }
    // A bracketed domain name is still one (cleanhostname drops the brackets).
    expect(expectSame(['-F', 'none', 'ssh://[h.example]:23'], 'hostname').status).toBe(0);
    // In a jump list: "Invalid -J argument" / the file's "Invalid ProxyJump".
    expect(expectSame(['-F', 'none', '-J', 'ssh://[::1]:22', 'h']).stderr).toEqual(['Invalid -J argument']);
    expect(expectSame(['-F', conf('ProxyJump x,ssh://[::1]\n'), 'h']).status).toBe(255);
  });

  it('-G -E FILE: ssh opens the log file (0600, appending) before reading the files, whose errors go there; one it cannot open is exit 1', () => {
    const bad = conf('Port x\n');
    for (const [name, cmd] of [['pure-ssh', ours], ['ssh', theirs]] as const) {
      const log = join(dir, `e-${name}.log`);
      // Opened, even with nothing to log, and with the mode log.c gives it.
      const ok = cmd(['-F', 'none', '-E', log, 'h']);
      expect(ok.status, name).toBe(0);
      expect(existsSync(log), name).toBe(true);
      expect(statSync(log).mode & 0o777, name).toBe(0o600);
      // The file's bad line and the summary in the log, nothing on stderr.
      writeFileSync(log, 'before\n');
      const r = cmd(['-F', bad, '-E', log, 'h']);
      expect({ status: r.status, stderr: r.stderr }, name).toEqual({ status: 255, stderr: [] });
      expect(readFileSync(log, 'utf8'), name).toBe(`before\n${bad} line 1: Bad port 'x'.\r\n${bad}: terminating, 1 bad configuration options\r\n`);
      // A command-line error comes before the log is opened: stderr, no file.
      const early = join(dir, `e-${name}-early.log`);
      expect(cmd(['-F', 'none', '-E', early, '-o', 'Port=x', 'h']).stderr, name).toEqual(["command-line line 0: Bad port 'x'."]);
      expect(existsSync(early), name).toBe(false);
    }
    expect(expectSame(['-F', 'none', '-E', join(dir, 'no-such-dir', 'log'), 'h']).status).toBe(1);
    expect(ours(['-F', 'none', '-E', join(dir, 'no-such-dir', 'log'), 'h']).stderr).toEqual([`Couldn't open logfile ${join(dir, 'no-such-dir', 'log')}: No such file or directory`]);
  });

  it('Include: the "matched no files" and "Including file" debug lines as ssh -vvv prints them (relative patterns after ~/.ssh/, depth of the including file)', () => {
    const inner = conf('User x\n');
    const mid = conf(`Include ${inner}\n`);
    const path = conf(`Include nothere*\nInclude ${join(dir, 'nope')}\nInclude ~/x\nInclude sub/z\nInclude ${mid}\n`);
    const pick = (o: Out) => o.stderr.map((l) => l.replace(/^debug\d: /, '')).filter((l) => /: include .* matched no files$|: Including file /.test(l));
    const b = pick(run(SSH, ['-vvv', '-G', '-F', path, 'h']));
    // pure-ssh prints its notes under -G as ssh does (and when it runs, here a refused connection).
    const a = pick(ours(['-vvv', '-F', path, 'h']));
    const connecting = pick(run(process.execPath, [CLI, '-vvv', '-F', path, '-N', '-p', '1', '127.0.0.1']));
    expect(b).toContain(`${path} line 1: include ~/.ssh/nothere* matched no files`);
    expect(b).toContain(`${mid} line 1: Including file ${inner} depth 1`);
    expect(a).toEqual(b);
    expect(connecting).toEqual(b);
  });

  it('-v, -vv, -vvv under -G: ssh\'s configuration debug lines on stderr at their levels, in its order (Include, Host, Match, Match exec, IgnoreUnknown, UserKnownHostsFile), stdout unchanged', () => {
    const incDir = join(dir, 'inc-v');
    mkdirSync(incDir, { recursive: true });
    writeFileSync(join(incDir, 'a.conf'), 'Port 2222\n');
    writeFileSync(join(incDir, 'b.conf'), 'Host other\n  User nobody\n');
    chmodSync(join(incDir, 'a.conf'), 0o644);
    const path = conf(`Include ${incDir}/*.conf\nInclude nomatch_*\nHost *\n  User bob\nMatch host h\n  Compression yes\nMatch !host h\nMatch exec "exit 3"\nFrobnicate 1\n`);
    // The first line is each program's version (ssh 9.2 prints it without "debug1: ").
    const strip = (o: Out) => ({ status: o.status, stderr: o.stderr.slice(1), stdout: o.stdout });
    const quiet = theirs(['-F', path, '-o', 'IgnoreUnknown=Frob*', 'h']);
    for (const v of ['-v', '-vv', '-vvv']) {
      const args = [v, '-F', path, '-o', 'IgnoreUnknown=Frob*', 'h'];
      const a = ours(args);
      const b = theirs(args);
      expect(a.stderr[0], v).toMatch(/^debug1: pure-ssh_/);
      expect(b.stderr[0], v).toMatch(/^OpenSSH_/);
      expect(strip(a).stderr, v).toEqual(strip(b).stderr);
      expect(a.status, v).toBe(0);
      // The configuration itself is what -G prints without -v.
      expect(lines(a, 'port'), v).toEqual(lines(quiet, 'port'));
      expect(lines(a, 'user'), v).toEqual(['user bob']);
      expect(lines(a, 'compression'), v).toEqual(lines(b, 'compression'));
    }
    const vvv = ours(['-vvv', '-F', path, '-o', 'IgnoreUnknown=Frob*', 'h']).stderr;
    expect(vvv).toContain(`debug3: ${path} line 1: Including file ${incDir}/a.conf depth 0`);
    expect(vvv).toContain(`debug1: Reading configuration data ${incDir}/b.conf`);
    expect(vvv).toContain('debug2: match found');
    expect(vvv).toContain('debug3: command returned status 3');
    expect(vvv.some((l) => l.startsWith('debug3: expanded UserKnownHostsFile'))).toBe(true);
    // Without -v, nothing on stderr.
    expect(ours(['-F', path, '-o', 'IgnoreUnknown=Frob*', 'h']).stderr).toEqual([]);
  });

  it('ProxyJump with an invalid host or user name: refused from -o as ssh 9.2 refuses it (parse_jump), let through from a file', () => {
    for (const v of ['h\x01', 'u\x01@h', 'a,h\x01', 'h\x01,a', 'ssh://h\x01', 'a,b;c']) {
      const a = expectSame(['-F', 'none', '-o', `ProxyJump=${v}`, 'h']);
      expect(a.status, JSON.stringify(v)).toBe(255);
      expect(a.stderr[a.stderr.length - 1], JSON.stringify(v)).toMatch(/^command-line line 0: Invalid ProxyJump /);
    }
    expect(ours(['-F', 'none', '-o', 'ProxyJump=h\x01', 'h']).stderr).toEqual(['parse_jump: invalid hostname "h\\001"', 'command-line line 0: Invalid ProxyJump "h\\001"']);
    // Also when an earlier -o already set ProxyJump, and with -J still its own line.
    expectSame(['-F', 'none', '-o', 'ProxyJump=a', '-o', 'ProxyJump=h\x01', 'h']);
    expect(expectSame(['-F', 'none', '-J', 'h\x01', 'h']).stderr).toEqual(['parse_jump: invalid hostname "h\\001"', 'Invalid -J argument']);
    // ssh 9.2 checks a file's ProxyJump only in the hop's own ssh: -G prints it.
    const a = expectSame(['-F', conf('ProxyJump h\x01\n'), 'h'], 'proxyjump');
    expect(a.status).toBe(0);
  });

  it('-o Host / Match / Include: readconf.c\'s "Host directive not supported as a command-line option" (Match says Host too), exit 255', () => {
    for (const o of ['Host x', 'host=a', 'Match all', 'Match=host h', 'Include x', 'Match', 'Host']) {
      const a = expectSame(['-F', 'none', '-o', o, 'h']);
      expect(a.status, o).toBe(255);
    }
    expect(ours(['-F', 'none', '-o', 'Match all', 'h']).stderr).toEqual(['Host directive not supported as a command-line option']);
  });

  it('UserKnownHostsFile / GlobalKnownHostsFile: "none" only alone, as readconf.c allows it', () => {
    for (const line of ['UserKnownHostsFile none a', 'UserKnownHostsFile a none', 'GlobalKnownHostsFile None a', 'UserKnownHostsFile none']) {
      const alone = line === 'UserKnownHostsFile none';
      const a = expectSame(['-F', conf(`${line}\nPort 2\n`), 'h'], alone ? 'userknownhostsfile' : undefined);
      expect(a.status, line).toBe(alone ? 0 : 255);
    }
  });

  it('forward socket paths get % tokens and ${VAR}, not ~ (ssh.c default_client_percent_expand, readconf.c parse_forward)', () => {
    const text = 'Host *\nLocalForward ~/s 127.0.0.1:1\nLocalForward ${HOME}/t 127.0.0.1:2\nLocalForward /tmp/%h.sock 127.0.0.1:3\n';
    const a = expectSame(['-F', conf(text), 'h'], 'localforward');
    expect(a.status).toBe(0);
    expect(lines(a, 'localforward')[0]).toBe('localforward ~/s [127.0.0.1]:1');
  });

  it('Port and -p read as misc.c a2port (strtonum): leading spaces and a + sign; the first of -p and -o Port wins', () => {
    for (const args of [
      ['-F', conf('Port " 22"\n'), 'h'],
      ['-F', conf('Port +2022\n'), 'h'],
      ['-F', 'none', '-o', 'Port +24', 'h'],
      ['-F', 'none', '-p', ' 25', 'h'],
      ['-F', 'none', '-o', 'Port=5', '-p', '6', 'h'],
      ['-F', 'none', '-p', '6', '-o', 'Port=5', 'h'],
      ['-F', 'none', '-p', '6', '-p', 'junk', 'h'],
    ]) {
      expect(expectSame(args, 'port').status, args.join(' ')).toBe(0);
    }
    for (const args of [['-F', conf('Port -0\n'), 'h'], ['-F', conf('Port "22 "\n'), 'h'], ['-F', 'none', '-p', '22 ', 'h']]) {
      expect(expectSame(args).status, args.join(' ')).toBe(255);
    }
  });

  it('service names as ports (misc.c a2port: getservbyname(name, "tcp") from /etc/services), case-sensitive', () => {
    expect(existsSync('/etc/services'), 'this machine has services(5)').toBe(true);
    for (const [args, keyword] of [
      [['-p', 'ssh'], 'port'],
      [['-p', 'www'], 'port'],
      [['-o', 'Port=ssh'], 'port'],
      [['-F', conf('Port domain\n')], 'port'],
      [['-L', '8080:h:http'], 'localforward'],
      [['-L', 'http:h:22'], 'localforward'],
      [['-R', 'http:h:ssh'], 'remoteforward'],
      [['-D', 'socks'], 'dynamicforward'],
      // readconf.c parse_forward: a single field with a `/` is a Unix socket to listen on.
      [['-D', '/tmp/socks.sock'], 'dynamicforward'],
      [['-D', '1080/x'], 'dynamicforward'],
      [['-F', conf('DynamicForward [/tmp/s]\n')], 'dynamicforward'],
      [['-J', 'u@j:ssh'], 'proxyjump'],
      // readconf.c parse_jump: hops before the last are printed as written (jump_extra).
      [['-J', 'j:http,k'], 'proxyjump'],
      [['-J', 'j,k:http'], 'proxyjump'],
      [['-o', 'ProxyJump=u@j:http,ssh://v@k:ssh'], 'proxyjump'],
      [['-W', 'h:http'], 'port'],
    ] as const) {
      const full = args[0] === '-F' ? [...args, 'h'] : ['-F', 'none', ...args, 'h'];
      expect(expectSame(full, keyword).status, args.join(' ')).toBe(0);
    }
    expect(expectSame(['-F', 'none', 'ssh://u@h:http'], 'port').status).toBe(0);
    for (const args of [['-p', 'SSH'], ['-p', 'no-such-service'], ['-L', '8080:h:no-such-service'], ['-J', 'j:no-such-service']]) {
      expect(expectSame(['-F', 'none', ...args, 'h']).status, args.join(' ')).toBe(255);
    }
  });

  it('-i FILE that cannot be reached: ssh.c\'s warning (after ~ expansion), even with -q, and the file is not used', () => {
    const present = conf('not a key, but there\n');
    const args = ['-F', 'none', '-q', '-i', '~/missing', '-i', `${present}/x`, '-i', present, 'h'];
    const a = expectSame(args, 'identityfile');
    expect(a.status).toBe(0);
    expect(a.stderr).toEqual([
      `Warning: Identity file ${defaultHome}/missing not accessible: No such file or directory.`,
      `Warning: Identity file ${present}/x not accessible: Not a directory.`,
    ]);
    expect(lines(a, 'identityfile')).toEqual([`identityfile ${present}`]);
  });

  it('ConnectTimeout 0 is printed as 0, none and no value as none', () => {
    for (const text of ['ConnectTimeout 0\n', 'ConnectTimeout 0s\n', 'ConnectTimeout none\n', 'ConnectTimeout 7\n', '\n']) {
      expectSame(['-F', conf(text), 'h'], 'connecttimeout');
    }
  });

  it('RekeyLimit: scan_scaled amounts (fractions, T/P/E, sign, range), convtime times, and readconf.c\'s messages', () => {
    const ok = [
      'default', '1G 1h', 'default none', '1.5M', '1k', '1K 5m', '1M 1h30m', '0', '+1M', '1T', '7E', '7.9999E', '0.5K',
      '" 1M"', 'M', '-0', '1M-x', '1.123456789012345678901234M', '9223372036854775807', '9007199254740993',
      '1M 2147483647', '1M 1h5', '1M 0', '1M\nRekeyLimit 2M 5s', '1M none\nRekeyLimit 2M 5s', 'default 5\nRekeyLimit 1M',
    ];
    for (const v of ok) {
      expect(expectSame(['-F', conf(`RekeyLimit ${v}\n`), 'h'], 'rekeylimit').status, v).toBe(0);
    }
    const bad: [string, string][] = [
      ['none', "Bad number 'none': Invalid argument"],
      ['DEFAULT', "Bad number 'DEFAULT': Invalid argument"],
      ['1KB', "Bad number '1KB': Invalid argument"],
      ['99999999999999999999', "Bad number '99999999999999999999': Numerical result out of range"],
      ['16E', "Bad number '16E': Numerical result out of range"],
      ['-1', 'RekeyLimit too small'],
      ['1.5', 'RekeyLimit too small'],
      ['1M ""', 'missing time value.'],
      ['1M NONE', 'invalid time value.'],
      ['1M default', 'invalid time value.'],
      ['1G 99999999999', 'invalid time value.'],
      ['1M 2147483647s1s', 'invalid time value.'],
      ['1M 1.5', 'invalid time value.'],
      ['1M 1h x', 'keyword rekeylimit extra arguments at end of line'],
      ['1M none x', 'keyword rekeylimit extra arguments at end of line'],
    ];
    for (const [v, message] of bad) {
      const path = conf(`RekeyLimit ${v}\n`);
      const a = expectSame(['-F', path, 'h']);
      expect(a.status, v).toBe(255);
      expect(a.stderr[0], v).toBe(`${path} line 1: ${message}`);
    }
    // The same parser behind -o.
    expectSame(['-F', 'none', '-o', 'RekeyLimit=1.5M 1h', 'h'], 'rekeylimit');
    expect(expectSame(['-F', 'none', '-o', 'RekeyLimit=none', 'h']).status).toBe(255);
  });

  it('ConnectTimeout and ServerAliveInterval: `none` only in lower case, INT_MAX, "missing time value."', () => {
    for (const text of ['ConnectTimeout NONE', 'ServerAliveInterval NONE', 'ConnectTimeout ""', 'ServerAliveInterval ""', 'ConnectTimeout 5x x', 'ServerAliveInterval 99999999999', 'ConnectTimeout 2147483648']) {
      expect(expectSame(['-F', conf(`${text}\n`), 'h']).status, text).toBe(255);
    }
    expectSame(['-F', conf('ServerAliveInterval 2147483647\n'), 'h'], 'serveraliveinterval');
  });

  (openssh10Available() || inCI() ? it : it.skip)('a time with a sign (`+5`): OpenSSH 9.2 took it (strtol), OpenSSH 10 refuses it, and so does pure-ssh', () => {
    const path = conf('RekeyLimit 1M +5\n');
    const b = run(openssh10().ssh, ['-G', '-F', path, 'h']);
    const a = ours(['-F', path, 'h']);
    expect(b.stderr[0]).toBe(`${path} line 1: invalid time value.`);
    expect({ status: a.status, stderr: a.stderr }).toEqual({ status: b.status, stderr: b.stderr });
    expect(theirs(['-F', path, 'h']).status).toBe(0);
  });

  it('-F naming a directory is read as an empty file, as ssh reads it (getline fails with EISDIR)', () => {
    const d = join(dir, 'a-dir');
    mkdirSync(d, { recursive: true });
    expect(expectSame(['-F', d, 'h'], 'port').status).toBe(0);
    expect(expectSame(['-F', join(dir, 'no-such-file'), 'h']).status).toBe(255);
  });

  /** Same exit status, messages and `keywords` lines (absent ones too), beside ssh 9.2 and, when built, OpenSSH 10. */
  function expectSameLines(args: string[], keywords: readonly string[]): Out {
    const a = ours(args);
    const pick = (o: Out) => ({ status: o.status, stderr: o.stderr, lines: keywords.flatMap((k) => lines(o, k)) });
    const refs = [theirs(args), ...(openssh10Available() ? [run(openssh10().ssh, ['-G', ...args])] : [])];
    for (const b of refs) expect(pick(a), args.join(' ')).toEqual(pick(b));
    return a;
  }
  const ROUTE = ['user', 'hostname', 'port', 'proxyjump'] as const;

  it('Host patterns: each word matched as typed, case-sensitive, no comma lists (readconf.c match_pattern); Match host folds case (break20 F2)', () => {
    const upper = conf('Host MyServer\n  HostName 127.0.0.3\n  Port 22030\n  User alice\n  ProxyJump bastion\n');
    for (const host of ['myserver', 'MyServer', 'MYSERVER', 'u@MyServer', 'ssh://MyServer']) expectSameLines(['-F', upper, host], ROUTE);
    const comma = conf('Host web1,web2\n  HostName 127.0.0.3\n  Port 22030\n  ProxyJump bastion\nHost web2\n  Port 2202\n');
    for (const host of ['web1', 'web2']) expectSameLines(['-F', comma, host], ROUTE);
    // Negation cuts the other way: `Bastion` is not `bastion`, so `* !bastion` applies (ssh: a jump loop).
    const neg = conf('Host bastion\n  HostName 127.0.0.2\n  Port 22020\nHost * !bastion\n  ProxyJump bastion\n');
    expect(expectSameLines(['-F', neg, 'Bastion'], ROUTE).status).toBe(255);
    expect(expectSameLines(['-F', neg, 'bastion'], ROUTE).status).toBe(0);
    // Match host and originalhost compare case-insensitively (match_hostname), unchanged.
    const match = conf('Match originalhost myserver\n  Port 2301\nMatch host MYSERVER\n  User m\n');
    expectSameLines(['-F', match, 'MyServer'], ROUTE);
    // The final pass matches Host lines against the lowercased, canonical name.
    const canon = conf('CanonicalizeHostname yes\nCanonicalDomains invalid\nCanonicalizeFallbackLocal yes\nHost myserver\n  Port 2302\nHost MyServer\n  User cased\n');
    expectSameLines(['-F', canon, 'MyServer'], ROUTE);
  });

  it('-l: the first of -l, -o User and user@ wins, in the order given (ssh.c `if (options.user == NULL)`; break20 F3)', () => {
    for (const args of [['-l', 'a', '-l', 'b', 'h'], ['-o', 'User=dave', '-l', 'carol', 'h'], ['-l', 'carol', '-o', 'User=dave', 'h'], ['u@h', '-l', 'a'], ['-l', 'a', 'u@h'], ['ssh://u@h', '-l', 'a']]) {
      expectSameLines(['-F', conf('Host *\n  User file\n'), ...args], ['user']);
    }
  });

  it('refused keywords: the value kept is the first obtained, a later `Host *` line is inert; StreamLocalBindMask\'s last line read (break20 F9)', () => {
    const text = [
      'Host direct-target', '  CheckHostIP no', '  VerifyHostKeyDNS no', '  RemoteCommand none', '  PermitLocalCommand no', '  Tunnel no',
      'Host *', '  CheckHostIP yes', '  VerifyHostKeyDNS yes', '  RemoteCommand tmux a', '  PermitLocalCommand yes', '  Tunnel yes', '',
    ].join('\n');
    const cfg = conf(text);
    const keys = ['checkhostip', 'verifyhostkeydns', 'permitlocalcommand', 'remotecommand', 'tunnel'];
    for (const extra of [[], ['-W', 'x:1'], ['-o', 'CheckHostIP=no']]) expect(expectSameLines(['-F', cfg, ...extra, 'direct-target'], keys).status).toBe(0);
    // A -o value comes first.
    expect(expectSameLines(['-F', conf('CheckHostIP yes\n'), '-o', 'CheckHostIP=no', 'h'], ['checkhostip']).status).toBe(0);
    // For another host the refused values are the ones obtained: refused, each at its line.
    const other = ours(['-F', cfg, 'other']);
    expect(other.status).toBe(255);
    expect(other.stderr).toEqual([
      ...[[8, 'CheckHostIP'], [9, 'VerifyHostKeyDNS'], [11, 'PermitLocalCommand']].map(([n, k]) => expect.stringMatching(new RegExp(`^${cfg} line ${n}: unsupported option "${k}": `))),
      `${cfg}: terminating, 3 bad configuration options`,
    ]);
    // Tunnel: cleared by ClearAllForwardings, which -W turns on (readconf.c clear_forwardings).
    const tunnel = conf('Tunnel point-to-point\n');
    for (const extra of [['-W', 'x:1'], ['-o', 'ClearAllForwardings=yes']]) {
      expect(expectSameLines(['-F', tunnel, ...extra, 'h'], ['tunnel', 'clearallforwardings']).status).toBe(0);
    }
    expect(ours(['-F', tunnel, '-N', 'h']).stderr).toEqual([expect.stringMatching(new RegExp(`^${tunnel} line 1: unsupported option "Tunnel": `))]);
    // StreamLocalBindMask is set by every line read (a block for another host's too): the last one counts.
    expect(expectSameLines(['-F', conf('StreamLocalBindMask 0077\nHost other\n  StreamLocalBindMask 0177\n'), 'h'], ['streamlocalbindmask']).status).toBe(0);
    const mask = conf('Host other\n  StreamLocalBindMask 0077\n');
    expect(theirs(['-F', mask, 'h']).stdout).toContain('streamlocalbindmask 077');
    expect(ours(['-F', mask, 'h']).stderr).toEqual([expect.stringMatching(new RegExp(`^${mask} line 2: unsupported option "StreamLocalBindMask": `))]);
  });

  it('RemoteCommand is unused with -N, -W and SessionType none (ssh.c opens no session), -G prints it as ssh does; refused where a session runs it (break20 F1)', () => {
    const cfg = conf('Host t-rc\n  RequestTTY yes\n  RemoteCommand tmux new -A -s %h %%n\nHost t-via-rc\n  ProxyJump t-rc\n');
    for (const extra of [['-N'], ['-W', 'x:1'], ['-o', 'SessionType=none'], ['-N', '-f']]) {
      expect(expectSameLines(['-F', cfg, ...extra, 't-rc'], ['remotecommand', 'sessiontype']).status).toBe(0);
    }
    expect(expectSameLines(['-F', cfg, '-W', 'x:1', 't-via-rc'], ['proxyjump', 'remotecommand']).status).toBe(0);
    // A ProxyJump hop is resolved as ssh's `-W NEXT HOP`: nothing refused there.
    expect(ours(['-F', cfg, '-N', 't-rc']).status).toBe(0);
    const session = ours(['-F', cfg, 't-rc']);
    expect(session.status).toBe(255);
    expect(session.stderr).toEqual([expect.stringMatching(new RegExp(`^${cfg} line 3: unsupported option "RemoteCommand": `))]);
  });

  it('a ProxyJump hop is resolved as ssh\'s hop process: `ssh -l u -p P -J rest -F file -v -W \'[%h]:%p\' last` (ssh.c), so its own forwards and Tunnel are cleared', () => {
    const hop = [
      'Host t-hop',
      '  HostName 127.0.0.9',
      '  Tunnel yes',
      '  LocalForward 1234 localhost:22',
      '  RemoteForward 2345 localhost:22',
      '  DynamicForward 1080',
      '  RequestTTY force',
      '  SessionType default',
      '  StdinNull yes',
      'Host t-dest',
      '  HostName 10.9.9.9',
      '  Port 2222',
      '',
    ].join('\n');
    const cfg = conf(hop + 'Host t-dest\n  ProxyJump a,u@t-hop:7\n');
    // ssh's own command line for the hop (its -v line), with %h and %p of the destination.
    const implicit = 'debug1: Setting implicit ProxyCommand from ProxyJump: ';
    const said = theirs(['-v', '-F', cfg, 't-dest']).stderr.find((l) => l.startsWith(implicit));
    expect(said).toBe(`${implicit}${SSH} -l u -p 7 -J a -F ${cfg} -v -W '[%h]:%p' t-hop`);
    const sshArgv = said!.slice(implicit.length + SSH.length + 1).split(' ').map((w) => (w === "'[%h]:%p'" ? '[10.9.9.9]:2222' : w));
    const dest = resolveCommandLine(['-v', '-F', cfg, '-N', 't-dest'], processCliEnvironment());
    if (dest.kind !== 'run' || dest.config.proxy?.kind !== 'jump') throw new Error('t-dest: no ProxyJump');
    const argv = jumpHostArgv(dest.config.proxy.hops, dest.config, dest.config);
    expect(argv).toEqual(sshArgv);
    // The hop's configuration: -W sets RequestTTY no and SessionType none before the files, and
    // readconf.c fill_default_options defaults ClearAllForwardings and ExitOnForwardFailure to
    // yes, which clears the hop's LocalForward, RemoteForward, DynamicForward and Tunnel.
    const keywords = ['clearallforwardings', 'exitonforwardfailure', 'tunnel', 'localforward', 'remoteforward', 'dynamicforward', 'requesttty', 'sessiontype', 'stdinnull'];
    // (Without -v: the debug lines are not what is compared here.)
    const hopArgs = argv.filter((a) => a !== '-v');
    expect(expectSameLines(hopArgs, keywords).status).toBe(0);
    const dumped = ours(hopArgs);
    expect(dumped.stdout).toContain('tunnel false');
    expect(lines(dumped, 'localforward')).toEqual([]);
    // Cleared silently: the hop's -v says nothing of them (readconf.c clear_forwardings).
    expect(ours(['-v', ...hopArgs]).stderr.filter((l) => /forward/i.test(l))).toEqual(theirs(['-v', ...hopArgs]).stderr.filter((l) => /forward/i.test(l)));
    // Where the hop's own file keeps its forwards (ClearAllForwardings no), Tunnel stays refused:
    // pure-ssh provides no tun/tap forwarding, and its hop would otherwise open what ssh\'s does not.
    const kept = conf(hop.replace('Host t-hop\n', 'Host t-hop\n  ClearAllForwardings no\n'));
    const refused = ours(['-F', kept, '-W', '[10.9.9.9]:2222', 't-hop']);
    expect(refused.status).toBe(255);
    expect(refused.stderr).toEqual([expect.stringMatching(new RegExp(`^${kept} line 4: unsupported option "Tunnel": `))]);
  });

  it('a NUL byte ends the line: what follows it is not read', () => {
    expect(expectSame(['-F', conf('Port 3\0 junk\nUser bob\n'), 'h'], 'port').status).toBe(0);
    expectSame(['-F', conf('Port 3\0 junk\nUser bob\n'), 'h'], 'user');
    // The keyword cut short by the NUL has no argument: the same bad line as ssh's.
    expect(expectSame(['-F', conf('Po\0rt 3\n'), 'h']).status).toBe(255);
  });

  itWithHome('~ and %d are the passwd entry\'s home, not $HOME (ssh.c getpwuid)', () => {
    // Both run under nss_wrapper (test/harness/home.ts): the passwd entry's home is `home`.
    const home = join(dir, 'passwd-home');
    const env = cliEnv(home, { HOME: join(dir, 'not-home') });
    const args = ['-F', 'none', '-o', 'UserKnownHostsFile ~/kh %d/kh2', '-o', 'GlobalKnownHostsFile ~/gkh', 'h'];
    const a = expectSame(args, 'userknownhostsfile', env);
    expect(lines(a, 'userknownhostsfile')).toEqual([`userknownhostsfile ${home}/kh ${home}/kh2`]);
    expectSame(args, 'globalknownhostsfile', env);
    // %u and Match localuser: the passwd entry's name, not $USER.
    expectSame(['-F', conf('Match localuser nobody-at-all\n  Port 9\n'), '-o', 'User %u', 'h'], 'user', { ...env, USER: 'nobody-at-all' });
    expectSame(['-F', conf('Match localuser nobody-at-all\n  Port 9\n'), 'h'], 'port', { ...env, USER: 'nobody-at-all' });
  });

  it('a list left with no algorithm (`Ciphers ,`): ssh\'s fill_default_options line exactly (no file nor line), then OpenSSH 10.4\'s exit', () => {
    // OpenSSH 9.2 goes on with a half-filled configuration (the list unset); OpenSSH 10.4 exits
    // 255 there (upstream c87161382), as pure-ssh does.
    const keywords = [
      ['Ciphers', 'ciphers'],
      ['MACs', 'macs'],
      ['KexAlgorithms', 'kex_algorithms'],
      ['PubkeyAcceptedAlgorithms', 'pubkey_accepted_algos'],
      ['HostbasedAcceptedAlgorithms', 'hostbased_accepted_algos'],
      ['CASignatureAlgorithms', 'ca_sign_algorithms'],
    ] as const;
    for (const [keyword, name] of keywords) {
      const line = `fill_default_options: ${name}: invalid argument`;
      for (const args of [['-F', conf(`${keyword} ,\n`), 'h'], ['-F', 'none', '-o', `${keyword}=,`, 'h']]) {
        const b = theirs(args);
        expect(b.stderr[0]).toBe(line);
        expect(b.status).toBe(0);
        const a = ours(args);
        expect(a.stderr).toEqual([line]);
        expect(a.status).toBe(255);
      }
    }
    // Two such lists: both stop assembling at the first in ssh's order (ciphers, macs,
    // kex_algorithms, hostbased, pubkey, ca_sign).
    const two = ['-F', conf('CASignatureAlgorithms ,\nMACs ,\n'), 'h'];
    expect(theirs(two).stderr[0]).toBe('fill_default_options: macs: invalid argument');
    expect(theirs(two).stderr).not.toContain('fill_default_options: ca_sign_algorithms: invalid argument');
    expect(ours(two).stderr).toEqual(['fill_default_options: macs: invalid argument']);
    // HostKeyAlgorithms is assembled later: -G's dump_client_config is fatal (both exit 255).
    const hk = expectSame(['-F', conf('HostKeyAlgorithms ,\n'), 'h']);
    expect(hk.status).toBe(255);
    expect(hk.stderr.at(-1)).toBe('dump_client_config: expand HostKeyAlgorithms: invalid argument');
    // `+,` and `,,NAME` are fine for both (`+,` leaves each one's own default list).
    expect(expectSame(['-F', conf('Ciphers +,\n'), 'h']).status).toBe(0);
    expectSame(['-F', conf('Ciphers ,,aes128-ctr\n'), 'h'], 'ciphers');
  });

  it('negated names (`PubkeyAcceptedAlgorithms !ssh-rsa`): key type lists take one matching a key type, kex_assemble_names refuses it; the others refuse it at the line', () => {
    const fill = [
      ['PubkeyAcceptedAlgorithms', 'pubkey_accepted_algos'],
      ['HostbasedAcceptedAlgorithms', 'hostbased_accepted_algos'],
      ['CASignatureAlgorithms', 'ca_sign_algorithms'],
    ] as const;
    for (const [keyword, name] of fill) {
      for (const v of ['!ssh-rsa', '+!ssh-rsa', '^!rsa-sha2-*', 'ssh-ed25519,!ssh-rsa']) {
        const path = conf(`${keyword} ${v}\n`);
        const b = theirs(['-F', path, 'h']);
        expect(b.stderr[0]).toBe(`fill_default_options: ${name}: invalid argument`);
        expect(b.status).toBe(0);
        const a = ours(['-F', path, 'h']);
        expect(a.stderr).toEqual([`fill_default_options: ${name}: invalid argument`]);
        expect(a.status).toBe(255);
      }
      // A negated name that matches no key type is a bad line for both; a `-` list is taken.
      expect(expectSame(['-F', conf(`${keyword} !foo\n`), 'h']).status).toBe(255);
      expect(expectSame(['-F', conf(`${keyword} -!ssh-rsa\n`), 'h']).status).toBe(0);
    }
    // HostKeyAlgorithms: taken at the line, fatal where it is assembled (-G: dump_client_config).
    for (const v of ['!ssh-rsa', '+!ssh-rsa', 'ssh-ed25519,!ssh-rsa']) {
      const a = expectSame(['-F', 'none', '-o', `HostKeyAlgorithms=${v}`, 'h']);
      expect(a.status).toBe(255);
      expect(a.stderr.at(-1)).toBe('dump_client_config: expand HostKeyAlgorithms: invalid argument');
    }
    // After the pseudo-terminal decision (its INFO line first), as dump_client_config comes there.
    const raw = (cmd: string, args: string[]) => spawnSync(cmd, args, { env: cliEnv(defaultHome), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const hkArgs = ['-G', '-F', 'none', '-o', 'HostKeyAlgorithms=!ssh-rsa', 'h'];
    const [rawOurs, rawTheirs] = [raw(process.execPath, [CLI, ...hkArgs]), raw(SSH, hkArgs)];
    expect({ status: rawOurs.status, stderr: rawOurs.stderr, stdout: rawOurs.stdout }).toEqual({ status: rawTheirs.status, stderr: rawTheirs.stderr, stdout: rawTheirs.stdout });
    expect(rawOurs.stderr).toMatch(/^Pseudo-terminal will not be allocated/);
    // Not -G: sshconnect2.c ssh_kex2's fatal, once connected (test/cli-hostkey-assembly.test.ts):
    // nothing listening, the connect's error is all either says.
    const connectArgs = ['-N', '-F', 'none', '-o', 'HostKeyAlgorithms=ssh-ed25519,!ssh-rsa', '-p', '1', '127.0.0.1'];
    const connecting = run(process.execPath, [CLI, ...connectArgs]);
    expect(connecting).toMatchObject({ status: 255, stderr: ['ssh: connect to host 127.0.0.1 port 1: Connection refused'] });
    expect(run(SSH, connectArgs)).toMatchObject({ status: 255, stderr: connecting.stderr });
    // Ciphers, MACs and KexAlgorithms refuse a negated name at the line (ciphers_valid and kin)...
    for (const [keyword, v] of [['Ciphers', '!aes128-ctr'], ['MACs', '!hmac-sha1'], ['KexAlgorithms', '!curve25519-sha256']] as const) {
      expect(expectSame(['-F', conf(`${keyword} ${v}\n`), 'h']).status).toBe(255);
    }
    // ...but not after an empty name, where kex_assemble_names does.
    const late = conf('Ciphers ,!aes128-ctr\n');
    expect(theirs(['-F', late, 'h']).stderr[0]).toBe('fill_default_options: ciphers: invalid argument');
    expect(ours(['-F', late, 'h']).stderr).toEqual(['fill_default_options: ciphers: invalid argument']);
  });

  it('RequiredRSASize (hardening guides: 3072): taken, first value wins, -G prints it as ssh; bad values as ssh', () => {
    expect(lines(expectSame(['-F', conf('Host *\n  RequiredRSASize 3072\n  RequiredRSASize 4096\n'), 'h'], 'requiredrsasize'), 'requiredrsasize')).toEqual(['requiredrsasize 3072']);
    expectSame(['-F', 'none', '-o', 'RequiredRSASize=512', 'h'], 'requiredrsasize');
    expectSame(['-F', 'none', 'h'], 'requiredrsasize');
    expectSame(['-F', conf('Host other\n  RequiredRSASize 4096\n'), 'h'], 'requiredrsasize');
    expectSame(['-F', conf('RequiredRSASize big\n'), 'h']);
  });

  it("GSSAPI key exchange names in KexAlgorithms (ssh-audit's Debian guide): Debian's ssh 9.2 takes them and leaves them out of the list; pure-ssh too", () => {
    const guide =
      'KexAlgorithms sntrup761x25519-sha512@openssh.com,gss-curve25519-sha256-,curve25519-sha256,curve25519-sha256@libssh.org,' +
      'gss-group16-sha512-,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256\n';
    const a = expectSame(['-F', conf(`Host *\n  ${guide}  GSSAPIKexAlgorithms gss-curve25519-sha256-,gss-group16-sha512-\n`), 'h'], 'kexalgorithms');
    expect(lines(a, 'kexalgorithms')).toEqual([
      'kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256',
    ]);
    // Any name with a GSSAPI prefix; `+` and `^` lists of them only leave the defaults; -o too.
    expectSame(['-F', 'none', '-o', 'KexAlgorithms=curve25519-sha256,gss-gex-sha1-xyz,gss-group1-sha1-', 'h'], 'kexalgorithms');
    // (pure-ssh's default list has mlkem768x25519-sha256 first, ssh 9.2's does not: compared to -F none's.)
    const defaults = lines(ours(['-F', 'none', 'h']), 'kexalgorithms');
    expect(lines(expectSame(['-F', 'none', '-o', 'KexAlgorithms=+gss-group16-sha512-', 'h']), 'kexalgorithms')).toEqual(defaults);
    const preferred = expectSame(['-F', 'none', '-o', 'KexAlgorithms=^gss-group16-sha512-,curve25519-sha256', 'h']);
    expect(lines(preferred, 'kexalgorithms')[0]).toMatch(/^kexalgorithms curve25519-sha256,mlkem768x25519-sha256,(?!.*gss-)/);
    // A name that only looks like one is still refused, as by ssh.
    expectSame(['-F', conf('KexAlgorithms gss-foo-,curve25519-sha256\n'), 'h']);
    // Nothing but GSSAPI names: the same error line as `KexAlgorithms ,` (pure-ssh then stops, as for that one).
    const only = conf('KexAlgorithms gss-group16-sha512-\n');
    expect(theirs(['-F', only, 'h']).stderr).toEqual(['fill_default_options: kex_algorithms: invalid argument']);
    expect(ours(['-F', only, 'h']).stderr[0]).toBe('fill_default_options: kex_algorithms: invalid argument');
  });

  it('CASignatureAlgorithms of certificate types only: nothing is left; ssh\'s line, then OpenSSH 10.4\'s exit (9.2 goes on checking no CA signature at all)', () => {
    const path = conf('CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com\n');
    expect(theirs(['-F', path, 'h']).stderr).toEqual(['fill_default_options: ca_sign_algorithms: invalid argument']);
    expect(theirs(['-F', path, 'h']).status).toBe(0);
    const a = ours(['-F', path, 'h']);
    expect(a.status).toBe(255);
    expect(a.stderr).toEqual(['fill_default_options: ca_sign_algorithms: invalid argument']);
    expect(ours(['-F', 'none', '-o', 'CASignatureAlgorithms=ssh-ed25519-cert-v01@openssh.com', 'h']).status).toBe(255);
    // A list with one signature algorithm among certificate types is accepted by both.
    const ok = conf('CASignatureAlgorithms ssh-ed25519,rsa-sha2-256-cert-v01@openssh.com\n');
    expect(theirs(['-F', ok, 'h']).stderr).toEqual([]);
    expect(ours(['-F', ok, 'h']).status).toBe(0);
    // HostbasedAcceptedAlgorithms ',' the same (certificate types are fine there).
    const hb = conf('HostbasedAcceptedAlgorithms ,\n');
    expect(theirs(['-F', hb, 'h']).stderr).toEqual(['fill_default_options: hostbased_accepted_algos: invalid argument']);
    expect(ours(['-F', hb, 'h']).stderr).toEqual(['fill_default_options: hostbased_accepted_algos: invalid argument']);
    expect(expectSame(['-F', conf('HostbasedAcceptedAlgorithms ssh-ed25519-cert-v01@openssh.com\n'), 'h']).status).toBe(0);
    // In a block that does not apply, the value is never assembled: no error for either.
    expectSame(['-F', conf('Host other\n  CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com\n'), 'h'], 'port');
  });
});

describe('the user\'s own ~/.ssh/config (the passwd home, so checked in process with a home of the test\'s own)', () => {
  // Moved from test/cli.test.ts, which set $HOME: pure-ssh, as ssh, no longer takes the home
  // from $HOME, so the process environment is used with its home replaced.
  it('~/.ssh/config writable by others is refused as ssh does; -F is not checked', () => {
    const home = mkdtempSync(join(tmpdir(), 'pure-ssh-cli-home-'));
    try {
      mkdirSync(join(home, '.ssh'), { mode: 0o700 });
      const config = join(home, '.ssh', 'config');
      writeFileSync(config, 'Host *\n  Port 1\n');
      chmodSync(config, 0o666);
      const cenv = { ...processCliEnvironment(), home };
      expect(() => resolveCommandLine(['-G', 'h'], cenv)).toThrow(`Bad owner or permissions on ${config}`);
      expect(resolveCommandLine(['-G', '-F', config, 'h'], cenv).kind).toBe('dump');
      chmodSync(config, 0o600);
      const fixed = resolveCommandLine(['-G', 'h'], cenv);
      expect(fixed.kind).toBe('dump');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('the CLI\'s home is the passwd entry\'s, whatever $HOME says', () => {
    const saved = process.env.HOME;
    process.env.HOME = join(dir, 'elsewhere');
    try {
      expect(processCliEnvironment().home).toBe(userInfo().homedir);
    } finally {
      process.env.HOME = saved;
    }
  });
});
