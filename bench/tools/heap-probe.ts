/**
 * Loaded into a Node tunnel process with `node --import <this file's URL>?out=<path>` (see
 * heapProbeArgs in ../proc-stats.ts): every 20 ms it appends one line to <path> with
 * `Date.now() rss heapTotal heapUsed external arrayBuffers` from process.memoryUsage() (bytes),
 * so the bench can report the V8 heap and the ArrayBuffer memory (socket reads, packets,
 * cipher output) apart from the RSS the kernel shows. The timer is unref'd: it never keeps the
 * process alive, and it costs one small write per sample.
 */
import { appendFileSync } from 'node:fs';

const out = new URL(import.meta.url).searchParams.get('out');
if (out) {
  const sample = (): void => {
    const m = process.memoryUsage();
    appendFileSync(out, `${Date.now()} ${m.rss} ${m.heapTotal} ${m.heapUsed} ${m.external} ${m.arrayBuffers}\n`);
  };
  sample();
  setInterval(sample, 20).unref();
}
