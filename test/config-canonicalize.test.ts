/**
 * ssh_config(5) CanonicalizeHostname, CanonicalDomains, CanonicalizeFallbackLocal,
 * CanonicalizeMaxDots and CanonicalizePermittedCNAMEs, and the second reading of the files
 * (`Match canonical`, `Match final`): the pure decisions with a table of names, then the built
 * CLI's `-G` against OpenSSH's `ssh -G` on a test host with its own DNS server (a mount and
 * network namespace made by unshare(1), see test/support/dns-netns.mjs), so both resolve
 * through the real getaddrinfo(3). Needs `npm run build`, /usr/bin/ssh and unshare (CI=true:
 * missing ones fail).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  canonicalizeHost,
  followCname,
  runCanonicalizeSync,
  validDomain,
  type CanonicalizeOptions,
  type HostLookupRequest,
} from '../src/config/canonicalize.js';
import { ConfigError, resolveCommandLine, resolveCommandLineAsync, type CliEnvironment, type ResolvedConfig } from '../src/config/cli-args.js';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { cliEnv, describeWithHome } from './harness/home.js';
import { expectedDump } from './support/ssh-dump.js';

/** A resolver that knows `names` (name without trailing dot → CNAME target or ''), and logs every request. */
function table(names: Record<string, string>) {
  const asked: HostLookupRequest[] = [];
  const lookup = (r: HostLookupRequest) => {
    asked.push(r);
    const n = r.name.replace(/\.$/, '');
    if (!(n in names)) return null;
    return { canonicalName: r.wantCname && names[n] !== '' ? names[n] : undefined };
  };
  return { asked, lookup };
}

const base: CanonicalizeOptions = { mode: 'yes', domains: ['a.example', 'b.example'], fallbackLocal: true, maxDots: 1, permittedCnames: [] };

function canon(host: string, o: Partial<CanonicalizeOptions>, names: Record<string, string>, direct = true) {
  const t = table(names);
  const notes: string[] = [];
  const r = runCanonicalizeSync(canonicalizeHost(host, { ...base, ...o }, direct, (m) => notes.push(m)), t.lookup);
  return { ...r, asked: t.asked.map((a) => a.name), notes };
}

