import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { probe, type ProbeParams } from './probe.js';
declare const Deno: { args: string[]; connect(o: { hostname: string; port: number }): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }> };
const p = JSON.parse(Deno.args[0]!) as ProbeParams;
console.log(JSON.stringify(await probe(() => Deno.connect({ hostname: '127.0.0.1', port: p.port }), p, nodeCryptoProvider)));
