/**
 * connect()'s numeric options (src/option-check.ts): a value outside its range is a UsageError
 * naming the option and the value, before any socket, not Node's RangeError from net.connect
 * (ERR_SOCKET_BAD_PORT) nor a value silently taken as "off" or as no limit at all
 * (the fresh tester's connect-option-checks.sh). `rekeyBytes: NaN` used to switch off the
 * cipher's own volume rekey (transport.ts: every `bytes >= NaN` false). The ranges accepted
 * (0 = off / the default) still connect to sshd.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAlgorithms } from '../src/algorithms.js';
import { rekeyLimitBytes } from '../src/cipher/cipher.js';
import { ClientCore } from '../src/client-core.js';
import { connect as webConnect } from '../src/web/client.js';
import { Transport } from '../src/transport/transport.js';
import { connect, proxyCommandStream, tunnel, UsageError } from '../src/index.js';
import { checkOptionKeys, show } from '../src/option-check.js';
import { CONNECT_OPTIONS } from '../src/node/connect-option-table.js';
import { NODE_ONLY_OPTIONS, WEB_CONNECT_OPTIONS } from '../src/web/option-table.js';
import { connectTo } from './harness/client.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

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

/** The property names of `interface NAME` in a source file, read with the TypeScript parser. */
function interfaceKeys(file: string, name: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(new URL(file, import.meta.url), 'utf8'), ts.ScriptTarget.ES2022);
  const keys: string[] = [];
  src.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n) && n.name.text === name) for (const m of n.members) keys.push((m.name as ts.Identifier).text);
  });
  return keys.sort();
}

/** Options that pass every check (the fake server below refuses the connection once it is made). */
const ok = (port: number) => ({ host: '127.0.0.1', port, username: 'x', knownHosts: '/dev/null' });

