/**
 * Config line quoting as OpenSSH reads it (misc.c argv_split, readconf.c's raw ProxyCommand):
 * each line goes into a `-F` file read by /usr/bin/ssh -G and by pure-ssh -G (the built CLI),
 * and the values they print must be the same (the keyword too may be double-quoted, misc.c
 * strdelim). CI=true: a missing /usr/bin/ssh fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { argvSplit } from '../src/config/argv-split.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

const SSH = SSH_CLIENT_PATH;
const haveSsh = sshClientAvailable();

// The passwd home of every ssh and pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
const home = suiteHome();

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-config-quoting-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `-G` lines for `keys` (lowercase keyword, then its value as printed). */
function dump(program: string[], file: string, keys: string[]): string[] {
  const r = spawnSync(program[0]!, [...program.slice(1), '-G', '-F', file, 'target'], { encoding: 'utf8', env: cliEnv(home) });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => keys.includes(l.split(' ')[0]!));
}

const LINES: Array<[string, string]> = [
  ['User "a b"', 'user'],
  ["User 'a b'", 'user'],
  ['User a"b c"d', 'user'],
  ["User it\\'s", 'user'],
  ['User a\\ b', 'user'],
  ['User "a \\" b"', 'user'],
  ['User a\\x', 'user'],
  ['User a#b', 'user'],
  ['User a # trailing comment', 'user'],
  ['User "#notacomment"', 'user'],
  ['HostName "example.org"', 'hostname'],
  // misc.c strdelim: a keyword in double quotes.
  ['"User" joe', 'user'],
  ['"User"=joe', 'user'],
  ['"Port" 2222', 'port'],
  // The word also ends at a quote inside it: `Us"er"` and `"User"joe` are User.
  ['Us"er" joe', 'user'],
  ['"User"joe', 'user'],
  ['User"" joe', 'user'],
  ['=User joe', 'user'],
  ['User = joe', 'user'],
  ['ProxyCommand nc "%h" %p', 'proxycommand'],
  ["ProxyCommand sh -c 'exec nc %h %p'", 'proxycommand'],
  ['ProxyCommand  =  nc  %h   %p', 'proxycommand'],
  ['ProxyCommand nc %h %p # comment', 'proxycommand'],
  ['ProxyCommand printf "a\\"b" %h', 'proxycommand'],
  ['IdentityFile "/tmp/a b/key"', 'identityfile'],
  ["IdentityFile '/tmp/c d/key'", 'identityfile'],
];

(haveSsh ? describeWithHome : describe.skip)('config line quoting as /usr/bin/ssh -G reads it', () => {
  it.each(LINES)('%s', (line, key) => {
    const file = join(dir, `cfg-${LINES.findIndex(([l]) => l === line)}`);
    writeFileSync(file, `Host target\n  ${line}\n`);
    const theirs = dump([SSH], file, [key]);
    expect(theirs.length).toBeGreaterThan(0);
    expect(dump([process.execPath, CLI], file, [key])).toEqual(theirs);
  });
});

(haveSsh ? describeWithHome : describe.skip)('lines and -o values that ask for nothing', () => {
  it('a line of only "" is skipped, as by ssh -G', () => {
    const file = join(dir, 'cfg-empty-word');
    writeFileSync(file, 'Host target\n  ""\n  User joe\n');
    expect(dump([process.execPath, CLI], file, ['user'])).toEqual(dump([SSH], file, ['user']));
  });

  it.each(['', '""', '#comment', '   '])('-o %j is accepted, as by ssh -G', (value) => {
    for (const program of [[SSH], [process.execPath, CLI]]) {
      const r = spawnSync(program[0]!, [...program.slice(1), '-G', '-o', value, 'target'], { encoding: 'utf8', env: cliEnv(home) });
      expect(r.status, `${program.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^hostname target$/m);
    }
  });
});

describeWithHome('a keyword whose quote is never closed', () => {
  it('is refused ("invalid quotes"), where ssh skips the line without a word', () => {
    const file = join(dir, 'cfg-open-keyword-quote');
    writeFileSync(file, 'Host target\n  "User joe\n');
    const r = spawnSync(process.execPath, [CLI, '-G', '-F', file, 'target'], { encoding: 'utf8', env: cliEnv(home) });
    expect(r.status).toBe(255);
    expect(r.stderr).toBe(`${file} line 2: invalid quotes\r\n${file}: terminating, 1 bad configuration options\r\n`);
  });
});

describe('argvSplit (misc.c argv_split)', () => {
  it('quotes anywhere, escapes, comments, open quotes', () => {
    expect(argvSplit('a "b c" d')).toEqual(['a', 'b c', 'd']);
    expect(argvSplit("x'y z'w")).toEqual(['xy zw']);
    expect(argvSplit('"a\'b"')).toEqual(["a'b"]);
    expect(argvSplit('a\\ b c')).toEqual(['a b', 'c']);
    expect(argvSplit('"a\\ b"')).toEqual(['a\\ b']);
    expect(argvSplit('C:\\x')).toEqual(['C:\\x']);
    expect(argvSplit('a\\\\b')).toEqual(['a\\b']);
    expect(argvSplit('a #b c')).toEqual(['a']);
    expect(argvSplit('a#b')).toEqual(['a#b']);
    expect(argvSplit('""')).toEqual(['']);
    expect(argvSplit('   ')).toEqual([]);
    expect(argvSplit("'a")).toBeNull();
    expect(argvSplit('a"b')).toBeNull();
  });
});
