/** workerd: the scenario over connect() from cloudflare:sockets, started by a POST of the params. */
// @ts-expect-error resolved by workerd at run time
import { connect } from 'cloudflare:sockets';
import type { ByteStreamPair } from '../../src/web/index.js';
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { runScenario, type ScenarioParams } from './scenario.js';

export default {
  async fetch(request: Request): Promise<Response> {
    const p = (await request.json()) as ScenarioParams;
    const dial = () => connect({ hostname: '127.0.0.1', port: p.port }) as ByteStreamPair;
    try {
      const r = await runScenario(dial, p, 'workerd', nodeCryptoProvider);
      return Response.json(r);
    } catch (err) {
      return new Response(`${(err as Error).stack ?? err}`, { status: 500 });
    }
  },
};
