/**
 * ssh(1) -W host:port: standard input and output joined to one direct-tcpip channel
 * (RFC 4254 §7.2), e.g. as another ssh's ProxyCommand; -W /path (OpenSSH 9.4+) to one
 * direct-streamlocal@openssh.com channel (OpenSSH PROTOCOL §2.4). Nothing else may write to stdout.
 */
import type { Readable, Writable } from 'node:stream';
import { detachWritten, releasableAfterWrite } from './array-buffer-release.js';
import type { SshClient } from './client.js';
import { UsageError } from '../errors.js';
import { show } from '../option-check.js';

/** The two ends -W joins, process.stdin/stdout by default. */
export interface StdioStreams {
  input: Readable;
  output: Writable;
  /** Debug lines (ssh's `channel N: FORCE input drain`). */
  debug?: (message: string) => void;
}

/**
 * Open a direct-tcpip channel to `target` (a direct-streamlocal one for `{ path }`) and copy `input` into it and its data to `output`.
 * Rejects with the ChannelOpenError when the server refuses the open, and with the connection's
 * error (ConnectionLostError, …) when the connection is lost under the open channel, once what
 * arrived before it is written to `output`; resolves with the byte counts once the channel has
 * closed (the server's end and ours both done).
 *
 * @example
 * ```ts
 * await stdioForward(ssh, { host: 'db.internal', port: 22 });
 * ```
 */
export async function stdioForward(
  client: SshClient,
  target: { host: string; port: number } | { path: string },
  io: StdioStreams = { input: process.stdin, output: process.stdout },
): Promise<{ sent: number; received: number }> {
  // The caller's mistakes before the channel is opened: a missing target was a TypeError ("Cannot
  // use 'in' operator"), and streams that are none one after the open, the channel left open.
  if (typeof target !== 'object' || target === null) throw new UsageError(`stdioForward: the target must be { host, port } or { path }, got ${show(target)}`);
  if (typeof io?.input?.on !== 'function' || typeof io.input.pause !== 'function' || typeof io.output?.write !== 'function') {
    throw new UsageError('stdioForward: io must be { input: a Readable, output: a Writable }');
  }
  const ch =
    'path' in target
      ? await client.openDirectStreamlocal(target.path)
      : await client.openDirectTcpip({ host: target.host, port: target.port, originatorAddress: '127.0.0.1', originatorPort: 65535 });
  return new Promise((resolve, reject) => {
    // Local EOF → CHANNEL_EOF; the channel's data reaches stdout with backpressure. Not
    // `pipe()`: once the input is stopped (the server's EOF forced its end, the channel closed)
    // a chunk the input still delivers goes nowhere (ssh's FORCE input drain discards it), where
    // a piped stream could still write it after the channel's end ("write after end").
    let inputStopped = false;
    const onInput = (d: Buffer): void => {
      // The channel's own end (the server's CLOSE ends its writing side too) may come before
      // its 'end' event is seen here: a chunk then is dropped as after the FORCE input drain.
      if (inputStopped || ch.writableEnded || ch.destroyed) return;
      if (!ch.write(d)) {
        io.input.pause();
        ch.once('drain', () => {
          if (!inputStopped) io.input.resume();
        });
      }
    };
    const onInputEnd = (): void => {
      if (!inputStopped) ch.end();
    };
    const stopInput = (): void => {
      inputStopped = true;
      io.input.off('data', onInput);
      io.input.off('end', onInputEnd);
      io.input.pause();
    };
    io.input.on('data', onInput);
    io.input.once('end', onInputEnd);
    // OpenSSH channels.c chan_read_failed: a read error on the input is its end (EOF).
    io.input.on('error', () => {
      if (inputStopped) return;
      stopInput();
      ch.end();
    });
    // OpenSSH channels.c chan_write_failed: a write error on the output (EPIPE: its reader went
    // away, `ssh -W ... | head -c 5`) closes that side alone; data still arriving is dropped, and
    // the channel closes once the input is done too (chan_is_dead), exiting 0.
    let outputFailed = false;
    let inputDone = false;
    // OpenSSH channels.c channel_input_ieof: a stdio forward's channel (force_drain) ends its
    // input when the server's EOF arrives, so the channel closes without waiting for ours.
    ch.once('end', () => {
      if (inputDone) return;
      // Already ended (our input's EOF, or the channel's close): the input is stopped all the same.
      if (!ch.writableEnded) {
        io.debug?.(`channel ${ch.channel}: FORCE input drain`);
        ch.end();
      }
      stopInput();
    });
    ch.once('finish', () => {
      inputDone = true;
      if (outputFailed) ch.destroy();
    });
    io.output.on('error', () => {
      if (outputFailed) return;
      outputFailed = true;
      ch.resume();
      if (inputDone) ch.destroy();
    });
    // Our own stdout ("nothing else may write to stdout") is this channel's only consumer: a
    // chunk the packet decoder marked as its packet's own memory is detached once written, which
    // frees it at once (array-buffer-release.ts, CLI only). A caller's stream may keep chunks.
    const ownOutput = io.output === process.stdout;
    ch.on('data', (d: Buffer) => {
      if (outputFailed) return;
      const ab = ownOutput ? releasableAfterWrite(d) : undefined;
      const written = ab === undefined ? io.output.write(d) : io.output.write(d, (err) => err ?? detachWritten(ab));
      if (!written) {
        ch.pause();
        io.output.once('drain', () => ch.resume());
      }
    });
    // The connection lost under the channel: its error, once what arrived before is written.
    let failed: unknown;
    ch.on('error', (err: unknown) => (failed ??= err));
    ch.once('close', () => {
      stopInput();
      const done = () => (failed === undefined ? resolve({ sent: ch.bytesSent, received: ch.bytesReceived }) : reject(failed));
      // Writes to a pipe the reader has not emptied yet are still queued in Node: the CLI exits
      // once this resolves, which would drop the tail of the data. An empty write's callback
      // runs after every earlier chunk has been handed to the OS (or the stream failed).
      if (io.output.writableLength === 0 || io.output.destroyed || io.output.writableEnded) done();
      else io.output.write(new Uint8Array(0), () => done());
    });
  });
}
