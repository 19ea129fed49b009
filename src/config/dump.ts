/**
 * `pure-ssh -G`: the resolved configuration as `ssh -G` prints it (readconf.c
 * dump_client_config of Debian 12's OpenSSH 9.2, GSSAPI lines included): lowercase keyword names,
 * OpenSSH's value formats and order, one keyword per line, every keyword ssh prints, so tools
 * that read `ssh -G` and people who diff the two find each line where ssh has it.
 *
 * Every line states what a connection would really use. For the keywords pure-ssh implements,
 * their resolved values. For the others (keywords.ts: refused, ignored), the value that asks for
 * what pure-ssh does anyway, which is OpenSSH's default in most cases (`forwardx11 no`); a value
 * pure-ssh cannot honour is an error (refused) or a -v line (ignored) where it is read, and is
 * never printed here. Where OpenSSH's default is something pure-ssh does not do, the line says
 * what pure-ssh does instead, and the lines that would only list what a missing feature offers
 * are left out: test/config-dump.test.ts lists each such difference with its reason (README.md,
 * "-G", too). Pure.
 */
import { DEFAULT_IDENTITY_FILES, type ResolvedConfig } from './cli-args.js';
import type { DynamicForwardSpec, ForwardSpec } from './forward-spec.js';
import { formatHop, type JumpSpec } from './jump-spec.js';
import { escapeCharText } from './keywords.js';

/** The algorithm lists a connection would offer, in order (the library resolves `+`/`-`/`^`). */
export interface EffectiveAlgorithms {
  cipher: readonly string[];
  mac: readonly string[];
  kex: readonly string[];
  hostKey: readonly string[];
  /** PubkeyAcceptedAlgorithms, resolved. */
  pubkeyAccepted: readonly string[];
}

const yesNo = (v: boolean) => (v ? 'yes' : 'no');

/** readconf.c multistate_canonicalizehostname: the first name of each value is what -G prints. */
const CANONICALIZE = { no: 'false', yes: 'true', always: 'always' } as const;

