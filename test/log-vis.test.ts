/**
 * src/node/log-vis.ts: ssh's log.c escaping (strnvis VIS_SAFE | VIS_OCTAL) and line ending
 * ("\r\n"), unit cases and the built pure-ssh next to /usr/bin/ssh on a message carrying every
 * kind of byte and on messages of both endings (needs `npm run build`; CI=true: a missing ssh
 * fails).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logLines, oneLogCall, visLogText } from '../src/node/log-vis.js';
import { textForLog } from '../src/log-text.js';
import { describeFatal, Log } from '../src/node/connect-host.js';
import { resolveCommandLine } from '../src/config/cli-args.js';
import { DisconnectError } from '../src/errors.js';
import { CLI } from './support/cli-run.js';
import { cliEnv, describeWithHome, suiteHome } from './harness/home.js';
import { inCI, SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

describe('visLogText', () => {
  it('keeps printable ASCII, space, tab, newline, \\b, \\a, \\r; doubles \\\\; octal for the rest', () => {
    expect(visLogText('plain text: ok')).toBe('plain text: ok');
    expect(visLogText('a\u0001b\tc\\d\u00e9e\u007ff\rg\bh\u0007i j\nk')).toBe('a\\001b\tc\\\\d\\303\\251e\\177f\rg\bh\u0007i j\nk');
    expect(visLogText('\u0000\u001b[31m')).toBe('\\000\\033[31m');
    expect(visLogText('\u{1f600}')).toBe('\\360\\237\\230\\200');
  });

  it("a peer's bytes that are not UTF-8 (textForLog) escaped as the bytes sent, not as their Latin-1 characters' UTF-8", () => {
    const bytes = (...b: number[]) => new Uint8Array(b);
    // 0xff, a cut 2-byte sequence, an overlong "/" (c0 af), a UTF-16 surrogate (ed a0 80), above U+10FFFF (f4 90 80 80).
    const cases: [Uint8Array, string][] = [
      [bytes(0x61, 0xff, 0x62), 'a\\377b'],
      [bytes(0x63, 0x61, 0x66, 0xc3, 0xa9, 0xc3), 'caf\\303\\251\\303'],
      [bytes(0xc0, 0xaf), '\\300\\257'],
      [bytes(0xed, 0xa0, 0x80), '\\355\\240\\200'],
      [bytes(0xf4, 0x90, 0x80, 0x80, 0xf0, 0x9f, 0x98, 0x80), '\\364\\220\\200\\200\\360\\237\\230\\200'],
      [bytes(0x5c, 0xe9, 0x0a), '\\\\\\351\n'],
      // A UTF-8 byte order mark is kept, not dropped.
      [bytes(0xef, 0xbb, 0xbf, 0x78), '\\357\\273\\277x'],
    ];
    for (const [b, want] of cases) expect(visLogText(textForLog(b)), [...b].join(' ')).toBe(want);
    // Valid UTF-8 is text for the library's log; each other byte a lone U+DC80..U+DCFF.
    expect(textForLog(bytes(0x63, 0xc3, 0xa9, 0xff, 0x80))).toBe('c\u00e9\udcff\udc80');
  });

  it('textForLog then visLogText: every byte of random input escaped on its own, as strnvis does', () => {
    let seed = 1;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const strnvis = (b: number) =>
      b === 0x5c ? '\\\\' : (b >= 0x20 && b < 0x7f) || [7, 8, 9, 10, 13].includes(b) ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
    for (let n = 0; n < 2000; n++) {
      // Mostly high bytes, so that valid and broken UTF-8 sequences both turn up.
      const b = Uint8Array.from({ length: next() % 12 }, () => (next() % 4 === 0 ? next() % 0x80 : 0x80 + (next() % 0x80)));
      expect(visLogText(textForLog(b)), [...b].join(' ')).toBe([...b].map(strnvis).join(''));
    }
  });
});

describe('logLines', () => {
  it('escapes each line and ends it with \\r\\n', () => {
    expect(logLines('Host key verification failed.')).toBe('Host key verification failed.\r\n');
    expect(logLines('a\u0001\nb')).toBe('a\\001\r\nb\r\n');
  });

  it("a server's text (one ssh log call): its newlines kept inside the line, only the last ended with \\r\\n; still escaped", () => {
    expect(logLines(`Remote: ${oneLogCall('first\nsecond\u0001\n')}`)).toBe('Remote: first\nsecond\\001\n\r\n');
    expect(logLines(`Received: ${oneLogCall('a\nb')}\nDisconnected from h`)).toBe('Received: a\nb\r\nDisconnected from h\r\n');
    // U+FFFD (what decoding makes of bad bytes) is still escaped as its UTF-8 bytes.
    expect(logLines('x\uFFFDy')).toBe('x\\357\\277\\275y\r\n');
  });

  it("describeFatal: a DISCONNECT whose text has newlines is packet.c's one line for it, then \"Disconnected from\"", async () => {
    const out = resolveCommandLine(['-F', 'none', '-N', '-p', '2222', 'example.org'], {
      env: {}, home: '/home/joe', localUser: 'joe', fs: { readFile: () => undefined, listDir: () => [] },
    });
    if (out.kind !== 'run') throw new Error(out.kind);
    const text = await describeFatal(new DisconnectError(11, 'going down\nfor maintenance'), out.config, new Log('INFO'));
    expect(logLines(text)).toBe('Received disconnect from example.org port 2222:11: going down\nfor maintenance\r\nDisconnected from example.org port 2222\r\n');
    expect(logLines(await describeFatal(new DisconnectError(11, 'x'), out.config, new Log('ERROR')))).toBe('Received disconnect from example.org port 2222:11: x\r\n');
  });
});

(sshClientAvailable() || inCI() ? describeWithHome : describe.skip)('log lines escaped as /usr/bin/ssh escapes them', () => {
  it('a Bad port message holding control bytes, a backslash and UTF-8', () => {
    const home = suiteHome();
    const value = 'a\u0001b\tc\\d\u00e9e\u007ff\rg\bh\u0007i j';
    const args = ['-G', '-F', 'none', '-o', `Port="${value}"`, 'h'];
    const run = (cmd: string, a: string[]) => spawnSync(cmd, a, { env: cliEnv(home), encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
    const theirs = run(SSH_CLIENT_PATH, args);
    const ours = run(process.execPath, [CLI, ...args]);
    expect(theirs.stderr).toContain("Bad port 'a\\001b\tc\\\\d\\303\\251e\\177f\rg\bh\u0007i j'.");
    expect({ status: ours.status, stderr: ours.stderr }).toEqual({ status: theirs.status, stderr: theirs.stderr });
  });
});

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

(sshClientAvailable() || inCI() ? describeWithHome : describe.skip)('line endings byte for byte as /usr/bin/ssh (log.c "\\r\\n", fprintf "\\n")', () => {
  const home = suiteHome();
  const run = (cmd: string, a: string[]) => spawnSync(cmd, a, { env: cliEnv(home), encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  const both = (args: string[]) => {
    const theirs = run(SSH_CLIENT_PATH, args);
    const ours = run(process.execPath, [CLI, ...args]);
    return { ours: { status: ours.status, stderr: ours.stderr }, theirs: { status: theirs.status, stderr: theirs.stderr } };
  };

  it('log lines: -o and config-file errors, -J twice, an invalid user, a missing -F file', () => {
    const cfg = join(home, 'bad_config');
    writeFileSync(cfg, 'Host x\n  Foo bar\n  Port abc\n');
    const cases: [string[], string][] = [
      [['-o', 'Foo=bar', 'h'], 'command-line: line 0: Bad configuration option: foo\r\n'],
      [['-F', cfg, 'x'], `${cfg}: line 2: Bad configuration option: foo\r\n${cfg} line 3: Bad port 'abc'.\r\n${cfg}: terminating, 2 bad configuration options\r\n`],
      [['-J', 'a', '-J', 'b', 'h'], 'Only a single -J option is permitted (use commas to separate multiple jump hops)\r\n'],
      [['-l', 'a;b', 'h'], 'remote username contains invalid characters\r\n'],
      [['-F', join(home, 'missing'), 'h'], `Can't open user config file ${join(home, 'missing')}: No such file or directory\r\n`],
    ];
    for (const [args, stderr] of cases) {
      const { ours, theirs } = both(args);
      expect(theirs, args.join(' ')).toEqual({ status: 255, stderr });
      expect(ours, args.join(' ')).toEqual(theirs);
    }
  });

  it("plain lines: ssh.c's fprintf errors for -p, -c, -m, -L, -R, -D, -W and -E", () => {
    const cases: [string[], string][] = [
      [['-p', 'abc', 'h'], "Bad port 'abc'\n"],
      [['-c', 'nope', 'h'], "Unknown cipher type 'nope'\n"],
      [['-m', 'nope', 'h'], "Unknown mac type 'nope'\n"],
      [['-L', 'foo', 'h'], "Bad local forwarding specification 'foo'\n"],
      [['-R', 'foo', 'h'], "Bad remote forwarding specification 'foo'\n"],
      [['-D', 'a:b:c', 'h'], "Bad dynamic forwarding specification 'a:b:c'\n"],
      [['-W', 'foo', 'h'], "Bad stdio forwarding specification 'foo'\n"],
      [['-E', join(home, 'no/such/dir/log'), 'h'], `Couldn't open logfile ${join(home, 'no/such/dir/log')}: No such file or directory\n`],
    ];
    for (const [args, stderr] of cases) {
      const { ours, theirs } = both(args);
      expect(theirs.stderr, args.join(' ')).toBe(stderr);
      expect(ours, args.join(' ')).toEqual(theirs);
    }
  });

  it('both kinds in one run: the -i warning (fprintf) then a refused connection (log), and the same line in an -E file', async () => {
    const port = String(await closedPort());
    const key = join(home, 'no_such_key');
    const base = ['-N', '-F', 'none', '-o', 'BatchMode=yes', '-p', port];
    const { ours, theirs } = both([...base, '-i', key, '127.0.0.1']);
    expect(theirs).toEqual({
      status: 255,
      stderr: `Warning: Identity file ${key} not accessible: No such file or directory.\nssh: connect to host 127.0.0.1 port ${port}: Connection refused\r\n`,
    });
    expect(ours).toEqual(theirs);
    const logs = ['ssh', 'ours'].map((n) => join(home, `${n}.log`));
    expect(run(SSH_CLIENT_PATH, [...base, '-E', logs[0]!, '127.0.0.1']).stderr).toBe('');
    expect(run(process.execPath, [CLI, ...base, '-E', logs[1]!, '127.0.0.1']).stderr).toBe('');
    const [theirLog, ourLog] = logs.map((f) => readFileSync(f, 'latin1'));
    expect(theirLog).toBe(`ssh: connect to host 127.0.0.1 port ${port}: Connection refused\r\n`);
    expect(ourLog).toBe(theirLog);
  });

  it("getopt's complaint is a log line, the usage text and -V plain lines", () => {
    const { ours, theirs } = both(['-%']);
    expect(theirs.stderr.split('\n')[0]).toBe('unknown option -- %\r');
    expect(ours.stderr.split('\n')[0]).toBe(theirs.stderr.split('\n')[0]);
    // The usage lists differ (pure-ssh has fewer options); both end each of its lines with "\n".
    for (const r of [ours, theirs]) expect(r.stderr.split('\n').slice(1).join('\n')).not.toContain('\r');
    const versions = [run(SSH_CLIENT_PATH, ['-V']), run(process.execPath, [CLI, '-V'])];
    for (const v of versions) expect(v.stderr).toMatch(/^[^\r\n]+\n$/);
  });
});
