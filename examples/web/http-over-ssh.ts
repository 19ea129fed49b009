/**
 * The shared step of the web examples: one HTTP/1.0 GET (RFC 1945: the server closes the
 * connection after the response, so the end of the channel is the end of the body) through a
 * direct-tcpip channel, with the service resolved and reached by the SSH server.
 */
import type { WebSshClient } from '../../src/web/index.js';

/** What came back: status line, headers and body as text. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** GET `path` from `host:port` as the SSH server sees it. */
export async function httpGetOverSsh(ssh: WebSshClient, host: string, port: number, path = '/'): Promise<HttpResult> {
  const ch = await ssh.openDirectTcpip({ host, port });
  const writer = ch.writable.getWriter();
  await writer.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`));
  const decoder = new TextDecoder();
  let text = '';
  const reader = ch.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  text += decoder.decode();
  const split = text.indexOf('\r\n\r\n');
  const head = (split < 0 ? text : text.slice(0, split)).split('\r\n');
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: split < 0 ? '' : text.slice(split + 4) };
}
