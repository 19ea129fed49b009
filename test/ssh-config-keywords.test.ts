/**
 * The ssh_config(5) keyword table (src/config/keywords.ts): every keyword OpenSSH knows is
 * classified, and the parser does what the table says for each one, in files and with -o.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  applyOption,
  ConfigError,
  emptyOptions,
  readConfig,
  SSH_CONFIG_KEYWORDS,
  type KeywordEntry,
  type LineContext,
  type SshOptions,
} from '../src/config/ssh-config.js';

interface KeywordLists {
  sources: Record<string, string>;
  keywords: Record<string, string[]>;
}
const lists = JSON.parse(
  readFileSync(new URL('./fixtures/ssh_config-keywords.json', import.meta.url), 'utf8'),
) as KeywordLists;

/** The `.It Cm` entries of ssh_config(5)'s keyword list (the first `-tag -width Ds` list), not its nested lists. */
function manPageKeywords(mdoc: string): string[] {
  const lines = mdoc.split('\n');
  const start = lines.findIndex((l) => l.startsWith('.Bl -tag -width Ds'));
  const out: string[] = [];
  let depth = 0;
  for (let i = start; i >= 0 && i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('.Bl')) depth++;
    else if (l.startsWith('.El')) {
      if (--depth === 0) break;
    } else if (depth === 1) {
      const m = /^\.It Cm (\S+)/.exec(l);
      if (m) out.push(m[1]!);
    }
  }
  return out;
}

const MAN_PAGE = '/usr/share/man/man5/ssh_config.5.gz';
// In CI (CI=true) a missing man page fails the test instead of skipping it.
const haveManPage = existsSync(MAN_PAGE) || process.env.CI === 'true';

describe('every ssh_config(5) keyword is classified', () => {
  for (const [source, keywords] of Object.entries(lists.keywords)) {
    it(`${source} (${keywords.length} keywords)`, () => {
      expect(lists.sources[source]).toBeTruthy();
      expect(keywords.length).toBeGreaterThan(8);
      const missing = keywords.filter((k) => !SSH_CONFIG_KEYWORDS.has(k.toLowerCase()));
      expect(missing).toEqual([]);
    });
  }

  it.skipIf(!haveManPage)('the installed ssh_config(5) man page, parsed here', () => {
    const keywords = manPageKeywords(gunzipSync(readFileSync(MAN_PAGE)).toString('utf8'));
    expect(keywords.length).toBeGreaterThan(90);
    expect(keywords).toContain('ProxyJump');
    expect(keywords.filter((k) => !SSH_CONFIG_KEYWORDS.has(k.toLowerCase()))).toEqual([]);
  });

  it('the table holds nothing those sources do not list (Apple\'s UseKeychain aside)', () => {
    const known = new Set(Object.values(lists.keywords).flat().map((k) => k.toLowerCase()));
    const extra = [...SSH_CONFIG_KEYWORDS.entries()].filter(([k, e]) => !known.has(k) && e.origin !== 'apple').map(([, e]) => e.name);
    // pure-ssh's own keywords are marked as such, and spelled so no OpenSSH keyword can clash.
    expect(extra).toEqual(['PureSshReconnect']);
    expect(SSH_CONFIG_KEYWORDS.get('puresshreconnect')?.origin).toBe('pure-ssh');
  });

  it('every refused, ignored and deprecated row says why; aliases point at a row', () => {
    for (const e of SSH_CONFIG_KEYWORDS.values()) {
      if (e.handling !== 'implemented') expect(e.reason.length, e.name).toBeGreaterThan(10);
      if (e.aliasOf) expect(SSH_CONFIG_KEYWORDS.get(e.aliasOf.toLowerCase())?.aliasOf, e.name).toBeUndefined();
    }
    // The keywords the issue names, pinned.
    const handling = (k: string) => SSH_CONFIG_KEYWORDS.get(k.toLowerCase())?.handling;
    expect(handling('BindAddress')).toBe('refused');
    expect(handling('PreferredAuthentications')).toBe('implemented');
    expect(handling('MACs')).toBe('implemented');
    expect(handling('HostKeyAlias')).toBe('implemented');
    expect(handling('CertificateFile')).toBe('implemented');
    for (const k of ['ProxyJump', 'ProxyCommand', 'ForkAfterAuthentication']) expect(handling(k), k).toBe('implemented');
    expect(handling('PubkeyAcceptedKeyTypes')).toBe('implemented');
    expect(handling('ChallengeResponseAuthentication')).toBe('implemented');
  });
});

