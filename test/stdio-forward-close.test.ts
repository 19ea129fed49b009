/**
 * stdioForward (-W) when the far end closes while the input still sends: sshd's EOF and CLOSE
 * often come in one read, and the channel stream ends its writing side (the CLOSE) before its
 * reader sees 'end'. A chunk of input arriving between the two must be dropped, as after ssh's
 * FORCE input drain (channels.c channel_input_ieof), not written after the end: that failed the
 * forward with "write after end" (CLI: "stdio forwarding failed", exit 255; seen in CI under load).
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { stdioForward } from '../src/node/stdio-forward.js';
import { connectTo } from './harness/client.js';
import { describeInterop, startSshd, type SshdHandle } from './harness/sshd.js';

describeInterop('stdioForward: the far end closes while the input still sends', () => {
  let sshd: SshdHandle;
  let far: net.Server;
  beforeAll(async () => {
    sshd = await startSshd();
    far = net.createServer((s) => {
      s.on('error', () => {});
      s.write('bye\n');
      setTimeout(() => s.destroy(), 50);
    });
    await new Promise<void>((r) => far.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise((r) => far?.close(r));
    await sshd?.stop();
  });

  it('30 runs: resolves with the far end\'s bytes, never "write after end"', async () => {
    const port = (far.address() as net.AddressInfo).port;
    const ssh = await connectTo(sshd);
    try {
      for (let run = 0; run < 30; run++) {
        const input = new PassThrough();
        const output = new PassThrough();
        const got: Buffer[] = [];
        output.on('data', (d: Buffer) => got.push(d));
        // The input delivers a chunk at every turn of the loop, so one lands between the
        // channel's CLOSE and its 'end' whenever both come in one read.
        let feeding = true;
        const chunk = Buffer.alloc(4096, 0x79);
        const feed = (): void => {
          if (!feeding) return;
          input.write(chunk);
          setImmediate(feed);
        };
        feed();
        const outcome = await stdioForward(ssh, { host: '127.0.0.1', port }, { input, output }).then(
          () => 'resolved',
          (err: Error) => err.message,
        );
        feeding = false;
        expect(outcome, `run ${run}`).toBe('resolved');
        expect(Buffer.concat(got).toString(), `run ${run}`).toBe('bye\n');
      }
    } finally {
      await ssh.close();
    }
  }, 120_000);
  it('the caller\'s mistakes are UsageErrors before any channel (break36: a TypeError, one of them with the channel left open)', async () => {
    const port = (far.address() as net.AddressInfo).port;
    const ssh = await connectTo(sshd);
    try {
      const fail = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => e);
      const noIo = await fail(stdioForward(ssh, { host: '127.0.0.1', port }, {} as never));
      expect(noIo).toBeInstanceOf(UsageError);
      expect((noIo as Error).message).toBe('stdioForward: io must be { input: a Readable, output: a Writable }');
      const noTarget = await fail(stdioForward(ssh, undefined as never));
      expect(noTarget).toBeInstanceOf(UsageError);
      expect((noTarget as Error).message).toBe('stdioForward: the target must be { host, port } or { path }, got undefined');
      // No channel was opened for either (the first one's stayed open until the connection's end).
      expect(ssh.channelCount).toBe(0);
    } finally {
      await ssh.close();
    }
  });
});