/** [options on top of ok(), the UsageError's message (exact, or a pattern)] */
const NODE_MISTAKES: [Record<string, unknown>, string | RegExp][] = [
  // Finding 5: misspelt options were silently ignored.
  [{ keepAliveInterval: 1000 }, 'unknown option keepAliveInterval (did you mean keepaliveInterval?)'],
  [{ identityFile: ['/tmp/x'] }, 'unknown option identityFile (did you mean identityFiles?)'],
  [{ knownhosts: '/dev/null' }, 'unknown option knownhosts (did you mean knownHosts?)'],
  [{ bogusOption: 1 }, 'unknown option bogusOption'],
  // break36: the ssh2 package's names, as a caller moving from it passes them, say what to use.
  [{ readyTimeout: 20_000 }, "readyTimeout is ssh2's name: pure-ssh's is connectTimeout (ms, up to the host key)"],
  [{ hostVerifier: () => true }, "hostVerifier is ssh2's name: pure-ssh's is verifyHostKey (or knownHosts)"],
  [{ tryKeyboard: true }, "tryKeyboard is ssh2's name: keyboard-interactive is on by default (kbdInteractiveAuthentication), its prompts answered by askPassword"],
  [{ algorithms: { serverHostKey: ['ssh-ed25519'] } }, "algorithms.serverHostKey is ssh2's name: pure-ssh's is algorithms.hostKey"],
  [{ algorithms: { hmac: ['hmac-sha2-256'] } }, "algorithms.hmac is ssh2's name: pure-ssh's is algorithms.mac"],
  [{ windowAutoTune: { maxx: 5 } }, 'unknown option windowAutoTune.maxx (did you mean windowAutoTune.max?)'],
  [{ algorithms: { ciphers: 'aes128-ctr' } }, 'unknown option algorithms.ciphers (did you mean algorithms.cipher?)'],
  // Finding 6: wrong types were coerced or crashed.
  [{ compression: 'no' }, 'compression must be true or false, got "no"'],
  [{ fingerprintHash: 'sha3' }, `fingerprintHash must be 'sha256', 'md5', 'sha1', 'sha384' or 'sha512', got "sha3"`],
  [{ identityFiles: 'key' }, 'identityFiles must be an array, got "key"'],
  [{ identityFiles: [5] }, 'identityFiles[0] must be a key file path (or a prepareIdentityFile entry), got 5'],
  [{ certificateFiles: '/tmp/x-cert.pub' }, 'certificateFiles must be an array, got "/tmp/x-cert.pub"'],
  [{ host: undefined }, 'host must be a non-empty string, got undefined'],
  [{ host: '' }, 'host must be a non-empty string, got ""'],
  [{ host: 127 }, 'host must be a non-empty string, got 127'],
  [{ username: 5 }, 'username must be a non-empty string, got 5'],
  [{ signal: {} }, 'signal must be an AbortSignal, got an object'],
  [{ agent: true }, 'agent must be an ssh-agent socket path (e.g. process.env.SSH_AUTH_SOCK) or false, got true'],
  [{ password: 5 }, 'password must be a string, got 5'],
  [{ privateKey: 5 }, /^privateKey must be key text, bytes or a PrivateKey \(or a list\), got 5$/],
  [{ crypto: 'fast' }, 'crypto must be \'runtime\' or \'pure\', got "fast"'],
  [{ strictHostKeyChecking: 'bogus', knownHosts: undefined, verifyHostKey: () => true }, /^strictHostKeyChecking must be .*got "bogus"$/],
  [{ sock: {} }, 'sock must be a Duplex stream, got an object'],
  // Finding 4: a debug that is no function crashed the process from the socket's connect handler.
  [{ debug: true }, 'debug must be a function, got true'],
  [{ onWarning: 'x' }, 'onWarning must be a function, got "x"'],
  [{ verifyHostKey: 'yes' }, 'verifyHostKey must be a function, got "yes"'],
  // Finding 10b: a bad signer blob was a ProtocolError blaming the server, a missing one a TypeError.
  [{ signers: [{ publicKeyBlob: new Uint8Array([1, 2, 3]), comment: 'kms', sign: async () => new Uint8Array(0) }] }, 'signers[0] ("kms"): publicKeyBlob must be an SSH public key blob (RFC 4253 §6.6), got a Uint8Array'],
  [{ signers: [{ comment: 'kms', sign: async () => new Uint8Array(0) }] }, 'signers[0] ("kms"): publicKeyBlob must be an SSH public key blob (RFC 4253 §6.6), got undefined'],
  // Finding 10d: values given as strings are shown quoted.
  [{ channelWindow: '10' }, /^channelWindow must be .*got "10"$/],
  // A hop's own debug or signal would be dropped for the final connection's.
  [{ jump: [{ host: '127.0.0.1', debug: () => {} }] }, /^jump\[0\] \(127\.0\.0\.1\): the debug option is not allowed on a jump host/],
  [{ jump: [{ host: '127.0.0.1', keepAliveInterval: 5 }] }, 'jump[0] (127.0.0.1): unknown option keepAliveInterval (did you mean keepaliveInterval?)'],
  // break25 F3: known_hosts text (pure-ssh/web's knownHosts) taken as a file name, the host then refused as unknown.
  [{ knownHosts: '[127.0.0.1]:22502 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAI\n' }, /^knownHosts takes known_hosts file paths, got known_hosts text: write it to a file and pass its path, or decide with verifyHostKey/],
  [{ knownHosts: ['/etc/ssh/ssh_known_hosts', '|1|c2FsdA==|aGFzaA== ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA'] }, /^knownHosts takes known_hosts file paths, got known_hosts text/],
  [{ knownHosts: '@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA' }, /^knownHosts takes known_hosts file paths, got known_hosts text/],
  [{ knownHosts: 'a\nb' }, /^knownHosts takes known_hosts file paths, got known_hosts text/],
];

