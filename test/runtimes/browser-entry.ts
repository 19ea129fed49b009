/** Chromium: the scenario over a WebSocket to websockify (webSocketStreams). */
import { webSocketStreams } from '../../src/web/index.js';
import { runScenario, type ScenarioParams } from './scenario.js';

(globalThis as { runScenarioOverWebSocket?: unknown }).runScenarioOverWebSocket = (p: ScenarioParams, wsUrl: string) =>
  runScenario(() => webSocketStreams(wsUrl), p, `Chromium ${(globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'}`);
