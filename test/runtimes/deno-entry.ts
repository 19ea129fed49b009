/** Deno: the scenario over Deno.connect's conn.readable / conn.writable. Params JSON in argv[0]. */
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { runScenario, type ScenarioParams } from './scenario.js';

declare const Deno: {
  args: string[];
  version: { deno: string };
  connect(o: { hostname: string; port: number }): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>;
};

const p = JSON.parse(Deno.args[0]!) as ScenarioParams;
const r = await runScenario(() => Deno.connect({ hostname: '127.0.0.1', port: p.port }), p, `Deno ${Deno.version.deno}`, nodeCryptoProvider);
console.log(JSON.stringify(r));
