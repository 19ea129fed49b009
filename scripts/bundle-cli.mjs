/**
 * The `pure-ssh` command as one file: dist/node/cli-bundle.cjs, built by `npm run build` after tsc
 * from tsc's own output (dist/node/cli.js and what it imports, @noble/* and pako included), so
 * the bundle runs exactly the code the tests run, plus a second file for the modules it loads on
 * first use (dist/node/cli-lazy.cjs, see LAZY_MODULES). package.json's `bin.pure-ssh` is
 * dist/node/cli-bin.cjs (src/node/cli-bin.cts), which runs these files with V8's code cache.
 * The other two commands are bundled the same way ({@link BUNDLES}): `pure-ssh-check`
 * (dist/node/check-cli.js -> check-bundle.cjs, bin check-bin.cjs) and `pure-ssh-bench`
 * (bench-cli.js -> bench-bundle.cjs, bin bench-bin.cjs); the three share the lazy file.
 *
 * Why: Node loads ES modules one file at a time (resolve, stat, read, compile, link), and the
 * CLI's ~150 modules cost about 100 ms of CPU before the first packet. One file leaves only the
 * compile, which the code cache then skips. esbuild keeps the CLI's lazy `import()`s lazy (a
 * module is evaluated when first imported), so `-V` or `-G` still run almost nothing. Measured
 * in bench/README.md ("Start-up").
 *
 * CommonJS, because Node 20 can hand V8's code cache only to a classic script (`vm.Script`), not
 * to an ES module. So `import.meta.url` (the CLI finds package.json by it, for `-V`) becomes the
 * bundle's own URL, and `import('node:…')` becomes `require`. The bundle sits beside cli.js, so
 * `../../package.json` is the same file (and bench-cli's `./bench-load.js`, which it forks).
 * dist/node/cli.js, check-cli.js and bench-cli.js stay for the library and the tests.
 *
 * Usage: node scripts/bundle-cli.mjs  (from the package root; needs `tsc -p tsconfig.build.json` first)
 */
import { build, transform } from 'esbuild';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The commands bundled: tsc's entry point, its bundle, and its bin. The bin is src/node/cli-bin.cts
 * as tsc built it (dist/node/cli-bin.cjs), copied under the other names: it runs the bundle its
 * own file name names (`NAME-bin.cjs` runs `NAME-bundle.cjs`), so each command starts as cheaply
 * as `pure-ssh` and the bins stay one self-contained file each (only `node:` built-ins).
 */
const BUNDLES = [
  { entry: 'dist/node/cli.js', outfile: 'dist/node/cli-bundle.cjs', bin: 'dist/node/cli-bin.cjs' },
  { entry: 'dist/node/check-cli.js', outfile: 'dist/node/check-bundle.cjs', bin: 'dist/node/check-bin.cjs' },
  { entry: 'dist/node/bench-cli.js', outfile: 'dist/node/bench-bundle.cjs', bin: 'dist/node/bench-bin.cjs' },
];
const BIN_BUILT = 'dist/node/cli-bin.cjs';
for (const file of [...BUNDLES.map((b) => b.entry), BIN_BUILT]) {
  if (!existsSync(`${root}/${file}`)) {
    process.stderr.write(`bundle-cli: ${file} is missing: run tsc -p tsconfig.build.json first\n`);
    process.exit(1);
  }
}

