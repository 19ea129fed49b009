/**
 * `npm start`: the no-server demo, or the CLI itself.
 *
 * - With arguments, it is `pure-ssh` (e.g. `npm start -- -N -L 63333:localhost:5432 joe@foo.com`).
 * - Without, it starts OpenSSH's sshd on loopback with a generated configuration (installing
 *   openssh-server with apt when it is missing and we are root), a small HTTP service behind it,
 *   and runs the real `pure-ssh -N -L` against them: a request goes through the tunnel, and on a
 *   terminal the tunnel stays up until Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from '../test/harness/net.js';
import { SSHD_PATH, startSshd } from '../test/harness/sshd.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'node', 'cli.js');

function say(line: string): void {
  process.stderr.write(`[demo] ${line}\n`);
}

function ensureSshd(): void {
  if (existsSync(SSHD_PATH)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${SSHD_PATH} is missing: install it with "sudo apt-get install -y openssh-server" and run npm start again`);
  }
  say('installing openssh-server (apt-get) for the local sshd ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'openssh-server', 'openssh-client'], { stdio: 'inherit', env });
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

async function demo(): Promise<number> {
  ensureSshd();
  const sshd = await startSshd();
  const service: Server = createServer((req, res) => {
    res.end(`hello from the far side of the tunnel (you asked for ${req.url})\n`);
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const servicePort = (service.address() as { port: number }).port;
  let localPort = 63333;
  try {
    await waitForPort('127.0.0.1', localPort, 100);
    localPort = await freePort(); // 63333 is taken
  } catch {
    // 63333 is free
  }
  const args = [
    '-N', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath,
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes',
    '-L', `${localPort}:localhost:${servicePort}`, `${sshd.user}@${sshd.host}`,
  ];
  say(`sshd (OpenSSH) listening on ${sshd.host}:${sshd.port}; an HTTP service on 127.0.0.1:${servicePort}`);
  say(`running: pure-ssh ${args.join(' ')}`);
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? 255)));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    service.close();
    await sshd.stop();
  };
  try {
    await Promise.race([
      waitForPort('127.0.0.1', localPort, 15_000),
      exited.then((code) => Promise.reject(new Error(`pure-ssh exited with ${code}`))),
    ]);
    const body = await get(localPort);
    say(`GET http://localhost:${localPort}/ through the tunnel answered: ${body.trim()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  if (!process.stdin.isTTY) {
    say('tunnel works (no terminal: stopping). On a terminal the tunnel stays up until Ctrl-C.');
    await stop();
    say('stopped: pure-ssh, sshd and the HTTP service are gone.');
    return 0;
  }
  say(`tunnel up: try "curl http://localhost:${localPort}/" in another terminal. Ctrl-C stops it.`);
  await new Promise<void>((r) => process.once('SIGINT', () => r()));
  await stop();
  say('stopped: pure-ssh, sshd and the HTTP service are gone.');
  return 0;
}

async function main(): Promise<number> {
  // The servers the demo starts are unref'd (the test harness's, so a test process never waits
  // on them): while the demo awaits their exit, nothing else would keep Node running, and it
  // would quit in the middle of stopping, before its last lines. Hold the loop until main ends.
  const alive = setInterval(() => {}, 60_000);
  try {
    return await run();
  } finally {
    clearInterval(alive);
  }
}

async function run(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length > 0) {
    const child = spawn(process.execPath, [cli, ...argv], { stdio: 'inherit' });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
    return new Promise((r) => child.once('exit', (code) => r(code ?? 255)));
  }
  return demo();
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(`failed: ${err.message}`);
    process.exit(1);
  },
);
