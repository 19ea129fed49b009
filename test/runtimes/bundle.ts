/** esbuild bundles of the scenario for the runtimes that cannot load TypeScript sources. */
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

/** Bundle `entry` (relative to test/runtimes) into one ESM (or IIFE) file's text. */
export async function bundle(entry: string, extra: BuildOptions = {}): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    ...extra,
  });
  return result.outputFiles![0]!.text;
}
