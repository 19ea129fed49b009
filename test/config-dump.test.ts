/**
 * `pure-ssh -G` against OpenSSH's own `ssh -G` (Debian 12's 9.2, /usr/bin/ssh) on the same
 * configuration files and command lines (neither connects anywhere): the whole output, line for
 * line, in ssh's order, every keyword ssh prints. The only differences allowed are the ones
 * listed here with their reasons: {@link EXPECTED_DIFFERENCES} (whatever the configuration), and
 * a case's own (a keyword pure-ssh ignores set in a file, which pure-ssh's -v must name). The
 * files use Host, Match (every criterion pure-ssh evaluates, exec included), Include with
 * wildcards in directory names, %-tokens and ${VAR}. Needs `npm run build` first and OpenSSH's
 * client (CI=true: a missing `ssh` fails).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// The installed bin (package.json bin.pure-ssh): the same CLI as dist/node/cli.js at about half
// its start-up CPU, most of what this file's runs cost.
import { CLI_BIN_PATH as CLI } from './harness/proc.js';
import { cliEnv, describeWithHome } from './harness/home.js';
import { EXPECTED_DIFFERENCES, expectedDump, when, type ValueMap } from './support/ssh-dump.js';
import { inCI, openssh10, openssh10Available, SSH_CLIENT_PATH, sshClientAvailable } from './harness/sshd.js';

const SSH = SSH_CLIENT_PATH;
/** OpenSSH 10's client where a case checks it too (CI=true: a missing build fails). */
const SSH10 = openssh10Available() || inCI() ? openssh10().ssh : undefined;
const haveSsh = sshClientAvailable();

const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-dump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The passwd home of every ssh and pure-ssh run here (harness/home.ts): never the real user's ~/.ssh.
const home = join(dir, 'home');

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

// Both sides print their own defaults for these unless the file sets them; most files here do.
const FIXED = `
Host *
  Ciphers aes128-ctr,chacha20-poly1305@openssh.com
  MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512
  KexAlgorithms curve25519-sha256,diffie-hellman-group14-sha256
  HostKeyAlgorithms ssh-ed25519,rsa-sha2-256
  IdentityFile ~/.ssh/id_test_%r
`;

const env = () => cliEnv(home, { PURE_DUMP_VAR: 'from-env' });

/**
 * A difference of one case: a keyword the case's file sets and pure-ssh does not honour (keywords.ts
 * `ignored`), which ssh prints with the file's value and pure-ssh with what it does. pure-ssh's -v
 * must say `said` (nothing the user asked for is dropped silently).
 */
interface CaseDifference {
  keyword: string;
  ours: ValueMap;
  said: string;
}
const ignoredLine = (keyword: string) => `ignoring unsupported option "${keyword}"`;