/** A value for each implemented keyword and what it must set. */
const SAMPLES: Record<string, { value: string; sets: Partial<SshOptions> }> = {
  AddressFamily: { value: 'inet', sets: { addressFamily: 'inet' } },
  BatchMode: { value: 'yes', sets: { batchMode: true } },
  CASignatureAlgorithms: { value: '-rsa-sha2-*', sets: { caSignatureAlgorithms: '-rsa-sha2-*' } },
  CanonicalDomains: { value: 'Corp.Example. lab.example', sets: { canonicalDomains: ['corp.example', 'lab.example'] } },
  CanonicalizeFallbackLocal: { value: 'no', sets: { canonicalizeFallbackLocal: false } },
  CanonicalizeHostname: { value: 'always', sets: { canonicalizeHostname: 'always' } },
  CanonicalizeMaxDots: { value: '3', sets: { canonicalizeMaxDots: 3 } },
  CanonicalizePermittedCNAMEs: { value: '*.A.example:*.cdn.example', sets: { canonicalizePermittedCnames: [{ source: '*.a.example', target: '*.cdn.example' }] } },
  Ciphers: { value: '+chacha20-poly1305@openssh.com', sets: { ciphers: '+chacha20-poly1305@openssh.com' } },
  CertificateFile: { value: '~/.ssh/id_ed25519-cert.pub', sets: { certificateFiles: ['~/.ssh/id_ed25519-cert.pub'] } },
  ClearAllForwardings: { value: 'yes', sets: { clearAllForwardings: true } },
  Compression: { value: 'yes', sets: { compression: true } },
  ConnectTimeout: { value: '1m', sets: { connectTimeout: 60 } },
  ConnectionAttempts: { value: '3', sets: { connectionAttempts: 3 } },
  RequiredRSASize: { value: '3072', sets: { requiredRsaSize: 3072 } },
  ExitOnForwardFailure: { value: 'yes', sets: { exitOnForwardFailure: true } },
  ForkAfterAuthentication: { value: 'yes', sets: { forkAfterAuthentication: true } },
  StdinNull: { value: 'yes', sets: { stdinNull: true } },
  GatewayPorts: { value: 'yes', sets: { gatewayPorts: true } },
  PermitRemoteOpen: { value: '[::1]:* h:22', sets: { permitRemoteOpen: ['[::1]:*', 'h:22'] } },
  ProxyCommand: { value: 'ssh -W %h:%p gw', sets: { proxy: { kind: 'command', command: 'ssh -W %h:%p gw' } } },
  EscapeChar: { value: '^A', sets: { escapeChar: { value: 1, where: expect.stringMatching(/ line \d+$/) as unknown as string } } },
  ProxyUseFdpass: { value: 'yes', sets: { proxyUseFdpass: { value: true, where: expect.stringMatching(/ line \d+$/) as unknown as string } } },
  ProxyJump: { value: 'alice@gw:2222,inner', sets: { proxy: { kind: 'jump', hops: [{ user: 'alice', host: 'gw', port: 2222 }, { user: undefined, host: 'inner', port: undefined }] } } },
  PureSshReconnect: { value: 'yes', sets: { pureSshReconnect: true } },
  GlobalKnownHostsFile: { value: '/a /b', sets: { globalKnownHostsFiles: ['/a', '/b'] } },
  HashKnownHosts: { value: 'yes', sets: { hashKnownHosts: true } },
  VisualHostKey: { value: 'yes', sets: { visualHostKey: true } },
  FingerprintHash: { value: 'MD5', sets: { fingerprintHash: 'md5' } },
  HostKeyAlgorithms: { value: '^ssh-ed25519', sets: { hostKeyAlgorithms: '^ssh-ed25519' } },
  PubkeyAcceptedAlgorithms: { value: '+ssh-rsa', sets: { pubkeyAcceptedAlgorithms: '+ssh-rsa' } },
  HostKeyAlias: { value: 'Gw.Example', sets: { hostKeyAlias: 'Gw.Example' } },
  Tag: { value: 'Work', sets: { tag: 'Work' } },
  Hostname: { value: 'real.example', sets: { hostName: 'real.example' } },
  IdentitiesOnly: { value: 'yes', sets: { identitiesOnly: true } },
  IdentityAgent: { value: '~/.ssh/agent.sock', sets: { identityAgent: '~/.ssh/agent.sock' } },
  IdentityFile: { value: '~/.ssh/k', sets: { identityFiles: ['~/.ssh/k'] } },
  IgnoreUnknown: { value: 'Foo*,Bar', sets: { ignoreUnknown: ['Foo*', 'Bar'] } },
  KbdInteractiveAuthentication: { value: 'no', sets: { kbdInteractiveAuthentication: false } },
  PreferredAuthentications: { value: 'keyboard-interactive,hostbased', sets: { preferredAuthentications: 'keyboard-interactive,hostbased' } },
  KexAlgorithms: { value: '-ecdh-*', sets: { kexAlgorithms: '-ecdh-*' } },
  LocalForward: { value: '8080 db:80', sets: { localForwards: [{ listen: { port: 8080 }, to: { host: 'db', port: 80 } }] } },
  RemoteForward: { value: '8080 db:80', sets: { remoteForwards: [{ listen: { port: 8080 }, to: { host: 'db', port: 80 } }] } },
  DynamicForward: { value: '1080', sets: { dynamicForwards: [{ port: 1080 }] } },
  LogLevel: { value: 'debug', sets: { logLevel: 'DEBUG1' } },
  MACs: { value: 'hmac-sha2-256-etm@openssh.com', sets: { macs: 'hmac-sha2-256-etm@openssh.com' } },
  NumberOfPasswordPrompts: { value: '1', sets: { numberOfPasswordPrompts: 1 } },
  PasswordAuthentication: { value: 'no', sets: { passwordAuthentication: false } },
  Port: { value: '2222', sets: { port: 2222 } },
  PubkeyAuthentication: { value: 'host-bound', sets: { pubkeyAuthentication: 'host-bound' } },
  RekeyLimit: { value: '1G', sets: { rekeyLimit: 2n ** 30n } },
  ServerAliveCountMax: { value: '5', sets: { serverAliveCountMax: 5 } },
  ServerAliveInterval: { value: '15', sets: { serverAliveInterval: 15 } },
  SessionType: { value: 'none', sets: { sessionType: 'none' } },
  StreamLocalBindUnlink: { value: 'yes', sets: { streamLocalBindUnlink: true } },
  StrictHostKeyChecking: { value: 'accept-new', sets: { strictHostKeyChecking: 'accept-new' } },
  WarnWeakCrypto: { value: 'no-pq-kex', sets: { warnWeakCrypto: false } },
  User: { value: 'alice', sets: { user: 'alice' } },
  UserKnownHostsFile: { value: '/dev/null', sets: { userKnownHostsFiles: ['/dev/null'] } },
};
/** Implemented keywords with their own tests: the file directives, and RefuseConnection (it ends the run). */
const NO_SAMPLE = new Set(['Host', 'Match', 'Include', 'RefuseConnection']);

