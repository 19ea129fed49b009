/**
 * Issue 14 (start-up): what only the login needs comes after the TCP connect, so that it runs
 * while sshd forks for the connection instead of before the connect. The CLI's login tuning
 * (src/node/v8-tuning.ts `tuneV8ForLogin`: Node's readline, fs/promises, tty, perf_hooks and
 * cluster modules, then the login's V8 flags) runs from connect-host.ts `RouteContext.connecting`,
 * once the connect is issued; before, it ran just before connectHost, ahead of the connect.
 * Seen from inside the CLI's process: a preload notes Node's loaded modules at the first
 * connect(2) to sshd's port and at exit.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { freePort, startEchoServer, type TestServer } from './harness/net.js';
import { sshdSuite } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';

/** Modules tuneV8ForLogin loads (v8-tuning.ts loadLoginModules) that nothing before the connect needs. */
const LOGIN_MODULES = ['NativeModule readline', 'NativeModule cluster', 'NativeModule tty'];

describeInteropWithHome('the login\'s set-up after the TCP connect (issue 14)', () => {
  const sshd = sshdSuite({ builtCli: true });
  let echo: TestServer;
  const home = suiteHome();

  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('pure-ssh -N -L loads the login\'s Node modules only once its connect to sshd is issued, and still loads them', async () => {
    const out = join(home, 'modules.json');
    const preload = join(home, 'note-modules.cjs');
    // At the first connect to sshd's port, and at exit: which of LOGIN_MODULES are loaded.
    writeFileSync(
      preload,
      `const net = require('node:net'); const fs = require('node:fs');
const wanted = ${JSON.stringify(LOGIN_MODULES)};
const loaded = () => wanted.filter((m) => process.moduleLoadList.includes(m));
const seen = {};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (seen.atConnect === undefined && o && typeof o === 'object' && Number(o.port) === ${sshd.port}) seen.atConnect = loaded();
  return connect.apply(this, args);
};
process.on('exit', () => { seen.atExit = loaded(); fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify(seen)); });
`,
    );
    const lport = await freePort();
    // prettier-ignore
    const args = [
      '--require', preload, CLI,
      '-N', '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath,
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-L', `127.0.0.1:${lport}:127.0.0.1:${echo.port}`, 'root@127.0.0.1',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr.setEncoding('utf8');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 20 s:\n${err}`)), 20_000);
      child.stderr.on('data', (d: string) => {
        err += d;
        if (err.includes(`Local forwarding listening on 127.0.0.1 port ${lport}.`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`pure-ssh exited:\n${err}`)));
    }).finally(() => child.kill('SIGTERM'));
    await exited;
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { atConnect?: string[]; atExit: string[] };
    expect(seen.atConnect, 'no connect to sshd seen').toBeDefined();
    expect(seen.atConnect).toEqual([]);
    // The tuning itself still ran (V8 11.3, where its flags are known: Node 20), after the connect.
    if (process.versions.v8.startsWith('11.3.')) expect(seen.atExit).toEqual(LOGIN_MODULES);
  }, 40_000);
});
