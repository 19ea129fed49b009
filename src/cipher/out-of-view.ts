/**
 * Live traffic keys out of view: a packet cipher holds what decrypts a captured session (RFC 4253
 * §7.2's keys and IVs, the key schedules made from them), and a logger that dumps objects deeply
 * (`util.inspect(ssh, { depth: null })`, pino or winston with a depth) must not write it
 * (break25 F2: `util.inspect(ssh, { depth: 6 })` showed the AES-GCM key). The core imports no
 * node:util: `Symbol.for` reaches the symbol util.inspect calls (Node, Deno and Bun use it).
 */

/**
 * Gives the instances of `cls` a util.inspect view (console.log's too) and a JSON.stringify form
 * that show only the cipher's name, at any depth, whatever it holds.
 */
export function keysOutOfView(cls: { prototype: object }): void {
  const p = cls.prototype as Record<PropertyKey, unknown>;
  p[Symbol.for('nodejs.util.inspect.custom')] = p.toJSON = function (this: { name: string }): string {
    return `[cipher ${this.name}: keys not shown]`;
  };
}
