/**
 * The cipher and MAC matrix against the real OpenSSH sshd (OpenSSH's regress/try-ciphers.sh,
 * Go's TestCiphers over ssh/test): sshd pinned to ONE cipher (or, for MACs, one MAC with a
 * cipher that uses it), `RekeyLimit 1M` so it rekeys mid-transfer, a channel carrying
 * hash-verified data both ways, on the runtime (node:crypto) and the pure provider. Every row
 * comes from the registries: a new cipher or MAC is tested here without touching this file.
 * Legacy algorithms (CBC) are enabled on our side with `+`, as a user would.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cipherAlgorithms } from '../src/cipher/registry.js';
import { macAlgorithms } from '../src/mac/registry.js';
import { connectTo } from './harness/client.js';
import { deterministicChunks, deterministicSha256, freePort, startEchoServer, waitForPort, type TestServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome, processHome } from './harness/home.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';
import { CLI_BIN_PATH } from './harness/proc.js';

const SIZE = 2 * 1024 * 1024;

/** SIZE bytes (deterministicChunks of `seed`) echoed through one direct-tcpip channel, hash-checked. */
async function echoHashed(ssh: Awaited<ReturnType<typeof connectTo>>, port: number, seed: number): Promise<void> {
  const stream = await ssh.openDirectTcpip({ host: '127.0.0.1', port });
  const h = createHash('sha256');
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => {
      h.update(d);
      got += d.length;
      if (got === SIZE) resolve();
    });
    stream.on('error', reject);
  });
  for (const chunk of deterministicChunks(SIZE, seed)) {
    if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
  }
  await done;
  expect(h.digest('hex')).toBe(deterministicSha256(SIZE, seed));
  stream.end();
}
const ALL_MACS = [...macAlgorithms.keys()].join(',');

interface Row {
  label: string;
  cipher: string;
  mac?: string;
  sshd?: SshdHandle;
}

const rows: Row[] = [
  ...[...cipherAlgorithms.values()].map((c) => ({ label: `cipher ${c.name}`, cipher: c.name })),
  ...[...macAlgorithms.keys()].map((m) => ({ label: `MAC ${m} (aes128-ctr)`, cipher: 'aes128-ctr', mac: m })),
];

/** Our side's list: the one algorithm, with `+` for legacy ones (as OpenSSH users enable CBC). */
function spec(name: string, legacy: boolean): string {
  return legacy ? `+${name}` : name;
}

describeInterop('every cipher and MAC against sshd, rekeying every 1M', () => {
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
    // One sshd per row, pinned server-side; started in small parallel batches.
    for (let i = 0; i < rows.length; i += 4) {
      await Promise.all(
        rows.slice(i, i + 4).map(async (r) => {
          r.sshd = await startSshd({
            config: { Ciphers: r.cipher, MACs: r.mac ?? ALL_MACS, RekeyLimit: '1M', LogLevel: 'VERBOSE' },
          });
        }),
      );
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(rows.map((r) => r.sshd?.stop()));
    await echo?.close();
  });

  for (const row of rows) {
    for (const crypto of ['runtime', 'pure'] as const) {
      it(`${row.label} [${crypto}]: ${SIZE / 1048576} MiB each way, hash-verified, across server rekeys`, async () => {
        const sshd = row.sshd!;
        const log: string[] = [];
        const cipherRow = cipherAlgorithms.get(row.cipher)!;
        const ssh = await connectTo(sshd, {
          crypto,
          algorithms: {
            cipher: spec(row.cipher, cipherRow.legacy),
            ...(row.mac ? { mac: row.mac } : {}),
          },
          debug: (m) => log.push(m),
        });
        try {
          const n = ssh.info.negotiated!;
          expect(n.cipherClientToServer).toBe(row.cipher);
          expect(n.cipherServerToClient).toBe(row.cipher);
          if (row.mac) expect(n.macClientToServer).toBe(row.mac);
          expect(ssh.info.cryptoProvider).toBe(crypto === 'pure' ? 'pure' : 'node');
          // -v names what computes chacha20-poly1305 (WebAssembly here, where it compiles), and only when negotiated.
          if (row.cipher === 'chacha20-poly1305@openssh.com') expect(log).toContain('chacha20-poly1305@openssh.com: WebAssembly SIMD');
          else expect(log.join('\n')).not.toContain('chacha20-poly1305@openssh.com: ');
          // -v names the negotiated algorithms.
          expect(log.join('\n')).toContain(`cipher: ${row.cipher} MAC: ${row.mac ?? (cipherRow.aead ? '<implicit>' : '')}`);
          await echoHashed(ssh, echo.port, 7);
          // The server rekeyed under traffic (RekeyLimit 1M): 2 MiB each way is several exchanges.
          expect(ssh.info.kexCount).toBeGreaterThanOrEqual(3);
        } finally {
          await ssh.close();
        }
      }, 60_000);
    }
  }
});

