/**
 * A local socket's clean close never drops what was read from it (OpenSSH channels.c
 * chan_read_failed → CHAN_INPUT_WAIT_DRAIN: buffered input is still sent, then EOF). The
 * tester's shape: a client sends 1,000,000 bytes, shuts down its write side and reads the
 * reply; the target reads to EOF, answers `OK <n>\n` and closes at once. Ten at a time with a
 * key exchange every 256 KiB, so a reply often still waits in the channel's queue when the
 * target's socket closes; every reply must arrive whole, as through ssh 9.2 (-R: the library
 * and the CLI). -D's shape: the target ends first, the SOCKS client sends and closes, and every
 * byte must reach the target. (-L was not affected: its writes pause the socket until they are
 * sent, so its EOF is read only then.)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SshClient } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { cliEnv, describeInteropWithHome } from './harness/home.js';
import { freePort } from './harness/net.js';
import { describeInterop, SSH_CLIENT_PATH, sshClientAvailable, startSshd, type SshdHandle } from './harness/sshd.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';


const N = 1_000_000;
const CONCURRENT = 10;

/** The tester's target: reads to EOF, answers `OK <n>\n`, ends. */
async function startOkServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => s.end(`OK ${n}\n`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** Ends its side at once and counts what it reads: each connection's byte count. */
async function startEarlyEndSink(): Promise<{ port: number; counts: number[]; close(): Promise<void> }> {
  const counts: number[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.end();
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => counts.push(n));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, counts, close: () => new Promise((r) => server.close(() => r())) };
}

/** Sends N bytes, shuts down its write side, reads to EOF: the reply as text. */
export function uploadAndRead(connect: () => net.Socket, head?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect();
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => resolve(Buffer.concat(got).toString('latin1')));
    s.on('error', reject);
    s.on('connect', () => {
      if (head) s.write(head);
      s.end(Buffer.alloc(N, 0x61));
    });
  });
}

async function many(connect: () => net.Socket): Promise<string[]> {
  return Promise.all(Array.from({ length: CONCURRENT }, () => uploadAndRead(connect)));
}

/**
 * A key exchange every 256 KiB (the client's RekeyLimit): while one runs no channel data may be
 * sent (RFC 4253 §7.1), so a reply often waits in the channel's queue when its socket closes.
 */
const REKEY_BYTES = 256 * 1024;

const expected = Array.from({ length: CONCURRENT }, () => `OK ${N}\n`);

describeInterop('a local socket closed right after its last write: nothing it wrote is dropped', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let target: { port: number; close(): Promise<void> };
  let sink: { port: number; counts: number[]; close(): Promise<void> };
  beforeAll(async () => {
    [sshd, target, sink] = await Promise.all([startSshd(), startOkServer(), startEarlyEndSink()]);
    ssh = await connectTo(sshd, { rekeyBytes: REKEY_BYTES });
  });
  afterAll(async () => {
    await ssh?.close();
    await Promise.all([sshd?.stop(), target?.close(), sink?.close()]);
  });

  /** CONCURRENT clients through `port` (after `head`, a SOCKS request) to the sink: all bytes arrive. */
  async function sendAllThrough(port: number, head?: Buffer): Promise<void> {
    for (let round = 0; round < 3; round++) {
      sink.counts.length = 0;
      await Promise.all(Array.from({ length: CONCURRENT }, () => uploadAndRead(() => net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }), head)));
      await expect.poll(() => sink.counts.length, { timeout: 10_000 }).toBe(CONCURRENT);
      expect(sink.counts).toEqual(Array.from({ length: CONCURRENT }, () => N));
    }
  }

  it(`-D (forwardDynamic, SOCKS4): ${CONCURRENT} clients send and close, the target ended first: every byte arrives`, async () => {
    const fwd = await ssh.forwardDynamic({ listen: { host: '127.0.0.1', port: 0 } });
    // SOCKS4 CONNECT 127.0.0.1:sink, user "": the 8-byte reply is all the client reads.
    const req = Buffer.from([4, 1, sink.port >> 8, sink.port & 0xff, 127, 0, 0, 1, 0]);
    try {
      await sendAllThrough((fwd.address as { port: number }).port, req);
    } finally {
      await fwd.close();
    }
  });

  it(`-R (forwardRemote): ${CONCURRENT} at once, each reply whole`, async () => {
    const port = await freePort();
    const fwd = await ssh.forwardRemote({ listen: { host: '127.0.0.1', port }, to: { host: '127.0.0.1', port: target.port } });
    try {
      for (let round = 0; round < 3; round++) {
        expect(await many(() => net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }))).toEqual(expected);
      }
    } finally {
      await fwd.close();
    }
  });
});

describeInteropWithHome('the CLI\'s -R: a target closed right after its reply', () => {
  let sshd: SshdHandle;
  let target: { port: number; close(): Promise<void> };
  let home: string;
  beforeAll(async () => {
    [sshd, target, home] = await Promise.all([startSshd(), startOkServer(), mkdtemp(join(tmpdir(), 'pure-ssh-rhalf-'))]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), target?.close(), home && rm(home, { recursive: true, force: true })]);
  });

  /** `cmd` (the built CLI, or ssh 9.2) with -R to the target: the replies of 3 rounds. */
  async function repliesThrough(cmd: string[]): Promise<string[][]> {
    const port = await freePort();
    const args = [
      '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-l', 'root',
      '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'RekeyLimit=256K', '-v', '-N', '-R', `127.0.0.1:${port}:127.0.0.1:${target.port}`, '127.0.0.1',
    ];
    const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(home) });
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (err += d));
    try {
      // The listener exists once sshd answered the tcpip-forward request ('Entering interactive
      // session' can come first: connecting then is refused).
      for (const deadline = Date.now() + 15_000; !err.includes('remote forward success for: listen'); ) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no session:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const rounds: string[][] = [];
      for (let round = 0; round < 3; round++) rounds.push(await many(() => net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })));
      return rounds;
    } finally {
      child.kill('SIGKILL');
    }
  }

  it(`-R: ${CONCURRENT} at once, each reply whole, as through ssh 9.2`, async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const all = [expected, expected, expected];
    if (sshClientAvailable()) expect(await repliesThrough([SSH_CLIENT_PATH])).toEqual(all);
    expect(await repliesThrough([process.execPath, CLI])).toEqual(all);
  });
});
