/**
 * Every registered key-exchange method against the real OpenSSH sshd: Debian 12's 9.2 and the
 * OpenSSH 10 build. For each method the server lists (`ssh -Q kex` of that release), a
 * connection negotiates exactly that method (pinned on our side against an sshd offering all of
 * them; the legacy ones enabled with `+` against an sshd offering only that one), keeps strict
 * kex and ext-info working, carries hash-verified data through a direct-tcpip echo, and survives
 * the server-initiated rekeys of `RekeyLimit 1M`. Against OpenSSH 10, mlkem768x25519-sha256 is
 * also what our defaults negotiate with no pinning at all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectOptions, SshClient } from '../src/index.js';
import { ConfigError, applyOption, emptyOptions } from '../src/config/ssh-config.js';
import { WEAK_KEX_WARNING } from '../src/events.js';
import { DEFAULT_KEX, kexMethods } from '../src/kex/registry.js';
import { connectTo } from './harness/client.js';
import { cliEnv, itWithHome, processHome } from './harness/home.js';
import { deterministicChunks, deterministicSha256, hashStream, startEchoServer, type TestServer } from './harness/net.js';
import {
  describeInterop,
  describeInteropOpenssh10,
  openssh10,
  openssh10Available,
  sshdAvailable,
  sshdSuite,
  startSshd,
  systemOpenssh,
  type SshdHandle,
  type SshdOptions,
} from './harness/sshd.js';
import { CLI_BIN_PATH, deliverSignal } from './harness/proc.js';

const MiB = 1024 * 1024;
/** Echoed both ways: 2 × 2 MiB through the server, so RekeyLimit 1M rekeys at least twice. */
const ECHO_BYTES = 2 * MiB;
const REGISTERED = [...kexMethods.values()];

/** `ssh -Q kex` of a release: what its sshd can be configured with. Empty when it is missing. */
function supportedBy(ssh: () => string, available: () => boolean): string[] {
  if (!available()) return [];
  return execFileSync(ssh(), ['-Q', 'kex'], { encoding: 'utf8' }).trim().split('\n');
}

/** Echo ECHO_BYTES through a direct-tcpip channel and check the hash of what came back. */
async function echoVerified(ssh: SshClient, echo: TestServer, seed: number): Promise<void> {
  const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
  const reply = hashStream(ch);
  for (const chunk of deterministicChunks(ECHO_BYTES, seed)) {
    if (!ch.write(chunk)) await new Promise((r) => ch.once('drain', r));
  }
  ch.end();
  const r = await reply;
  expect(r.bytes).toBe(ECHO_BYTES);
  expect(r.sha256).toBe(deterministicSha256(ECHO_BYTES, seed));
}

/** Connect with `kex`, check the negotiation, echo, rekeys; returns the negotiated method. */
async function exercise(sshd: SshdHandle, echo: TestServer, kex: ConnectOptions['algorithms'], seed: number): Promise<string> {
  const warnings: string[] = [];
  const ssh = await connectTo(sshd, { algorithms: kex, onWarning: (w) => warnings.push(w.code) });
  try {
    const info = ssh.info;
    const name = info.negotiated!.kex;
    // The Node library's own choice: node:crypto, whose X25519 and NIST-curve ECDH the methods use.
    expect(info.cryptoProvider).toBe('node');
    const sessionId = info.sessionId;
    // OpenSSH PROTOCOL §1.9 and RFC 8308 keep working whatever the method.
    expect(info.strictKex).toBe(true);
    expect(info.serverSigAlgs).toContain('ssh-ed25519');
    expect(warnings).toEqual(kexMethods.get(name)!.postQuantum ? [] : ['weak-kex']);
    await echoVerified(ssh, echo, seed);
    // Our own limit is 64 GiB (AES-GCM): every rekey here was started by sshd's RekeyLimit 1M.
    expect(ssh.info.kexCount).toBeGreaterThanOrEqual(3);
    expect(ssh.info.sessionId).toEqual(sessionId);
    return name;
  } finally {
    await ssh.close();
  }
}

function matrix(release: 'system' | '10', supported: string[]): void {
  let all: SshdHandle;
  let echo: TestServer;
  /** One sshd per legacy method, offering only it (the legacy rows are off by default on both sides). */
  const pinned = new Map<string, SshdHandle>();
  const legacy = REGISTERED.filter((m) => m.legacy && supported.includes(m.name));
  const base: SshdOptions = release === '10' ? { openssh: '10' } : {};

  beforeAll(async () => {
    const started = await Promise.all([
      startSshd({ ...base, config: { KexAlgorithms: REGISTERED.map((m) => m.name).filter((n) => supported.includes(n)).join(','), RekeyLimit: '1M' } }),
      ...legacy.map((m) => startSshd({ ...base, config: { KexAlgorithms: m.name, RekeyLimit: '1M' } })),
      startEchoServer(),
    ]);
    all = started[0] as SshdHandle;
    legacy.forEach((m, i) => pinned.set(m.name, started[i + 1] as SshdHandle));
    echo = started[started.length - 1] as TestServer;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([all?.stop(), echo?.close(), ...[...pinned.values()].map((s) => s.stop())]);
  });

  REGISTERED.forEach((m, i) => {
    if (!supported.includes(m.name)) return;
    const how = m.legacy ? `'+${m.name}' against an sshd offering only it` : 'pinned on our side';
    it(`${m.name} (${how}): strict kex, ext-info, 2 MiB echoed and hash-verified, server-initiated rekeys`, async () => {
      const negotiated = m.legacy
        ? await exercise(pinned.get(m.name)!, echo, { kex: `+${m.name}` }, 100 + i)
        : await exercise(all, echo, { kex: [m.name] }, 100 + i);
      expect(negotiated).toBe(m.name);
    }, 30_000);
  });
}

