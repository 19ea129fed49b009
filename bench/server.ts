/**
 * The sshd the bench talks to: the test harness's local sshd (default), or the same
 * configuration in a Docker container (`--docker`, bench/docker/).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from '../test/harness/net.js';
import { startSshd, type OpenSshRelease } from '../test/harness/sshd.js';
import { BENCH_SSHD_CONFIG, dockerSshdConfig } from './config.js';
import { REPO_ROOT } from './tunnels.js';

const execFileP = promisify(execFile);

/** A running server and how to log in to it. */
export interface BenchServer {
  host: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
  /** Address sshd uses to reach the data endpoints, and where the endpoints listen. */
  endpointHost: string;
  endpointListen: string;
  description: string;
  stop(): Promise<void>;
}

/**
 * Starts the harness's sshd on loopback with the bench's extra configuration, or with
 * `config` instead of it; `openssh: '10'` runs the harness's OpenSSH 10 build
 * (scripts/build-openssh.sh; throws with what to run when it is missing). `ssh` is the
 * OpenSSH client of the same release.
 */
export async function startLocalServer(
  options: { openssh?: OpenSshRelease; config?: Record<string, string> } = {},
): Promise<BenchServer & { ssh: string }> {
  const sshd = await startSshd({ config: options.config ?? BENCH_SSHD_CONFIG, openssh: options.openssh });
  const version = await execFileP(sshd.openssh.sshd, ['-V']).catch((e: { stderr?: string }) => e);
  return {
    ssh: sshd.openssh.ssh,
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    keyPath: sshd.clientKeyPath,
    knownHostsPath: sshd.knownHostsPath,
    endpointHost: '127.0.0.1',
    endpointListen: '127.0.0.1',
    description: `local ${version.stderr?.trim() || 'sshd'} on 127.0.0.1:${sshd.port}`,
    stop: () => sshd.stop(),
  };
}

const COMPOSE = join(REPO_ROOT, 'bench', 'docker', 'compose.yaml');
const PROJECT = 'pure-ssh-bench';

/**
 * Builds and starts bench/docker's container with fresh keys mounted at /bench, sshd on a
 * mapped loopback port; the data endpoints stay on the host (reached as host.docker.internal).
 */
export async function startDockerServer(): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-bench-docker-'));
  const keygen = (path: string) => execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
  await Promise.all([keygen(join(dir, 'host_ed25519')), keygen(join(dir, 'client_ed25519'))]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')));
  await writeFile(join(dir, 'sshd_config'), dockerSshdConfig());
  const port = await freePort();
  const env = { ...process.env, BENCH_DIR: dir, BENCH_SSHD_PORT: String(port) };
  const compose = (...args: string[]) => execFileP('docker', ['compose', '-f', COMPOSE, '-p', PROJECT, ...args], { env });
  await compose('up', '-d', '--build', '--wait');
  await waitForPort('127.0.0.1', port, 30_000);
  const hostKey = (await readFile(join(dir, 'host_ed25519.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsPath = join(dir, 'known_hosts');
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostKey}\n`);
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    keyPath: join(dir, 'client_ed25519'),
    knownHostsPath,
    endpointHost: 'host.docker.internal',
    endpointListen: '0.0.0.0',
    description: `docker (bench/docker, debian:12 openssh-server) on 127.0.0.1:${port}`,
    async stop() {
      await compose('down', '--timeout', '2').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