function run(cmd: string, args: string[], status = 0): { lines: string[]; stderr: string } {
  const r = spawnSync(cmd, args, { env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== status) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

/**
 * `pure-ssh -G` and what it must print: `ssh -G`'s lines with {@link EXPECTED_DIFFERENCES} and the
 * case's own differences applied (each of those also checked against pure-ssh's -v lines).
 */
function compare(args: string[], ssh = SSH, differences: CaseDifference[] = []): { ours: string[]; theirs: string[]; raw: string[] } {
  const ours = run(process.execPath, [CLI, '-G', ...args]).lines;
  const all = run(ssh, ['-G', ...args]).lines;
  if (differences.length > 0) {
    const verbose = run(process.execPath, [CLI, '-G', '-v', ...args]).stderr;
    // Only where the case's difference changed one of ssh's lines.
    for (const d of differences) {
      const changed = all.some((l) => l.startsWith(`${d.keyword} `) && d.ours(l.slice(d.keyword.length + 1)) !== l.slice(d.keyword.length + 1));
      if (changed) expect(verbose, d.keyword).toContain(d.said);
    }
  }
  return { ours, theirs: expectedDump(all, Object.fromEntries(differences.map((d) => [d.keyword, d.ours]))), raw: all };
}

(haveSsh ? describeWithHome : describe.skip)('pure-ssh -G prints what ssh -G prints, line by line', () => {
  it('Host blocks, first value wins, cumulative and duplicate lines, forwards, tokens in file names', () => {
    const cfg = file(
      'hosts.conf',
      `
Host web* !web-old
  HostName %h.internal.example
  User deploy
  Port 2202
  IdentityFile ~/.ssh/web_%h
  IdentityFile ~/.ssh/web_%h
  LocalForward 15432 db.internal:5432
  LocalForward 127.0.0.1:18080 [::1]:80
  LocalForward ${dir}/l_%h_%p.sock ${dir}/r_%r.sock
  RemoteForward 9000 localhost:9000
  DynamicForward 1080
  DynamicForward 127.0.0.1:1081
  UserKnownHostsFile ${dir}/kh_%h_%p_%r_%u ${dir}/kh_%n_%k_%d_%i_%l_%L_%C \${PURE_DUMP_VAR}_%%
  HostKeyAlias Web-Alias
  StrictHostKeyChecking yes
  ServerAliveInterval 1m
  ServerAliveCountMax 7
  ConnectTimeout 12
  RekeyLimit 64M
  CertificateFile ~/.ssh/cert_%h
Host *
  User ignored-second
  Port 2999
  ExitOnForwardFailure yes
  GatewayPorts yes
  HashKnownHosts yes
  IdentitiesOnly yes
  BatchMode yes
  # Debian's ssh makes BatchMode imply ServerAliveInterval 300 unless set; pure-ssh does not.
  ServerAliveInterval 0
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  NumberOfPasswordPrompts 1
  GlobalKnownHostsFile ${dir}/global1 ${dir}/global2
  IgnoreUnknown Frob*,Zap
${FIXED}`,
    );
    const a = compare(['-F', cfg, 'web1']);
    expect(a.ours).toEqual(a.theirs);
    expect(a.ours).toContain('hostname web1.internal.example');
    expect(a.ours).toContain('hostkeyalias web-alias');
    const b = compare(['-F', cfg, '-p', '2300', '-l', 'cli', '-o', 'Port=1', '-N', '-L', '7000:x:70', 'web-old']);
    expect(b.ours).toEqual(b.theirs);
    expect(b.ours).toContain('port 2300');
  });

  it('-D port:/path and -L to a Unix socket are also `dynamicforward` lines, in the order -L and -D came (readconf.c dump_cfg_forwards; OpenSSH 9.2 and 10 alike)', () => {
    const cfg = file('forward-order.conf', `Host *\n  DynamicForward 1082:${dir}/dyn-file.sock\n  LocalForward 127.0.0.1:3000 ${dir}/z.sock\n${FIXED}`);
    const args = ['-F', cfg, '-L', `2000:${dir}/x.sock`, '-D', '1080', '-D', `1081:${dir}/y.sock`, '-L', `${dir}/l.sock:${dir}/m.sock`, '-L', `${dir}/n.sock:h:1`, '-D', '1080', 'host'];
    const a = compare(args);
    expect(a.ours).toEqual(a.theirs);
    expect(a.ours.filter((l) => l.startsWith('dynamicforward '))).toEqual([
      'dynamicforward 2000',
      'dynamicforward 1080',
      'dynamicforward 1081',
      `dynamicforward ${dir}/l.sock`,
      'dynamicforward 1082',
      'dynamicforward [127.0.0.1]:3000',
    ]);
    // OpenSSH 10's build has its own sysconfdir (globalknownhostsfile): its forward lines only.
    const forwards = (lines: string[]) => lines.filter((l) => /^(dynamic|local)forward /.test(l));
    if (SSH10 !== undefined) expect(forwards(a.ours)).toEqual(forwards(compare(args, SSH10).theirs));
  });

  it('Match: host (after HostName), originalhost, user, localuser, exec with tokens, negation, all, final', () => {
    const me = userInfo().username;
    const cfg = file(
      'match.conf',
      `
Host short
  HostName long.example.org
Match host long.example.org originalhost short
  User matched-both
Match user matched-both localuser ${me}
  Port 2022
Match !user nobody exec "test %h = long.example.org -a %n = short -a %r = matched-both"
  ServerAliveInterval 33
Match exec "false"
  ServerAliveCountMax 99
Match !exec "false" host other.example
  ConnectTimeout 99
Match final host long.example.org
  ConnectTimeout 44
Match canonical all
  GatewayPorts yes
Match all
  HashKnownHosts yes
${FIXED}`,
    );
    const a = compare(['-F', cfg, 'short']);
    expect(a.ours).toEqual(a.theirs);
    expect(a.ours).toEqual(expect.arrayContaining(['user matched-both', 'port 2022', 'serveraliveinterval 33', 'connecttimeout 44', 'gatewayports yes']));
    const b = compare(['-F', cfg, 'other.example']);
    expect(b.ours).toEqual(b.theirs);
  });

  it('Include: wildcards in directory and file names, sorted, nested, state restored after the file', () => {
    file('inc/a-dir/conf.d/10-port.conf', 'Port 3001\nMatch all\n  User from-include\n');
    file('inc/b-dir/conf.d/20-more.conf', `Include ${dir}/inc/nested.conf\nHost nowhere\n  ConnectTimeout 1\n`);
    file('inc/nested.conf', 'ServerAliveInterval 5\n');
    file('inc/b-dir/conf.d/.hidden.conf', 'Port 1\n');
    const cfg = file(
      'include.conf',
      `
Host incl
  Include ${dir}/inc/*-dir/conf.d/*.conf
  GatewayPorts yes
Host other
  Include ${dir}/inc/missing-*.conf
${FIXED}`,
    );
    const a = compare(['-F', cfg, 'incl']);
    expect(a.ours).toEqual(a.theirs);
    expect(a.ours).toEqual(expect.arrayContaining(['port 3001', 'user from-include', 'serveraliveinterval 5', 'gatewayports yes']));
  });

  it('ProxyJump, ProxyCommand, -J and -W', () => {
    const cfg = file(
      'route.conf',
      `
Host via-cmd
  ProxyCommand nc -X connect -x proxy:3128 %h %p
Host via-jump
  ProxyJump alice@gw1:2222,gw2
${FIXED}`,
    );
    for (const args of [['via-cmd'], ['via-jump'], ['-J', 'bob@bastion', 'via-cmd'], ['-W', 'db:5432', 'via-jump']]) {
      const r = compare(['-F', cfg, ...args]);
      expect(r.ours, args.join(' ')).toEqual(r.theirs);
    }
  });

  it('-q and -v change the log level, -4 the address family', () => {
    const cfg = file('plain.conf', FIXED);
    for (const args of [['-q'], ['-v'], ['-vv'], ['-4'], ['-6'], ['-C'], ['-C', '-o', 'Compression=no']]) {
      const r = compare(['-F', cfg, ...args, 'h']);
      expect(r.ours, args.join(' ')).toEqual(r.theirs);
    }
  });

  it('-vvv: "Pseudo-terminal will not be allocated" where ssh.c main says it, before the later debug3 lines', () => {
    const cfg = file('tty.conf', `${FIXED}\nHost *\n  UserKnownHostsFile ~/.ssh/kh_%h ~/.ssh/kh2\n`);
    const stderrOf = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(r.status, r.stderr).toBe(0);
      // Each side's version line, and the program named in the ProxyJump line, are its own;
      // ssh's KexAlgorithms check (kex names ok) has no counterpart line in pure-ssh.
      return r.stderr.split(/\r?\n/).filter((l) => l !== '' && !/^(OpenSSH_|debug1: pure-ssh_|debug3: kex names ok)/.test(l)).map((l) => l.replace(/ProxyJump: \S+ /, 'ProxyJump: '));
    };
    for (const extra of [[], ['-J', 'a,b']]) {
      const args = ['-G', '-vvv', '-F', cfg, ...extra, 'h'];
      const theirs = stderrOf(SSH, args);
      expect(theirs.some((l) => l.startsWith('Pseudo-terminal will not be allocated')), 'ssh says it').toBe(true);
      expect(stderrOf(process.execPath, [CLI, ...args]), extra.join(' ')).toEqual(theirs);
    }
  });

  it('no -F: ~/.ssh/config, then /etc/ssh/ssh_config (whose SendEnv and GSSAPIAuthentication yes pure-ssh ignores, saying so at -v)', () => {
    file('home/.ssh/config', 'Host h\n  User from-home\n  Port 2022\n');
    try {
      const r = compare(['h'], SSH, [
        { keyword: 'sendenv', ours: () => undefined, said: ignoredLine('SendEnv') },
        { keyword: 'gssapiauthentication', ours: when('yes', 'no'), said: ignoredLine('GSSAPIAuthentication') },
      ]);
      expect(r.ours).toEqual(r.theirs);
      expect(r.ours).toEqual(expect.arrayContaining(['user from-home', 'port 2022']));
    } finally {
      rmSync(join(home, '.ssh', 'config'));
    }
  });

  it('-F none, alone and with -N -L, user@host and -p', () => {
    for (const args of [['h'], ['-N', '-L', '8080:localhost:80', 'u@h'], ['-p', '2200', '-l', 'x', '-T', 'h']]) {
      const r = compare(['-F', 'none', ...args]);
      expect(r.ours, args.join(' ')).toEqual(r.theirs);
      expect(r.ours.length, args.join(' ')).toBeGreaterThan(70);
    }
  });

  it('keywords pure-ssh ignores, set in a file: ssh prints the file\'s value, pure-ssh what it does, and its -v names each', () => {
    const cfg = file(
      'ignored.conf',
      `Host *
  ForwardX11 yes
  ForwardX11Trusted yes
  ForwardX11Timeout 5m
  XAuthLocation /opt/x11/xauth
  ForwardAgent yes
  AddKeysToAgent yes
  ControlMaster auto
  ControlPath ~/.ssh/cm-%C
  ControlPersist 10m
  EscapeChar ^A
  IPQoS af21 cs1
  SendEnv LANG LC_*
  SetEnv FOO=bar
  TCPKeepAlive yes
  UpdateHostKeys yes
  VisualHostKey yes
  LogVerbose kex.c:*
  SyslogFacility LOCAL0
  GSSAPIAuthentication yes
  GSSAPIDelegateCredentials yes
  EnableEscapeCommandline yes
  FingerprintHash md5
  RequestTTY force
  SecurityKeyProvider /usr/lib/sk.so
  TunnelDevice 1:2
  LocalCommand echo hi
${FIXED}`,
    );
    const ours: Record<string, string | undefined> = {
      ForwardX11: 'no', ForwardX11Trusted: 'no', ForwardX11Timeout: '1200', XAuthLocation: '/usr/bin/xauth', ForwardAgent: 'no',
      AddKeysToAgent: 'false', ControlMaster: 'false', ControlPath: undefined, ControlPersist: 'no', IPQoS: 'none none',
      SendEnv: undefined, SetEnv: undefined, TCPKeepAlive: 'no', UpdateHostKeys: 'false',
      LogVerbose: 'none', SyslogFacility: 'USER', GSSAPIAuthentication: 'no', GSSAPIDelegateCredentials: 'no',
      EnableEscapeCommandline: 'no', RequestTTY: 'false', SecurityKeyProvider: 'internal',
      TunnelDevice: 'any:any', LocalCommand: undefined,
    };
    const differences = Object.entries(ours).map(([name, v]) => ({ keyword: name.toLowerCase(), ours: () => v, said: ignoredLine(name) }));
    const r = compare(['-F', cfg, 'h'], SSH, differences);
    expect(r.ours).toEqual(r.theirs);
    // ssh printed each of the file's values (so every difference above was one).
    for (const d of differences) expect(r.raw.some((l) => l.startsWith(`${d.keyword} `) && l !== `${d.keyword} ${d.ours()}`), d.keyword).toBe(true);
  });

  it('ConnectionAttempts, StreamLocalBindUnlink, ProxyUseFdpass (no ProxyCommand; cleared by ProxyJump), CertificateFile none, IdentityFile none: the lines ssh prints, no -v line (break20 F5, F7, F8, L2)', () => {
    const cfg = file(
      'cfgkeys.conf',
      `Host *
  ConnectionAttempts 3
  StreamLocalBindUnlink yes
  ProxyUseFdpass yes
  CertificateFile none
${FIXED}`,
    );
    for (const args of [['-F', cfg, 'h'], ['-F', cfg, '-J', 'gw', 'h'], ['-F', cfg, '-o', 'IdentityFile=none', '-o', 'CertificateFile=NONE', 'h']]) {
      const r = compare(args);
      expect(r.ours, args.join(' ')).toEqual(r.theirs);
    }
    const { lines } = run(process.execPath, [CLI, '-G', '-F', cfg, '-o', 'IdentityFile=none', 'h']);
    expect(lines).toEqual(expect.arrayContaining(['connectionattempts 3', 'streamlocalbindunlink yes', 'proxyusefdpass yes', 'certificatefile none', 'identityfile none']));
    expect(run(process.execPath, [CLI, '-G', '-F', cfg, '-J', 'gw', 'h']).lines).toContain('proxyusefdpass no');
    expect(run(process.execPath, [CLI, '-G', '-v', '-F', cfg, 'h']).stderr).not.toMatch(/unsupported option/);
  });

  it('ConnectionAttempts 0 (also with a ProxyCommand): ssh.c\'s fatal before -G prints, exit 255; a negative one is readconf.c\'s line', () => {
    for (const o of ['ConnectionAttempts=0', 'ConnectionAttempts=-1']) {
      const args = ['-G', '-F', 'none', '-o', o, '-o', 'ProxyCommand=nc %h %p', 'h'];
      const theirs = spawnSync(SSH, args, { env: env(), encoding: 'utf8' });
      const ours = spawnSync(process.execPath, [CLI, ...args], { env: env(), encoding: 'utf8' });
      expect([ours.status, ours.stdout, ours.stderr], o).toEqual([255, '', theirs.stderr]);
      expect(theirs.status).toBe(255);
    }
  });

  it('values that ask for what pure-ssh does: accepted without a word, and ssh prints the same lines (the differences of the defaults vanish)', () => {
    const cfg = file(
      'noop.conf',
      `Host *
  CheckHostIP no
  ForwardAgent no
  ForwardX11Trusted no
  Tunnel no
  VerifyHostKeyDNS no
  RequiredRSASize 1024
  ControlMaster no
  ControlPath none
  ControlPersist no
  UpdateHostKeys no
  TCPKeepAlive no
  EscapeChar none
  RequestTTY no
  IPQoS none
  StreamLocalBindMask 0177
  ConnectionAttempts 1
  FingerprintHash sha256
  AddKeysToAgent no
  PubkeyAuthentication unbound
  LogVerbose none
  SecurityKeyProvider internal
  StdinNull yes
${FIXED}`,
    );
    const r = compare(['-F', cfg, 'h']);
    expect(r.ours).toEqual(r.theirs);
    // Without the general differences: ssh's own lines, these keywords included.
    const same = /^(forwardx11trusted|pubkeyauthentication|requesttty|tcpkeepalive|updatehostkeys|escapechar|ipqos|stdinnull|streamlocalbindmask) /;
    expect(r.ours.filter((l) => same.test(l))).toEqual(r.raw.filter((l) => same.test(l)));
    expect(r.ours).toContain('stdinnull yes');
    const verbose = run(process.execPath, [CLI, '-G', '-v', '-F', cfg, 'h']).stderr;
    expect(verbose).not.toMatch(/unsupported option/);
  });

  it('keywords pure-ssh refuses: ssh -G prints the value, pure-ssh -G ends with the file and line (exit 255)', () => {
    const refused: [string, string][] = [
      ['CheckHostIP', 'yes'], ['BindAddress', '127.0.0.1'], ['BindInterface', 'lo'], ['KnownHostsCommand', '/bin/true'],
      ['VerifyHostKeyDNS', 'yes'], ['NoHostAuthenticationForLocalhost', 'yes'],
      ['PermitLocalCommand', 'yes'], ['HostbasedAuthentication', 'yes'], ['RevokedHostKeys', '/etc/revoked'],
      ['KbdInteractiveDevices', 'pam'], ['GSSAPIKeyExchange', 'yes'],
    ];
    // One file: readconf.c reports every bad line before it stops, and so does pure-ssh.
    const cfg = file('refused.conf', `Host *\n${refused.map(([name, value]) => `  ${name} ${value}\n`).join('')}`);
    const theirs = run(SSH, ['-G', '-F', cfg, 'h']).lines;
    const ours = run(process.execPath, [CLI, '-G', '-F', cfg, 'h'], 255);
    expect(ours.lines).toEqual([]);
    refused.forEach(([name], i) => {
      expect(theirs.some((l) => l.toLowerCase().startsWith(`${name.toLowerCase()} `)), name).toBe(true);
      expect(ours.stderr, name).toContain(`${cfg} line ${i + 2}: unsupported option "${name}"`);
    });
    // Judged once the files are read: RemoteCommand where a session would run it (-N, -W and
    // SessionType none run none), StreamLocalBindMask by its last line read, Tunnel unless
    // ClearAllForwardings clears it.
    for (const [line, extra] of [['RemoteCommand uptime', []], ['StreamLocalBindMask 0077', ['-N']], ['Tunnel yes', ['-N']]] as const) {
      const one = file(`refused-${line.split(' ')[0]}.conf`, `Host *\n  ${line}\n`);
      expect(run(SSH, ['-G', '-F', one, ...extra, 'h']).lines.some((l) => l.startsWith(`${line.split(' ')[0]!.toLowerCase()} `)), line).toBe(true);
      const r = run(process.execPath, [CLI, '-G', '-F', one, ...extra, 'h'], 255);
      expect(r.lines).toEqual([]);
      expect(r.stderr, line).toContain(`${one} line 2: unsupported option "${line.split(' ')[0]}"`);
    }
    // An ignored keyword asked for with -o is refused too (the user asked for it explicitly).
    for (const [name, value] of [['ForwardX11', 'yes'], ['TCPKeepAlive', 'yes'], ['EnableEscapeCommandline', 'yes'], ['RequestTTY', 'force']]) {
      expect(run(SSH, ['-G', '-F', 'none', '-o', `${name}=${value}`, 'h']).lines.length, name).toBeGreaterThan(70);
      const ours = run(process.execPath, [CLI, '-G', '-F', 'none', '-o', `${name}=${value}`, 'h'], 255);
      expect(ours.lines, name).toEqual([]);
      expect(ours.stderr, name).toContain(`command-line line 0: unsupported option "${name}"`);
    }
  });

  it('identities, certificates, IdentityAgent forms, authentication keywords', () => {
    const key = file('home/.ssh/id_dump_key', 'not read under -G\n');
    const cfg = file(
      'ident.conf',
      `Host h
  IdentityFile ~/.ssh/id_%h_%r
  CertificateFile ~/.ssh/id_%h-cert.pub
  CertificateFile ${dir}/ca/%u-cert.pub
  IdentitiesOnly yes
  PreferredAuthentications publickey,keyboard-interactive
  PubkeyAuthentication host-bound
  PasswordAuthentication no
  AddressFamily inet6
${FIXED}`,
    );
    for (const agent of ['none', 'SSH_AUTH_SOCK', '$PURE_DUMP_VAR', '~/agent-%h-%p.sock', '${PURE_DUMP_VAR}/agent']) {
      const r = compare(['-F', cfg, '-i', key, '-o', `IdentityAgent=${agent}`, 'h']);
      expect(r.ours, agent).toEqual(r.theirs);
      expect(r.ours.some((l) => l.startsWith('identityagent ')), agent).toBe(true);
    }
    const r = compare(['-F', cfg, '-o', 'PubkeyAuthentication=no', 'h']);
    expect(r.ours).toEqual(r.theirs);
  });

  it('PubkeyAuthentication: each value (yes, true, no, false, unbound, host-bound, any case) as ssh 9.2 prints it, the first one winning', () => {
    const cfg = file('pubkey.conf', FIXED);
    for (const value of ['yes', 'true', 'no', 'false', 'unbound', 'host-bound', 'Host-Bound', 'UNBOUND']) {
      const line = (args: string[]) => run(SSH, ['-G', ...args]).lines.find((l) => l.startsWith('pubkeyauthentication '));
      const args = ['-F', cfg, '-o', `PubkeyAuthentication=${value}`, '-o', 'PubkeyAuthentication=no', 'h'];
      const ours = run(process.execPath, [CLI, '-G', ...args]).lines.find((l) => l.startsWith('pubkeyauthentication '));
      expect(ours, value).toBe(line(args));
    }
    // readconf.c multistate_pubkey_auth: the default is `true` (unbound and host-bound).
    expect(compare(['-F', cfg, 'h']).ours).toContain('pubkeyauthentication true');
  });

  it('-n, -f, -T, -W, StdinNull, ForkAfterAuthentication and SessionType', () => {
    const cfg = file('session.conf', FIXED);
    const stdinNull = file('stdin-null.conf', `StdinNull yes\nForkAfterAuthentication yes\nSessionType none\n${FIXED}`);
    for (const args of [['-n', 'h'], ['-f', '-N', 'h'], ['-T', 'h'], ['-W', 'db:5432', 'h'], ['-N', '-n', 'h']]) {
      const r = compare(['-F', cfg, ...args]);
      expect(r.ours, args.join(' ')).toEqual(r.theirs);
    }
    const r = compare(['-F', stdinNull, 'h']);
    expect(r.ours).toEqual(r.theirs);
    expect(r.ours).toEqual(expect.arrayContaining(['stdinnull yes', 'forkafterauthentication yes', 'sessiontype none']));
  });

  it('-R forms, PermitRemoteOpen, -g, ExitOnForwardFailure, ClearAllForwardings', () => {
    const cfg = file('remote.conf', `Host *\n  PermitRemoteOpen db:5432 [::1]:*\n  ExitOnForwardFailure yes\n${FIXED}`);
    const clear = file('clear.conf', `Host *\n  ClearAllForwardings yes\n  LocalForward 1 h:1\n${FIXED}`);
    for (const args of [
      ['-F', cfg, '-g', '-R', '8080:localhost:80', '-R', '1080', '-R', '[::1]:9000:h:22', '-R', `${dir}/r.sock:${dir}/l.sock`, 'h'],
      ['-F', clear, '-L', '2:h:2', '-R', '3:h:3', '-D', '4', 'h'],
    ]) {
      const r = compare(args);
      expect(r.ours, args.join(' ')).toEqual(r.theirs);
    }
  });

  it('algorithm lists with +, - and ^, -c and -m, canonicalization settings with a ProxyCommand (no look-up)', () => {
    const cfg = file(
      'algorithms.conf',
      `Host *
  MACs -hmac-sha1*
  HostKeyAlgorithms -ecdsa*
  PubkeyAcceptedAlgorithms +ssh-rsa
  KexAlgorithms ^diffie-hellman-group14-sha256
  CanonicalizeHostname yes
  CanonicalDomains a.example b.example
  CanonicalizeMaxDots 0
  CanonicalizeFallbackLocal no
  CanonicalizePermittedCNAMEs *.a.example:*.b.example
  ProxyCommand nc %h %p
`,
    );
    const r = compare(['-F', cfg, '-c', 'aes256-gcm@openssh.com,aes128-ctr', '-m', 'hmac-sha2-512', 'h']);
    expect(r.ours).toEqual(r.theirs.map((l) => (l.startsWith('kexalgorithms ') ? l.replace('diffie-hellman-group14-sha256,', 'diffie-hellman-group14-sha256,mlkem768x25519-sha256,') : l)));
  });

  // ssh's lists, the FIDO names included: -G prints them as ssh does.
  const RSA_LESS = 'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com';
  it.each([
    ['CASignatureAlgorithms ssh-ed25519,ecdsa-sha2-nistp256', [], 'ssh-ed25519,ecdsa-sha2-nistp256'],
    ['CASignatureAlgorithms -rsa-sha2-*', [], RSA_LESS],
    ['CASignatureAlgorithms ^rsa-sha2-256', [], `rsa-sha2-256,${RSA_LESS},rsa-sha2-512`],
    ['CASignatureAlgorithms +ssh-rsa', [], `${RSA_LESS},rsa-sha2-512,rsa-sha2-256,ssh-rsa`],
    ['CASignatureAlgorithms rsa*', [], 'rsa-sha2-256,rsa-sha2-512'],
    ['CASignatureAlgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa*', [], 'ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521'],
    ['CASignatureAlgorithms -*', [], ''],
    ['Host *', ['-o', 'CASignatureAlgorithms=ssh-ed25519'], 'ssh-ed25519'],
    ['CASignatureAlgorithms rsa-sha2-512', ['-o', 'CASignatureAlgorithms=ssh-ed25519'], 'ssh-ed25519'],
  ])('CASignatureAlgorithms applied as ssh applies it (+, -, ^, patterns, certificate types matching nothing; -o first): %s %j', (line, args, list) => {
    // break20 F6: pure-ssh printed OpenSSH's default whatever the file said.
    const cfg = file(`casig-${line.replace(/[^a-z0-9]/gi, '_')}.conf`, `${line}\n`);
    const r = compare(['-F', cfg, ...args, 'h']);
    expect(r.ours).toEqual(r.theirs);
    expect(r.ours).toContain(`casignaturealgorithms ${list}`);
  });

  it("pure-ssh -G's own output, read back as a configuration file, prints the same", () => {
    const cfg = file('source.conf', `Host h\n  User round\n  LocalForward 9000 db:5432\n  ProxyJump gw:2222\n${FIXED}`);
    const first = run(process.execPath, [CLI, '-G', '-F', cfg, 'h']).lines;
    const again = file('dumped.conf', `${first.join('\n')}\n`);
    expect(run(process.execPath, [CLI, '-G', '-F', again, 'h']).lines).toEqual(first);
  });

  it('exits 0 without connecting, even for a host that does not exist', () => {
    const out = execFileSync(process.execPath, [CLI, '-G', '-F', 'none', 'no-such-host.invalid'], { encoding: 'utf8', env: env() });
    expect(out.split('\n')[0]).toBe('host no-such-host.invalid');
  });
});