describe('connect() checks every option before any socket (tester findings 3-7, 10b, 10d)', () => {
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

  it('the option tables list exactly the interfaces\' keys (and the web one the Node-only rest)', () => {
    const node = interfaceKeys('../src/node/client.ts', 'ConnectOptions');
    const web = interfaceKeys('../src/web/client.ts', 'WebConnectOptions');
    expect(node.length).toBeGreaterThan(30);
    expect(Object.keys(CONNECT_OPTIONS).sort()).toEqual(node);
    expect(Object.keys(WEB_CONNECT_OPTIONS).sort()).toEqual(web);
    expect(Object.keys(NODE_ONLY_OPTIONS).sort()).toEqual(node.filter((k) => !web.includes(k)));
  });

  it('every documented key is accepted; the same key misspelt is refused, naming the right one', () => {
    for (const table of [CONNECT_OPTIONS, WEB_CONNECT_OPTIONS]) {
      for (const k of Object.keys(table)) {
        expect(() => checkOptionKeys({ [k]: 1 }, table), k).not.toThrow();
        const typo = k.length > 4 ? k.slice(0, -2) + k.at(-1)! + k.at(-2)! : k.toUpperCase();
        expect(() => checkOptionKeys({ [typo]: 1 }, table), typo).toThrow(new UsageError(`unknown option ${typo} (did you mean ${k}?)`));
      }
    }
  });

  it('the Node connect(): a mistake is a UsageError naming the option and the value, and no TCP connection is made', async () => {
    for (const [bad, message] of NODE_MISTAKES) {
      const options: Record<string, unknown> = { ...ok(port), ...bad };
      for (const k of Object.keys(bad)) if (bad[k] === undefined) delete options[k];
      const err = await connect(options as never).catch((e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(UsageError);
      if (typeof message === 'string') expect((err as Error).message).toBe(message);
      else expect((err as Error).message).toMatch(message);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
  });

  it('a sock given to connect() is closed when its options are refused (finding 3: the socket, the ProxyCommand child stayed)', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const err = await connect({ sock, host: '127.0.0.1', username: 'x' } as never).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/needs a host key decision/);
    expect(sock.destroyed).toBe(true);
    const proxy = proxyCommandStream('sleep 30', { stderr: 'ignore' });
    const exit = new Promise((r) => proxy.child.once('exit', (code, signal) => r(signal ?? code)));
    await expect(connect({ sock: proxy, host: 'h', username: 'x', debug: 1 } as never)).rejects.toThrow('debug must be a function, got 1');
    expect(proxy.destroyed).toBe(true);
    expect(await exit).not.toBeNull();
  });

  it('tunnel(): a jitter outside 0..1 (finding 10f) or a misspelt reconnect option is refused before connecting', async () => {
    const fwd = { listen: { port: 0 }, to: { host: 'localhost', port: 5432 } };
    accepted = 0;
    await expect(tunnel(ok(port), fwd, { jitter: 2 })).rejects.toThrow(new UsageError('reconnect: jitter must be a number from 0 to 1, got 2'));
    await expect(tunnel(ok(port), fwd, { maxDelai: 5 } as never)).rejects.toThrow('unknown option reconnect.maxDelai (did you mean reconnect.maxDelay?)');
    await expect(tunnel(ok(port), { listen: { port: 0 }, to: { host: 'x', port: '5432' } } as never)).rejects.toThrow('forwardLocal: to.port must be an integer 1..65535, got "5432"');
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
  });

  it('tunnel(): the reconnect options\' values (break36): never coerced, a negative wait or attempt count refused, a signal that is no AbortSignal a UsageError (was a TypeError), all before connecting', async () => {
    const fwd = { listen: { port: 0 }, to: { host: 'localhost', port: 5432 } };
    accepted = 0;
    const cases: [Record<string, unknown>, string][] = [
      // '500' passed (as '500' >= 0), and was then doubled as a number by chance.
      [{ initialDelay: '500' }, 'reconnect: initialDelay must be a number of milliseconds >= 0, got "500"'],
      // Both strings: compared as strings ('10000' < '500'), the old message blamed the order.
      [{ initialDelay: '500', maxDelay: '10000' }, 'reconnect: initialDelay must be a number of milliseconds >= 0, got "500"'],
      [{ maxDelay: -1 }, 'reconnect: maxDelay must be a number of milliseconds >= 0 (or Infinity), got -1'],
      [{ initialDelay: 60_000 }, 'reconnect: initialDelay (60000) must not exceed maxDelay (30000, the default)'],
      // A negative wait failed every local connection at once during an outage.
      [{ waitForConnection: -5 }, 'reconnect: waitForConnection must be a number of milliseconds >= 0, got -5'],
      [{ waitForConnection: '100' }, 'reconnect: waitForConnection must be a number of milliseconds >= 0, got "100"'],
      // -1 and 0 gave up at the first failed attempt; '3' worked by coercion.
      [{ maxAttempts: -1 }, 'reconnect: maxAttempts must be a whole number >= 1 (or Infinity), got -1'],
      [{ maxAttempts: 0 }, 'reconnect: maxAttempts must be a whole number >= 1 (or Infinity), got 0'],
      [{ maxAttempts: '3' }, 'reconnect: maxAttempts must be a whole number >= 1 (or Infinity), got "3"'],
      [{ random: 0.5 }, 'reconnect: random must be a function, got 0.5'],
      [{ signal: 'abort' }, 'reconnect: signal must be an AbortSignal, got "abort"'],
    ];
    for (const [reconnect, message] of cases) {
      const err = await tunnel(ok(port), fwd, reconnect as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(reconnect)).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(message);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
  });

  it('the web connect(): Node-only options, the Node kinds of crypto and compression, wrong types; the transport is closed (findings 3, 5, 7)', async () => {
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{ identityFiles: ['/x'] }, /^identityFiles is a Node connect\(\) option, not pure-ssh\/web's: pure-ssh\/web reads no files/],
      [{ agent: '/tmp/agent.sock' }, /^agent is a Node connect\(\) option, not pure-ssh\/web's: pure-ssh\/web has no ssh-agent/],
      [{ strictHostKeyChecking: 'no' }, /^strictHostKeyChecking is a Node connect\(\) option/],
      [{ keepAliveInterval: 5 }, 'unknown option keepAliveInterval (did you mean keepaliveInterval?)'],
      [{ crypto: 'runtime' }, /^crypto must be a CryptoProvider: .*got "runtime" \('runtime' and 'pure' are the Node connect\(\)'s\)$/],
      [{ crypto: 'pure' }, /^crypto must be a CryptoProvider/],
      [{ compression: true }, "compression must be zlib streams, zlibCompression from 'pure-ssh/compress-zlib' (or false), got true"],
      [{ debug: true }, 'debug must be a function, got true'],
      [{ host: '' }, 'host must be a non-empty string, got ""'],
      [{ username: 5 }, 'username must be a non-empty string, got 5'],
      [{ signal: {} }, 'signal must be an AbortSignal, got an object'],
      [{ algorithms: { cipher: '' } }, 'algorithms.cipher must be a non-empty list of names (string or string[]), got ""'],
      [{ knownHosts: undefined, verifyHostKey: undefined }, /needs a host key decision/],
      [{ transport: 5 }, /^transport must be a \{ readable, writable \} byte stream pair/],
      // break25 F5: taken as anything, then a misleading key error ("corrupted PuTTY key file").
      [{ extraKeyDecryption: true }, 'extraKeyDecryption must be the object exported by pure-ssh/key-decryption, got true'],
      [{ extraKeyDecryption: {} }, 'extraKeyDecryption must be the object exported by pure-ssh/key-decryption, got an object'],
      [{ extraKeyDecryption: null }, 'extraKeyDecryption must be the object exported by pure-ssh/key-decryption, got null'],
    ];
    for (const [bad, message] of cases) {
      let cancelled = 0;
      let aborted = 0;
      const transport = {
        readable: new ReadableStream({ cancel: () => void cancelled++ }),
        writable: new WritableStream({ abort: () => void aborted++ }),
      };
      const options: Record<string, unknown> = { transport, host: 'h', username: 'x', knownHosts: '', ...bad };
      const err = await webConnect(options as never).catch((e: unknown) => e);
      expect(err, String(message)).toBeInstanceOf(UsageError);
      if (typeof message === 'string') expect((err as Error).message).toBe(message);
      else expect((err as Error).message).toMatch(message);
      await new Promise((r) => setTimeout(r, 0));
      if (bad.transport === undefined) expect([cancelled, aborted], String(message)).toEqual([1, 1]);
    }
  });

  it('the web connect(): a transport promise that rejects after a usage error is no unhandled rejection (pkg/web-unhandled.mjs)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail!: (e: Error) => void;
      const transport = new Promise((_, reject) => (fail = reject));
      await expect(webConnect({ transport, host: 'h', username: 'x' } as never)).rejects.toThrow(/needs a host key decision/);
      fail(new Error('WebSocket connection to ws://127.0.0.1:9/ failed'));
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('ClientCore refuses a direct-tcpip open whose host or port would make a malformed packet (finding 6: sshd dropped the connection)', () => {
    const core = new ClientCore({ random: (n: number) => new Uint8Array(n), username: 'x' });
    for (const [p, message] of [
      [{ host: 5, port: 22 }, 'openDirectTcpip: host must be a string, got 5'],
      [{ host: 'h', port: '22' }, 'openDirectTcpip: port must be a whole number from 0 to 65535, got "22"'],
      [{ host: 'h', port: 70000 }, 'openDirectTcpip: port must be a whole number from 0 to 65535, got 70000'],
      [{ host: 'h', port: 22, originatorPort: -1 }, 'openDirectTcpip: originatorPort must be a whole number from 0 to 65535, got -1'],
      [{ host: 'h', port: 22, originatorAddress: 7 }, 'openDirectTcpip: originatorAddress must be a string, got 7'],
    ] as const) {
      expect(() => core.openDirectTcpip(p as never), message).toThrow(new UsageError(message));
    }
    expect(() => core.openDirectStreamlocal(5 as never)).toThrow(UsageError);
    expect(core.outputPending).toBe(false);
  });
});

describeInterop('the accepted edges of the numeric options still connect to sshd', () => {
  const sshd = sshdSuite();

  it('verifyHostKey: a result other than true, false or nothing refuses the key with a UsageError (finding 10k: 0 and "no" accepted it)', async () => {
    for (const v of [0, 'no', null, 1, {}]) {
      const err = await connectTo(sshd, { knownHosts: undefined, verifyHostKey: (() => v) as never }).catch((e: unknown) => e);
      expect(err, String(v)).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(`verifyHostKey must return true, false or nothing, got ${show(v)}: the host key is refused`);
    }
    for (const verifyHostKey of [() => true, async () => undefined]) {
      const ssh = await connectTo(sshd, { knownHosts: undefined, verifyHostKey });
      await ssh.close();
    }
  });

  it('openDirectTcpip and forwardRemote with a bad host or port: a UsageError at the call, nothing sent, the connection lives on', async () => {
    const ssh = await connectTo(sshd);
    try {
      // Was sent as a malformed direct-tcpip open: sshd dropped the whole connection.
      // A rejected promise, not a throw (after-loss-errors: the open methods never throw synchronously).
      await expect(ssh.openDirectTcpip({ host: 5, port: sshd.port } as never)).rejects.toThrow(new UsageError('openDirectTcpip: host must be a string, got 5'));
      await expect(ssh.openDirectTcpip({ host: sshd.host, port: '22' } as never)).rejects.toThrow(new UsageError('openDirectTcpip: port must be a whole number from 0 to 65535, got "22"'));
      await expect(ssh.forwardRemote({ listen: { host: 5, port: 0 }, to: { host: '127.0.0.1', port: 9 } } as never)).rejects.toThrow('forwardRemote: listen.host must be a string, got 5');
      await expect(ssh.forwardRemote({ listen: { port: 0 }, to: { host: '127.0.0.1' } } as never)).rejects.toThrow('forwardRemote: to.port must be an integer 1..65535, got undefined');
      await expect(ssh.forwardRemote({ listen: { port: '0' }, to: { host: '127.0.0.1', port: 9 } } as never)).rejects.toThrow('forwardRemote: listen.port must be an integer 0..65535, got "0"');
      await expect(ssh.forwardDynamic({ listen: { port: '1080' } } as never)).rejects.toThrow('forwardDynamic: listen.port must be an integer 0..65535, got "1080"');
      await expect(ssh.forwardDynamic({ listen: { host: 5, port: 0 } } as never)).rejects.toThrow('forwardDynamic: listen.host must be a string, got 5');
      const ch = await ssh.openDirectTcpip({ host: sshd.host, port: sshd.port });
      const line = await new Promise<string>((r) => ch.once('data', (d: Buffer) => r(d.toString())));
      expect(line).toMatch(/^SSH-2\.0-OpenSSH/);
      ch.destroy();
    } finally {
      await ssh.close();
    }
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
