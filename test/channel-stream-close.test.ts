/**
 * A channel stream when its connection goes (`ssh.close()`, or the connection lost): a stream
 * with no write waiting whose reader already had 'end', or which the caller's own close() ended
 * with nothing received and unread, loses nothing, so it closes without 'error' (an 'error' no
 * one listens to would crash the process of a reader, as with the README's example); anything
 * cut off (unread data, a write waiting for window, the server's data not ended when the
 * connection is lost) still gets the error. Against sshd 9.2 for the caller's close(), and on the stream alone for the
 * cases a server cannot be made to produce on cue.
 */
import net from 'node:net';
import { finished as stream_finished } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { SshError } from '../src/errors.js';
import { ChannelStream, type ChannelHost } from '../src/node/channel-stream.js';
import { startServerFirst, type TestServer } from './harness/net.js';
import { describeInterop, sshdSuite } from './harness/sshd.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Records the 'error' events `s` emits without listening for them (a listener would change what is tested). */
function recordErrors(s: ChannelStream): Error[] {
  const errors: Error[] = [];
  const emit = s.emit.bind(s);
  s.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'error') {
      errors.push(args[0] as Error);
      return true;
    }
    return emit(event, ...args);
  }) as typeof s.emit;
  return errors;
}

function stream(channelWrite: ChannelHost['channelWrite'] = () => true) {
  const host: ChannelHost = { channelWrite, channelEnd: () => {}, channelClose: () => {}, channelConsumed: () => {} };
  const s = new ChannelStream(host, 0);
  s._opened();
  return s;
}

/** The caller's own close() (client-core.ts: ERR_CONNECTION_CLOSED). */
const closedByCaller = () => new SshError('ERR_CONNECTION_CLOSED', 'the connection was closed');
/** The connection lost under the caller (the socket went, a bad MAC, ...). */
const lost = () => new SshError('ERR_CONNECTION_LOST', 'the connection was lost');

describe('ChannelStream when the connection goes', () => {
  it('read to its end, nothing waiting to be written: closes without an error', async () => {
    const s = stream();
    const errors = recordErrors(s);
    s.on('data', () => {});
    s._data(new Uint8Array([1, 2, 3]));
    s._eof();
    await new Promise((r) => s.once('end', r));
    const closed = new Promise((r) => s.once('close', r));
    s._closed(lost());
    await closed;
    expect(errors).toEqual([]);
    expect(s.destroyed).toBe(true);
  });

  it('connection lost with the server\'s data not ended: the error is emitted', async () => {
    const s = stream();
    const errors = recordErrors(s);
    s.on('data', () => {});
    s._data(new Uint8Array([1]));
    await tick();
    s._closed(lost());
    await tick();
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_LOST']);
  });

  it('EOF received but not yet read (paused reader): the error is emitted', async () => {
    const s = stream();
    const errors = recordErrors(s);
    s.pause();
    s._data(new Uint8Array([1]));
    s._eof();
    await tick();
    s._closed(lost());
    await tick();
    expect(s.readableEnded).toBe(false);
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_LOST']);
  });

  it('closed by the caller with nothing received and unread: closes without an error, as a premature close', async () => {
    const s = stream();
    const errors = recordErrors(s);
    s.on('data', () => {});
    s._data(new Uint8Array([1]));
    await tick();
    const finished = new Promise<unknown>((r) => stream_finished(s, (err) => r(err)));
    s._closed(closedByCaller());
    expect(((await finished) as { code?: string })?.code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(errors).toEqual([]);
    expect(s.destroyed).toBe(true);
  });

  it('closed by the caller with bytes received and not read (paused reader): the error is emitted', async () => {
    const s = stream();
    const errors = recordErrors(s);
    s.pause();
    s._data(new Uint8Array([1, 2]));
    await tick();
    s._closed(closedByCaller());
    await tick();
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_CLOSED']);
  });

  it('closed by the caller while a write waits for window: the error is emitted', async () => {
    const s = stream(() => false);
    const errors = recordErrors(s);
    s.on('data', () => {});
    s.write(new Uint8Array(10));
    await tick();
    s._closed(closedByCaller());
    await tick();
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_CLOSED']);
  });

  it('read to its end but a write waits for window: the error is emitted', async () => {
    const s = stream(() => false);
    const errors = recordErrors(s);
    s.on('data', () => {});
    s._eof();
    await new Promise((r) => s.once('end', r));
    s.write(new Uint8Array(10));
    await tick();
    s._closed(lost());
    await tick();
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_LOST']);
  });
});

describeInterop('ChannelStream and close() against sshd', () => {
  const sshd = sshdSuite();
  let ssh: SshClient;
  let greeter: TestServer;
  beforeAll(async () => {
    greeter = await startServerFirst('220 hello\r\n');
  }, 30_000);
  afterAll(async () => {
    await greeter?.close();
  });

  it('a channel read to its end through data/end listeners survives ssh.close() with no error listener', async () => {
    ssh = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath });
    const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: greeter.port, originatorAddress: '127.0.0.1', originatorPort: 4242 });
    const errors = recordErrors(ch);
    const got: Buffer[] = [];
    ch.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => ch.once('end', r));
    expect(Buffer.concat(got).toString()).toBe('220 hello\r\n');
    // The server's EOF came; the channel is still open (our side never ended): close() ends it.
    expect(ch.destroyed).toBe(false);
    const closed = new Promise((r) => ch.once('close', r));
    await ssh.close();
    await closed;
    expect(errors).toEqual([]);
  });

  it('the README\'s example: a channel to a silent target, then ssh.close() with no error listener: closes as a premature close', async () => {
    ssh = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath });
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port });
      const errors = recordErrors(ch);
      const finished = new Promise<unknown>((r) => stream_finished(ch, (err) => r(err)));
      await ssh.close();
      expect(((await finished) as { code?: string })?.code).toBe('ERR_STREAM_PREMATURE_CLOSE');
      expect(errors).toEqual([]);
    } finally {
      silent.close();
    }
  });

  it('a channel with received bytes not read when ssh.close() comes gets the error', async () => {
    ssh = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath });
    {
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: sshd.port, originatorAddress: '127.0.0.1', originatorPort: 4243 });
      const errors = recordErrors(ch);
      // sshd's own banner arrives and stays unread (paused); its end does not come (the server
      // waits for our version line).
      ch.pause();
      await new Promise((r) => ch.once('readable', r));
      expect(ch.readableLength).toBeGreaterThan(0);
      const closed = new Promise((r) => ch.once('close', r));
      await ssh.close();
      await closed;
      expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_CLOSED']);
    }
  });
});
