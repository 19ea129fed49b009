/**
 * pure-ssh/web over webSocketStreams with Node's WebSocket (`node --experimental-websocket` on
 * Node 20), for test/web-websocket-close.test.ts: connects with the options in argv[2] (JSON:
 * url, protocols, host, port, username, privateKey, knownHosts, and `ws`: more webSocketStreams
 * options, given as they are, but for a `signal` of true, made an AbortSignal) and prints one JSON
 * line per outcome: how connect() failed, or `{"ready":true}` and later how the connection ended.
 */
import { connect, WebSocketClosedError, webSocketStreams } from '../../src/web/index.js';

declare const process: { argv: string[] };

const o = JSON.parse(process.argv[2]!) as { url: string; protocols?: string[]; host: string; port: number; username: string; privateKey: string; knownHosts: string; ws?: Record<string, unknown> };
const ws = { ...o.ws, ...(o.ws?.signal === true ? { signal: new AbortController().signal } : {}) };

/** The error's class, code and message, and the WebSocket close it carries (its own or its cause's). */
function describe(err: unknown): Record<string, unknown> {
  const e = err as Error & { code?: string };
  const ws = err instanceof WebSocketClosedError ? err : e.cause instanceof WebSocketClosedError ? e.cause : undefined;
  return {
    name: e.name,
    code: e.code,
    message: e.message,
    cause: e.cause instanceof Error ? e.cause.name : undefined,
    ws: ws && { own: ws === err, url: ws.url, opened: ws.opened, closeCode: ws.closeCode, closeReason: ws.closeReason },
  };
}

try {
  const ssh = await connect({ transport: webSocketStreams(o.url, { protocols: o.protocols, ...ws }), host: o.host, port: o.port, username: o.username, privateKey: o.privateKey, knownHosts: o.knownHosts });
  console.log(JSON.stringify({ ready: true }));
  const end = await ssh.closed;
  console.log(JSON.stringify({ closed: end ? describe(end) : null }));
} catch (err) {
  console.log(JSON.stringify({ failed: describe(err) }));
}
