/**
 * src/node/log-vis.ts: ssh's log.c escaping (strnvis VIS_SAFE | VIS_OCTAL), unit cases and the
 * built pure-ssh next to /usr/bin/ssh on a message carrying every kind of byte (needs
 * `npm run build`; CI=true: a missing ssh fails).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { visLogText } from '../src/node/log-vis.js';
import { CLI } from './support/cli-run.js';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

describe('visLogText', () => {
  it('keeps printable ASCII, space, tab, newline, \\b, \\a, \\r; doubles \\\\; octal for the rest', () => {
    expect(visLogText('plain text: ok')).toBe('plain text: ok');
    expect(visLogText('a\u0001b\tc\\d\u00e9e\u007ff\rg\bh\u0007i j\nk')).toBe('a\\001b\tc\\\\d\\303\\251e\\177f\rg\bh\u0007i j\nk');
    expect(visLogText('\u0000\u001b[31m')).toBe('\\000\\033[31m');
    expect(visLogText('\u{1f600}')).toBe('\\360\\237\\230\\200');
  });
});

(sshClientAvailable() ? describeWithHome : describe.skip)('log lines escaped as /usr/bin/ssh escapes them', () => {
  it('a Bad port message holding control bytes, a backslash and UTF-8', () => {
    const home = suiteHome();
    const value = 'a\u0001b\tc\\d\u00e9e\u007ff\rg\bh\u0007i j';
    const args = ['-G', '-F', 'none', '-o', `Port="${value}"`, 'h'];
    const run = (cmd: string, a: string[]) => spawnSync(cmd, a, { env: cliEnv(home), encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
    const theirs = run(SSH_CLIENT_PATH, args);
    const ours = run(process.execPath, [CLI, ...args]);
    expect(theirs.stderr).toContain("Bad port 'a\\001b\tc\\\\d\\303\\251e\\177f\rg\bh\u0007i j'.");
    expect({ status: ours.status, stderr: ours.stderr.replace(/\r\n/g, '\n') }).toEqual({ status: theirs.status, stderr: theirs.stderr.replace(/\r\n/g, '\n') });
  });
});
