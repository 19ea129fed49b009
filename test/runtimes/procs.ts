/** Helper processes of the runtime tests (websockify, workerd), owned so they die with the test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../harness/net.js';
import { exited, killTree, LogBuffer, own } from '../harness/proc.js';

export interface Helper {
  port: number;
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

/** Spawn `cmd` (which listens on the port `args(port)` names) and wait until it accepts. */
export async function startHelper(cmd: string, args: (port: number) => string[], opts: { cwd?: string } = {}): Promise<Helper> {
  // freePort() then bind is a race with the other test files' servers: a helper that lost it
  // exits (EADDRINUSE) while the port answers for someone else. Check it is ours; retry.
  for (let attempt = 1; ; attempt++) {
    const h = await startHelperOnce(cmd, args, opts);
    await new Promise((r) => setTimeout(r, 150));
    if (h.child.exitCode === null && h.child.signalCode === null) return h;
    await h.stop();
    if (attempt >= 3) throw new Error(`${cmd} exited right after starting: ${h.logs()}`);
  }
}

async function startHelperOnce(cmd: string, args: (port: number) => string[], opts: { cwd?: string }): Promise<Helper> {
  const port = await freePort();
  const child = spawn(cmd, args(port), { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
  const log = new LogBuffer();
  child.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const ownership = own(child.pid!);
  const stop = async () => {
    killTree(child.pid!);
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    await exited(child);
    ownership.release();
  };
  try {
    await waitForPort('127.0.0.1', port, 20_000);
  } catch (err) {
    await stop();
    throw new Error(`${cmd} did not listen on ${port}: ${log.text()}`, { cause: err });
  }
  return { port, child, logs: () => log.text(), stop };
}
