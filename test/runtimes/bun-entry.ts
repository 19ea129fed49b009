/** Bun: the scenario over Bun.connect wrapped into WHATWG streams. Params JSON in argv[2]. */
import type { ByteStreamPair } from '../../src/web/index.js';
import { nodeCryptoProvider } from '../../src/node/crypto-provider.js';
import { runScenario, type ScenarioParams } from './scenario.js';

interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
}
declare const Bun: {
  version: string;
  connect(o: {
    hostname: string;
    port: number;
    socket: {
      data(s: BunSocket, d: Uint8Array): void;
      close(s: BunSocket): void;
      error(s: BunSocket, e: Error): void;
      drain(s: BunSocket): void;
    };
  }): Promise<BunSocket>;
};
declare const process: { argv: string[] };

async function dial(port: number): Promise<ByteStreamPair> {
  let reader!: ReadableStreamDefaultController<Uint8Array>;
  let drained: (() => void) | undefined;
  let ended = false;
  const readable = new ReadableStream<Uint8Array>({ start: (c) => void (reader = c) });
  const sock = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data: (_s, d) => reader.enqueue(new Uint8Array(d)),
      close: () => {
        if (!ended) reader.close();
        ended = true;
      },
      error: (_s, e) => {
        if (!ended) reader.error(e);
        ended = true;
      },
      drain: () => {
        const d = drained;
        drained = undefined;
        d?.();
      },
    },
  });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let off = 0; ; ) {
        off += sock.write(chunk.subarray(off));
        if (off >= chunk.length) return;
        await new Promise<void>((r) => (drained = r));
      }
    },
    close: () => sock.end(),
  });
  return { readable, writable };
}

const p = JSON.parse(process.argv[2]!) as ScenarioParams;
const r = await runScenario(() => dial(p.port), p, `Bun ${Bun.version}`, nodeCryptoProvider);
console.log(JSON.stringify(r));
