/**
 * The bench's Docker mode (`npm run bench -- --docker`, bench/server.ts startDockerServer) run for
 * real, so it cannot rot: the image from bench/docker/build-image.sh (debootstrap'd Debian 12,
 * no registry), sshd in a container on the host's network, and a pure-ssh `-L` tunnel through it
 * carrying data both ways, verified by sha256 (../shared/TESTING.md "Docker engine", "Data
 * endpoints"). Needs a Docker engine: .ci/run installs docker.io and starts dockerd
 * (bench/docker/start-dockerd.sh); in CI a missing engine fails, elsewhere the suite is skipped.
 */
import { readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerEngineStatus, requireDockerEngine, startDockerServer, type DockerBenchServer } from '../bench/server.js';
import { runCli, type CliRun } from './support/cli-run.js';
import {
  deterministicStream,
  deterministicSha256,
  freePort,
  hashStream,
  startSinkServer,
  startSourceServer,
  type SinkServer,
  type SourceServer,
} from './harness/net.js';
import { nssWrapperAvailable, requireNssWrapper } from './harness/home.js';
import { describeIf } from './harness/sshd.js';

// The tunnel is the CLI under a temporary passwd home (support/cli-run.ts), so nss_wrapper too.
const describeDocker = describeIf(
  () => dockerEngineStatus().ok && nssWrapperAvailable(),
  () => {
    requireDockerEngine();
    requireNssWrapper();
  },
);

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;

describeDocker('bench --docker: sshd in a container', () => {
  let server: DockerBenchServer;
  let source: SourceServer;
  let sink: SinkServer;
  let tunnel: CliRun;
  let downPort: number;
  let upPort: number;

  beforeAll(async () => {
    // A first build on a fresh machine runs debootstrap (about a minute); .ci/run builds it first.
    server = await startDockerServer();
    [source, sink, downPort, upPort] = await Promise.all([startSourceServer(SIZE, 7), startSinkServer(), freePort(), freePort()]);
    tunnel = runCli([
      '-v', '-N', '-F', 'none',
      '-p', String(server.port),
      '-i', server.keyPath,
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${server.knownHostsPath}`,
      '-L', `127.0.0.1:${downPort}:${server.endpointHost}:${source.port}`,
      '-L', `127.0.0.1:${upPort}:${server.endpointHost}:${sink.port}`,
      `${server.user}@${server.host}`,
    ]);
    // Its -v lines, not a probe connection: a probe would open a channel the sink counts.
    await tunnel.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${upPort}\\.`), 20_000);
    await tunnel.waitFor(new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${downPort}\\.`), 20_000);
  }, 240_000);

  afterAll(async () => {
    await tunnel?.kill();
    await Promise.all([source?.close(), sink?.close()]);
    await server?.stop();
  }, 60_000);

  it('runs the image sshd in its own pid and mount namespaces and cgroup, on the host network', async () => {
    const pid = await server.pid();
    expect(pid).toBeGreaterThan(0);
    const ns = (p: number | 'self', kind: string) => readlink(`/proc/${p}/ns/${kind}`);
    expect(await ns(pid, 'pid')).not.toBe(await ns('self', 'pid'));
    expect(await ns(pid, 'mnt')).not.toBe(await ns('self', 'mnt'));
    // --network host: the same network namespace, so 127.0.0.1 is the host's loopback.
    expect(await ns(pid, 'net')).toBe(await ns('self', 'net'));
    const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8');
    const own = await readFile('/proc/self/cgroup', 'utf8');
    expect(cgroup).not.toBe(own);
    expect(cgroup).toMatch(/docker/);
    expect(server.description).toMatch(/OpenSSH_9\.2, /);
    expect(server.image).toMatch(/^pure-ssh-bench-sshd:bookworm-[0-9a-f]{12}$/);
  });

  it('carries a download through a pure-ssh -L tunnel, sha256-verified', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: downPort });
    const got = await hashStream(socket);
    expect(got.bytes).toBe(SIZE);
    expect(got.sha256).toBe(source.sha256);
  }, 60_000);

  it('carries an upload through the same tunnel, sha256-verified', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: upPort });
    socket.resume();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      deterministicStream(SIZE, 8).pipe(socket).once('finish', resolve);
    });
    const got = await sink.next();
    expect(got.bytes).toBe(SIZE);
    expect(got.sha256).toBe(deterministicSha256(SIZE, 8));
  }, 60_000);

  it('was served by the container sshd (its log has the login)', async () => {
    expect(await server.logs()).toMatch(/Accepted publickey for root from 127\.0\.0\.1/);
  });
});
