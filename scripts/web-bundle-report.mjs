/**
 * What the pure-ssh/web browser bundle is made of: for each input, its bytes in the minified
 * bundle (esbuild's metafile) and its marginal gzip cost (the bundle's gzip size minus that of the
 * bundle without the module's code; approximate, since the rest is then minified on its own).
 * Same build options as test/web-bundle.test.ts.
 *
 *   node scripts/web-bundle-report.mjs [--top N] [--json FILE]
 */
import { build, transform } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const top = Number(opt('--top', 40));
const entry = fileURLToPath(new URL('../src/web/index.ts', import.meta.url));
const common = { entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' };
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

const min = await build({ ...common, minify: true, metafile: true });
const code = min.outputFiles[0].contents;
const inOutput = Object.values(min.metafile.outputs)[0].inputs;

// Marginal gzip: the unminified bundle's per-module sections (esbuild heads each with `// path`).
const full = (await build({ ...common, minify: false })).outputFiles[0].text.replace(/\nexport \{[\s\S]*$/, '\n');
const lines = full.split('\n');
const marks = [];
lines.forEach((l, i) => /^\/\/ (src|\.\.?\/|node_modules)/.test(l) && marks.push([i, l.slice(3)]));
const gzMin = async (text) => gz((await transform(text, { minify: true, format: 'esm', target: 'es2022' })).code);
const all = await gzMin(full);
const marginal = {};
for (let k = 0; k < marks.length; k++) {
  const [s, name] = marks[k];
  const e = k + 1 < marks.length ? marks[k + 1][0] : lines.length;
  marginal[name] = all - (await gzMin(lines.slice(0, s).concat(lines.slice(e)).join('\n')));
}

const rows = Object.entries(inOutput)
  .map(([name, v]) => ({ name, minified: v.bytesInOutput, gzipMarginal: marginal[name] ?? 0 }))
  .sort((a, b) => b.gzipMarginal - a.gzipMarginal);
console.log(`pure-ssh/web: ${(code.length / 1024).toFixed(2)} KiB minified, ${(gz(code) / 1024).toFixed(2)} KiB gzip`);
console.log('  gzip(marg)  minified  input');
for (const r of rows.slice(0, top)) console.log(`${String(r.gzipMarginal).padStart(12)}  ${String(r.minified).padStart(8)}  ${r.name}`);
const json = opt('--json');
if (json) writeFileSync(json, JSON.stringify({ minified: code.length, gzip: gz(code), modules: rows }, null, 1));
