/**
 * ssh(1) -W host:port: standard input and output joined to one direct-tcpip channel
 * (RFC 4254 §7.2), e.g. as another ssh's ProxyCommand. Nothing else may write to stdout.
 */
import type { Readable, Writable } from 'node:stream';
import type { SshClient } from './client.js';

/** The two ends -W joins, process.stdin/stdout by default. */
export interface StdioStreams {
  input: Readable;
  output: Writable;
}

/**
 * Open a direct-tcpip channel to `target` and copy `input` into it and its data to `output`.
 * Rejects with the ChannelOpenError when the server refuses the open; resolves with the byte
 * counts once the channel has closed (the server's end and ours both done).
 *
 * @example
 * ```ts
 * await stdioForward(ssh, { host: 'db.internal', port: 22 });
 * ```
 */
export async function stdioForward(
  client: SshClient,
  target: { host: string; port: number },
  io: StdioStreams = { input: process.stdin, output: process.stdout },
): Promise<{ sent: number; received: number }> {
  const ch = await client.openDirectTcpip({ host: target.host, port: target.port, originatorAddress: '127.0.0.1', originatorPort: 65535 });
  return new Promise((resolve) => {
    // Local EOF → CHANNEL_EOF; the channel's data reaches stdout with backpressure.
    io.input.pipe(ch);
    ch.on('data', (d: Buffer) => {
      if (!io.output.write(d)) {
        ch.pause();
        io.output.once('drain', () => ch.resume());
      }
    });
    ch.on('error', () => {});
    ch.once('close', () => {
      io.input.unpipe(ch);
      const done = () => resolve({ sent: ch.bytesSent, received: ch.bytesReceived });
      // Writes to a pipe the reader has not emptied yet are still queued in Node: the CLI exits
      // once this resolves, which would drop the tail of the data. An empty write's callback
      // runs after every earlier chunk has been handed to the OS (or the stream failed).
      if (io.output.writableLength === 0 || io.output.destroyed || io.output.writableEnded) done();
      else io.output.write(new Uint8Array(0), () => done());
    });
  });
}
