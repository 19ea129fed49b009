/** A TCP connection from Node as WHATWG streams (Node's Duplex.toWeb of a net.Socket). */
import net from 'node:net';
import { Duplex } from 'node:stream';
import type { ByteStreamPair } from '../../src/web/index.js';

export function dialNodeWeb(port: number): Promise<ByteStreamPair> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
      s.off('error', reject);
      resolve(Duplex.toWeb(s) as unknown as ByteStreamPair);
    });
    s.once('error', reject);
  });
}
