/**
 * Issues 8.10-8.12: the package as a user gets it. `npm pack` (LICENSE included), installed
 * offline into an empty project, its `pure-ssh` bin run, and both entry points loaded with
 * `import` and with `require` (Node >= 20.19 requires ES modules; nothing in the graph uses
 * top-level await), types checked for both by TypeScript (module nodenext). Needs `npm run
 * build` first (package.json's "test" script does it); the runtime dependencies come from
 * this checkout's node_modules, packed, so no registry is needed.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashStream, freePort, startSourceServer } from './harness/net.js';
import { describeInterop, startSshd } from './harness/sshd.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
};

async function run(cmd: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileP(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Installed directories of the runtime dependencies and of theirs, from this checkout. */
function runtimeDependencyDirs(): string[] {
  const dirs = new Set<string>();
  const visit = (deps: Record<string, string> | undefined) => {
    for (const name of Object.keys(deps ?? {})) {
      const dir = join(ROOT, 'node_modules', name);
      if (dirs.has(dir)) continue;
      if (!existsSync(join(dir, 'package.json'))) throw new Error(`${name} is not installed in ${ROOT}node_modules: run npm ci`);
      dirs.add(dir);
      visit((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies);
    }
  };
  visit(pkg.dependencies);
  return [...dirs];
}

describe('the packed package (issues 8.10, 8.11, 8.12)', () => {
  let work: string;
  let project: string;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    work = await mkdtemp(join(tmpdir(), 'pure-ssh-pack-'));
    project = join(work, 'consumer');
    // --ignore-scripts: dist/ is already built; "prepare" would build it again.
    // Copies of the dependencies, not links: an install must never write into this checkout.
    const [ours, deps] = await Promise.all([
      run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT),
      run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...runtimeDependencyDirs()], work),
    ]);
    packed = (JSON.parse(ours.stdout) as (typeof packed)[])[0]!;
    const depTarballs = (JSON.parse(deps.stdout) as { filename: string }[]).map((d) => join(work, d.filename));
    await run('mkdir', [project], work);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    await run(
      'npm',
      ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...depTarballs, join(work, packed.filename)],
      project,
    );
  }, 60_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships LICENSE (MIT, the pure-ssh developers), README, package.json and dist; no tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/core.js', 'dist/core.d.ts', 'dist/node/cli.js', 'dist/node/cli-bundle.js']) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => /^(test|node_modules|dist-tools|bench)\//.test(p))).toEqual([]);
    expect(pkg.license).toBe('MIT');
    const license = readFileSync(join(project, 'node_modules', pkg.name, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the pure-ssh developers\n/);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it('the installed bin runs: pure-ssh -V', async () => {
    const { stderr } = await run(join(project, 'node_modules', '.bin', 'pure-ssh'), ['-V'], project);
    expect(stderr).toBe(`pure-ssh_${pkg.version}\n`);
  });

  it('the bin is the single-file bundle (dist/node/cli-bundle.js): nothing imported but node: built-ins', () => {
    const bin = realpathSync(join(project, 'node_modules', '.bin', 'pure-ssh'));
    expect(bin).toBe(realpathSync(join(project, 'node_modules', pkg.name, 'dist', 'node', 'cli-bundle.js')));
    const text = readFileSync(bin, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    // Static and dynamic imports alike: only node:* may be left for the runtime to resolve.
    const patterns = [/^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm, /^import\s*["']([^"']+)["']/gm, /\bimport\(\s*["']([^"']+)["']\s*\)/g];
    const specifiers = patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]));
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s!.startsWith('node:'))).toEqual([]);
  });

  describeInterop('the installed bin against sshd', () => {
    it('pure-ssh -N -L carries a transfer intact (sha256)', async () => {
      const [sshd, source, lport] = await Promise.all([startSshd(), startSourceServer(4 * 1024 * 1024, 11), freePort()]);
      // prettier-ignore
      const args = [
        '-N', '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath,
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        '-L', `127.0.0.1:${lport}:127.0.0.1:${source.port}`, 'root@127.0.0.1',
      ];
      const child = spawn(join(project, 'node_modules', '.bin', 'pure-ssh'), args, { cwd: project, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listener after 20 s:\n${stderr}`)), 20_000);
          const check = () => {
            if (stderr.includes(`Local forwarding listening on 127.0.0.1 port ${lport}.`)) {
              clearTimeout(timer);
              resolve();
            }
          };
          child.stderr.on('data', check);
          child.once('exit', (code) => reject(new Error(`pure-ssh exited (${code}):\n${stderr}`)));
        });
        const got = await hashStream(net.connect({ host: '127.0.0.1', port: lport }));
        expect(got.bytes).toBe(source.bytes);
        expect(got.sha256).toBe(source.sha256);
      } finally {
        child.kill('SIGKILL');
        await Promise.all([sshd.stop(), source.close()]);
      }
    }, 60_000);
  });

  it('import works for pure-ssh and pure-ssh/core', async () => {
    const code = [
      "import { connect, KeyPermissionsError } from 'pure-ssh';",
      "import { ClientCore } from 'pure-ssh/core';",
      'console.log(typeof connect, typeof KeyPermissionsError, typeof ClientCore);',
    ].join('\n');
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', code], project);
    expect(stdout).toBe('function function function\n');
    expect(stderr).toBe('');
  });

  it('require works for pure-ssh and pure-ssh/core (no ERR_PACKAGE_PATH_NOT_EXPORTED)', async () => {
    const code = [
      "const { connect, SshError } = require('pure-ssh');",
      "const core = require('pure-ssh/core');",
      "const same = require('pure-ssh').SshError === core.SshError;",
      'console.log(typeof connect, typeof SshError, typeof core.ClientCore, same);',
    ].join('\n');
    const { stdout, stderr } = await run(process.execPath, ['--input-type=commonjs', '-e', code], project);
    expect(stdout).toBe('function function function true\n');
    expect(stderr).not.toMatch(/ERR_|Error/);
  });

  it('TypeScript finds the types from an ES module and from a CommonJS module (module nodenext)', async () => {
    await writeFile(
      join(project, 'esm.mts'),
      [
        "import { connect, type ConnectOptions } from 'pure-ssh';",
        "import { ClientCore } from 'pure-ssh/core';",
        "const o: ConnectOptions = { host: 'h', username: 'u', knownHosts: '/dev/null', allowUnprotectedKeyFiles: false };",
        'export const all = [connect, ClientCore, o] as const;',
        '// @ts-expect-error: typed, not any',
        'export const bad: ConnectOptions = { host: 1 };',
      ].join('\n'),
    );
    await writeFile(
      join(project, 'cjs.cts'),
      [
        "import ssh = require('pure-ssh');",
        "import core = require('pure-ssh/core');",
        "const o: ssh.ConnectOptions = { host: 'h', username: 'u', knownHosts: '/dev/null' };",
        'export const all = [ssh.connect, core.ClientCore, o] as const;',
        '// @ts-expect-error: typed, not any',
        'export const bad: ssh.ConnectOptions = { host: 1 };',
      ].join('\n'),
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  }, 30_000);
});