/**
 * @noble modules that do real work when imported, deferred in the bundle until first used:
 * @noble/ciphers' AES builds its lookup tables (about 10 ms of CPU in a fresh process, even
 * when node:crypto's AES is the one used), ML-KEM its NTT tables, the NIST curves and
 * Curve25519 their fields (Ed25519 is then set up when a key file is read, after the connect;
 * X25519 not at all while node:crypto provides it).
 * Our modules import them statically (an ES module cannot import synchronously later, and the
 * sans-IO core is synchronous), so in the bundle each such import is answered by a stand-in
 * module whose exports load the real one on first call or property read. Every export of the
 * real module is stood in for (listed here at build time), so the bundle's code sees the same
 * names; a function is called (or constructed) through, an object is reached through a Proxy
 * (`get`, `has`).
 * Only our own imports go through the stand-in; noble's imports among its own files do not.
 *
 * The real modules, and whatever of their package only they import, are not in the bundle but in
 * a second file beside it, dist/node/cli-lazy.cjs ({@link LAZY_FILE}), which the stand-in
 * requires on first use (the bin compiles it with a code cache of its own): 0.42 MB of the 1.25 MB
 * the bundle was, which every start read, copied into a string and hashed although a tunnel with
 * node:crypto's X25519/Ed25519 never runs it (bench/results/startup.md, fifth pass).
 */
const LAZY_MODULES = [
  '@noble/ciphers/aes.js',
  '@noble/post-quantum/ml-kem.js',
  '@noble/curves/nist.js',
  '@noble/curves/ed25519.js',
  // Argon2 (and the BLAKE2 it imports): PuTTY v3 key files only.
  '@noble/hashes/argon2.js',
  // zlib in JavaScript: compression only (`-C`, `Compression yes`).
  'pako',
];

/** The second file, required by the stand-ins as `./cli-lazy.cjs` (the bundle's own directory). */
const LAZY_FILE = 'dist/node/cli-lazy.cjs';
const LAZY_REQUEST = './cli-lazy.cjs';

/** The stand-in's source for `spec` (see LAZY_MODULES). */
async function lazyModuleSource(spec) {
  const real = await import(spec);
  const lines = [
    `let real;`,
    `const load = () => (real ??= require(${JSON.stringify(LAZY_REQUEST)})(${JSON.stringify(spec)}));`,
    `const object = (name) => new Proxy(Object.create(null), {`,
    `  get: (_, key) => load()[name][key],`,
    `  has: (_, key) => key in load()[name],`,
    `});`,
  ];
  for (const [name, value] of Object.entries(real)) {
    if (name === 'default') continue;
    // A class export is constructed through, should one of ours ever `new` it.
    if (typeof value === 'function') lines.push(`export function ${name}(...args) { return new.target ? Reflect.construct(load().${name}, args) : load().${name}(...args); }`);
    else if (value !== null && typeof value === 'object') lines.push(`export const ${name} = object(${JSON.stringify(name)});`);
    else lines.push(`export const ${name} = ${JSON.stringify(value)};`);
  }
  return lines.join('\n');
}