describeInterop('chacha20-poly1305@openssh.com in TypeScript (PURE_SSH_WASM=off) against sshd', () => {
  let sshd: SshdHandle;
  let echo: TestServer;
  const saved = process.env.PURE_SSH_WASM;
  beforeAll(async () => {
    echo = await startEchoServer();
    sshd = await startSshd({ config: { Ciphers: 'chacha20-poly1305@openssh.com', RekeyLimit: '1M' } });
    process.env.PURE_SSH_WASM = 'off';
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.PURE_SSH_WASM;
    else process.env.PURE_SSH_WASM = saved;
    await sshd?.stop();
    await echo?.close();
  });

  for (const crypto of ['runtime', 'pure'] as const) {
    it(`[${crypto}]: ${SIZE / 1048576} MiB each way, hash-verified, across server rekeys; -v says TypeScript`, async () => {
      const log: string[] = [];
      const ssh = await connectTo(sshd, { crypto, debug: (m) => log.push(m) });
      try {
        expect(ssh.info.negotiated!.cipherServerToClient).toBe('chacha20-poly1305@openssh.com');
        expect(log).toContain('chacha20-poly1305@openssh.com: TypeScript (WebAssembly off)');
        await echoHashed(ssh, echo.port, 3);
        expect(ssh.info.kexCount).toBeGreaterThanOrEqual(3);
      } finally {
        await ssh.close();
      }
    }, 60_000);
  }
});

// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what a CLI run here costs.
const CLI = CLI_BIN_PATH;

describeInteropWithHome('the CLI: -c and -m as ssh(1) takes them', () => {
  let sshd: SshdHandle;
  let echo: TestServer;
  beforeAll(async () => {
    echo = await startEchoServer();
    sshd = await startSshd({ config: { Ciphers: 'aes128-cbc,aes256-ctr,chacha20-poly1305@openssh.com', MACs: 'hmac-sha2-512,hmac-sha1' } });
  });
  afterAll(async () => {
    await sshd?.stop();
    await echo?.close();
  });

  for (const [flags, cipher, mac] of [
    [['-c', 'aes256-ctr', '-m', 'hmac-sha2-512'], 'aes256-ctr', 'hmac-sha2-512'],
    [['-c', '+aes128-cbc', '-c', '^aes128-cbc', '-o', 'MACs=^hmac-sha1'], 'aes128-cbc', 'hmac-sha1'],
  ] as const) {
    it(`pure-ssh ${flags.join(' ')}: -v names ${cipher} and ${mac}, data goes through`, async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [CLI, '-v', '-N', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
          '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, ...flags, '-L', `127.0.0.1:${port}:127.0.0.1:${echo.port}`, `${sshd.user}@127.0.0.1`],
        { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv(processHome()) },
      );
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      try {
        await waitForPort('127.0.0.1', port);
        const s = net.connect({ host: '127.0.0.1', port });
        const reply = new Promise<string>((resolve) => {
          let got = '';
          s.setEncoding('utf8').on('data', (d: string) => {
            got += d;
            if (got.length >= 11) resolve(got);
          });
        });
        s.write('hello tunnel');
        expect(await reply).toBe('hello tunnel');
        s.destroy();
        expect(err).toContain(`kex: client->server cipher: ${cipher} MAC: ${mac} compression: none`);
      } finally {
        child.kill('SIGTERM');
      }
    }, 30_000);
  }

  for (const [wasm, expected] of [
    ['on', 'chacha20-poly1305@openssh.com: WebAssembly SIMD'],
    ['off', 'chacha20-poly1305@openssh.com: TypeScript (WebAssembly off)'],
    ['bogus', `PURE_SSH_WASM must be 'auto', 'on' or 'off', got "bogus"`],
  ] as const) {
    it(`PURE_SSH_WASM=${wasm}: ${wasm === 'bogus' ? 'refused with a message, exit 255' : '-v names the chacha20-poly1305 implementation'}`, async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
      const child = spawn(
        process.execPath,
        [CLI, '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath, '-o', 'BatchMode=yes',
          '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-c', 'chacha20-poly1305@openssh.com', '-N', `${sshd.user}@127.0.0.1`],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...cliEnv(processHome()), PURE_SSH_WASM: wasm } },
      );
      let err = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // -N runs until killed: wait for authentication (or the exit of a refused start).
      const seen = new Promise<void>((resolve) =>
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          err += d;
          if (err.includes('Authenticated to')) resolve();
        }),
      );
      const code = await Promise.race([exited, seen.then(() => 'running' as const)]);
      child.kill('SIGTERM');
      expect(err).toContain(expected);
      expect(code).toBe(wasm === 'bogus' ? 255 : 'running');
    }, 30_000);
  }
});
