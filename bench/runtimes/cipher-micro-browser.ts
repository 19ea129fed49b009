/** The cipher microbenchmark in a page (pure provider only: a browser has no node:crypto). */
import { runMicro } from './cipher-micro.js';

(globalThis as { runMicro?: unknown }).runMicro = () => runMicro();