function readText(text: string, host = 'h') {
  const o = emptyOptions();
  const notes: string[] = [];
  readConfig(o, '/cfg', { host, fs: { readFile: (p) => (p === '/cfg' ? text : undefined) }, includeDir: '/', home: '/home/u', note: (m) => notes.push(m) });
  return { o, notes: notes.filter((n) => !n.startsWith('Reading configuration data')) };
}

function commandLine(keyword: string, args: string[]) {
  const o = emptyOptions();
  const notes: string[] = [];
  const ctx: LineContext = { source: 'command-line', line: 0, active: true, note: (m) => notes.push(m) };
  applyOption(o, keyword, args, ctx);
  return { o, notes };
}

/** readconf.c's last line for /cfg with one bad line. */
const TERMINATING_1 = '\n/cfg: terminating, 1 bad configuration options';

function thrown(fn: () => unknown): ConfigError | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  return undefined;
}

/** The keyword as a user might type it: odd case, to check case-insensitivity everywhere. */
const oddCase = (k: string) => k.toUpperCase();

describe('the parser follows the table', () => {
  const rows = [...SSH_CONFIG_KEYWORDS.values()];
  const named = (handling: KeywordEntry['handling']) => rows.filter((e) => e.handling === handling).map((e) => [e.name, e] as const);

  it('every implemented keyword has a sample here (a new one needs a test)', () => {
    const implementedNames = rows.filter((e) => e.handling === 'implemented' && !e.aliasOf).map((e) => e.name).sort();
    expect(implementedNames).toEqual([...Object.keys(SAMPLES), ...NO_SAMPLE].sort());
  });

  it.each(named('implemented').filter(([name, e]) => !NO_SAMPLE.has(e.aliasOf ?? name)))('implemented: %s', (name, e) => {
    const { value, sets } = SAMPLES[e.aliasOf ?? name]!;
    const { o, notes } = readText(`# comment\n${oddCase(name)} ${value}\n`);
    expect(o).toMatchObject(sets);
    expect(notes.filter((n) => /unsupported|Deprecated/.test(n))).toEqual([]);
    // The same through -o.
    expect(commandLine(name, value.split(' ')).o).toMatchObject(sets);
    // Checked but not applied in a block for another host.
    const inactive = readText(`Host other\n  ${name} ${value}\n`).o;
    expect(inactive).toEqual(emptyOptions());
  });

  /**
   * A value readconf.c takes for each refused or ignored keyword whose value it checks, other
   * than the no-op ones (the checks of bad values: config-errors.test.ts, beside ssh -G).
   */
  const VALID: Record<string, string> = {
    CheckHostIP: 'yes', GSSAPIKeyExchange: 'yes', HostbasedAuthentication: 'yes', NoHostAuthenticationForLocalhost: 'yes',
    PermitLocalCommand: 'yes', StreamLocalBindMask: '0077', Tunnel: 'point-to-point',
    VerifyHostKeyDNS: 'ask', AddKeysToAgent: 'confirm', ControlMaster: 'autoask',
    ControlPersist: '10m', EnableEscapeCommandline: 'yes', EnableSSHKeysign: 'yes',
    ForwardX11: 'yes', ForwardX11Timeout: '20m', ForwardX11Trusted: 'yes', GSSAPIAuthentication: 'yes',
    GSSAPIDelegateCredentials: 'yes', GSSAPIRenewalForcesRekey: 'yes', GSSAPITrustDns: 'yes', IPQoS: 'lowdelay',
    RequestTTY: 'force', SetEnv: 'A=b',
    SyslogFacility: 'LOCAL0', TCPKeepAlive: 'yes', TunnelDevice: 'any:1', UpdateHostKeys: 'ask',
    GSSAPIKexAlgorithms: 'gss-gex-sha1-', HostbasedAcceptedAlgorithms: 'ssh-ed25519',
  };
  const validValue = (name: string, e: KeywordEntry) => VALID[e.aliasOf ?? name] ?? 'some-value';

  it.each(named('refused'))('refused: %s', (name, e) => {
    if (e.handling !== 'refused') return;
    const value = validValue(name, e);
    const message = `unsupported option "${name}": pure-ssh does not implement it yet (${e.reason})`;
    if (e.judged === undefined) {
      expect(thrown(() => readText(`Port 1\n  ${oddCase(name)} ${value}\n`))?.message).toBe(`/cfg line 2: ${message}${TERMINATING_1}`);
      expect(thrown(() => commandLine(name, [value]))?.message).toBe(`command-line line 0: ${message}`);
    } else {
      // Judged once every file is read (cli-args.ts), by the refusal kept with its line.
      const kept = (o: SshOptions) =>
        e.judged === 'session' ? o.remoteCommand?.refusal : e.judged === 'forwarding' ? o.tunnelRefusal : o.streamLocalBindMaskRefusal;
      expect(kept(readText(`Port 1\n  ${oddCase(name)} ${value}\n`).o)?.message).toBe(`/cfg line 2: ${message}`);
      expect(kept(commandLine(name, [value]).o)?.message).toBe(`command-line line 0: ${message}`);
    }
    // Only when the line applies (StreamLocalBindMask: every line read, see below).
    expect(readText(`Host other\n  ${name} ${value}\n`).notes).toEqual([]);
    for (const v of e.noop ?? []) {
      expect(readText(`${name} ${v}\n`).notes, v).toEqual([]);
      expect(commandLine(name, [v]).notes, v).toEqual([]);
    }
  });

  // break20 F9: readconf.c keeps the first value obtained; the refusal judges that value, so a
  // host's own `CheckHostIP no` before a `Host *` block's `CheckHostIP yes` is accepted.
  it.each(named('refused'))('refused, first value obtained wins: %s', (name, e) => {
    if (e.handling !== 'refused' || e.judged === 'lastRead') return;
    const value = validValue(name, e);
    const noop = e.noop?.[0];
    const message = `unsupported option "${name}": pure-ssh does not implement it yet (${e.reason})`;
    const refusal = (o: SshOptions) =>
      e.judged === 'session' ? o.remoteCommand?.refusal.message : e.judged === 'forwarding' ? o.tunnelRefusal?.message : undefined;
    if (noop !== undefined) {
      const after = readText(`Host h\n  ${name} ${noop}\nHost *\n  ${oddCase(name)} ${value}\n`);
      expect(after.notes.filter((n) => !n.includes('Applying options for'))).toEqual([]);
      expect(refusal(after.o)).toBeUndefined();
      // A -o value comes before the files.
      const o = commandLine(name, [noop]).o;
      readConfig(o, '/cfg', { host: 'h', fs: { readFile: () => `${name} ${value}\n` }, includeDir: '/', home: '/home/u', note: () => {} });
      expect(refusal(o)).toBeUndefined();
    }
    // The refused value first: named at its own line, once; the later lines are inert.
    const text = `Host h\n  ${name} ${value}\nHost *\n  ${name} ${value}\n${noop === undefined ? '' : `  ${name} ${noop}\n`}`;
    if (e.judged !== undefined) expect(refusal(readText(text).o)).toBe(`/cfg line 2: ${message}`);
    else expect(thrown(() => readText(text))?.message).toBe(`/cfg line 2: ${message}${TERMINATING_1}`);
  });

  it('StreamLocalBindMask: the last line read is its value, in a block for another host too (readconf.c sets it on every line)', () => {
    const message = (line: number) => `/cfg line ${line}: unsupported option "StreamLocalBindMask": pure-ssh does not implement it yet (${(SSH_CONFIG_KEYWORDS.get('streamlocalbindmask') as { reason: string }).reason})`;
    expect(readText('Host other\n  StreamLocalBindMask 0077\n').o.streamLocalBindMaskRefusal?.message).toBe(message(2));
    expect(readText('StreamLocalBindMask 0077\nHost other\n  StreamLocalBindMask 00177\n').o.streamLocalBindMaskRefusal).toBeNull();
    expect(readText('StreamLocalBindMask 177\nStreamLocalBindMask 0177x\nStreamLocalBindMask 022\n').o.streamLocalBindMaskRefusal?.message).toBe(message(3));
  });

  it.each(named('ignored'))('ignored: %s', (name, e) => {
    if (e.handling !== 'ignored') return;
    // Keywords whose value readconf.c checks get a valid one (the check itself: config-errors.test.ts).
    const value = validValue(name, e);
    if (value === 'ssh-ed25519') expect(thrown(() => readText(`Host other\n${name} no-such-key-type\n`))?.message).toMatch(/line 2: Bad key types 'no-such-key-type'\./);
    const { o, notes } = readText(`Port 1\n${oddCase(name)} ${value}\n`);
    // HostbasedAcceptedAlgorithms (and its aliases) keeps its list for readconf.c
    // fill_default_options' check, ForwardAgent its socket path for ssh.c main's stat(2)
    // (cli-args.ts); nothing else is set.
    const { hostbasedAcceptedAlgorithms, forwardAgentSockPath, ...rest } = o;
    expect(rest).toEqual({ ...emptyOptions(), port: 1 });
    expect(hostbasedAcceptedAlgorithms).toBe(/^hostbased(accepted|keytypes)/i.test(name) ? value : undefined);
    expect(forwardAgentSockPath).toBe(name === 'ForwardAgent' ? value : undefined);
    const noop = e.noop?.includes(value.toLowerCase()) ?? false;
    expect(notes).toEqual(noop ? [] : [`/cfg line 2: ignoring unsupported option "${name}": ${e.reason}`]);
    // Asked for explicitly with -o: an error naming the option (unless it asks for what pure-ssh
    // does, or is harmless there too: AddKeysToAgent, a -v line).
    if (!noop && e.alsoOnCommandLine) expect(commandLine(name, [value]).notes).toEqual([`command-line line 0: ignoring unsupported option "${name}": ${e.reason}`]);
    else if (!noop) expect(thrown(() => commandLine(name, [value]))?.message).toBe(
      `command-line line 0: unsupported option "${name}": pure-ssh does not implement it yet (${e.reason})`,
    );
    for (const v of e.noop ?? []) {
      expect(readText(`${name} ${v}\n`).notes, v).toEqual([]);
      expect(commandLine(name, [v]).notes, v).toEqual([]);
    }
  });

  it.each(named('deprecated'))('deprecated: %s', (name, e) => {
    if (e.handling !== 'deprecated') return;
    const typed = oddCase(name);
    const { o, notes } = readText(`${typed} whatever\n`);
    expect(o).toEqual(emptyOptions());
    // readconf.c's debug line, with the keyword as typed.
    expect(notes).toEqual([`/cfg line 1: ${e.openssh} option "${typed}"`]);
    expect(commandLine(name, ['x']).notes).toEqual([`command-line line 0: ${e.openssh} option "${name}"`]);
  });

  it('unknown keywords stay "Bad configuration option", IgnoreUnknown does not cover known ones', () => {
    expect(thrown(() => readText('Frobnicate yes\n'))?.message).toBe(`/cfg: line 1: Bad configuration option: frobnicate${TERMINATING_1}`);
    expect(readText('IgnoreUnknown Frob*\nFrobnicate yes\n').notes).toEqual(['/cfg line 2: Ignored unknown option "frobnicate"']);
    expect(thrown(() => readText('IgnoreUnknown BindAddress\nBindAddress 127.0.0.2\n'))?.message).toMatch(/line 2: unsupported option "BindAddress"/);
  });

  it("Debian's default /etc/ssh/ssh_config reads, with a -v line for what is skipped", () => {
    const { o, notes } = readText(
      'Include /etc/ssh/ssh_config.d/*.conf\nHost *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n',
    );
    expect(o.hashKnownHosts).toBe(true);
    expect(notes.filter((n) => n.includes('ignoring'))).toEqual([
      `/cfg line 3: ignoring unsupported option "SendEnv": ${(SSH_CONFIG_KEYWORDS.get('sendenv') as { reason: string }).reason}`,
      `/cfg line 5: ignoring unsupported option "GSSAPIAuthentication": ${(SSH_CONFIG_KEYWORDS.get('gssapiauthentication') as { reason: string }).reason}`,
    ]);
  });
});
