/**
 * Which kex method's key pair the client makes before the server's KEXINIT arrives
 * (Handshake.prepareKex): a guess at what negotiation will pick, made from the server's version
 * line. Only the preparation depends on it; negotiation itself is RFC 4253 §7.1's as always, and
 * a wrong guess costs one key pair, wiped.
 */

/**
 * OpenSSH 9.0 to 9.8's default server KexAlgorithms (myproposal.h KEX_SERVER_KEX, identical in
 * every release of that range): sntrup761x25519 first, no ML-KEM (mlkem768x25519-sha256 came
 * in 9.9). Against these servers our defaults negotiate sntrup761x25519-sha512@openssh.com, not
 * our first preference.
 */
const OPENSSH_9_0_TO_9_8_KEX: ReadonlySet<string> = new Set([
  'sntrup761x25519-sha512@openssh.com',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
]);

/** RFC 4253 §4.2 `SSH-2.0-softwareversion`: OpenSSH writes `OpenSSH_9.2p1` (version.h SSH_VERSION). */
const OPENSSH_9_0_TO_9_8 = /^SSH-2\.0-OpenSSH_9\.[0-8](?![0-9])/;

/**
 * Debian 12's 9.2p1 from 1:9.2p1-2+deb12u4 on (its changelog, closes #1088873; the package
 * writes `OpenSSH_9.2p1 Debian-2+deb12u4` after the version) also takes sntrup761x25519-sha512
 * without the @openssh.com suffix, which our defaults list first.
 */
const DEBIAN_12_OPENSSH_9_2 = /^SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u(\d+)(?![0-9])/;
const DEBIAN_12_FROM_UPDATE = 4;
const SNTRUP761X25519_SHA512 = 'sntrup761x25519-sha512';

/**
 * The kex method to prepare: the first of `ours` (our preference order) that a default-configured
 * server of `serverVersion` offers, which is what RFC 4253 §7.1 negotiates, when the version line
 * names OpenSSH 9.0–9.8 (with Debian 12's extra name, above); otherwise our first preference. `serverVersion` undefined (not yet
 * received): our first preference.
 *
 * @example
 * ```ts
 * kexToPrepare(['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'], 'SSH-2.0-OpenSSH_9.6');
 * // 'sntrup761x25519-sha512@openssh.com'
 * ```
 */
export function kexToPrepare(ours: readonly string[], serverVersion: string | undefined): string | undefined {
  if (serverVersion === undefined || !OPENSSH_9_0_TO_9_8.test(serverVersion)) return ours[0];
  const debian = DEBIAN_12_OPENSSH_9_2.exec(serverVersion);
  const bareSntrup = debian !== null && Number(debian[1]) >= DEBIAN_12_FROM_UPDATE;
  return ours.find((name) => OPENSSH_9_0_TO_9_8_KEX.has(name) || (bareSntrup && name === SNTRUP761X25519_SHA512));
}

/**
 * Whether {@link kexToPrepare} can answer anything but our first preference for some version
 * line: only when that first preference is missing from OpenSSH 9.0–9.8's defaults. Otherwise the
 * key pair need not wait for the server's version line.
 */
export function versionGuidesPreparation(ours: readonly string[]): boolean {
  return ours[0] !== undefined && !OPENSSH_9_0_TO_9_8_KEX.has(ours[0]);
}