const lazyNoble = {
  name: 'lazy-noble',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_MODULES.map((m) => m.replace(/[./]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => {
      if (args.namespace === 'lazy-noble' || /[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      return { path: args.path, namespace: 'lazy-noble' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-noble' }, async (args) => ({ contents: await lazyModuleSource(args.path), resolveDir: root, loader: 'js' }));
    b.onResolve({ filter: new RegExp(`^${LAZY_REQUEST.replace(/[./]/g, '\\$&')}$`) }, (args) => ({ path: args.path, external: true }));
  },
};

/** What all files share: CommonJS for Node 20.19, source maps to src/ (see below). */
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  // package.json "engines": node >= 20.19.
  target: 'node20.19',
  // tsc's source maps are followed back to src/*.ts for `node --enable-source-maps`; the
  // sources themselves are not copied in (src/ ships in the package).
  sourcemap: 'linked',
  sourcesContent: false,
  // Minifying was measured: no CPU saved at start-up (V8 pre-parses either way), stack traces
  // lost.
  minify: false,
  logLevel: 'warning',
};
for (const { entry, outfile } of BUNDLES) {
  await build({
    ...common,
    plugins: [lazyNoble],
    entryPoints: [entry],
    outfile,
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__pureSshBundleUrl' },
    // "use strict" first: tsc's ES modules are strict code, and a directive counts only at the top.
    banner: { js: '"use strict";\nvar __pureSshBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
}

/**
 * The bundle's code runs inside a function with CommonJS's parameters, and the file is one
 * expression that works both ways the bin runs it (src/node/cli-bin.cts): required by Node's
 * CommonJS loader (Node >= 22.1, its compile cache), where `module` is in scope, it calls that
 * function with the loader's own; compiled with vm.Script (Node 20, V8's code cache), where
 * there is no `module`, it is the function, which the bin calls. So the bin compiles the file's
 * text as it is read, without adding a wrapper around it: a string V8 would have to copy whole
 * into its heap (1.1 MB kept for the whole run) and whose original, freed, raised glibc's mmap
 * threshold (see cli-bin.cts). On the first line, so that no line of the source map moves.
 */
const WRAP_HEAD =
  '(function (main) { return typeof module === "object" && module !== null ? main.call(exports, exports, require, module, __filename, __dirname) : main; })' +
  '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';

/**
 * The lazy file: one function from a LAZY_MODULES name to that module's exports, each module
 * evaluated on its first request (esbuild wraps a required ES module in an init function).
 */
await build({
  ...common,
  stdin: {
    contents:
      'module.exports = function lazyModule(spec) {\n  switch (spec) {\n' +
      LAZY_MODULES.map((m) => `    case ${JSON.stringify(m)}: return require(${JSON.stringify(m)});\n`).join('') +
      '  }\n  throw new Error(`pure-ssh: ${spec} is not in ' + LAZY_FILE + '`);\n};\n',
    resolveDir: root,
    sourcefile: 'cli-lazy-entry.cjs',
    loader: 'js',
  },
  outfile: LAZY_FILE,
  banner: { js: '"use strict";' },
});

for (const file of [...BUNDLES.map((b) => b.outfile), LAZY_FILE]) await wrap(`${root}/${file}`);

for (const { bin } of BUNDLES) {
  if (bin === BIN_BUILT) continue;
  copyFileSync(`${root}/${BIN_BUILT}`, `${root}/${bin}`);
}

/** Rewrite the built `path` into the form the bin runs (see WRAP_HEAD) and ASCII ({@link asciiOnly}). */
async function wrap(path) {
  let text = readFileSync(path, 'utf8');
  // The entry's `#!/usr/bin/env node` line: the bundle is not run directly (its code is in a
  // function, where a hashbang is a syntax error).
  if (text.startsWith('#!')) text = text.slice(text.indexOf('\n') + 1);
  // The source map comment stays last.
  const mapComment = text.lastIndexOf('\n//# sourceMappingURL=');
  const [code, comment] = mapComment < 0 ? [text, ''] : [text.slice(0, mapComment), text.slice(mapComment)];
  writeFileSync(path, await asciiOnly(WRAP_HEAD + code + WRAP_TAIL + comment));
}

/**
 * The bundle as pure ASCII, so that Node reads it into a one-byte string: esbuild escapes
 * non-ASCII characters in code (its default `charset: 'ascii'`) but keeps them in comments (`§`,
 * `—`, `⋅` in our doc comments and noble's), and one such character makes the whole 0.9 MB
 * source a two-byte string: about 5 ms more to decode at every start, twice the memory, a slower
 * scan by V8. Each UTF-16 unit above 0x7f becomes `?`, which keeps every column of the source
 * map. Proof that only comments changed: esbuild's whitespace minifier (which drops comments)
 * gives the same output for both texts; the build fails otherwise.
 */
async function asciiOnly(source) {
  // eslint-disable-next-line no-control-regex
  const ascii = source.replace(/[^\x00-\x7f]/g, '?');
  if (ascii === source) return source;
  const strip = async (code) => (await transform(code, { minifyWhitespace: true, format: 'cjs', logLevel: 'silent' })).code;
  if ((await strip(ascii)) !== (await strip(source))) {
    process.stderr.write('bundle-cli: a non-ASCII character outside a comment; cannot make the bundle ASCII\n');
    process.exit(1);
  }
  return ascii;
}
