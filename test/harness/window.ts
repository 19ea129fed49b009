/**
 * Helpers of the receive-window tests (window-interop, window-budget): a client of sshd reached
 * through bench/delay-proxy.ts, a channel read to its end while hashing, and the window sizes the
 * client logged.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DelayProxy } from '../../bench/delay-proxy.js';
import { connect, type ChannelStream, type ConnectOptions, type SshClient } from '../../src/index.js';
import type { SshdHandle } from './sshd.js';

/** Connects to `sshd` through `proxy` (another port: a known_hosts line for it with sshd's host key). */
export async function connectVia(sshd: SshdHandle, proxy: DelayProxy, extra: Partial<ConnectOptions>): Promise<SshClient> {
  const knownHosts = join(sshd.dir, `known_hosts_proxy_${proxy.port}`);
  await writeFile(knownHosts, sshd.hostKeys.map((k) => `[127.0.0.1]:${proxy.port} ${k.publicKey}\n`).join(''));
  return connect({ host: '127.0.0.1', port: proxy.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts, ...extra });
}

/** Reads `stream` to the end, hashing; `onData` runs after each chunk with the bytes read so far (it may pause the stream). */
export function drain(stream: ChannelStream, onData?: (read: number) => void): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    stream.on('data', (d: Buffer) => {
      h.update(d);
      bytes += d.length;
      onData?.(bytes);
    });
    stream.once('end', () => resolve({ bytes, sha256: h.digest('hex') }));
    stream.once('error', reject);
  });
}

/** The new sizes in the client's "window A -> B" log lines, in order. */
export const windowSizes = (logs: string[]): number[] =>
  logs.flatMap((l) => {
    const m = / window \d+ -> (\d+) /.exec(l);
    return m ? [Number(m[1])] : [];
  });
