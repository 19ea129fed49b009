/**
 * OpenSSH's `ssh` as `pure-ssh-bench`'s reference: the same login options as pure-ssh (the
 * user's -p, -l, -i, -o, -F, -J, -4, -6), BatchMode, and the algorithms pinned to the row's.
 * Handshakes are timed from ssh's own `-v` lines ("Connecting to" → "Authenticated to", both
 * written the moment they happen), so process start-up is not counted, as it is not for
 * pure-ssh. Tunnels are one ssh process (ControlMaster) holding the `-R` remote forwards and,
 * added through its control socket once their ports are known, the `-L` local forwards: one
 * connection, as pure-ssh's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** What `ssh -Q` lists per category, or undefined when ssh cannot be run. */
export function opensshSupport(ssh: string): { version: string; kex: string[]; hostKey: string[]; cipher: string[]; mac: string[] } | undefined {
  const v = spawnSync(ssh, ['-V'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return undefined;
  const q = (what: string): string[] => {
    const r = spawnSync(ssh, ['-Q', what], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  };
  let hostKey = q('HostKeyAlgorithms');
  if (hostKey.length === 0) hostKey = q('key-sig');
  return { version: (v.stderr || v.stdout).trim(), kex: q('kex'), hostKey, cipher: q('cipher'), mac: q('mac') };
}

/** The pinned algorithms of a run (undefined: ssh's own choice). */
export interface PinnedAlgorithms {
  kex?: string;
  hostKey?: string;
  cipher?: string;
  mac?: string;
}

function pinned(a: PinnedAlgorithms): string[] {
  return [
    ...(a.kex ? ['-o', `KexAlgorithms=${a.kex}`] : []),
    ...(a.hostKey ? ['-o', `HostKeyAlgorithms=${a.hostKey}`] : []),
    ...(a.cipher ? ['-c', a.cipher] : []),
    ...(a.mac ? ['-m', a.mac] : []),
  ];
}

/** The lines of ssh's stderr that explain a failure (its debug lines left out). */
function explain(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^(debug\d|OpenSSH_|Authenticated to|Transferred|Bytes per second)/.test(l));
  return lines.slice(-3).join(' / ') || 'ssh exited without a message';
}

/** A spawned ssh whose stderr is watched line by line with arrival times. */
class SshProcess {
  readonly child: ChildProcess;
  private text = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<void>;

  constructor(ssh: string, args: string[]) {
    this.child = spawn(ssh, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      if (this.text.length < 256 * 1024) this.text += d;
      for (const w of this.waiters) w();
    });
    this.exited = new Promise((res) => {
      this.child.once('exit', () => res());
      this.child.once('error', (e) => {
        this.text += `\n${e.message}`;
        res();
      });
    });
    void this.exited.then(() => {
      for (const w of this.waiters) w();
    });
  }

  get stderr(): string {
    return this.text;
  }

  private get done(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves with the time `re` first matched stderr (performance.now()); rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s: ${explain(this.text)}`)), timeoutMs);
      const check = () => {
        if (re.test(this.text)) finish(null, performance.now());
        else if (this.done) finish(new Error(explain(this.text)));
      };
      const finish = (err: Error | null, at = 0) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve(at);
      };
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (!this.done) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** How every run logs in: `ssh` (the program), the user's ssh(1) options, the destination. */
export interface OpensshLogin {
  ssh: string;
  /** The user's ssh(1) options, as given to pure-ssh-bench. */
  userArgs: string[];
  destination: string;
}

/**
 * One handshake: ms from ssh's "Connecting to" (or "Executing proxy command") line to its
 * "Authenticated to" line. ControlMaster/ControlPath are turned off so a shared connection
 * from the user's configuration is never reused.
 */
export async function opensshHandshake(login: OpensshLogin, algs: PinnedAlgorithms, timeoutMs: number): Promise<number> {
  // ssh keeps the first value of each option: ours come first, then the user's.
  const args = ['-v', '-N', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', ...pinned(algs), ...login.userArgs, '--', login.destination];
  const p = new SshProcess(login.ssh, args);
  try {
    const start = await p.waitFor(/debug1: (Connecting to |Executing proxy command)/, timeoutMs);
    const end = await p.waitFor(/Authenticated to /, timeoutMs);
    return end - start;
  } finally {
    await p.stop();
  }
}

let controlCount = 0;

/** A running ssh tunnel. */
export interface OpensshTunnel {
  /** Local forward ports, one per requested target, in order. */
  localPorts: number[];
  /** What ssh said it negotiated (from -v). */
  negotiated: { kex?: string; cipher?: string; mac?: string };
  stop(): Promise<void>;
}

/**
 * A tunnel: `ssh -N -M` with a `-R 127.0.0.1:0:127.0.0.1:PORT` per loop endpoint, then `-O
 * forward -L 127.0.0.1:LP:HOST:PORT` through its control socket for each target; for a loop
 * target (`{ loop: PORT }`) the host and port are the server-side listener of that endpoint's
 * remote forward. `freePort()` picks the local ports.
 */
export async function opensshTunnel(
  login: OpensshLogin,
  algs: PinnedAlgorithms,
  targets: ({ loop: number } | { host: string; port: number })[],
  ctlDir: string,
  freePort: () => Promise<number>,
  timeoutMs: number,
): Promise<OpensshTunnel> {
  // A fresh name each time: a master killed hard leaves its socket behind, and ssh then refuses
  // to listen on that path ("ControlSocket ... already exists").
  const ctl = join(ctlDir, `c${++controlCount}`);
  const loops = targets.flatMap((t) => ('loop' in t ? [t.loop] : []));
  const args = [
    '-v', '-N', '-M', '-S', ctl,
    '-o', 'ControlPersist=no',
    '-o', 'BatchMode=yes',
    '-o', 'ExitOnForwardFailure=yes',
    ...pinned(algs),
    ...loops.flatMap((p) => ['-R', `127.0.0.1:0:127.0.0.1:${p}`]),
    ...login.userArgs,
    '--', login.destination,
  ];
  const master = new SshProcess(login.ssh, args);
  try {
    const remote = new Map<number, number>();
    for (const p of loops) {
      // clientloop.c: logit("Allocated port %u for remote forward to %s:%d").
      const re = new RegExp(`Allocated port (\\d+) for remote forward to 127\\.0\\.0\\.1:${p}\\b`);
      await master.waitFor(re, timeoutMs);
      remote.set(p, Number(re.exec(master.stderr)![1]));
    }
    await master.waitFor(/Entering interactive session/, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(ctl)) {
      if (Date.now() > deadline) throw new Error(`ssh's control socket did not appear: ${explain(master.stderr)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const localPorts: number[] = [];
    const fwd: string[] = [];
    for (const t of targets) {
      const lp = await freePort();
      localPorts.push(lp);
      fwd.push('-L', 'loop' in t ? `127.0.0.1:${lp}:127.0.0.1:${remote.get(t.loop)}` : `127.0.0.1:${lp}:${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`);
    }
    const add = spawnSync(login.ssh, ['-S', ctl, '-O', 'forward', ...fwd, ...login.userArgs, '--', login.destination], { encoding: 'utf8', timeout: timeoutMs });
    if (add.status !== 0) throw new Error(`ssh -O forward failed: ${explain(add.stderr ?? '')}`);
    const pick = (re: RegExp) => re.exec(master.stderr)?.[1];
    return {
      localPorts,
      negotiated: {
        kex: pick(/kex: algorithm: (\S+)/),
        cipher: pick(/kex: server->client cipher: (\S+)/),
        mac: pick(/kex: server->client cipher: \S+ MAC: (\S+)/),
      },
      stop: () => master.stop(),
    };
  } catch (err) {
    await master.stop();
    throw err;
  }
}
