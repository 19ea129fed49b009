/**
 * A web page that reaches an HTTP service behind sshd: the page speaks SSH over a WebSocket to
 * websockify, which turns it into a TCP connection to sshd (`websockify --web DIR
 * 127.0.0.1:8022 127.0.0.1:22` serves this page as well). websockify only relays TCP bytes:
 * the key exchange, the user's key and the HTTP response are encrypted end to end between this
 * page and sshd.
 *
 * Build: `npx esbuild examples/web/browser.ts --bundle --format=esm --outfile=WEBDIR/browser.js`
 * and copy browser.html next to it. In an application, import from 'pure-ssh/web'.
 */
import { connect, webSocketStreams } from '../../src/web/index.js';
import { httpGetOverSsh, type HttpResult } from './http-over-ssh.js';

/** What the form asks for. */
export interface BrowserExampleSettings {
  /** The websockify URL, e.g. `ws://127.0.0.1:8022/` (by default the page's own host). */
  wsUrl: string;
  /** sshd as known_hosts names it: host and port. */
  sshHost: string;
  sshPort: number;
  username: string;
  /** The private key file's text (never leaves the page unencrypted). */
  privateKey: string;
  /** known_hosts lines for sshd (`ssh-keyscan -p PORT HOST`). */
  knownHosts: string;
  /** The HTTP service as sshd sees it. */
  targetHost: string;
  targetPort: number;
  path: string;
}

/** Connect, GET, disconnect. */
export async function fetchThroughSsh(s: BrowserExampleSettings): Promise<HttpResult> {
  const ssh = await connect({
    transport: webSocketStreams(s.wsUrl),
    host: s.sshHost,
    port: s.sshPort,
    username: s.username,
    privateKey: s.privateKey,
    knownHosts: s.knownHosts,
    connectTimeout: 15_000,
  });
  try {
    return await httpGetOverSsh(ssh, s.targetHost, s.targetPort, s.path);
  } finally {
    await ssh.close();
  }
}

interface FormDocument {
  getElementById(id: string): { value: string; textContent: string | null; addEventListener(t: string, f: (e: { preventDefault(): void }) => void): void } | null;
  location: { host: string };
}

/** Wire the form of browser.html, when loaded there. */
function wireForm(doc: FormDocument): void {
  const form = doc.getElementById('form');
  if (!form) return;
  const field = (id: string) => doc.getElementById(id)!.value;
  const out = doc.getElementById('out')!;
  if (!field('ws')) doc.getElementById('ws')!.value = `ws://${doc.location.host}/`;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    out.textContent = 'connecting...';
    fetchThroughSsh({
      wsUrl: field('ws'),
      sshHost: field('sshHost'),
      sshPort: Number(field('sshPort')),
      username: field('user'),
      privateKey: field('key'),
      knownHosts: field('knownHosts'),
      targetHost: field('targetHost'),
      targetPort: Number(field('targetPort')),
      path: field('path'),
    }).then(
      (r) => (out.textContent = `HTTP ${r.status}\n\n${r.body}`),
      (err: unknown) => (out.textContent = `${(err as Error).name}: ${(err as Error).message}`),
    );
  });
}

const g = globalThis as unknown as { document?: FormDocument; fetchThroughSsh?: typeof fetchThroughSsh };
g.fetchThroughSsh = fetchThroughSsh;
if (g.document) wireForm(g.document);
