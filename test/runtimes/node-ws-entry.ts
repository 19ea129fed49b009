/**
 * Node through websockify, the baseline for Chromium (same bridge, same WebSocket framing):
 * the scenario over webSocketStreams with Node's WebSocket (`node --experimental-websocket` on
 * Node 20). Params JSON in argv[2], the bridge's ws:// URL in argv[3].
 */
import { webSocketStreams } from '../../src/web/index.js';
import { runScenario, type ScenarioParams } from './scenario.js';

declare const process: { argv: string[]; version: string };

const p = JSON.parse(process.argv[2]!) as ScenarioParams;
const r = await runScenario(() => webSocketStreams(process.argv[3]!), p, `Node.js ${process.version}`);
console.log(JSON.stringify(r));
