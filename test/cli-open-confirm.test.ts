/**
 * `channel N: open confirm rwindow W rmax M` (channels.c channel_input_open_confirmation, debug2)
 * for the channels the client opens: -L, -D and -W, beside ssh 9.2 at -vv against sshd 9.2,
 * with ssh's channel numbers (the listeners first), and the `rcvd eof` that follows numbered alike.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { CLI_BIN_PATH as CLI, deliverSignal } from './harness/proc.js';
import { startSshd, type SshdHandle } from './harness/sshd.js';

/** Runs a client until `drive` is done (then SIGTERM), or until it exits; its stderr. */
async function run(cmd: string[], args: string[], home: string, drive?: () => Promise<void>, input?: string): Promise<string> {
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv(home) });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.resume();
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    if (input !== undefined) child.stdin.end(input);
    if (drive) {
      for (let i = 0; i < 200 && !/Local forwarding listening on 127\.0\.0\.1 port/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
      await drive();
      await new Promise((r) => setTimeout(r, 500));
      deliverSignal(child, 'SIGTERM');
    }
    await exited;
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
  return err;
}

/** One connection to 127.0.0.1:`port` (after a SOCKS5 CONNECT to `socksTo`, if given) read until the far end closes. */
function fetchVia(port: number, socksTo?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let stage = socksTo === undefined ? 2 : 0;
    s.on('connect', () => {
      if (socksTo !== undefined) s.write(Buffer.from([5, 1, 0]));
    });
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (stage === 0 && got.length >= 2) {
        stage = 1;
        got = got.subarray(2);
        s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, socksTo! >> 8, socksTo! & 255]));
      }
      if (stage === 1 && got.length >= 10) {
        stage = 2;
        got = got.subarray(10);
      }
    });
    s.on('close', () => resolve(got.toString()));
    s.on('error', reject);
  });
}

describeInteropWithHome('channel open confirmation lines at -vv, beside ssh 9.2', () => {
  let sshd: SshdHandle;
  let home: string;
  let hello: net.Server;
  let target: number;
  beforeAll(async () => {
    [sshd, home] = await Promise.all([startSshd(), mkdtemp(join(tmpdir(), 'pure-ssh-openconfirm-'))]);
    // Says hello and closes: the channel's EOF comes from sshd's side.
    hello = net.createServer((s) => s.end('hello\n'));
    await new Promise<void>((r) => hello.listen(0, '127.0.0.1', r));
    target = (hello.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    hello?.close();
    await Promise.all([sshd?.stop(), home && rm(home, { recursive: true, force: true })]);
  });

  const base = () => [
    '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root', '-vv',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
  ];
  const lines = (stderr: string) => stderr.replace(/\r/g, '').split('\n').filter((l) => /^debug2: channel \d+: (open confirm|rcvd eof)/.test(l));

  it('-L, -D and -W: ssh\'s debug2 line with the server\'s window and packet size, ssh\'s channel numbers', async () => {
    const seen: Record<string, string[]> = {};
    for (const [name, cmd] of [['ssh', [sshd.openssh.ssh]], ['pure-ssh', [process.execPath, CLI]]] as const) {
      const [lp, dp] = [await freePort(), await freePort()];
      const fwd = await run([...cmd], [...base(), '-N', '-L', `${lp}:127.0.0.1:${target}`, '-D', String(dp), '127.0.0.1'], home, async () => {
        expect(await fetchVia(lp)).toBe('hello\n');
        // The first channel freed before the second opens: both clients take its number again.
        await new Promise((r) => setTimeout(r, 500));
        expect(await fetchVia(dp, target)).toBe('hello\n');
      });
      const stdio = await run([...cmd], [...base(), '-W', `127.0.0.1:${target}`, '127.0.0.1'], home, undefined, '');
      seen[name] = [...lines(fwd), ...lines(stdio)];
    }
    // sshd's direct-tcpip window and packet (channels.c CHAN_TCP_WINDOW_DEFAULT, CHAN_TCP_PACKET_DEFAULT).
    // -L and -D listen on 127.0.0.1 and ::1: channels 0-3, each connection 4; -W's is 0.
    expect(seen['ssh']).toEqual([
      'debug2: channel 4: open confirm rwindow 2097152 rmax 32768',
      'debug2: channel 4: rcvd eof',
      'debug2: channel 4: open confirm rwindow 2097152 rmax 32768',
      'debug2: channel 4: rcvd eof',
      'debug2: channel 0: open confirm rwindow 2097152 rmax 32768',
      'debug2: channel 0: rcvd eof',
    ]);
    expect(seen['pure-ssh']).toEqual(seen['ssh']);
  });
});
