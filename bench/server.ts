/**
 * The sshd the bench talks to: the test harness's local sshd (default), or the same
 * configuration in a Docker container (`--docker`, bench/docker/, bench/README.md "Docker").
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * bench/docker/, found from this file whether it runs as source (bench/, under vitest) or
 * compiled (dist-bench/bench/).
 */
const DOCKER_DIR = [join(dirname(fileURLToPath(import.meta.url)), 'docker'), join(REPO_ROOT, 'bench', 'docker')].find((d) =>
  existsSync(join(d, 'build-image.sh')),
) ?? join(REPO_ROOT, 'bench', 'docker');
/** Builds the image (or finds it) and prints its reference; named in error messages. */
export const DOCKER_BUILD_SCRIPT = 'bench/docker/build-image.sh';
/** Starts dockerd on a machine without systemd; named when no engine answers. */
export const DOCKER_START_SCRIPT = 'bench/docker/start-dockerd.sh';
/** Label on every bench container, so a leftover one can be found (`docker ps -f label=...`). */
const CONTAINER_LABEL = 'pure-ssh-bench';

/** What `docker info` said: the engine's version and storage driver, or why it did not answer. */
export type DockerEngineStatus = { ok: true; version: string; storage: string } | { ok: false; reason: string };

/**
 * Asks the Docker engine (`docker info`, synchronous, at most 20 s) whether it answers. `reason`
 * names what is missing and how to get it: the docker command (Debian's docker.io), or a
 * running engine (bench/docker/start-dockerd.sh).
 */
export function dockerEngineStatus(): DockerEngineStatus {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}} {{.Driver}}'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    return { ok: false, reason: 'the docker command is not installed (apt-get install docker.io: client, dockerd, containerd, runc)' };
  }
  const [version, storage] = (r.stdout ?? '').trim().split(' ');
  if (r.status === 0 && version) return { ok: true, version, storage: storage ?? '?' };
  const said = `${r.stderr ?? ''}${r.error ? ` ${r.error.message}` : ''}`.trim().split('\n').pop() || `exit ${r.status}`;
  return {
    ok: false,
    reason: `no Docker engine answers (docker info: ${said}); start one with ${DOCKER_START_SCRIPT} (dockerd --bridge=none --iptables=false --ip6tables=false), or set DOCKER_HOST`,
  };
}

/**
 * Throws when no Docker engine answers, naming what is missing. `--docker` never falls back
 * to the local sshd: a run that asked for a container and measured something else would lie.
 */
export function requireDockerEngine(): void {
  const status = dockerEngineStatus();
  if (!status.ok) throw new Error(`--docker: ${status.reason}`);
}

/**
 * The bench's sshd image, built into the local engine by bench/docker/build-image.sh when it is
 * not there yet (debootstrap without a registry, or `docker build` from the Dockerfile with
 * one; the root filesystem is cached under ~/.cache/pure-ssh). Resolves with its reference.
 * The script's progress goes to this process's stderr.
 */
