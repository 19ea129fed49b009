/**
 * The cipher microbenchmark in workerd (nodejs_compat): a POST of `{ cipher, provider, passes,
 * open }` does that much {@link cpuWork}; bench/runtimes/micro.ts times it by workerd's CPU seconds.
 */
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { pureCryptoProvider } from '../../src/crypto/pure.js';
import { cpuWork } from './cipher-micro.js';

export default {
  async fetch(request: Request): Promise<Response> {
    const q = (await request.json()) as { cipher: string; provider: 'pure' | 'node'; passes: number; open: boolean };
    try {
      const bytes = cpuWork(q.cipher, q.provider === 'node' ? nodeCryptoProvider : pureCryptoProvider, q.passes, q.open);
      return Response.json({ bytes });
    } catch (err) {
      return new Response(`${(err as Error).stack ?? err}`, { status: 500 });
    }
  },
};
