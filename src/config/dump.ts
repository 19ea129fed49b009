/**
 * `pure-ssh -G`: the resolved configuration as `ssh -G` prints it (readconf.c
 * dump_client_config): lowercase keyword names, OpenSSH's value formats and order, one keyword
 * per line. Only the keywords pure-ssh implements are printed, so every line states what a
 * connection would really use. Pure.
 */
import { DEFAULT_IDENTITY_FILES, type ResolvedConfig } from './cli-args.js';
import type { DynamicForwardSpec, ForwardSpec } from './forward-spec.js';
import { formatHop, type JumpSpec } from './jump-spec.js';

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

/**
 * The lines `ssh -G` would print for `cfg`, restricted to what pure-ssh implements, in
 * dump_client_config's order.
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
  // Flag options.
  put('addressfamily', cfg.addressFamily);
  put('batchmode', yesNo(cfg.batchMode));
  put('canonicalizefallbacklocal', yesNo(cfg.canonicalize.fallbackLocal));
  // readconf.c multistate_canonicalizehostname: the first name of each value.
  put('canonicalizehostname', CANONICALIZE[cfg.canonicalize.mode]);
  put('compression', yesNo(cfg.compression));
  put('clearallforwardings', yesNo(o.clearAllForwardings ?? false));
  put('exitonforwardfailure', yesNo(cfg.exitOnForwardFailure));
  put('gatewayports', yesNo(cfg.gatewayPorts));
  put('hashknownhosts', yesNo(cfg.hashKnownHosts));
  put('identitiesonly', yesNo(o.identitiesOnly ?? false));
  put('kbdinteractiveauthentication', yesNo(cfg.kbdInteractiveAuthentication));
  put('passwordauthentication', yesNo(cfg.passwordAuthentication));
  // readconf.c multistate_pubkey_auth prints true/false.
  put('pubkeyauthentication', cfg.pubkeyAuthentication ? 'true' : 'false');
  put('sessiontype', o.sessionType ?? 'default');
  put('forkafterauthentication', yesNo(cfg.forkAfterAuthentication));
  put('stricthostkeychecking', STRICT[cfg.strictHostKeyChecking]);
  // Integer options.
  put('canonicalizemaxdots', cfg.canonicalize.maxDots);
  put('numberofpasswordprompts', cfg.numberOfPasswordPrompts);
  put('serveralivecountmax', cfg.serverAliveCountMax);
  put('serveraliveinterval', cfg.serverAliveInterval);
  // String options.
  put('ciphers', algorithms.cipher.join(','));
  put('hostkeyalgorithms', algorithms.hostKey.join(','));
  put('hostkeyalias', cfg.hostKeyAlias);
  put('ignoreunknown', o.ignoreUnknown?.join(','));
  // OpenSSH 10 readconf.c dump_client_config: printed when set.
  put('tag', o.tag);
  put('kexalgorithms', algorithms.kex.join(','));
  // log.c log_level_name(): the first name of the level, DEBUG for DEBUG1.
  put('loglevel', cfg.logLevel === 'DEBUG1' ? 'DEBUG' : cfg.logLevel);
  put('macs', algorithms.mac.join(','));
  // readconf.c dump_cfg_string: printed when set, as written.
  put('preferredauthentications', o.preferredAuthentications);
  put('pubkeyacceptedalgorithms', algorithms.pubkeyAccepted.join(','));
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
  // Special cases.
  // readconf.c dump_client_config: PermitRemoteOpen's words as given, `any` when unset.
  put('permitremoteopen', cfg.permitRemoteOpen.length > 0 ? cfg.permitRemoteOpen.join(' ') : 'any');
  put('connecttimeout', cfg.connectTimeoutSet ? cfg.connectTimeout : 'none');
  // readconf.c prints this keyword with this capitalization.
  const cnames = cfg.canonicalize.permittedCnames;
  put('canonicalizePermittedcnames', cnames.length > 0 ? cnames.map((r) => `${r.source}:${r.target}`).join(' ') : 'none');
  // The amount exact (a long long in ssh), beyond what a number holds.
  put('rekeylimit', `${o.rekeyLimit ?? 0n} ${cfg.rekeyLimitSeconds ?? 0}`);
  if (cfg.proxy?.kind === 'jump') put('proxyjump', proxyJumpLine(cfg.proxy.hops, cfg.proxy.extra));
  else if (o.proxy?.kind === 'command') put('proxycommand', o.proxy.command);
  return lines;
}
