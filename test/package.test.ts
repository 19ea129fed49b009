/**
 * Issues 8.10-8.12: the package as a user gets it. `npm pack` (LICENSE included), installed
 * offline into an empty project, its `pure-ssh` bin run, and both entry points loaded with
 * `import` and with `require` (Node >= 20.19 requires ES modules; nothing in the graph uses
 * top-level await), types checked for both by TypeScript (module nodenext). Needs `npm run
 * build` first (package.json's "test" script does it); the runtime dependencies come from
 * this checkout's node_modules, packed, so no registry is needed.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import module from 'node:module';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashStream, freePort, startSourceServer } from './harness/net.js';
import { cliEnv, describeInteropWithHome, itWithHome } from './harness/home.js';
import { startSshd } from './harness/sshd.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  exports: Record<string, unknown>;
  typesVersions: Record<string, Record<string, string[]>>;
};

async function run(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileP(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024, env });
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
  let installOutput: { stdout: string; stderr: string };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    work = await mkdtemp(join(tmpdir(), 'pure-ssh-pack-'));
    project = join(work, 'consumer');
    // --ignore-scripts: dist/ is already built; "prepack" would build it again.
    // Copies of the dependencies, not links: an install must never write into this checkout.
    const [ours, deps] = await Promise.all([
      run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT),
      run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...runtimeDependencyDirs()], work),
    ]);
    packed = (JSON.parse(ours.stdout) as (typeof packed)[])[0]!;
    const depTarballs = (JSON.parse(deps.stdout) as { filename: string }[]).map((d) => join(work, d.filename));
    await run('mkdir', [project], work);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // Scripts allowed, as a user installs: npm 11 warns about any install-time script it finds.
    installOutput = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', ...depTarballs, join(work, packed.filename)], project);
  }, 60_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships LICENSE (MIT, the pure-ssh developers), README, package.json and dist; no tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/core.js', 'dist/core.d.ts', 'dist/node/cli.js', 'dist/node/cli-bin.cjs', 'dist/node/cli-bundle.cjs']) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => /^(test|node_modules|dist-tools|bench)\//.test(p))).toEqual([]);
    expect(pkg.license).toBe('MIT');
    const license = readFileSync(join(project, 'node_modules', pkg.name, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the pure-ssh developers\n/);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  it('has no install-time scripts: installing it runs nothing and npm warns of nothing', () => {
    // npm's install scripts (docs/cli/using-npm/scripts "npm install"): these run, or with npm
    // 11 are warned about, in a user's install. The build runs at `npm pack` (prepack) and, in a
    // clone, at `npm ci` (the "dependencies" script runs only for the project being installed).
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', pkg.name, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const script of ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare']) {
      expect(installed.scripts?.[script], script).toBeUndefined();
    }
    expect(installed.scripts?.prepack).toBe('npm run build');
    expect(installOutput.stderr).not.toMatch(/install.scripts/i);
    expect(existsSync(join(project, 'node_modules', pkg.name, 'dist-tools'))).toBe(false);
  });

  // The bins under a temporary passwd home and $HOME of their own (test/harness/home.ts); not
  // `work`/home, whose .cache 'the installed bin against sshd' expects untouched.
  itWithHome('the installed bin runs: pure-ssh -V', async () => {
    const { stderr } = await run(join(project, 'node_modules', '.bin', 'pure-ssh'), ['-V'], project, cliEnv(join(work, 'home-bins')));
    expect(stderr).toBe(`pure-ssh_${pkg.version}\n`);
  });

  itWithHome('every bin of package.json is shipped, with what it loads, and runs: NAME -V', async () => {
    expect(Object.keys(pkg.bin).sort()).toEqual(['pure-ssh', 'pure-ssh-bench', 'pure-ssh-check']);
    const paths = packed.files.map((f) => f.path);
    // pure-ssh-bench forks its load generator from beside itself.
    for (const p of [...Object.values(pkg.bin).map((b) => b.replace(/^\.\//, '')), 'dist/node/bench-load.js']) expect(paths).toContain(p);
    for (const name of Object.keys(pkg.bin)) {
      const { stderr } = await run(join(project, 'node_modules', '.bin', name), ['-V'], project, cliEnv(join(work, 'home-bins')));
      expect(stderr, name).toBe(`${name}_${pkg.version}\n`);
    }
    const { stdout } = await run(join(project, 'node_modules', '.bin', 'pure-ssh-bench'), ['--help'], project, cliEnv(join(work, 'home-bins')));
    expect(stdout).toMatch(/^usage: pure-ssh-bench /);
  }, 30_000);

  it('the bin (dist/node/cli-bin.cjs) runs the single-file bundle; both use nothing but node: built-ins', () => {
    const bin = realpathSync(join(project, 'node_modules', '.bin', 'pure-ssh'));
    const dist = join(project, 'node_modules', pkg.name, 'dist', 'node');
    expect(bin).toBe(realpathSync(join(dist, 'cli-bin.cjs')));
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // The bin is CommonJS too (no ES module loader before the first line runs).
    const imports = [...readFileSync(bin, 'utf8').matchAll(/\brequire\(\s*([^)]*?)\s*\)/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((s) => !/^"node:[a-z_/]+"$/.test(s!))).toEqual([]);
    // The bundle is CommonJS (for V8's code cache): every module it loads comes through require(),
    // node: built-ins and its second file, the modules it loads on first use (cli-lazy.cjs).
    const bundle = readFileSync(join(dist, 'cli-bundle.cjs'), 'utf8');
    const required = [...bundle.matchAll(/\brequire\(\s*([^)]*?)\s*\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((s) => !/^"node:[a-z0-9_/]+"$/.test(s!))).toEqual(required.filter((s) => s === '"./cli-lazy.cjs"'));
    expect(required).toContain('"./cli-lazy.cjs"');
    expect(bundle).not.toMatch(/\bimport\s*\(/);
    const lazy = readFileSync(join(dist, 'cli-lazy.cjs'), 'utf8');
    expect([...lazy.matchAll(/\brequire\(\s*([^)]*?)\s*\)/g)].map((m) => m[1]).filter((s) => !/^"node:[a-z0-9_/]+"$/.test(s!))).toEqual([]);
    expect(lazy).not.toMatch(/\bimport\s*\(/);
  });

  describeInteropWithHome('the installed bin against sshd', () => {
    /**
     * Runs the installed `pure-ssh` with its code cache in `cache`, `work`/home as its passwd home
     * and $HOME (test/harness/home.ts), `env` added; resolves with stderr once `until` is printed,
     * or at exit.
     */
    function bin(args: string[], cache: string, until?: string, env: NodeJS.ProcessEnv = {}): Promise<{ stderr: string; stop(): Promise<void> }> {
      const child = spawn(join(project, 'node_modules', '.bin', 'pure-ssh'), args, {
        cwd: project,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: cliEnv(join(work, 'home'), { XDG_CACHE_HOME: cache, ...env }),
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      };
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`pure-ssh: nothing after 20 s:\n${stderr}`));
        }, 20_000);
        child.stderr.on('data', (d: string) => {
          stderr += d;
          if (until !== undefined && stderr.includes(until)) {
            clearTimeout(timer);
            resolve({ stderr, stop });
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          if (until === undefined) resolve({ stderr, stop });
          else reject(new Error(`pure-ssh exited (${code}):\n${stderr}`));
        });
      });
    }
    const hasNodeCompileCache = typeof (module as unknown as { enableCompileCache?: unknown }).enableCompileCache === 'function';
    /** The bin's cache file (one per Node version and bundle: a prefix of the bundle's sha256 in its name). */
    const v8cache = (cache: string) => {
      const dir = join(cache, 'pure-ssh');
      const files = readdirSync(dir).filter((f) => f.startsWith(`cli-${process.version}-${process.arch}-`) && f.endsWith('.v8cache'));
      expect(files).toHaveLength(1);
      return join(dir, files[0]!);
    };

    it('pure-ssh -N -L carries a transfer intact (sha256), with its code cache written, reused, and rewritten when corrupt', async () => {
      const [sshd, source, lport] = await Promise.all([startSshd(), startSourceServer(4 * 1024 * 1024, 11), freePort()]);
      const cache = join(work, 'cache');
      // prettier-ignore
      const args = [
        '-N', '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath,
        '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        '-L', `127.0.0.1:${lport}:127.0.0.1:${source.port}`, 'root@127.0.0.1',
      ];
      let written = 0;
      try {
        // Twice: the first run compiles and writes the cache, the second starts from it.
        for (let round = 0; round < 2; round++) {
          const run = await bin(args, cache, `Local forwarding listening on 127.0.0.1 port ${lport}.`);
          try {
            const got = await hashStream(net.connect({ host: '127.0.0.1', port: lport }));
            expect(got.bytes).toBe(source.bytes);
            expect(got.sha256).toBe(source.sha256);
          } finally {
            await run.stop();
          }
          expect(statSync(join(cache, 'pure-ssh')).mode & 0o777).toBe(0o700);
          if (hasNodeCompileCache) expect(existsSync(join(cache, 'pure-ssh', 'node-compile-cache'))).toBe(true);
          else {
            const st = statSync(v8cache(cache));
            expect(st.mode & 0o777).toBe(0o600);
            // The second run used the first one's cache (accepted, complete): nothing rewritten.
            if (round === 0) written = st.mtimeMs;
            else expect(st.mtimeMs).toBe(written);
          }
        }
      } finally {
        await Promise.all([sshd.stop(), source.close()]);
      }
      if (hasNodeCompileCache) return;
      // A corrupt cache file (one payload byte flipped) is not used: the run works and replaces it.
      const good = readFileSync(v8cache(cache));
      const bad = Buffer.from(good);
      bad[bad.length - 100]! ^= 0xff;
      writeFileSync(v8cache(cache), bad);
      expect((await bin(['-V'], cache)).stderr).toBe(`pure-ssh_${pkg.version}\n`);
      expect(readFileSync(v8cache(cache)).equals(bad)).toBe(false);
      // One others may write is not used either (and is replaced by a private one).
      chmodSync(v8cache(cache), 0o666);
      expect((await bin(['-V'], cache)).stderr).toBe(`pure-ssh_${pkg.version}\n`);
      expect(statSync(v8cache(cache)).mode & 0o777).toBe(0o600);
    }, 90_000);

    it('the bundle loads deferred modules on first use: pure AES-GCM, AES-CTR + UMAC, NIST ECDH, zlib (scripts/bundle-cli.mjs LAZY_MODULES)', async () => {
      const [sshd, source] = await Promise.all([startSshd(), startSourceServer(256 * 1024, 12)]);
      const cache = join(work, 'cache-lazy');
      /** The one code cache of the lazy file: its name and modification time. */
      const lazyCacheStat = () => {
        const lazyCaches = readdirSync(join(cache, 'pure-ssh')).filter((f) => f.startsWith(`lazy-${process.version}-${process.arch}-`) && f.endsWith('.v8cache'));
        expect(lazyCaches).toHaveLength(1);
        return { name: lazyCaches[0]!, mtimeMs: statSync(join(cache, 'pure-ssh', lazyCaches[0]!)).mtimeMs };
      };
      try {
        // prettier-ignore
        for (const [round, algs] of [
          ['-o', 'KexAlgorithms=ecdh-sha2-nistp256', '-c', 'aes128-gcm@openssh.com'],
          ['-o', 'KexAlgorithms=ecdh-sha2-nistp384', '-c', 'aes256-ctr', '-m', 'umac-64-etm@openssh.com'],
          // pako (zlib), deferred too.
          ['-o', 'KexAlgorithms=ecdh-sha2-nistp256', '-c', 'aes128-ctr', '-m', 'hmac-sha1', '-C'],
          // The same again: the lazy file's cache, made by the runs before, must now be accepted
          // (compiled under the flags it was made with), so nothing is rewritten.
          ['-o', 'KexAlgorithms=ecdh-sha2-nistp256', '-c', 'aes128-ctr', '-m', 'hmac-sha1', '-C'],
        ].entries()) {
          const last = round === 3;
          const before = last && !hasNodeCompileCache ? lazyCacheStat() : undefined;
          const lport = await freePort();
          // prettier-ignore
          const args = [
            '-N', '-v', '-F', 'none', '-p', String(sshd.port), '-i', sshd.clientKeyPath,
            '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', ...algs,
            '-L', `127.0.0.1:${lport}:127.0.0.1:${source.port}`, 'root@127.0.0.1',
          ];
          const run = await bin(args, cache, `Local forwarding listening on 127.0.0.1 port ${lport}.`, { PURE_SSH_CRYPTO: 'pure' });
          try {
            expect(run.stderr).toContain('crypto provider: pure');
            expect(run.stderr).toContain(`kex: algorithm: ${algs[1]!.split('=')[1]}\r\n`);
            if (algs.includes('-C')) expect(run.stderr).toContain('kex: server->client cipher: aes128-ctr MAC: hmac-sha1 compression: zlib@openssh.com\r\n');
            const got = await hashStream(net.connect({ host: '127.0.0.1', port: lport }));
            expect(got.sha256).toBe(source.sha256);
          } finally {
            await run.stop();
          }
          if (before !== undefined) {
            const after = lazyCacheStat();
            expect(after.name).toBe(before.name);
            expect(after.mtimeMs, 'the lazy file\'s code cache was rewritten: rejected or partial').toBe(before.mtimeMs);
          }
        }
        // The deferred modules live in the bundle's second file, with a code cache of its own.
        if (!hasNodeCompileCache) lazyCacheStat();
      } finally {
        await Promise.all([sshd.stop(), source.close()]);
      }
    }, 60_000);

    it('PURE_SSH_CODE_CACHE=off runs the bundle through Node\'s CommonJS loader (the path Node >= 22.1 takes), no cache written', async () => {
      const cache = join(work, 'cache-off');
      expect((await bin(['-V'], cache, undefined, { PURE_SSH_CODE_CACHE: 'off' })).stderr).toBe(`pure-ssh_${pkg.version}\n`);
      expect(existsSync(join(cache, 'pure-ssh'))).toBe(false);
    });

    it('a FIFO where the cache file goes does not hold the start-up: it is not read, and a file replaces it', async () => {
      const cache = join(work, 'cache-fifo');
      expect((await bin(['-V'], cache)).stderr).toBe(`pure-ssh_${pkg.version}\n`);
      const file = v8cache(cache);
      rmSync(file);
      execFileSync('mkfifo', ['-m', '600', file]);
      expect((await bin(['-V'], cache)).stderr).toBe(`pure-ssh_${pkg.version}\n`);
    });

    it('runs when the cache directory cannot be created (XDG_CACHE_HOME is a file)', async () => {
      const notADir = join(work, 'not-a-dir');
      await writeFile(notADir, 'x');
      expect((await bin(['-V'], notADir)).stderr).toBe(`pure-ssh_${pkg.version}\n`);
    });

    it('runs when mkdir under XDG_CACHE_HOME fails with ENOENT (/proc/self: Node\'s recursive mkdir never returned)', async () => {
      expect((await bin(['-V'], '/proc/self')).stderr).toBe(`pure-ssh_${pkg.version}\n`);
    }, 30_000);

    it('ignores a relative XDG_CACHE_HOME (XDG Base Directory Specification): nothing written under the working directory; $HOME/.cache, not the passwd home\'s', async () => {
      const home = join(work, 'home-rel');
      await mkdir(home);
      // The XDG default is $HOME/.cache, so $HOME is set apart from the passwd home (bin's `work`/home).
      expect((await bin(['-V'], 'relative-cache', undefined, { HOME: home })).stderr).toBe(`pure-ssh_${pkg.version}\n`);
      expect(existsSync(join(project, 'relative-cache'))).toBe(false);
      expect(statSync(join(home, '.cache', 'pure-ssh')).mode & 0o777).toBe(0o700);
      expect(existsSync(join(work, 'home', '.cache'))).toBe(false);
    }, 30_000);
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

  it('TypeScript finds every subpath\'s types from a CommonJS project with module commonjs (moduleResolution node10: typesVersions)', async () => {
    // break25 F1: node10 ignores "exports": without typesVersions, 'pure-ssh/web' was TS2307.
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json');
    expect(Object.keys(pkg.typesVersions['*']!).map((k) => `./${k}`)).toEqual(subpaths);
    const dir = join(project, 'cjs10');
    await mkdir(dir);
    await writeFile(
      join(dir, 'a.ts'),
      [
        "import { connect, type ConnectOptions } from 'pure-ssh';",
        "import { ClientCore } from 'pure-ssh/core';",
        "import { connect as webConnect, type WebConnectOptions } from 'pure-ssh/web';",
        "import { nodeCryptoProvider } from 'pure-ssh/node-crypto';",
        "import { extraKeyDecryption } from 'pure-ssh/key-decryption';",
        "import { zlibCompression } from 'pure-ssh/compress-zlib';",
        "const o: ConnectOptions = { host: 'h', username: 'u', knownHosts: '/dev/null' };",
        "const w: Partial<WebConnectOptions> = { host: 'h', extraKeyDecryption, crypto: nodeCryptoProvider, compression: zlibCompression };",
        'export const all = [connect, ClientCore, webConnect, o, w] as const;',
        '// @ts-expect-error: typed, not any',
        "export const bad: WebConnectOptions['host'] = 1;",
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          moduleResolution: 'node10',
          target: 'es2022',
          lib: ['es2022', 'dom'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['a.ts'],
      }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
  }, 30_000);
});