const SYSTEM_KEX = supportedBy(() => systemOpenssh().ssh, sshdAvailable);
const OPENSSH10_KEX = supportedBy(() => openssh10().ssh, openssh10Available);

describeInterop('key exchange methods against OpenSSH 9.2 sshd', () => {
  it('the matrix covers every registered method 9.2 has; 9.2 lacks only mlkem768x25519-sha256', () => {
    expect(REGISTERED.filter((m) => !SYSTEM_KEX.includes(m.name)).map((m) => m.name)).toEqual(['mlkem768x25519-sha256']);
  });
  matrix('system', SYSTEM_KEX);
});

describeInteropOpenssh10('key exchange methods against OpenSSH 10 sshd', () => {
  it('OpenSSH 10 has every registered method', () => {
    expect(REGISTERED.filter((m) => !OPENSSH10_KEX.includes(m.name)).map((m) => m.name)).toEqual([]);
  });

  describe('defaults on both sides', describeDefault);
  describe('every method', () => matrix('10', OPENSSH10_KEX));
});

/** Our defaults against sshd 10's defaults: mlkem768x25519-sha256, no pinning anywhere. */
function describeDefault(): void {
  const sshd = sshdSuite({ openssh: '10', config: { RekeyLimit: '1M' } });
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('our default list negotiates mlkem768x25519-sha256 with no warning, data and rekeys intact', async () => {
    expect(DEFAULT_KEX[0]).toBe('mlkem768x25519-sha256');
    expect(await exercise(sshd, echo, undefined, 7)).toBe('mlkem768x25519-sha256');
  }, 30_000);
}

// ---- the CLI: OpenSSH 10.1's WarnWeakCrypto ----

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