/** readconf.c multistate_strict_hostkey: the first name of each value is what -G prints. */
const STRICT = { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' } as const;

/** readconf.c dump_cfg_forwards: `[host]:port`, a bare port without a bind address, or a socket path. */
function forwardListen(l: ForwardSpec['listen'] | DynamicForwardSpec): string {
  if ('path' in l) return l.path;
  return l.bindAddress === undefined ? String(l.port) : `[${l.bindAddress}]:${l.port}`;
}

function forwardTarget(t: ForwardSpec['to']): string {
  return 'path' in t ? t.path : `[${t.host}]:${t.port}`;
}

/**
 * readconf.c dump_client_config: the hops before the last exactly as written (parse_jump keeps
 * them as jump_extra: `-J j:http,k` prints `j:http,k`), then the last one (the jump_host ssh
 * connects through) from its parsed parts, its host in brackets when it looks numeric, e.g.
 * `u@gw:2,[10.0.0.1]:22`.
 */
function proxyJumpLine(hops: readonly JumpSpec[], extra: string | undefined): string {
  const last = formatHop(hops[hops.length - 1]!, 'numeric');
  return extra !== undefined ? `${extra},${last}` : last;
}

/** readconf.c multistate_requesttty, multistate_yesnoask, ...: the name -G prints for "no". */
const FALSE = 'false';

/**
 * The lines `ssh -G` would print for `cfg`, in dump_client_config's order, each with the value
 * pure-ssh will use (see the file comment).
 *
 * @example
 * dumpConfig(cfg, algorithms).join('\n') // "host db\nuser joe\nhostname db.example\nport 22\n..."
 */
export function dumpConfig(cfg: ResolvedConfig, algorithms: EffectiveAlgorithms): string[] {
  const o = cfg.options;
  const lines: string[] = [];
  const put = (keyword: string, value: string | number | undefined) => {
    if (value !== undefined) lines.push(`${keyword} ${value}`);
  };
  // Most interesting first: user, host, port.
  put('host', cfg.hostArg);
  put('user', cfg.user);
  put('hostname', cfg.hostName);
  put('port', cfg.port);
  // Flag options. Those pure-ssh does not implement print the value keywords.ts accepts silently
  // (its `noop`), in readconf.c's words for it.
  put('addressfamily', cfg.addressFamily);
  put('batchmode', yesNo(cfg.batchMode));
  put('canonicalizefallbacklocal', yesNo(cfg.canonicalize.fallbackLocal));
  // readconf.c multistate_canonicalizehostname: the first name of each value.
  put('canonicalizehostname', CANONICALIZE[cfg.canonicalize.mode]);
  // No address check in known_hosts (CheckHostIP other than no is refused).
  put('checkhostip', 'no');
  put('compression', yesNo(cfg.compression));
  // No connection sharing (multistate_controlmaster).
  put('controlmaster', FALSE);
  put('enablesshkeysign', 'no');
  put('clearallforwardings', yesNo(o.clearAllForwardings ?? false));
  put('exitonforwardfailure', yesNo(cfg.exitOnForwardFailure));
  // digest.c ssh_digest_alg_name: the name in upper case.
  put('fingerprinthash', cfg.fingerprintHash.toUpperCase());
  put('forwardx11', 'no');
  // Debian's default is yes (upstream's no): pure-ssh forwards no X11 and so trusts no X11 client.
  put('forwardx11trusted', 'no');
  put('gatewayports', yesNo(cfg.gatewayPorts));
  // Debian's GSSAPI patch prints these (an OpenSSH built without GSSAPI prints none of them).
  put('gssapiauthentication', 'no');
  put('gssapikeyexchange', 'no');
  put('gssapidelegatecredentials', 'no');
  put('gssapitrustdns', 'no');
  put('gssapirenewalforcesrekey', 'no');
  // Not printed: gssapikexalgorithms, as pure-ssh has no GSSAPI key exchange to offer.
  put('hashknownhosts', yesNo(cfg.hashKnownHosts));
  put('hostbasedauthentication', 'no');
  put('identitiesonly', yesNo(o.identitiesOnly ?? false));
  put('kbdinteractiveauthentication', yesNo(cfg.kbdInteractiveAuthentication));
  put('nohostauthenticationforlocalhost', 'no');
  put('passwordauthentication', yesNo(cfg.passwordAuthentication));
  put('permitlocalcommand', 'no');
  // ssh.c clears it for ProxyJump; with a ProxyCommand `yes` is refused before this (cli-args.ts).
  put('proxyusefdpass', yesNo(o.proxyUseFdpass?.value === true && cfg.proxy?.kind !== 'jump'));
  // readconf.c fmt_multistate_int with multistate_pubkey_auth: the table's first name for the
  // value, `true` for yes (unbound and host-bound), `false` for no.
  const pubkey = cfg.pubkeyAuthentication;
  put('pubkeyauthentication', pubkey === true ? 'true' : pubkey === false ? 'false' : pubkey);
  // pure-ssh opens no session, so asks for no pseudo-terminal (ssh -N, -T and -W print this).
  put('requesttty', FALSE);
  put('sessiontype', o.sessionType ?? 'default');
  put('stdinnull', yesNo(cfg.stdinNull));
  put('forkafterauthentication', yesNo(cfg.forkAfterAuthentication));
  put('streamlocalbindunlink', yesNo(cfg.streamLocalBindUnlink));
  put('stricthostkeychecking', STRICT[cfg.strictHostKeyChecking]);
  // No SO_KEEPALIVE is set; ServerAliveInterval detects a dead server.
  put('tcpkeepalive', 'no');
  put('tunnel', FALSE);
  put('verifyhostkeydns', FALSE);
  put('visualhostkey', yesNo(cfg.visualHostKey));
  // No host keys are learnt after authentication (hostkeys-00@openssh.com, OpenSSH PROTOCOL §2.5).
  put('updatehostkeys', FALSE);
  put('enableescapecommandline', 'no');
  // Integer options.
  put('canonicalizemaxdots', cfg.canonicalize.maxDots);
  put('connectionattempts', cfg.connectionAttempts);
  // OpenSSH's default, which only an untrusted X11 forwarding would use.
  put('forwardx11timeout', 1200);
  put('numberofpasswordprompts', cfg.numberOfPasswordPrompts);
  put('serveralivecountmax', cfg.serverAliveCountMax);
  put('serveraliveinterval', cfg.serverAliveInterval);
  // readconf.c dump_cfg_int(oRequiredRSASize): the value obtained, OpenSSH's 1024 by default.
  put('requiredrsasize', cfg.requiredRsaSize);
  // String options. BindAddress, BindInterface, KbdInteractiveDevices, PKCS11Provider,
  // RevokedHostKeys and KnownHostsCommand are refused when set (RemoteCommand where a session
  // would run it, below); ControlPath and LocalCommand ignored: ssh prints them only when set,
  // pure-ssh never.
  put('ciphers', algorithms.cipher.join(','));
  put('hostkeyalgorithms', algorithms.hostKey.join(','));
  put('hostkeyalias', cfg.hostKeyAlias);
  // Not printed: hostbasedacceptedalgorithms, as pure-ssh has no host-based authentication.
  put('identityagent', cfg.identityAgentSetting);
  put('ignoreunknown', o.ignoreUnknown?.join(','));
  // OpenSSH 10 readconf.c dump_client_config: printed when set.
  put('tag', o.tag);
  put('kexalgorithms', algorithms.kex.join(','));
  // The list applied, as ssh lists it: names pure-ssh verifies no CA signature of (FIDO `sk-*`,
  // `ssh-dss`) included, as a certificate signed so is refused whatever the list says.
  put('casignaturealgorithms', cfg.caSignatureAlgorithms.join(','));
  // Set only where no session runs it (-N, -W, SessionType none), unused there as by ssh.
  put('remotecommand', cfg.remoteCommand);
  // log.c log_level_name(): the first name of the level, DEBUG for DEBUG1.
  put('loglevel', cfg.logLevel === 'DEBUG1' ? 'DEBUG' : cfg.logLevel);
  put('macs', algorithms.mac.join(','));
  // The name OpenSSH gives its own provider, which an OpenSSH built without FIDO support prints
  // too: a security key is refused when loaded, as there.
  put('securitykeyprovider', 'internal');
  // readconf.c dump_cfg_string: printed when set, as written.
  put('preferredauthentications', o.preferredAuthentications);
  put('pubkeyacceptedalgorithms', algorithms.pubkeyAccepted.join(','));
  // Debian's path; no xauth is ever run (no X11 forwarding).
  put('xauthlocation', '/usr/bin/xauth');
  // Forwards.
  // readconf.c dump_cfg_forwards walks its one list of -L and -D twice: `dynamicforward` for each
  // SOCKS listener and, as its test is "no connect host or `socks`", for each -L whose target
  // is a Unix socket too (its listen side only; OpenSSH 9.2 and 10 alike), in the order added;
  // then `localforward` for every -L.
  const order = o.localForwardOrder ?? [
    ...cfg.dynamicForwards.map((_, index) => ({ dynamic: true, index })),
    ...cfg.localForwards.map((_, index) => ({ dynamic: false, index })),
  ];
  for (const { dynamic, index } of order) {
    const f = dynamic ? cfg.dynamicForwards[index] : cfg.localForwards[index];
    if (f !== undefined && (dynamic || 'path' in (f as ForwardSpec).to)) put('dynamicforward', forwardListen(dynamic ? (f as DynamicForwardSpec) : (f as ForwardSpec).listen));
  }
  for (const f of cfg.localForwards) put('localforward', `${forwardListen(f.listen)} ${forwardTarget(f.to)}`);
  for (const f of cfg.remoteForwards) put('remoteforward', `${forwardListen(f.listen)} ${forwardTarget(f.to)}`);
  // String arrays: IdentityFile and CertificateFile as written (ssh expands them later).
  const identities = o.identityFiles.length > 0 ? o.identityFiles : DEFAULT_IDENTITY_FILES.map((n) => `~/.ssh/${n}`);
  for (const f of identities) put('identityfile', f);
  // readconf.c dump_cfg_strarray_oneline.
  put('canonicaldomains', o.canonicalDomains?.length ? o.canonicalDomains.join(' ') : 'none');
  for (const f of o.certificateFiles ?? []) put('certificatefile', f);
  put('globalknownhostsfile', cfg.globalKnownHostsFiles.length > 0 ? cfg.globalKnownHostsFiles.join(' ') : 'none');
  put('userknownhostsfile', cfg.userKnownHostsFiles.length > 0 ? cfg.userKnownHostsFiles.join(' ') : 'none');
  // SendEnv and SetEnv (ignored: no session) print nothing, as ssh's do when unset.
  // No per-function debug logging.
  put('logverbose', 'none');
  // Special cases.
  // readconf.c dump_client_config: PermitRemoteOpen's words as given, `any` when unset.
  put('permitremoteopen', cfg.permitRemoteOpen.length > 0 ? cfg.permitRemoteOpen.join(' ') : 'any');
  // No key is added to an agent (multistate_yesnoaskconfirm), no agent forwarded.
  put('addkeystoagent', FALSE);
  put('forwardagent', 'no');
  put('connecttimeout', cfg.connectTimeoutSet ? cfg.connectTimeout : 'none');
  // OpenSSH's default, which only Tunnel (refused) would use.
  put('tunneldevice', 'any:any');
  // readconf.c prints this keyword with this capitalization.
  const cnames = cfg.canonicalize.permittedCnames;
  put('canonicalizePermittedcnames', cnames.length > 0 ? cnames.map((r) => `${r.source}:${r.target}`).join(' ') : 'none');
  put('controlpersist', 'no');
  // ssh's default `~`; no session reads it (cli-args.ts says so at -v).
  put('escapechar', escapeCharText(o.escapeChar?.value ?? 0x7e));
  // No IP type of service is set: the system's (iptos2str(INT_MAX), IPQoS none).
  put('ipqos', 'none none');
  // The amount exact (a long long in ssh), beyond what a number holds.
  put('rekeylimit', `${o.rekeyLimit ?? 0n} ${cfg.rekeyLimitSeconds ?? 0}`);
  // Forwarded Unix sockets are bound with this mask (StreamLocalBindMask is refused).
  put('streamlocalbindmask', '0177');
  // OpenSSH's default, which only logging to syslog (-y, refused) would use.
  put('syslogfacility', 'USER');
  if (cfg.proxy?.kind === 'jump') put('proxyjump', proxyJumpLine(cfg.proxy.hops, cfg.proxy.extra));
  else if (o.proxy?.kind === 'command') put('proxycommand', o.proxy.command);
  return lines;
}