describe('canonicalization decisions (ssh.c resolve_canonicalize, check_follow_cname)', () => {
  it('tries HOST.DOMAIN. for each CanonicalDomains entry in order; the first that resolves wins', () => {
    const r = canon('web', {}, { 'web.b.example': '', 'web.a.example.x': '' });
    expect(r).toMatchObject({ host: 'web.b.example', resolved: true, asked: ['web.a.example.', 'web.b.example.'] });
    expect(r.notes).toContain('Canonicalized hostname "web" => "web.b.example"');
  });

  it('CanonicalizeMaxDots: a name with more dots is left alone, with no look-up', () => {
    expect(canon('web.dc1', {}, { 'web.dc1.a.example': '' })).toMatchObject({ host: 'web.dc1.a.example', resolved: true });
    const r = canon('web.dc1', { maxDots: 0 }, { 'web.dc1.a.example': '' });
    expect(r).toMatchObject({ host: 'web.dc1', resolved: false, asked: [] });
    expect(r.notes).toContain('resolve_canonicalize: not canonicalizing hostname "web.dc1" (max dots 0)');
  });

  it('`none` ends the domain list; a name ending in a dot is resolved as it is', () => {
    expect(canon('web', { domains: ['none'] }, { 'web.a.example': '' })).toMatchObject({ host: 'web', asked: [] });
    expect(canon('web.a.example.', { maxDots: 0 }, { 'web.a.example': '' })).toMatchObject({
      host: 'web.a.example',
      asked: ['web.a.example.'],
    });
  });

  it('nothing found: the name stays (CanonicalizeFallbackLocal yes) or ssh exits with its words', () => {
    expect(canon('nowhere', {}, {})).toMatchObject({ host: 'nowhere', resolved: false });
    const err = (() => {
      try {
        canon('nowhere', { fallbackLocal: false }, {});
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('ssh: Could not resolve host "nowhere"');
  });

  it('yes applies to direct connections only; always also to proxied ones', () => {
    expect(canon('web', {}, { 'web.a.example': '' }, false)).toMatchObject({ host: 'web', asked: [] });
    expect(canon('web', { mode: 'always' }, { 'web.a.example': '' }, false)).toMatchObject({ host: 'web.a.example' });
  });

  it('CNAMEs are followed only when a CanonicalizePermittedCNAMEs rule allows source and target', () => {
    const names = { 'www.a.example': 'lb.cdn.example' };
    expect(canon('www', {}, names).host).toBe('www.a.example');
    const rules = [{ source: '*.a.example', target: '*.cdn.example' }];
    const r = canon('www', { permittedCnames: rules }, names);
    expect(r.host).toBe('lb.cdn.example');
    expect(r.notes).toContain('Canonicalized DNS aliased hostname "www.a.example" => "lb.cdn.example"');
    expect(canon('www', { permittedCnames: [{ source: '*.b.example', target: '*' }] }, names).host).toBe('www.a.example');
    expect(canon('www', { permittedCnames: [{ source: '*', target: '!*.cdn.example,*' }] }, names).host).toBe('www.a.example');
    expect(followCname(true, 'x', 'X.TARGET', { ...base, permittedCnames: [{ source: '*', target: '*' }] })).toBe('x.target');
  });

  it('with CanonicalizeHostname no, PermittedCNAMEs still follow the bare name of a direct connection', () => {
    // ssh.c main(): the CNAME step runs, but check_follow_cname refuses with canonicalization off.
    const rules = [{ source: '*', target: '*' }];
    expect(canon('alias', { mode: 'no', permittedCnames: rules }, { alias: 'real.example' })).toMatchObject({
      host: 'alias',
      resolved: true,
      asked: ['alias'],
    });
    // ... and a direct name that does not resolve at all ends the run, as ssh's resolve_host does.
    expect(() => canon('gone', { mode: 'no', permittedCnames: rules }, {})).toThrow(
      'ssh: Could not resolve hostname gone: Name or service not known',
    );
    expect(canon('gone', { mode: 'no', permittedCnames: rules }, {}, false)).toMatchObject({ host: 'gone', asked: [] });
  });

  it('CanonicalDomains entries are checked as misc.c valid_domain does', () => {
    expect(validDomain('Corp.Example.')).toEqual({ domain: 'corp.example' });
    expect(validDomain('-bad')).toEqual({ error: 'domain name "-bad" starts with invalid character' });
    expect(validDomain('a..b')).toEqual({ error: 'domain name "a..b" contains consecutive separators' });
    expect(validDomain('a b')).toEqual({ error: 'domain name "a b" contains invalid characters' });
    // `ssh -G -o CanonicalDomains=_x h`: "domain name "_x" starts with invalid character".
    expect(validDomain('_x')).toEqual({ error: 'domain name "_x" starts with invalid character' });
    expect(validDomain('a_b')).toEqual({ domain: 'a_b' });
  });
});

function env(files: Record<string, string>, names: Record<string, string>): CliEnvironment & { asked: HostLookupRequest[] } {
  const t = table(names);
  return {
    env: {},
    home: '/home/joe',
    localUser: 'joe',
    fs: { readFile: (p) => files[p] },
    lookupHost: t.lookup,
    asked: t.asked,
  };
}

function resolve(argv: string[], cfg: string, names: Record<string, string> = {}): ResolvedConfig {
  const out = resolveCommandLine(['-N', '-F', '/cfg', ...argv], env({ '/cfg': cfg }, names));
  if (out.kind !== 'run') throw new Error(`expected run, got ${out.kind}`);
  return out.config;
}

describe('the second reading of the files (ssh_config(5) Match canonical / final)', () => {
  const head = 'CanonicalizeHostname yes\nCanonicalDomains corp.example\n';

  it('-4 / -6 / AddressFamily: each look-up asks for that family only (ssh.c resolve_host hints)', () => {
    for (const [argv, cfg, family] of [
      [['-4'], '', 'inet'],
      [['-6'], '', 'inet6'],
      [[], 'AddressFamily inet6\n', 'inet6'],
      [[], '', 'any'],
    ] as const) {
      const e = env({ '/cfg': `${head}${cfg}` }, { 'web.corp.example': '' });
      const out = resolveCommandLine(['-N', ...argv, '-F', '/cfg', 'web'], e);
      expect(out.kind === 'run' && out.config.hostName).toBe('web.corp.example');
      expect(e.asked.map((r) => r.family)).toEqual([family]);
    }
  });

  it('CanonicalizeHostname on: the files are read again with the canonical name; Host and Match canonical see it', () => {
    const cfg = `${head}Host web.corp.example\n  User fromhost\nMatch canonical host web.corp.example\n  Port 2201\nMatch !canonical\n  Port 1\n  IdentityFile ~/first\n`;
    const c = resolve(['web'], cfg, { 'web.corp.example': '' });
    expect(c).toMatchObject({ hostName: 'web.corp.example', user: 'fromhost', port: 1 });
    expect(c.notes).toContain('hostname canonicalisation enabled, will re-parse configuration');
    expect(c.notes).toContain('re-parsing configuration');
  });

  it('Match canonical holds in the second reading even when the name was not changed (ProxyJump, yes)', () => {
    const cfg = `${head}ProxyJump bastion\nMatch canonical host web\n  Port 2202\n`;
    const e = env({ '/cfg': cfg }, { 'web.corp.example': '' });
    const out = resolveCommandLine(['-N', '-F', '/cfg', 'web'], e);
    expect(out.kind === 'run' && out.config).toMatchObject({ hostName: 'web', port: 2202 });
    expect(e.asked).toEqual([]);
  });

  it('without canonicalization only an un-negated Match final asks for the second reading', () => {
    expect(resolve(['h'], 'Match canonical\n  Port 5\n').port).toBe(22);
    expect(resolve(['h'], 'Match !final\n  Port 6\n').port).toBe(6);
    // A negated `final` does not ask for a final pass: `Match final` below never holds.
    expect(resolve(['h'], 'Match !final host nomatch\n  Port 6\nMatch canonical\n  Port 7\n').port).toBe(22);
    expect(resolve(['h'], 'Match final\n  Port 8\nMatch canonical\n  User c\n')).toMatchObject({ port: 8, user: 'c' });
  });

  it('the keywords: first value wins, readconf.c errors', () => {
    const c = resolve(['x.y.z'], 'CanonicalizeMaxDots 3\nCanonicalizeMaxDots 0\nCanonicalizePermittedCNAMEs *.A:*.B *\nCanonicalDomains none\n', { 'x.y.z': '' });
    expect(c.canonicalize).toEqual({ mode: 'no', domains: ['none'], fallbackLocal: true, maxDots: 3, permittedCnames: [{ source: '*.a', target: '*.b' }, { source: '*', target: '*' }], family: 'any' });
    const err = (cfg: string) => {
      try {
        resolve(['h'], cfg);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(err('CanonicalDomains a none\n')).toBe('/cfg line 1: keyword CanonicalDomains "none" argument must appear alone.\n/cfg: terminating, 1 bad configuration options');
    expect(err('CanonicalizePermittedCNAMEs foo\n')).toBe('/cfg line 1: Invalid permitted CNAME "foo"\n/cfg: terminating, 1 bad configuration options');
    expect(err('CanonicalizeHostname maybe\n')).toBe('/cfg line 1: unsupported option "maybe".\n/cfg: terminating, 1 bad configuration options');
    expect(err('CanonicalDomains -x\n')).toBe('/cfg line 1: domain name "-x" starts with invalid character\n/cfg: terminating, 1 bad configuration options');
    // readconf.c parse_int: strtonum(0, INT_MAX), as `ssh -G` says it.
    expect(err('CanonicalizeMaxDots -1\n')).toBe('/cfg line 1: integer value too small.\n/cfg: terminating, 1 bad configuration options');
    expect(err('CanonicalizeMaxDots 99999999999\n')).toBe('/cfg line 1: integer value too large.\n/cfg: terminating, 1 bad configuration options');
    expect(err('CanonicalizeMaxDots 1x\n')).toBe('/cfg line 1: integer value invalid.\n/cfg: terminating, 1 bad configuration options');
    expect(err('ServerAliveCountMax -1\n')).toBe('/cfg line 1: integer value too small.\n/cfg: terminating, 1 bad configuration options');
    expect(err('NumberOfPasswordPrompts 3000000000\n')).toBe('/cfg line 1: integer value too large.\n/cfg: terminating, 1 bad configuration options');
  });

  it('resolveCommandLineAsync awaits an asynchronous resolver; the synchronous one needs a resolver', async () => {
    const e = env({ '/cfg': head }, {});
    const out = await resolveCommandLineAsync(['-N', '-F', '/cfg', 'web'], {
      ...e,
      lookupHost: async (r) => (r.name === 'web.corp.example.' ? {} : null),
    });
    expect(out.kind === 'run' && out.config.hostName).toBe('web.corp.example');
    expect(() => resolveCommandLine(['-N', '-F', '/cfg', 'web'], { ...e, lookupHost: undefined })).toThrow(ConfigError);
  });
});

// ---- the real resolver, against ssh -G ---------------------------------------------------------

const SSH = '/usr/bin/ssh';
const NETNS = fileURLToPath(new URL('./support/dns-netns.mjs', import.meta.url));
const unshareOk = process.getuid?.() === 0 && spawnSync('unshare', ['-m', '-n', 'true']).status === 0;
const ready = existsSync(SSH) && unshareOk;
if (!ready && process.env.CI === 'true') throw new Error('the CanonicalizeHostname interop test needs /usr/bin/ssh and unshare -m -n (as root)');

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-canon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The passwd home of every ssh and pure-ssh run in the namespace (harness/home.ts; the environment
// reaches them through unshare and support/dns-netns.mjs): never the real user's ~/.ssh.
const home = join(dir, 'home');

// Both sides print their own defaults for these unless the file sets them.
const FIXED = `
Host *
  Ciphers aes128-ctr
  MACs hmac-sha2-256-etm@openssh.com
  KexAlgorithms curve25519-sha256
  HostKeyAlgorithms ssh-ed25519
  IdentityFile ~/.ssh/id_test
`;

const ZONE = {
  'web.nope.example': undefined,
  'web.corp.example': { a: '127.0.0.1' },
  'alias.corp.example': { cname: 'real.cdn.example' },
  'real.cdn.example': { a: '127.0.0.2' },
  'bare.example': { a: '127.0.0.3' },
  'short': { cname: 'bare.example' },
};

interface Job {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run every [cmd, args] inside one namespace with the zone's DNS server. */
function inNamespace(jobs: string[][]): Job[] {
  const r = spawnSync('unshare', ['-m', '-n', process.execPath, NETNS, JSON.stringify(ZONE), JSON.stringify(jobs)], {
    encoding: 'utf8',
    env: cliEnv(home),
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`dns-netns exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Job[];
}

(ready ? describeWithHome : describe.skip)('pure-ssh -G canonicalizes as ssh -G does, through a real resolver', () => {
  it('domains, max dots, CNAMEs, fallback, ProxyJump / ProxyCommand with yes and always, Match canonical', () => {
    const cfgFile = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text + FIXED);
      return p;
    };
    const common = `CanonicalDomains nope.example corp.example
CanonicalizePermittedCNAMEs *.corp.example:*.cdn.example
Match canonical host web.corp.example
  User canonuser
Match canonical host real.cdn.example
  Port 2222
Match final host *.corp.example
  ServerAliveInterval 7
`;
    const yes = cfgFile('yes.conf', `CanonicalizeHostname yes\n${common}`);
    const always = cfgFile('always.conf', `CanonicalizeHostname always\nProxyCommand nc %h %p\n${common}`);
    const jump = cfgFile('jump.conf', `CanonicalizeHostname yes\nProxyJump bastion.example\n${common}`);
    const nofallback = cfgFile('nofallback.conf', `CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\nCanonicalizeMaxDots 0\n${common}`);
    const cnameOnly = cfgFile('cname-only.conf', 'CanonicalizePermittedCNAMEs *:*.example\n');
    const cases: string[][] = [
      ['-F', yes, 'web'], // web.nope.example fails, web.corp.example resolves
      ['-F', yes, 'alias'], // alias.corp.example is a CNAME to real.cdn.example: followed
      ['-F', yes, 'web.corp.example.'], // anchored
      ['-F', yes, 'a.b.c'], // more dots than CanonicalizeMaxDots: left alone, then not in the DNS
      ['-F', always, 'web'],
      ['-F', jump, 'web'], // yes with ProxyJump: no look-up, but Match canonical holds
      ['-F', nofallback, 'web'], // max dots 0: the name is used as given ... and does not resolve
      ['-F', nofallback, 'nothere'],
      ['-F', cnameOnly, 'short'], // canonicalization off: the CNAME step sees short -> bare.example but may not follow
      ['-F', cnameOnly, 'missing'],
    ];
    const jobs: string[][] = [];
    for (const c of cases) {
      jobs.push([SSH, '-G', ...c]);
      jobs.push([process.execPath, CLI, '-G', ...c]);
    }
    const results = inNamespace(jobs);
    for (let i = 0; i < cases.length; i++) {
      const theirs = results[2 * i]!;
      const ours = results[2 * i + 1]!;
      const label = cases[i]!.join(' ');
      expect(ours.status, `${label}: ${ours.stderr}`).toBe(theirs.status);
      if (theirs.status !== 0) {
        const lastLine = (s: string) => s.trim().split('\n').filter((l) => !l.startsWith('Pseudo-terminal')).pop();
        expect(lastLine(ours.stderr), label).toBe(lastLine(theirs.stderr));
        continue;
      }
      const oursLines = ours.stdout.split('\n').filter((l) => l !== '');
      // Every line, but for the differences support/ssh-dump.ts lists with their reasons.
      const theirLines = expectedDump(theirs.stdout.split('\n').filter((l) => l !== ''));
      expect(oursLines, label).toEqual(theirLines);
    }
    // The cases did what they say (so a resolver that answered nothing would not pass).
    const hostname = (i: number) => /^hostname (.*)$/m.exec(results[2 * i + 1]!.stdout)?.[1];
    expect([0, 1, 2, 3, 4, 5].map(hostname)).toEqual(['web.corp.example', 'real.cdn.example', 'web.corp.example', undefined, 'web.corp.example', 'web']);
    expect(results[1]!.stdout).toMatch(/^user canonuser$/m);
    expect(results[3]!.stdout).toMatch(/^port 2222$/m);
  });
});
