/**
 * pure-ssh-check when the check cannot run, or not in full (break26 MED-1, MED-2, LOW-6): what
 * answers is no SSH server (an HTTP server, a port that closes at once, never answers, sends
 * garbage or an SSH-1.5 banner), nothing answers or the name does not resolve, or no kex method
 * is in common (a legacy sshd 9.2, `--kex` with a method the server lacks). No MUST is
 * "violated" then: the run exits 255, says why on stderr, and `--json` still prints a document
 * whose `error` says why; skipped probe groups are listed as `info`. Also the posture of a legacy
 * server (3DES's 64-bit block) and of a 1024-bit RSA host key. Real servers: sshd 9.2 and
 * Node's own http and net servers. Runs the built command (`npm run build` first).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { CheckReport } from '../src/check/report.js';
import { cliEnv, describeInteropWithHome, describeWithHome, processHome } from './harness/home.js';
import { freePort, LOOPBACK } from './harness/net.js';
import { sshdSuite } from './harness/sshd.js';

// The installed bin (package.json bin.pure-ssh-check): check-cli.js bundled, at about half its start-up
// CPU (scripts/bundle-cli.mjs).
const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-bin.cjs', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = cliEnv(processHome());
  delete env.SSH_AUTH_SOCK;
  return new Promise((resolve) => {
    execFile(process.execPath, [CHECK_CLI, ...args], { timeout: 120_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function runJson(args: string[]): Promise<{ code: number; report: CheckReport; stderr: string }> {
  const r = await run(['--json', ...args]);
  let report: CheckReport;
  try {
    report = JSON.parse(r.stdout) as CheckReport;
  } catch {
    throw new Error(`no JSON document (exit ${r.code}): stdout ${JSON.stringify(r.stdout)}, stderr ${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const mustFailures = (r: CheckReport) => r.findings.filter((f) => f.verdict === 'fail' && f.requirement === 'must').map((f) => f.id);
const byId = (r: CheckReport, id: string) => r.findings.find((f) => f.id === id);

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  // Servers that never answer or end keep their sockets open: close those too.
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(srv: Server): Promise<number> {
  servers.push(srv);
  srv.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, LOOPBACK, r));
  return (srv.address() as { port: number }).port;
}

describeWithHome('pure-ssh-check against a port that is not an SSH server', () => {
  // [what answers, how it behaves, the reason the report gives]
  const cases: [string, () => Server, RegExp][] = [
    ['an HTTP server', () => createHttpServer((_req, res) => res.end('hello\n')) as unknown as Server, /: kex_exchange_identification: Connection closed by remote host$/],
    ['a server that closes at once', () => createServer((s) => s.destroy()), /: kex_exchange_identification: Connection closed by remote host$/],
    ['a server that never answers', () => createServer((s) => s.on('error', () => {})), / within 1 s: Connection timed out during banner exchange$/],
    ['a server that sends garbage', () => createServer((s) => s.on('error', () => {}).end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00, 0x0d, 0x0a]))), /: kex_exchange_identification: banner line contains invalid characters$/],
    ['an SSH-1.5 server', () => createServer((s) => s.on('error', () => {}).write('SSH-1.5-Old\r\n')), /: Protocol major versions differ: server sent "SSH-1\.5-Old"/],
  ];
  for (const [name, make, reason] of cases) {
    it(`${name}: no MUST violated, the reason on stderr and in the JSON's error, exit 255`, async () => {
      const port = await listen(make());
      const { code, report, stderr } = await runJson(['-t', '1', '-p', String(port), LOOPBACK]);
      expect(mustFailures(report)).toEqual([]);
      expect(report.findings.filter((f) => f.verdict !== 'info')).toEqual([]);
      expect(report.error).toMatch(new RegExp(`^no SSH identification from ${LOOPBACK} port ${port}`));
      expect(report.error).toMatch(reason);
      expect(byId(report, 'inventory.kexinit')).toMatchObject({ verdict: 'info', requirement: 'none', detail: `not run: ${report.error}` });
      expect(stderr).toBe(`pure-ssh-check: ${report.error}\n`);
      expect(code).toBe(255);
    }, 30_000);
  }

  it('prints the table without a FAIL and ends it with what could not run', async () => {
    const port = await listen(createServer((s) => s.destroy()));
    const { code, stdout, stderr } = await run(['-t', '1', '-p', String(port), LOOPBACK]);
    expect(stdout).not.toMatch(/FAIL/);
    expect(stdout).toMatch(/^summary: 0 pass, 0 MUST violated, 0 warnings\nnot run: no SSH identification from /m);
    expect(stderr).toMatch(/^pure-ssh-check: no SSH identification from .*Connection closed by remote host\n$/);
    expect(code).toBe(255);
  }, 30_000);

  it('--json with nothing listening or a name that does not resolve: a document with the error, ssh\'s words', async () => {
    const port = await freePort();
    const refused = await runJson(['-p', String(port), LOOPBACK]);
    expect(refused.report).toMatchObject({ target: { host: LOOPBACK, port }, findings: [], error: `connect to host ${LOOPBACK} port ${port}: Connection refused` });
    expect(refused.stderr).toBe(`pure-ssh-check: connect to host ${LOOPBACK} port ${port}: Connection refused\n`);
    expect(refused.code).toBe(255);
    // RFC 6761 §6.4: .invalid never resolves. ssh.c: "Could not resolve hostname %s: %s" (gai_strerror).
    const unresolved = await runJson(['-p', '22', 'no-such-host.invalid']);
    expect(unresolved.report).toMatchObject({ findings: [], error: 'Could not resolve hostname no-such-host.invalid: Name or service not known' });
    expect(unresolved.stderr).toBe('pure-ssh-check: Could not resolve hostname no-such-host.invalid: Name or service not known\n');
    expect(unresolved.code).toBe(255);
  }, 30_000);
});

// sshd 9.2 as a legacy server pure-ssh cannot talk to (break26 p22613.conf): its only kex method,
// diffie-hellman-group1-sha1, is one pure-ssh does not implement (RFC 9142 §4: MUST NOT).
describeInteropWithHome('pure-ssh-check against a legacy sshd 9.2 (no kex method in common)', () => {
  const sshd = sshdSuite({
    hostKeyTypes: ['rsa'],
    config: { KexAlgorithms: 'diffie-hellman-group1-sha1', HostKeyAlgorithms: 'ssh-rsa', Ciphers: '3des-cbc', MACs: 'hmac-md5,hmac-sha1-96' },
  });

  it('exits 255 with the reason, lists the probe groups it could not run, and names 3DES\'s 64-bit block', async () => {
    const { code, report, stderr } = await runJson(['-t', '3', '-p', String(sshd.port), LOOPBACK]);
    expect(byId(report, 'inventory.kex')?.detail).toBe('diffie-hellman-group1-sha1');
    expect(report.error).toMatch(/^key exchange with pure-ssh not possible \(.*\): no probe run$/);
    expect(stderr).toBe(`pure-ssh-check: ${report.error}\n`);
    for (const group of ['strict-kex', 'protocol']) {
      expect(byId(report, `${group}.not-run`), group).toMatchObject({ group, verdict: 'info', requirement: 'none', detail: expect.stringMatching(/^not run: no key exchange with pure-ssh \(/) });
    }
    expect(mustFailures(report)).toEqual([]);
    // Sweet32: 3DES's 64-bit block is a weakness of its own, besides CBC (RFC 4344 §3.2).
    expect(byId(report, 'posture.weak-ciphers')?.detail).toBe('3des-cbc (64-bit block, CBC mode)');
    expect(byId(report, 'posture.weak-macs')?.detail).toBe('hmac-md5 (MD5), hmac-sha1-96 (truncated)');
    expect(code).toBe(255);
  }, 60_000);

  it('the table says it too: the skipped groups as info lines, the reason after the summary', async () => {
    const { code, stdout } = await run(['-t', '3', '-p', String(sshd.port), LOOPBACK]);
    expect(stdout).toMatch(/^\[info\] strict key exchange enforcement +not run: no key exchange with pure-ssh \(/m);
    expect(stdout).toMatch(/^\[info\] protocol probes +not run: no key exchange with pure-ssh \(/m);
    expect(stdout).toMatch(/^summary: \d+ pass, 0 MUST violated, \d+ warnings\nnot run: key exchange with pure-ssh not possible/m);
    expect(code).toBe(255);
  }, 60_000);

  it('with a login asked for: the connection probes are listed as not run too, login failed on stderr, exit 255', async () => {
    const { code, report, stderr } = await runJson(['-t', '3', '-F', 'none', '-i', sshd.clientKeyPath, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'BatchMode=yes', '-p', String(sshd.port), `${sshd.user}@${LOOPBACK}`]);
    expect(byId(report, 'connection.not-run')).toMatchObject({ verdict: 'info', requirement: 'none' });
    expect(report.login?.error).toMatch(/^key exchange failed: /);
    expect(stderr).toMatch(/login failed, connection probes not run: key exchange failed/);
    expect(code).toBe(255);
  }, 60_000);
});

describeInteropWithHome('pure-ssh-check: --kex with a method sshd 9.2 lacks, no login', () => {
  const sshd = sshdSuite({ config: { KexAlgorithms: 'curve25519-sha256' } });

  it('exits 255, not 0: no probe could run', async () => {
    const { code, report, stderr } = await runJson(['--kex', 'diffie-hellman-group14-sha256', '-p', String(sshd.port), LOOPBACK]);
    expect(byId(report, 'inventory.exchange')?.detail).toMatch(/with kex diffie-hellman-group14-sha256$/);
    expect(report.findings.filter((f) => f.group === 'protocol').map((f) => [f.id, f.verdict])).toEqual([['protocol.not-run', 'info']]);
    expect(stderr).toMatch(/^pure-ssh-check: key exchange with pure-ssh not possible \(/);
    expect(code).toBe(255);
  }, 60_000);
});

describeInteropWithHome('pure-ssh-check: a 1024-bit RSA host key (sshd 9.2)', () => {
  // ssh-keygen makes 3072-bit RSA keys; sshd still serves a 1024-bit one (break26 p22614.conf).
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-check-rsa1024-'));
  const key = join(dir, 'host_rsa1024');
  execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', key]);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sshd = sshdSuite({ config: { HostKey: key } });

  it('shows its size in the inventory and flags it in the posture (below 2048 bits)', async () => {
    const { code, report } = await runJson(['--inventory-only', '-p', String(sshd.port), LOOPBACK]);
    expect(byId(report, 'inventory.host-key.ssh-rsa')?.detail).toMatch(/^ssh-rsa SHA256:\S+, 1024 bits$/);
    expect(byId(report, 'posture.rsa-host-key-size')).toMatchObject({ verdict: 'fail', requirement: 'should', detail: '1024 bits: below 2048 (112-bit security)' });
    expect(code).toBe(0);
  }, 60_000);
});

describeInteropWithHome('pure-ssh-check: the server stops answering mid-run (sshd 9.2 behind a relay that takes 3 connections)', () => {
  const sshd = sshdSuite();

  it('the findings made before are kept, the error says where it stopped, exit 255', async () => {
    // A relay to sshd that stops listening after its third connection: later probes find nothing.
    let accepted = 0;
    const relay = createServer((client) => {
      client.on('error', () => {});
      if (++accepted === 3) relay.close();
      const upstream = connect(sshd.port, LOOPBACK);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    const port = await listen(relay);
    const { code, report, stderr } = await runJson(['-t', '2', '-p', String(port), LOOPBACK]);
    expect(code).toBe(255);
    expect(report.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(byId(report, 'inventory.negotiated')).toBeDefined();
    expect(report.findings.length).toBeGreaterThan(3);
    expect(report.error).toMatch(/^a connection for the next probe could not be made \(.*\): the check stopped there/);
    expect(stderr).toContain(`pure-ssh-check: ${report.error}`);
  }, 120_000);
});