export function dockerImage(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(DOCKER_DIR, 'build-image.sh'), [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const image = out.trim().split('\n').pop();
      if (code === 0 && image) resolve(image);
      else reject(new Error(`--docker: ${DOCKER_BUILD_SCRIPT} failed (${code ?? signal}): ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
}

const docker = (...args: string[]) => execFileP('docker', args, { maxBuffer: 16 * 1024 * 1024 });

/** `docker logs NAME` (sshd's stderr, `-e`), or the error text. */
async function containerLogs(name: string): Promise<string> {
  return docker('logs', name).then(
    (r) => r.stdout + r.stderr,
    (e: { message: string }) => e.message,
  );
}

/**
 * A shell that waits for EOF on a pipe from this process, then removes the container and the
 * temp dir: when the bench or a test dies without stop() (SIGKILL, a crash), the container does
 * not stay behind holding its port. Returns how to disarm it once stop() ran.
 */
function containerWatchdog(name: string, dir: string): () => void {
  const sh = spawn('/bin/sh', ['-c', 'cat >/dev/null; docker rm -f "$1" >/dev/null 2>&1; rm -rf -- "$2"', 'watchdog', name, dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  sh.on('error', () => {});
  sh.stdin!.on('error', () => {});
  sh.unref();
  (sh.stdin as unknown as { unref?: () => void }).unref?.();
  return () => {
    // Kill the shell before closing its stdin, so the EOF reaches only `cat`, which exits.
    try {
      if (sh.pid !== undefined) process.kill(sh.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    sh.stdin!.destroy();
  };
}

/** Waits until sshd in `name` logs "Server listening", or throws with its log when it exits. */
async function waitSshdListening(name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = await containerLogs(name);
    if (/Server listening on /.test(logs)) return;
    const state = await docker('inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', name).then(
      (r) => r.stdout.trim(),
      () => 'false ?',
    );
    if (state.startsWith('false')) throw Object.assign(new Error(`sshd in container ${name} exited (${state.split(' ')[1]}):\n${logs}`), { logs });
    if (Date.now() > deadline) throw new Error(`sshd in container ${name} did not report "Server listening" within ${timeoutMs} ms:\n${logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A {@link BenchServer} in a container, with what the tests check about it. */
export interface DockerBenchServer extends BenchServer {
  /** The container's name (also `docker ps -f label=pure-ssh-bench`). */
  container: string;
  image: string;
  /** sshd's stderr so far (`docker logs`). */
  logs(): Promise<string>;
  /** Host pid of the container's sshd listener (`docker inspect .State.Pid`). */
  pid(): Promise<number>;
}

/**
 * Starts bench/docker's sshd in a container: the image from {@link dockerImage}, fresh keys and
 * the bench's sshd_config (bench/config.ts `dockerSshdConfig`) in a temp dir mounted read-only at
 * /bench, `docker run --network host` so sshd listens on 127.0.0.1:PORT of the host and reaches
 * the data endpoints on the host's loopback; no bridge, no port mapping, no private-range
 * address. Resolves once sshd listens. Throws (naming what is missing) when no engine answers.
 */
export async function startDockerServer(): Promise<DockerBenchServer> {
  const engine = dockerEngineStatus();
  if (!engine.ok) throw new Error(`--docker: ${engine.reason}`);
  const image = await dockerImage();
  const dir = await mkdtemp(join(tmpdir(), 'pure-ssh-bench-docker-'));
  let disarm: (() => void) | undefined;
  let name = '';
  try {
    const keygen = (path: string) => execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
    await Promise.all([keygen(join(dir, 'host_ed25519')), keygen(join(dir, 'client_ed25519'))]);
    await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')));
    let port = 0;
    // The free port may be taken before sshd binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      name = `pure-ssh-bench-${process.pid}-${port}`;
      await writeFile(join(dir, 'sshd_config'), dockerSshdConfig(port));
      disarm?.();
      disarm = containerWatchdog(name, dir);
      await docker('run', '-d', '--name', name, '--label', CONTAINER_LABEL, '--network', 'host',
        '--mount', `type=bind,source=${dir},target=/bench,readonly`, image);
      try {
        await waitSshdListening(name, 30_000);
        break;
      } catch (err) {
        const logs = (err as { logs?: string }).logs ?? '';
        await docker('rm', '-f', name).catch(() => {});
        if (attempt < 5 && /Address already in use|Cannot bind any address/.test(logs)) continue;
        throw err;
      }
    }
    await waitForPort('127.0.0.1', port, 30_000);
    const hostKey = (await readFile(join(dir, 'host_ed25519.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHostsPath = join(dir, 'known_hosts');
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostKey}\n`);
    const sshdVersion = await docker('exec', name, '/usr/sbin/sshd', '-V').then(
      (r) => r.stderr.trim(),
      (e: { stderr?: string }) => e.stderr?.trim() || 'sshd',
    );
    const container = name;
    let stopped: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      user: 'root',
      keyPath: join(dir, 'client_ed25519'),
      knownHostsPath,
      endpointHost: '127.0.0.1',
      endpointListen: '127.0.0.1',
      description:
        `docker container (Docker ${engine.version}, ${engine.storage}; image ${image}, ${sshdVersion}; ` +
        `host network) on 127.0.0.1:${port}`,
      container,
      image,
      logs: () => containerLogs(container),
      pid: async () => Number((await docker('inspect', '-f', '{{.State.Pid}}', container)).stdout.trim()),
      stop() {
        stopped ??= (async () => {
          await docker('rm', '-f', container).catch(() => {});
          await rm(dir, { recursive: true, force: true });
          disarm?.();
        })();
        return stopped;
      },
    };
  } catch (err) {
    if (name) await docker('rm', '-f', name).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    disarm?.();
    throw err;
  }
}
