/**
 * The `pure-ssh` command as one file: dist/node/cli-bundle.js, built by `npm run build` after tsc
 * from tsc's own output (dist/node/cli.js and what it imports, @noble/* and pako included), so
 * the bundle runs exactly the code the tests run. It is what package.json's `bin.pure-ssh`
 * points to.
 *
 * Why: Node loads ES modules one file at a time (resolve, stat, read, compile, link), and the
 * CLI's ~150 modules cost about 100 ms of CPU before the first packet. One file leaves only the
 * compile, and esbuild keeps the CLI's dynamic `import()`s lazy (a module is evaluated when first
 * imported), so `-V` or `-G` still load almost nothing. Measured in bench/README.md ("Start-up").
 *
 * The bundle sits beside cli.js so that its `new URL('../../package.json', import.meta.url)`
 * (the version `-V` prints) finds the same file. dist/node/cli.js stays for the library's users
 * and for the tests.
 *
 * Usage: node scripts/bundle-cli.mjs  (from the package root; needs `tsc -p tsconfig.build.json` first)
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = 'dist/node/cli.js';
if (!existsSync(`${root}/${entry}`)) {
  process.stderr.write(`bundle-cli: ${entry} is missing: run tsc -p tsconfig.build.json first\n`);
  process.exit(1);
}

await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile: 'dist/node/cli-bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  // package.json "engines": node >= 20.19.
  target: 'node20.19',
  // tsc's source maps are followed back to src/*.ts for `node --enable-source-maps`.
  sourcemap: 'linked',
  // Minifying was measured: no CPU saved at start-up (V8 pre-parses either way), stack traces
  // lost.
  minify: false,
  logLevel: 'warning',
});
