/** workerd configs for the tests: one worker module, loopback allowed outbound. */
export const WORKERD = new URL('../../node_modules/.bin/workerd', import.meta.url).pathname;

/**
 * A config serving `worker.mjs` on the socket "http". workerd's connect() refuses loopback
 * unless the worker's globalOutbound network allows "local" (and "private"). nodejs_compat gives
 * the worker node:crypto (for pure-ssh/node-crypto). `bindings` become
 * text bindings (the Worker's `env`).
 */
export function workerdConfig(bindings: Record<string, string> = {}): string {
  const b = Object.entries(bindings)
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(', ');
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2025-06-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
  bindings = [ ${b} ],
);
`;
}
