// @ts-expect-error resolved by workerd at run time
import { connect } from 'cloudflare:sockets';
import type { ByteStreamPair } from '../../src/web/index.js';
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { probe, type ProbeParams } from './probe.js';
export default {
  async fetch(request: Request): Promise<Response> {
    const p = (await request.json()) as ProbeParams;
    try {
      return Response.json(await probe(() => connect({ hostname: '127.0.0.1', port: p.port }) as ByteStreamPair, p, nodeCryptoProvider));
    } catch (err) {
      return new Response(`${(err as Error).stack ?? err}`, { status: 500 });
    }
  },
};
