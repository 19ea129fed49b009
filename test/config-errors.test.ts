/**
 * Configuration errors in OpenSSH's words: each bad line in a file (`-F`) and each bad `-o`
 * value goes through pure-ssh's resolver and through /usr/bin/ssh -G, and pure-ssh's message
 * must be the lines ssh prints. ssh then adds `FILE: terminating, N bad configuration options`
 * after reading the whole file; pure-ssh stops at the first error and does not count, so that
 * last line is checked to be there and left out. CI=true: a missing /usr/bin/ssh fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveCommandLine, type CliEnvironment } from '../src/config/cli-args.js';

const SSH = '/usr/bin/ssh';
const haveSsh = existsSync(SSH);
if (!haveSsh && process.env.CI === 'true') throw new Error('OpenSSH client (/usr/bin/ssh) is missing');

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-config-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cenv: CliEnvironment = {
  env: {},
  home: homedir(),
  localUser: userInfo().username,
  fs: {
    readFile: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
    listDir: () => [],
  },
};

/** ssh -G's stderr lines (it must fail); its log lines end in CR LF. */
function sshErrors(args: string[]): string[] {
  const r = spawnSync(SSH, ['-G', ...args, 'x'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(r.status, `ssh -G ${args.join(' ')} should fail`).toBe(255);
  return r.stderr.split(/\r?\n/).filter((l) => l !== '');
}

/** pure-ssh's ConfigError message, as lines. */
function ourErrors(args: string[]): string[] {
  try {
    resolveCommandLine(['-G', ...args, 'x'], cenv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n');
  }
  throw new Error(`pure-ssh -G ${args.join(' ')} did not fail`);
}

const FILE_LINES = [
  // readconf.c multistate / parse_flag: `unsupported option "VALUE".`, without the keyword.
  'CanonicalizeHostname maybe',
  'BatchMode 2',
  'AddressFamily x',
  'StrictHostKeyChecking maybe',
  'Compression maybe',
  'GatewayPorts x',
  'SessionType x',
  // process_config_line: nothing after the keyword, before the keyword is looked up.
  'Port',
  'User',
  'Host',
  'Match',
  'Include',
  'ProxyJump =',
  'NoSuchKeyword',
  // Values.
  'Port x',
  'Port 0',
  'ConnectTimeout x',
  'RekeyLimit x',
  'RekeyLimit 8',
  'ServerAliveCountMax x',
  // match_cfg_line: its own line, then "FILE line N: Bad Match condition".
  'Match canonical foo',
  'Match canonical Foo',
  'Match final foo',
  'Match !foo bar',
  'Match Host',
  'Match !User',
  'Match exec',
  'Match tagged',
  'Match # only a comment',
  'Match user',
  'Match host h user joe all',
  'Match all all',
];

const OPTIONS = ['CanonicalizeHostname=maybe', 'BatchMode=maybe', 'Port=', 'MACs', 'Port=x', 'SessionType=maybe', 'RekeyLimit=lots', 'ConnectTimeout=x'];

describe.skipIf(!haveSsh)('configuration errors as /usr/bin/ssh prints them', () => {
  it.each(FILE_LINES)('a file with "%s"', (line) => {
    const file = join(dir, `cfg-${FILE_LINES.indexOf(line)}`);
    writeFileSync(file, `${line}\n`);
    const theirs = sshErrors(['-F', file]);
    expect(theirs.at(-1)).toBe(`${file}: terminating, 1 bad configuration options`);
    expect(ourErrors(['-F', file])).toEqual(theirs.slice(0, -1));
  });

  it.each(OPTIONS)('-o %s', (option) => {
    expect(ourErrors(['-F', 'none', '-o', option])).toEqual(sshErrors(['-F', 'none', '-o', option]));
  });
});
