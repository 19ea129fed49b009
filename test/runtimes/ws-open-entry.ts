/**
 * pure-ssh/web over webSocketStreams with Node's WebSocket (`node --experimental-websocket` on
 * Node 20), for test/web-connect-opening.test.ts: connect() with the options in argv[2] (JSON:
 * url, host, port, username, privateKey, knownHosts, connectTimeout, abortAt ms, hold ms) and one
 * JSON line: how connect() failed and after how many ms, or `{"ready":true}` (then it closes), or
 * `{"pending":true}` when connect() had not settled after 8 s. With `hold`, the process stays
 * that long after the line (so that what connect() closed is seen closing before the exit).
 */
import { connect, webSocketStreams } from '../../src/web/index.js';

declare const process: { argv: string[]; exit(code: number): never };

const o = JSON.parse(process.argv[2]!) as {
  url: string;
  host: string;
  port: number;
  username: string;
  privateKey: string;
  knownHosts: string;
  connectTimeout?: number;
  abortAt?: number;
  hold?: number;
};
const ac = new AbortController();
if (o.abortAt !== undefined) setTimeout(() => ac.abort(new Error('stop')), o.abortAt);
// Unref'd: the process still ends on its own when nothing else is open.
(setTimeout(() => (console.log(JSON.stringify({ pending: true })), process.exit(0)), 8_000) as unknown as { unref(): void }).unref();
const t0 = Date.now();
try {
  const ssh = await connect({
    transport: webSocketStreams(o.url),
    host: o.host,
    port: o.port,
    username: o.username,
    privateKey: o.privateKey,
    knownHosts: o.knownHosts,
    connectTimeout: o.connectTimeout,
    signal: ac.signal,
  });
  console.log(JSON.stringify({ ready: true, ms: Date.now() - t0 }));
  await ssh.close();
} catch (err) {
  const e = err as Error & { code?: string };
  console.log(JSON.stringify({ failed: { name: e.name, code: e.code, message: e.message, cause: (e.cause as Error | undefined)?.message }, ms: Date.now() - t0 }));
}
if (o.hold) setTimeout(() => {}, o.hold);
