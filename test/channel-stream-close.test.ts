/**
 * A channel stream when its connection goes (`ssh.close()`, or the connection lost): a stream
 * whose reader already had 'end' and with no write waiting loses nothing, so it closes without
 * 'error' (an 'error' no one listens to would crash the process of a reader that was done);
 * anything cut off (unread data, the server's data not ended, a write waiting for window) still
 * gets the error. Against sshd 9.2 for the caller's close(), and on the stream alone for the
 * cases a server cannot be made to produce on cue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SshClient } from '../src/index.js';
import { SshError } from '../src/errors.js';
import { ChannelStream, type ChannelHost } from '../src/node/channel-stream.js';
import { startServerFirst, type TestServer } from './harness/net.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

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

const lost = () => new SshError('ERR_CONNECTION_CLOSED', 'the connection was closed');

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

  it('the server\'s data not ended: the error is emitted', async () => {
    const s = stream();
    const errors = recordErrors(s);
    s.on('data', () => {});
    s._data(new Uint8Array([1]));
    await tick();
    s._closed(lost());
    await tick();
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_CLOSED']);
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
    expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_CLOSED']);
  });
});

describeInterop('ChannelStream and close() against sshd', () => {
  let sshd: SshdHandle;
  let ssh: SshClient;
  let greeter: TestServer;
  beforeAll(async () => {
    sshd = await startSshd();
    greeter = await startServerFirst('220 hello\r\n');
  }, 30_000);
  afterAll(async () => {
    await greeter?.close();
    await sshd?.stop();
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

  it('a channel still receiving when ssh.close() comes gets the error', async () => {
    ssh = await connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHostsPath });
    {
      const ch = await ssh.openDirectTcpip({ host: '127.0.0.1', port: sshd.port, originatorAddress: '127.0.0.1', originatorPort: 4243 });
      const errors = recordErrors(ch);
      ch.on('data', () => {});
      // sshd's own banner arrives; its end does not (the server waits for our version line).
      await new Promise((r) => ch.once('data', r));
      const closed = new Promise((r) => ch.once('close', r));
      await ssh.close();
      await closed;
      expect(errors.map((e) => (e as SshError).code)).toEqual(['ERR_CONNECTION_CLOSED']);
    }
  });
});
