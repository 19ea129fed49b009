/**
 * examples/web/, each run where it is meant to run, against the real sshd and an HTTP service
 * reachable only through it: the browser page (headless Chromium, served by websockify, its
 * form filled in and submitted), the Deno script, the Cloudflare Worker (workerd).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { launchChromium, requireBrowserTools, WEBSOCKIFY } from './runtimes/browser.js';
import { startHelper } from './runtimes/procs.js';
import { WORKERD, workerdConfig } from './runtimes/workerd.js';

const run = promisify(execFile);
const example = (name: string) => fileURLToPath(new URL(`../examples/web/${name}`, import.meta.url));

async function bundleExample(name: string, outfile: string, extra: { external?: string[]; platform?: 'browser' | 'neutral' } = {}) {
  await build({ entryPoints: [example(name)], bundle: true, format: 'esm', target: 'es2022', outfile, logLevel: 'silent', platform: 'neutral', ...extra });
}

describeInterop('examples/web against sshd and an HTTP service behind it', () => {
  let sshd: SshdHandle;
  let service: http.Server;
  let servicePort: number;
  let dir: string;
  const BODY = `hello from behind sshd ${Math.random()}`;
  beforeAll(async () => {
    sshd = await startSshd();
    service = http.createServer((req, res) => res.end(`${BODY} ${req.url}`));
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    servicePort = (service.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'pure-ssh-examples-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    service?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('browser.html: the page GETs the service through websockify and sshd', async () => {
    requireBrowserTools();
    const web = join(dir, 'web');
    mkdirSync(web);
    await bundleExample('browser.ts', join(web, 'browser.js'), { platform: 'browser' });
    copyFileSync(example('browser.html'), join(web, 'browser.html'));
    const bridge = await startHelper(WEBSOCKIFY, (p) => ['--web', web, `127.0.0.1:${p}`, `127.0.0.1:${sshd.port}`]);
    const browser = await launchChromium(join(dir, 'profile'));
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${bridge.port}/browser.html`);
      await page.fill('#sshPort', String(sshd.port));
      await page.fill('#key', sshd.clientKey);
      await page.fill('#knownHosts', readFileSync(sshd.knownHostsPath, 'utf8'));
      await page.fill('#targetPort', String(servicePort));
      await page.fill('#path', '/from-the-page');
      await page.click('#go');
      await page.waitForFunction(() => /^HTTP|Error/.test((globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById('out')?.textContent ?? ''), undefined, { timeout: 20_000 });
      expect(await page.textContent('#out')).toBe(`HTTP 200\n\n${BODY} /from-the-page`);
    } finally {
      await browser.close();
      await bridge.stop();
    }
  }, 40_000);

  it("deno.ts: the command its header and examples/README.md give, run as written from the sources", async () => {
    // The documented command, not a bundle: the header's failed with "Module not found src/web/index.js".
    const documented = /^ \*\s+(deno run .*deno\.ts)$/m.exec(readFileSync(example('deno.ts'), 'utf8'))?.[1];
    expect(documented).toBeDefined();
    const [, ...args] = documented!.split(' ');
    expect(readFileSync(fileURLToPath(new URL('../examples/README.md', import.meta.url)), 'utf8')).toContain(`${documented!.replace(/deno\.ts$/, 'web/deno.ts')}\``);
    const { stdout } = await run(fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url)), args, {
      cwd: fileURLToPath(new URL('../examples/web/', import.meta.url)),
      env: {
        ...process.env,
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
        SSH_HOST: sshd.host,
        SSH_PORT: String(sshd.port),
        SSH_USER: sshd.user,
        SSH_KEY: sshd.clientKeyPath,
        SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        TARGET_HOST: '127.0.0.1',
        TARGET_PORT: String(servicePort),
        TARGET_PATH: '/from-deno',
      },
      timeout: 30_000,
    });
    expect(stdout).toBe(`HTTP 200\n${BODY} /from-deno\n`);
  }, 40_000);

  it('worker.ts: the Worker in workerd serves the service from behind sshd', async () => {
    const wdir = join(dir, 'worker');
    mkdirSync(wdir);
    await bundleExample('worker.ts', join(wdir, 'worker.mjs'), { external: ['cloudflare:sockets', 'node:*'] });
    writeFileSync(
      join(wdir, 'config.capnp'),
      workerdConfig({
        SSH_HOST: sshd.host,
        SSH_PORT: String(sshd.port),
        SSH_USER: sshd.user,
        SSH_KEY: sshd.clientKey,
        SSH_KNOWN_HOSTS: readFileSync(sshd.knownHostsPath, 'utf8'),
        TARGET_HOST: '127.0.0.1',
        TARGET_PORT: String(servicePort),
      }),
    );
    const workerd = await startHelper(WORKERD, (p) => ['serve', join(wdir, 'config.capnp'), `--socket-addr=http=127.0.0.1:${p}`], { cwd: wdir });
    try {
      const res = await fetch(`http://127.0.0.1:${workerd.port}/from-the-worker`);
      expect(await res.text()).toBe(`${BODY} /from-the-worker`);
      expect(res.status).toBe(200);
    } finally {
      await workerd.stop();
    }
  }, 40_000);
});
