/**
 * What `pure-ssh -G` must print, from what Debian 12's `ssh -G` (OpenSSH 9.2, /usr/bin/ssh) prints
 * for the same configuration: the same lines in the same order, but for the differences listed
 * here with their reasons ({@link EXPECTED_DIFFERENCES}; src/config/dump.ts says the same at each
 * line, README.md under "-G" too). Used by every test that compares the two outputs.
 */
import { defaultCiphers } from '../../src/cipher/registry.js';

/** A value mapping: ssh's value (exactly) to pure-ssh's; undefined leaves no line. */
export type ValueMap = (ssh: string) => string | undefined;
export const when = (from: string, to: string | undefined): ValueMap => (v) => (v === from ? to : v);
/** Without the FIDO security key names (`sk-ssh-ed25519@openssh.com`, `sk-...-cert-v01@openssh.com`). */
export const withoutSk: ValueMap = (v) => v.split(',').filter((n) => !n.startsWith('sk-')).join(',');

export const SSH92_DEFAULT_CIPHERS = 'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com';
export const SSH92_DEFAULT_KEX =
  'sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,' +
  'ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,' +
  'diffie-hellman-group14-sha256';

/**
 * Every line where `pure-ssh -G` differs from Debian 12's `ssh -G` whatever the configuration,
 * with its reason (src/config/dump.ts says the same at each line; README.md "-G"). Each maps the
 * value ssh prints to the one pure-ssh must print; no other line may differ.
 */
export const EXPECTED_DIFFERENCES: Record<string, { why: string; ours: ValueMap }> = {
  forwardx11trusted: { why: "Debian's default is yes (upstream's no): pure-ssh forwards no X11, so trusts no X11 client", ours: when('yes', 'no') },
  gssapikexalgorithms: { why: 'a list of GSSAPI key exchanges (a Debian line): pure-ssh has none to offer', ours: () => undefined },
  requesttty: { why: 'pure-ssh opens no session, so asks for no pseudo-terminal (ssh prints false too with -N, -T or -W)', ours: when('auto', 'false') },
  tcpkeepalive: { why: 'pure-ssh sets no SO_KEEPALIVE (ServerAliveInterval detects a dead server)', ours: when('yes', 'no') },
  updatehostkeys: { why: 'pure-ssh learns no host keys after authentication (hostkeys-00@openssh.com)', ours: when('true', 'false') },
  ciphers: {
    why: "pure-ssh's default order is its crypto provider's (src/cipher/registry.ts defaultCiphers: AES-GCM first with node:crypto)",
    ours: when(SSH92_DEFAULT_CIPHERS, defaultCiphers(process.env.PURE_SSH_CRYPTO === 'pure' ? 'pure' : 'node').join(',')),
  },
  hostkeyalgorithms: { why: 'pure-ssh verifies no FIDO (sk-*) host keys', ours: withoutSk },
  hostbasedacceptedalgorithms: { why: 'key types for host-based authentication, which pure-ssh does not have', ours: () => undefined },
  kexalgorithms: {
    why: "pure-ssh's default offers mlkem768x25519-sha256 first, as OpenSSH 10 does (9.2 lacks it)",
    ours: when(SSH92_DEFAULT_KEX, `mlkem768x25519-sha256,${SSH92_DEFAULT_KEX}`),
  },
  loglevel: { why: "Debian's 9.2 names the -q level SILENT; OpenSSH 10 prints QUIET, as pure-ssh does", ours: when('SILENT', 'QUIET') },
  pubkeyacceptedalgorithms: { why: 'pure-ssh signs with no FIDO (sk-*) key', ours: withoutSk },
  ipqos: { why: 'pure-ssh sets no IP type of service (the system default, IPQoS none)', ours: when('lowdelay throughput', 'none none') },
};

/**
 * `ssh -G`'s lines as pure-ssh must print them: {@link EXPECTED_DIFFERENCES} applied, then a
 * line dropped where a map gives undefined. `extra` maps a case's own differences (a keyword the
 * case sets that pure-ssh ignores with a -v line), applied before the general ones.
 *
 * @example
 * expect(pureSshLines).toEqual(expectedDump(sshLines));
 */
export function expectedDump(sshLines: readonly string[], extra: Readonly<Record<string, ValueMap>> = {}): string[] {
  return sshLines.flatMap((line) => {
    const space = line.indexOf(' ');
    const keyword = line.slice(0, space);
    let v: string | undefined = line.slice(space + 1);
    const own = extra[keyword];
    if (own !== undefined) v = own(v);
    const general = EXPECTED_DIFFERENCES[keyword];
    if (v !== undefined && general !== undefined) v = general.ours(v);
    return v === undefined ? [] : [`${keyword} ${v}`];
  });
}
