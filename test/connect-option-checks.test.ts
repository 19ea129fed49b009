/**
 * connect()'s numeric options (src/option-check.ts): a value outside its range is a UsageError
 * naming the option and the value, before any socket, not Node's RangeError from net.connect
 * (ERR_SOCKET_BAD_PORT) nor a value silently taken as "off" or as no limit at all
 * (the fresh tester's connect-option-checks.sh). `rekeyBytes: NaN` used to switch off the
 * cipher's own volume rekey (transport.ts: every `bytes >= NaN` false). The ranges accepted
 * (0 = off / the default) still connect to sshd.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAlgorithms } from '../src/algorithms.js';
import { rekeyLimitBytes } from '../src/cipher/cipher.js';
import { ClientCore } from '../src/client-core.js';
import { connect as webConnect } from '../src/web/client.js';
import { Transport } from '../src/transport/transport.js';
import { connect, UsageError } from '../src/index.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

const BAD: [string, Record<string, unknown>, string][] = [
  ['port', { port: 70000 }, '70000'],
  ['port', { port: -1 }, '-1'],
  ['port', { port: 0 }, '0'],
  ['port', { port: 22.5 }, '22.5'],
  ['port', { port: 'x' }, '"x"'],
  ['rekeyBytes', { rekeyBytes: NaN }, 'NaN'],
  ['rekeyBytes', { rekeyBytes: -1 }, '-1'],
  ['rekeyBytes', { rekeyBytes: 15 }, '15'],
  ['rekeyBytes', { rekeyBytes: 1e6 + 0.5 }, '1000000.5'],
  ['rekeyBytes', { rekeyBytes: Infinity }, 'Infinity'],
  ['rekeyPackets', { rekeyPackets: -5 }, '-5'],
  ['rekeyPackets', { rekeyPackets: NaN }, 'NaN'],
  ['keepaliveInterval', { keepaliveInterval: -1 }, '-1'],
  ['keepaliveInterval', { keepaliveInterval: NaN }, 'NaN'],
  ['connectTimeout', { connectTimeout: -1 }, '-1'],
  ['bannerTimeout', { bannerTimeout: -1 }, '-1'],
  ['rekeyTime', { rekeyTime: -1 }, '-1'],
  ['rekeyTime', { rekeyTime: Infinity }, 'Infinity'],
  ['keepaliveCountMax', { keepaliveCountMax: -1 }, '-1'],
  ['passwordAttempts', { passwordAttempts: 1.5 }, '1.5'],
  ['windowAutoTune.max', { windowAutoTune: { max: 2 ** 33 } }, String(2 ** 33)],
  ['windowAutoTune.max', { windowAutoTune: { max: 1.5 } }, '1.5'],
];

describe('connect() refuses numeric options out of range, naming the option and the value', () => {
  let server: net.Server;
  let port: number;
  let accepted = 0;
  beforeAll(async () => {
    server = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('the Node connect(): a UsageError before any socket', async () => {
    for (const [name, bad, shown] of BAD) {
      const err = await connect({ host: '127.0.0.1', port, username: 'x', knownHosts: '/dev/null', ...bad } as never).catch((e: unknown) => e);
      expect(err, `${name} ${shown}`).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('ERR_USAGE');
      expect((err as Error).message).toContain(name);
      expect((err as Error).message).toContain(`got ${shown}`);
    }
    // No case got as far as a TCP connection.
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
  });

  it('jump hosts given as objects: every hop is checked before any socket, the error naming the hop (index, host) and the option', async () => {
    // Without the up-front check, the first hop was connected (and, with a server, asked for a
    // channel to inner:70000) before the second hop's own connect() refused its port.
    const cases: [unknown[], string][] = [
      [[{ host: '127.0.0.1', port }, { host: 'inner', port: 70000 }], 'jump[1] (inner): port must be a whole number from 1 to 65535, got 70000'],
      [[{ host: '127.0.0.1', port }, { host: 'inner', port: 'x' }], 'jump[1] (inner): port must be a whole number from 1 to 65535, got "x"'],
      [[{ host: '127.0.0.1', port, rekeyBytes: NaN }], 'jump[0] (127.0.0.1): rekeyBytes must be'],
      [[{ host: '127.0.0.1', port }, { host: 'b', port: 22 }, { host: 'c', keepaliveCountMax: -1 }], 'jump[2] (c): keepaliveCountMax must be a whole number >= 0, got -1'],
      [[{ host: '127.0.0.1', port }, { host: 'inner', channelWindow: 0 }], 'jump[1] (inner): channelWindow must be a whole number of bytes'],
      [[{ host: '127.0.0.1', port }, { host: 'inner', windowAutoTune: { max: 1.5 } }], 'jump[1] (inner): windowAutoTune.max'],
      // A hop's own route was silently dropped (the hop reached directly): refused, naming hop and option.
      [[{ host: '127.0.0.1', port, jump: 'other' }], 'jump[0] (127.0.0.1): the jump option is not allowed on a jump host'],
      [[{ host: '127.0.0.1', port }, { host: 'inner', jump: [{ host: 'x' }] }], 'jump[1] (inner): the jump option is not allowed on a jump host'],
      [[{ host: '127.0.0.1', port, sock: new PassThrough() }], 'jump[0] (127.0.0.1): the sock option is not allowed on a jump host'],
      [[{ host: '127.0.0.1', port }, 7], 'jump[1] must be an object with a host, got 7'],
    ];
    // Neither a string nor an array: was "TypeError: hops.map is not a function".
    const others: [unknown, string][] = [[42, 'got 42'], [{ host: 'a' }, 'got an object']];
    for (const [jump, message] of [...cases, ...others]) {
      const err = await connect({ host: 'target', port: 22, username: 'x', knownHosts: '/dev/null', jump } as never).catch((e: unknown) => e);
      expect(err, message).toBeInstanceOf(UsageError);
      if (Array.isArray(jump)) expect((err as Error).message.startsWith(message), (err as Error).message).toBe(true);
      else expect((err as Error).message).toBe(`jump must be a ProxyJump string or an array of jump hosts, ${message}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
  });

  it('ClientCore and the web connect() refuse them too (every adapter)', async () => {
    for (const [name, bad, shown] of BAD) {
      if (name === 'windowAutoTune.max' || name === 'bannerTimeout') continue;
      expect(() => new ClientCore({ random: (n: number) => new Uint8Array(n), username: 'x', now: () => 0, ...bad } as never), `${name} ${shown}`).toThrow(
        new RegExp(`^${name.replace('.', '\\.')} must .*got ${shown.replace(/[.+]/g, '\\$&')}$`),
      );
      const never = { readable: new ReadableStream(), writable: new WritableStream() };
      await expect(webConnect({ transport: never, host: 'h', username: 'x', verifyHostKey: () => true, ...bad } as never)).rejects.toBeInstanceOf(UsageError);
    }
  });

  it('the transport never lets a rekeyBytes that is no positive number switch off the cipher\'s own limit', () => {
    for (const rekeyBytes of [NaN, -1, 0, undefined]) {
      const t = new Transport({ random: (n) => new Uint8Array(n), algorithms: defaultAlgorithms(), rekeyBytes, rekeyPackets: NaN }, {} as never);
      const limit = { blockSize: -1, bytes: 0 };
      const bytes = (t as unknown as { volumeLimit(l: typeof limit, b: number): number }).volumeLimit(limit, 16);
      expect(bytes, String(rekeyBytes)).toBe(rekeyLimitBytes(16));
    }
    const t = new Transport({ random: (n) => new Uint8Array(n), algorithms: defaultAlgorithms(), rekeyBytes: 1 << 20 }, {} as never);
    expect((t as unknown as { volumeLimit(l: object, b: number): number }).volumeLimit({ blockSize: -1, bytes: 0 }, 16)).toBe(1 << 20);
  });
});

describeInterop('the accepted edges of the numeric options still connect to sshd', () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('0 = off or the default (rekeyBytes, rekeyPackets, timers), the smallest and largest values', async () => {
    for (const o of [
      { rekeyBytes: 0, rekeyPackets: 0, connectTimeout: 0, bannerTimeout: 0, keepaliveInterval: 0, rekeyTime: 0, keepaliveCountMax: 0 },
      { rekeyBytes: 1 << 20, rekeyPackets: 1000, connectTimeout: 5000.5, keepaliveInterval: 60_000, rekeyTime: 3_600_000, windowAutoTune: { max: 2 ** 32 - 1 } },
    ]) {
      const ssh = await connectTo(sshd, o);
      try {
        // A channel through it to sshd's own port: its identification line comes back.
        const ch = await ssh.openDirectTcpip({ host: sshd.host, port: sshd.port });
        const line = await new Promise<string>((r) => ch.once('data', (d: Buffer) => r(d.toString())));
        expect(line).toMatch(/^SSH-2\.0-OpenSSH/);
        ch.destroy();
      } finally {
        await ssh.close();
      }
    }
  });
});
