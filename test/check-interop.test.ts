/**
 * pure-ssh-check against real servers: OpenSSH 9.2 (Debian's sshd) and 10 (strict kex enforced:
 * every probe passes), and Dropbear 2022.83 (Debian's dropbear-bin), whose strict-kex backport
 * lets optional messages through after its own NEWKEYS. Runs the built command (`npm run build`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckReport } from '../src/check/report.js';
import { fingerprintSha256 } from '../src/keys/hostkey.js';
import { base64Decode } from '../src/protocol/base64.js';
import { freePort, LOOPBACK, waitForPort } from './harness/net.js';
import { exited, own, type Ownership } from './harness/proc.js';
import { describeIf, describeInterop, describeInteropOpenssh10, inCI, startSshd, type SshdHandle } from './harness/sshd.js';

const CHECK_CLI = fileURLToPath(new URL('../dist/node/check-cli.js', import.meta.url));

function runCheckCli(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHECK_CLI, ...args], { timeout: 120_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout });
    });
  });
}

async function checkJson(port: number): Promise<{ code: number; report: CheckReport }> {
  const { code, stdout } = await runCheckCli(['--json', '-p', String(port), LOOPBACK]);
  return { code, report: JSON.parse(stdout) as CheckReport };
}

const ids = (r: CheckReport, verdict: string) => r.findings.filter((f) => f.verdict === verdict).map((f) => f.id).sort();
const byId = (r: CheckReport, id: string) => r.findings.find((f) => f.id === id);

/** What every strict-kex OpenSSH must show. */
function expectConformantOpenssh(report: CheckReport, sshd: SshdHandle): void {
  const strict = report.findings.filter((f) => f.group === 'strict-kex');
  // 3 server-side checks, 4 messages x 4 steps, the client sequence-number reset.
  expect(strict).toHaveLength(20);
  expect(strict.filter((f) => f.verdict !== 'pass')).toEqual([]);
  for (const id of ['unimplemented', 'max-packet', 'oversize-packet', 'bad-mac', 'wrong-guess']) {
    expect(byId(report, `protocol.${id}`)?.verdict, id).toBe('pass');
  }
  // sshd resets its dispatch table for user authentication: a pre-auth rekey gets UNIMPLEMENTED.
  expect(byId(report, 'protocol.rekey')?.detail).toMatch(/UNIMPLEMENTED|second exchange done/);
  expect(byId(report, 'posture.terrapin')?.verdict).toBe('pass');
  expect(byId(report, 'posture.strict-kex')?.verdict).toBe('pass');
  // One handshake per host key type, fingerprints as ssh-keygen -l prints them.
  for (const k of sshd.hostKeys) {
    const [type, b64] = k.publicKey.split(' ');
    const f = byId(report, `inventory.host-key.${type}`);
    expect(f?.detail, type).toBe(`${type} ${fingerprintSha256(base64Decode(b64!))}`);
  }
  expect(ids(report, 'fail').filter((id) => byId(report, id)!.requirement === 'must')).toEqual([]);
}

describeInterop('pure-ssh-check against OpenSSH 9.2', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd({ hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });
  });
  afterAll(() => sshd?.stop());

  it('passes every strict-kex and protocol probe and exits 0', async () => {
    const { code, report } = await checkJson(sshd.port);
    expect(report.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_9\.2/);
    expectConformantOpenssh(report, sshd);
    // 9.2 has sntrup761x25519 but no ML-KEM, and still offers SHA-1 MACs.
    expect(byId(report, 'posture.post-quantum-kex')?.detail).toMatch(/sntrup761x25519-sha512/);
    expect(byId(report, 'posture.weak-macs')?.detail).toMatch(/hmac-sha1 \(SHA-1\)/);
    expect(code).toBe(0);
  }, 120_000);

  it('prints a table with the summary, and --inventory-only makes no probe', async () => {
    const { code, stdout } = await runCheckCli(['--inventory-only', '-p', String(sshd.port), LOOPBACK]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[info\] host key \(ssh-ed25519\) +ssh-ed25519 SHA256:/m);
    expect(stdout).toMatch(/^\[PASS\] Terrapin \(CVE-2023-48795\) exposure +not exposed: strict kex offered$/m);
    expect(stdout).not.toMatch(/Protocol probes/);
    expect(stdout).toMatch(/^summary: \d+ pass, 0 MUST violated, 1 warnings$/m);
  }, 60_000);
});

describeInteropOpenssh10('pure-ssh-check against OpenSSH 10', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd({ openssh: '10', hostKeyTypes: ['ed25519', 'ecdsa', 'rsa'] });
  });
  afterAll(() => sshd?.stop());

  it('passes every probe, sees ML-KEM and ping@openssh.com, and exits 0', async () => {
    const { code, report } = await checkJson(sshd.port);
    expect(report.serverVersion).toMatch(/^SSH-2\.0-OpenSSH_10\./);
    expectConformantOpenssh(report, sshd);
    expect(byId(report, 'posture.post-quantum-kex')?.detail).toMatch(/mlkem768x25519-sha256/);
    expect(byId(report, 'inventory.ext-info')?.detail).toMatch(/ping@openssh\.com=0/);
    // OpenSSH answers PING only after user authentication.
    expect(byId(report, 'protocol.ping')).toMatchObject({ verdict: 'info' });
    expect(code).toBe(0);
  }, 120_000);
});

const DROPBEAR = '/usr/sbin/dropbear';
const DROPBEARKEY = '/usr/bin/dropbearkey';
const dropbearAvailable = () => existsSync(DROPBEAR) && existsSync(DROPBEARKEY);
const describeDropbear = describeIf(dropbearAvailable, () => {
  throw new Error(`dropbear is not installed: run \`apt-get install -y dropbear-bin\`${inCI() ? ' (CI=true: interop tests never skip)' : ''}`);
});

describeDropbear('pure-ssh-check against Dropbear', () => {
  let dir: string;
  let child: ChildProcess;
  let owned: Ownership;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pure-ssh-dropbear-'));
    const key = join(dir, 'host_ed25519');
    await new Promise<void>((resolve, reject) =>
      execFile(DROPBEARKEY, ['-t', 'ed25519', '-f', key], (err) => (err ? reject(err) : resolve())),
    );
    port = await freePort();
    child = spawn(DROPBEAR, ['-F', '-E', '-p', `${LOOPBACK}:${port}`, '-r', key], { stdio: 'ignore' });
    owned = own(child.pid!, dir);
    await waitForPort(LOOPBACK, port);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (child) await exited(child);
    owned?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds the optional messages it lets through after its NEWKEYS, and exits 1', async () => {
    const { code, report } = await checkJson(port);
    expect(report.serverVersion).toMatch(/^SSH-2\.0-dropbear_/);
    const must = ids(report, 'fail').filter((id) => byId(report, id)!.requirement === 'must');
    expect(must).toEqual([
      'strict-kex.debug.before-newkeys',
      'strict-kex.ignore.before-newkeys',
      'strict-kex.unimplemented.before-newkeys',
      'strict-kex.unknown.before-newkeys',
    ]);
    for (const id of ['unimplemented', 'max-packet', 'bad-mac', 'wrong-guess', 'rekey']) {
      expect(byId(report, `protocol.${id}`)?.verdict, id).toBe('pass');
    }
    expect(byId(report, 'posture.weak-kex')?.detail).toBe('diffie-hellman-group14-sha1 (SHA-1)');
    expect(byId(report, 'posture.terrapin')?.verdict).toBe('pass');
    expect(code).toBe(1);
  }, 120_000);
});