/** Runs `pure-ssh -N -v` until authenticated, then SIGTERM; returns its stderr. */
function cliUntilAuthenticated(sshd: SshdHandle, extra: string[], cmd: string[] = [process.execPath, CLI]): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const args = [
    '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', ...extra, '-N', '-v', '127.0.0.1',
  ];
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pure-ssh did not authenticate within 15 s:\n${err}`));
    }, 15_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      const authenticated = /^Authenticated to /m.test(err);
      err += d;
      if (!authenticated && /^Authenticated to /m.test(err)) deliverSignal(child, 'SIGTERM');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (/^Authenticated to /m.test(err)) resolve(err);
      else reject(new Error(`pure-ssh exited before authenticating:\n${err}`));
    });
  });
}

/**
 * The warning's three lines at INFO level: on stderr without a `debug1:` prefix, each ended with
 * \r\n as log.c writes logit() lines (sshconnect.c warn_nonpq_kex), as ssh prints them.
 */
const WARNING_LINES = WEAK_KEX_WARNING.split('\n').map((l) => `${l}\r\n`).join('');

describe('WarnWeakCrypto in ssh_config (OpenSSH 10.1 readconf.c)', () => {
  const ctx = { source: 'command-line', line: 0, active: true, note: () => {} };
  it('yes/true/no/false/no-pq-kex, case-insensitive; the first value wins; anything else is an error', () => {
    const value = (...vs: string[]) => {
      const o = emptyOptions();
      for (const v of vs) applyOption(o, 'WarnWeakCrypto', [v], ctx);
      return o.warnWeakCrypto;
    };
    expect([value('yes'), value('TRUE'), value('no'), value('false'), value('No-PQ-Kex')]).toEqual([true, true, false, false, false]);
    expect(value('no', 'yes')).toBe(false);
    expect(() => value('maybe')).toThrow(ConfigError);
    expect(() => value('maybe')).toThrow('command-line line 0: unsupported option "maybe".');
  });
});

describeInterop('WarnWeakCrypto in the CLI, against an sshd 9.2 offering no post-quantum kex', () => {
  // Pinned on the server (9.2 has sntrup761x25519): our side keeps its defaults, as a user's would.
  const sshd = sshdSuite({ config: { KexAlgorithms: 'curve25519-sha256,ecdh-sha2-nistp256' } });

  itWithHome('default: -v names the method, and the three warning lines come before authentication', async () => {
    const err = await cliUntilAuthenticated(sshd, []);
    expect(err).toMatch(/debug1: kex: algorithm: curve25519-sha256\r\n/);
    // The key pair made while waiting for the server's KEXINIT was a guess from the version line
    // (sntrup761x25519, what 9.2's defaults negotiate with ours), wrong against this pinned server.
    expect(err).toMatch(/debug1: kex: discarded the prepared sntrup761x25519-sha512(@openssh\.com)? key pair \(negotiated curve25519-sha256\)/);
    expect(err).not.toContain('kex: using the');
    expect(err).toContain(WARNING_LINES);
    expect(err.indexOf(WARNING_LINES)).toBeLessThan(err.indexOf("Authenticated to "));
  }, 20_000);

  itWithHome("-vv: both KEXINIT proposals at debug2 as ssh prints them (kex.c kex_buf2prop), the server's identical to ssh's", async () => {
    /** The lines from `debug2: WHO KEXINIT proposal` through its `reserved` line. */
    const block = (err: string, who: string): string[] => {
      const lines = err.split('\r\n');
      const from = lines.indexOf(`debug2: ${who} KEXINIT proposal`);
      expect(from, err).toBeGreaterThanOrEqual(0);
      return lines.slice(from, from + 13);
    };
    const ours = await cliUntilAuthenticated(sshd, ['-v', '-c', 'aes256-ctr', '-m', 'hmac-sha2-256']);
    const theirs = await cliUntilAuthenticated(sshd, ['-v', '-c', 'aes256-ctr', '-m', 'hmac-sha2-256'], ['/usr/bin/ssh']);
    expect(block(ours, 'peer server')).toEqual(block(theirs, 'peer server'));
    const local = block(ours, 'local client');
    expect(local.map((l) => l.replace(/:.*/, ''))).toEqual(block(theirs, 'local client').map((l) => l.replace(/:.*/, '')));
    expect(local[1]).toBe(`debug2: KEX algorithms: ${DEFAULT_KEX.join(',')},ext-info-c,kex-strict-c-v00@openssh.com`);
    expect(local.slice(3, 13)).toEqual([
      'debug2: ciphers ctos: aes256-ctr',
      'debug2: ciphers stoc: aes256-ctr',
      'debug2: MACs ctos: hmac-sha2-256',
      'debug2: MACs stoc: hmac-sha2-256',
      'debug2: compression ctos: none',
      'debug2: compression stoc: none',
      'debug2: languages ctos: ',
      'debug2: languages stoc: ',
      'debug2: first_kex_follows 0 ',
      'debug2: reserved 0 ',
    ]);
    // Ours, then the server's, then the outcome, as ssh orders them.
    expect(ours.indexOf('debug2: local client KEXINIT proposal')).toBeLessThan(ours.indexOf('debug2: peer server KEXINIT proposal'));
    expect(ours.indexOf('debug2: reserved 0 \r\ndebug1: kex: algorithm: curve25519-sha256\r\n')).toBeGreaterThan(0);
    // The outcome in kex.c kex_choose_conf's four debug1 lines, the same as ssh's.
    const outcome = (err: string) => err.split('\r\n').filter((l) => /^debug1: kex: (algorithm|host key algorithm|server->client cipher|client->server cipher): /.test(l));
    expect(outcome(ours)).toHaveLength(4);
    expect(outcome(ours)).toEqual(outcome(theirs));
    // -v alone (debug1) shows none of it.
    expect(await cliUntilAuthenticated(sshd, [])).not.toContain('KEXINIT proposal');
  }, 30_000);

  itWithHome('-o WarnWeakCrypto=no (and no-pq-kex) silences it', async () => {
    for (const v of ['no', 'no-pq-kex']) {
      const err = await cliUntilAuthenticated(sshd, ['-o', `WarnWeakCrypto=${v}`]);
      expect(err).toMatch(/debug1: kex: algorithm: curve25519-sha256\r\n/);
      expect(err).not.toContain('post-quantum');
    }
  }, 20_000);

  itWithHome('an explicit KexAlgorithms silences it, as in OpenSSH (kex_algorithms_set)', async () => {
    const err = await cliUntilAuthenticated(sshd, ['-o', 'KexAlgorithms=ecdh-sha2-nistp256']);
    expect(err).toMatch(/debug1: kex: algorithm: ecdh-sha2-nistp256\r\n/);
    expect(err).not.toContain('post-quantum');
  }, 20_000);
});

describeInteropOpenssh10('WarnWeakCrypto in the CLI, against OpenSSH 10', () => {
  const sshd = sshdSuite({ openssh: '10' });

  itWithHome('mlkem768x25519-sha256 by default: no warning; its key pair made while sshd prepared its KEXINIT', async () => {
    const err = await cliUntilAuthenticated(sshd, []);
    expect(err).toMatch(/debug1: kex: algorithm: mlkem768x25519-sha256\r\n/);
    expect(err).toContain("debug1: kex: using the mlkem768x25519-sha256 key pair made while waiting for the server's KEXINIT");
    expect(err).not.toContain('post-quantum');
  }, 20_000);
});
