/**
 * Chromium: what connect() over webSocketStreams rejects with for URLs and sub-protocol lists the
 * page's WebSocket constructor refuses, for test/runtime-browser.test.ts.
 */
import { connect, webSocketStreams } from '../../src/web/index.js';

(globalThis as { webSocketRefusals?: unknown }).webSocketRefusals = async (cases: { url: string; protocols?: string[] }[]) => {
  const out: Record<string, unknown>[] = [];
  for (const c of cases) {
    try {
      await connect({ transport: webSocketStreams(c.url, { protocols: c.protocols }), host: 'ssh.example', username: 'u', verifyHostKey: () => false });
      out.push({ connected: true });
    } catch (err) {
      const e = err as Error & { code?: string };
      out.push({ name: e.name, code: e.code, message: e.message, cause: e.cause instanceof Error ? e.cause.name : undefined });
    }
  }
  return out;
};
