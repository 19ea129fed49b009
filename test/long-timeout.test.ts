/**
 * Durations past setTimeout's 32-bit range (2^31−1 ms, 2147483 s): OpenSSH takes ConnectTimeout,
 * ServerAliveInterval and RekeyLimit's time up to INT_MAX seconds. pure-ssh armed them as they
 * were: Node fired them after 1 ms (ConnectTimeout=2147484 failed at once with "Connection timed
 * out") or re-fired every millisecond with a TimeoutOverflowWarning each time. setLongTimeout
 * (long-timeout.ts) re-arms in steps; the core's timer is clamped and re-armed.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, setLongTimeout } from '../src/long-timeout.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { CLI } from './support/cli-run.js';

describe('setLongTimeout', () => {
  afterEach(() => void vi.useRealTimers());

  it('fires once, after the whole delay, however long', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const ms = 2147484 * 1000 + 3 * MAX_TIMER_DELAY_MS;
    setLongTimeout(fn, ms);
    vi.advanceTimersByTime(ms - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * MAX_TIMER_DELAY_MS);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('clear() stops it between steps; short and negative delays behave as setTimeout', () => {
    vi.useFakeTimers();
    const long = vi.fn();
    const t = setLongTimeout(long, 2 * MAX_TIMER_DELAY_MS + 5);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS + 1);
    t.clear();
    vi.advanceTimersByTime(3 * MAX_TIMER_DELAY_MS);
    expect(long).not.toHaveBeenCalled();
    const short = vi.fn();
    setLongTimeout(short, 10);
    setLongTimeout(short, -5);
    vi.advanceTimersByTime(0);
    expect(short).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10);
    expect(short).toHaveBeenCalledTimes(2);
  });
});

describeInteropWithHome('CLI: durations above 2147483 s', () => {
  const sshd = sshdSuite();
  let silent: net.Server;
  const held: net.Socket[] = [];
  beforeAll(async () => {
    // Accepts and never sends an identification line: only ConnectTimeout would end the wait.
    silent = net.createServer((s) => void held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => silent?.close(r));
  });

  /**
   * Runs pure-ssh -v -N until its stderr matches `ready` (at most 20 s: the start of a loaded
   * machine), then `ms` more, then SIGTERM: whether it was still running, and its stderr. The
   * overflowing timers fired after 1 ms, so `ms` counts from the point the timer is armed.
   */
  const runFor = async (ms: number, port: number, extra: string[], ready: RegExp): Promise<{ alive: boolean; err: string }> => {
    const child = spawn(process.execPath, [CLI, '-v', '-N', '-F', 'none', '-p', String(port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, ...extra, `${sshd.user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    let alive = true;
    const exited = new Promise<void>((r) => child.on('exit', () => ((alive = false), r())));
    const deadline = Date.now() + 20_000;
    while (alive && !ready.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    if (alive && ready.test(err)) await new Promise((r) => setTimeout(r, ms));
    const was = alive && ready.test(err);
    child.kill('SIGTERM');
    await exited;
    return { alive: was, err };
  };

  it('ConnectTimeout=2147484 and 2147483647: still waiting for the banner 1 s after the connect, no warning', async () => {
    const port = (silent.address() as net.AddressInfo).port;
    // Both at once (each its own connection to the silent server).
    const runs = await Promise.all(['2147484', '2147483647'].map((t) => runFor(1000, port, ['-o', `ConnectTimeout=${t}`], /Connection established/)));
    for (const r of runs) {
      expect(r.alive, r.err).toBe(true);
      expect(r.err).not.toMatch(/timed out|TimeoutOverflowWarning/);
    }
  }, 30_000);

  it('ServerAliveInterval 2147483647 and RekeyLimit default 2147484: authenticated, quiet, no warning', async () => {
    const r = await runFor(1000, sshd.port, ['-o', 'ServerAliveInterval 2147483647', '-o', 'RekeyLimit default 2147484'], /Authenticated to /);
    expect(r.alive, r.err).toBe(true);
    expect(r.err).toMatch(/Authenticated to /);
    expect(r.err).not.toMatch(/TimeoutOverflowWarning|rekey done|keepalive/);
  }, 30_000);
});
