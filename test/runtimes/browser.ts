/** Headless Chromium and websockify for the browser tests (flags from TESTING.md). */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { descendants, exited, killTree, LogBuffer, own } from '../harness/proc.js';
import { inCI } from '../harness/sshd.js';

export const CHROMIUM = '/usr/bin/chromium';
export const WEBSOCKIFY = '/usr/bin/websockify';

/** Headless, no background traffic on the closed network (for playwright and for {@link runInPage}). */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Headless, and no background traffic on the closed network. `profile` is a fresh directory
 * (playwright passes it as --user-data-dir).
 */
export function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
}

/** With CI=true a missing browser or bridge fails the run (Debian packages chromium, websockify). */
export function requireBrowserTools(): void {
  for (const p of [CHROMIUM, WEBSOCKIFY]) {
    if (!existsSync(p) && inCI()) throw new Error(`${p} is missing: apt-get install -y chromium websockify (.ci/run does)`);
  }
}

/**
 * Run `script` (an IIFE bundle defining `globalThis[entry]`) in a headless Chromium page with no
 * DevTools client attached, and return what `entry(...args)` resolved to, with the CPU seconds
 * (user + system) of the whole browser (every Chromium process) from the page's start (its
 * request for the arguments) until then: starting the browser is not counted.
 *
 * Why not playwright here: playwright enables the DevTools Network domain on every page, and
 * then Chromium copies each WebSocket frame, base64-encoded, into a `Network.webSocketFrame*`
 * event for the driver: about 1.6 s of browser-process CPU per 150 MB, and the page ran at
 * 0.4x the speed of a page without DevTools. A real page has no DevTools attached; this is that.
 *
 * The page comes from a small HTTP server on 127.0.0.1 (a loopback origin may open WebSockets to
 * 127.0.0.1 under Chromium's Local Network Access rules; about:blank may not), fetches its
 * arguments, runs, and POSTs the outcome back.
 */
export async function runInPage<T>(script: string, entry: string, args: unknown[], profile: string, timeoutMs = 120_000): Promise<{ result: T; cpuSeconds: number }> {
  let settle!: (v: { result?: T; error?: string }) => void;
  let cpuAtStart = 0;
  const treeCpu = () => [child.pid!, ...descendants(child.pid!)].reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const outcome = new Promise<{ result?: T; error?: string }>((r) => (settle = r));
  const page = `<!doctype html><meta charset="utf-8"><script src="scenario.js"></script><script>
fetch('args.json').then((r) => r.json()).then((a) => globalThis[${JSON.stringify(entry)}](...a))
  .then((result) => ({ result }), (e) => ({ error: String((e && e.stack) || e) }))
  .then((o) => fetch('result', { method: 'POST', body: JSON.stringify(o) }));
</script>`;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/result') {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        res.end();
        settle(JSON.parse(Buffer.concat(parts).toString('utf8')) as { result?: T; error?: string });
      });
      return;
    }
    // The scenario starts now: the browser's CPU so far (starting up, loading the page) is not its work.
    if (req.url === '/args.json') cpuAtStart = treeCpu();
    const body = req.url === '/' ? page : req.url === '/scenario.js' ? script : req.url === '/args.json' ? JSON.stringify(args) : undefined;
    if (body === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', req.url === '/' ? 'text/html' : req.url === '/scenario.js' ? 'text/javascript' : 'application/json');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ownership = own(child.pid!);
  const log = new LogBuffer(64 * 1024);
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  let timer: NodeJS.Timeout | undefined;
  try {
    const o = await Promise.race([
      outcome,
      new Promise<never>((_, reject) => child.once('exit', (code, sig) => reject(new Error(`chromium exited (${code ?? sig}) before the page reported:\n${log.text()}`)))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the page did not report within ${timeoutMs} ms:\n${log.text()}`)), timeoutMs))),
    ]);
    const cpuSeconds = treeCpu() - cpuAtStart;
    if (o.error !== undefined) throw new Error(`in the page: ${o.error}`);
    return { result: o.result as T, cpuSeconds };
  } finally {
    clearTimeout(timer);
    killTree(child.pid!);
    await exited(child);
    ownership.release();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/**
 * CPU seconds (user + system) a process has used, with its children that have ended and been
 * reaped: Linux /proc/PID/stat, clock ticks of 1/100 s; 0 if it is gone.
 */
export function cpuSecondsOf(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // proc(5): after "pid (comm) ", utime, stime, cutime, cstime are fields 14 to 17 (indices 11 to 14 here).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
  return f.reduce((a, b) => a + b, 0) / 100;
}
