/**
 * The server's algorithm offer, read before any key exchange: our identification line, the
 * server's (RFC 4253 §4.2: other lines may precede it), then its first packet, which is its
 * KEXINIT in the clear (RFC 4253 §7.1; with strict kex it must be, OpenSSH PROTOCOL §1.9).
 */
import type { Duplex } from 'node:stream';
import { decodeKexInit, type KexInit } from '../transport/kexinit.js';

/** RFC 4253 §4.2: at most 255 bytes per line; OpenSSH's PACKET_MAX_SIZE for the packet. */
const MAX_LINE = 255;
const MAX_PREAMBLE = 64 * 1024;
const MAX_PACKET = 256 * 1024;
/** SSH_MSG_KEXINIT (RFC 4253 §12). */
const MSG_KEXINIT = 20;

/** A timeout for a message: whole seconds, or tenths below 10 s (a budget the time limit cut to 0.3 s is not "0 s"). */
export function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/**
 * Sends an identification line on `sock`, reads the server's and its KEXINIT, destroys `sock`.
 * Rejects on a close, a timeout, or a first packet that is not a KEXINIT.
 */
export function readServerOffer(sock: Duplex, timeoutMs: number): Promise<{ serverVersion: string; kexinit: KexInit }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let version: string | undefined;
    const done = (err: Error | null, value?: { serverVersion: string; kexinit: KexInit }) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => done(new Error(`no key exchange offer from the server: timed out after ${secondsText(timeoutMs)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        while (version === undefined) {
          const nl = buf.indexOf(10);
          if (nl < 0) {
            if (buf.length > MAX_PREAMBLE) throw new Error('the server sent no SSH identification line');
            return;
          }
          const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
          buf = buf.subarray(nl + 1);
          if (line.length > MAX_LINE) throw new Error('the server sent an over-long identification line');
          if (line.startsWith('SSH-')) {
            if (!/^SSH-(2\.0|1\.99)-/.test(line)) throw new Error(`Protocol major versions differ: the server speaks ${line}`);
            version = line;
          }
        }
        if (buf.length < 5) return;
        const len = buf.readUInt32BE(0);
        if (len < 5 || len > MAX_PACKET) throw new Error(`the server's first packet has a bad length ${len}`);
        if (buf.length < 4 + len) return;
        const payload = buf.subarray(5, 4 + len - buf[4]!);
        if (payload[0] !== MSG_KEXINIT) throw new Error(`the server's first packet is message ${payload[0]}, not KEXINIT`);
        done(null, { serverVersion: version, kexinit: decodeKexInit(new Uint8Array(payload)) });
      } catch (err) {
        done(err as Error);
      }
    };
    sock.on('data', onData);
    sock.once('error', (e: Error) => done(e));
    sock.once('close', () => done(new Error(version ? 'the server closed the connection before its KEXINIT' : 'the server closed the connection before its identification line')));
    sock.write('SSH-2.0-pure_ssh_bench\r\n');
  });
}
