/**
 * Node in a process of its own (the benchmark's baseline, measured like Bun and Deno): the
 * scenario over a net.Socket as WHATWG streams. Params JSON in argv[2].
 */
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { dialNodeWeb } from './dial-node.js';
import { runScenario, type ScenarioParams } from './scenario.js';

const p = JSON.parse(process.argv[2]!) as ScenarioParams;
const r = await runScenario(() => dialNodeWeb(p.port), p, `Node.js ${process.version}`, nodeCryptoProvider);
console.log(JSON.stringify(r));
