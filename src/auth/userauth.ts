/**
 * The user authentication protocol, client side (RFC 4252), sans-IO: `none` to learn the
 * allowed methods, then publickey (RFC 4252 §7), keyboard-interactive (RFC 4256) and password
 * (§8) in that order, OpenSSH's default PreferredAuthentications without the methods pure-ssh
 * lacks (sshconnect2.c authmethods[]: gssapi-with-mic, hostbased, publickey,
 * keyboard-interactive, password).
 */
import { AuthenticationError, ProtocolError, SshError, UsageError } from '../errors.js';
import { MSG, decodeMessage, encodeServiceRequest } from '../protocol/messages.js';
import { DEFAULT_HOST_KEY_ALGORITHMS, keyBlobType } from '../keys/hostkey.js';
import { keyFingerprint, type FingerprintHash } from '../keys/fingerprint.js';
import { globMatch } from '../protocol/glob.js';
import type { PrivateKey } from '../keys/privatekey.js';
import { describeCertifiedKey, isCertifiedKey, parseCertificate, rsaKeyTooShort } from '../keys/certificate.js';
import { SshReader, SshWriter, constantTimeEqual, fromUtf8 } from '../protocol/wire.js';
import { agentSignFlags } from './agent-protocol.js';
import { show } from '../option-check.js';
import { publicKeyAlgorithmsFor, signatureFormatOf, sshKeyTypeLabel, type AuthIdentity } from './identity.js';

/** How the client may authenticate. Secrets here are never logged. */
export interface AuthOptions {
  username: string;
  /** Keys to offer, in order (publickey), signed in the core; tried before {@link identities}. */
  privateKeys?: PrivateKey[];
  /**
   * More keys to offer, in order: local ones (with `key`) are signed at once; the others are
   * first offered without a signature (RFC 4252 §7) and, once the server accepts one, signed
   * through the `sign-request` event (an agent, a custom signer, a key file still encrypted).
   */
  identities?: AuthIdentity[];
  /** A password (password and keyboard-interactive). */
  password?: string;
  /** Ask the embedder for a password (event `password-needed`) when the server allows it. */
  askPassword?: boolean;
  /** OpenSSH's NumberOfPasswordPrompts (default 3). */
  passwordAttempts?: number;
  /** The prompt shown for passwords (ssh(1): `user@host's password: `). */
  passwordPrompt?: string;
  /** ssh_config PasswordAuthentication (default true). */
  passwordAuthentication?: boolean;
  /** ssh_config KbdInteractiveAuthentication (default true). */
  kbdInteractiveAuthentication?: boolean;
  /**
   * ssh_config(5) PubkeyAcceptedAlgorithms, resolved (no `+`/`-`/`^`): the key types and signature
   * algorithms public key authentication may use, in preference order. Default
   * {@link DEFAULT_PUBKEY_ACCEPTED_ALGORITHMS} (no SHA-1 `ssh-rsa`).
   */
  pubkeyAcceptedAlgorithms?: readonly string[];
  /**
   * ssh_config(5) RequiredRSASize: RSA keys (and RSA certificates) under this many bits, or under
   * 1024, are not offered (sshconnect2.c pubkey_prepare, load_identity_file).
   */
  requiredRsaSize?: number;
  /**
   * How key fingerprints are written in the -v lines (`Offering public key: FILE ED25519 FP`) and
   * the host key's (ssh_config(5) FingerprintHash: sshconnect2.c format_identity). Default SHA256;
   * other digests are passed in (keys/fingerprint-hashes.ts), so a bundle without them carries none.
   */
  fingerprintHash?: FingerprintHash;
  /**
   * ssh_config(5) PreferredAuthentications: the methods to try, in this order, among those the
   * server allows (sshconnect2.c authmethod_get). Names pure-ssh does not implement
   * (`gssapi-with-mic`, `hostbased`, unknown ones) are skipped, with a debug line. Default
   * {@link DEFAULT_PREFERRED_AUTHENTICATIONS}.
   */
  preferredAuthentications?: readonly string[];
  /**
   * ssh_config(5) PubkeyAuthentication's host-bound half (`yes` and `host-bound`; false for
   * `unbound`): sign publickey requests with OpenSSH's host-bound method,
   * `publickey-hostbound-v00@openssh.com` (OpenSSH PROTOCOL §"publickey-hostbound"), wherever the
   * server's EXT_INFO offers it ({@link UserAuthHandler.hostBoundKey}), as ssh(1) does
   * (sshconnect2.c sign_and_send_pubkey). Default true.
   */
  pubkeyHostbound?: boolean;
}

/**
 * The methods pure-ssh implements, in the order tried when PreferredAuthentications is not set:
 * ssh(1)'s default order (sshconnect2.c authmethods[], gssapi-with-mic and hostbased left out),
 * keyboard-interactive before password.
 */
export const DEFAULT_PREFERRED_AUTHENTICATIONS: readonly string[] = ['publickey', 'keyboard-interactive', 'password'];

/**
 * The debug line of a keyboard-interactive request's name and instruction (RFC 4256 §3.3) for a
 * client that was given nowhere else to show them: `keyboard-interactive: NAME: INSTRUCTION`,
 * the empty one left out.
 */
export function keyboardInteractiveInfoLine(name: string, instruction: string): string {
  return `keyboard-interactive: ${[name, instruction].filter(Boolean).join(': ')}`;
}

/** OpenSSH PROTOCOL §"publickey-hostbound": the host-bound public key method's name. */
/**
 * A Signer whose sign() resolved with null declined to sign (src/auth/signer.ts): the key
 * is skipped, said at debug and in the final AuthenticationError (it went without a word).
 */
export const SIGNER_DECLINED = 'sign() resolved with null (declined)';

export const PUBLICKEY_HOSTBOUND = 'publickey-hostbound-v00@openssh.com';

/** OpenSSH PROTOCOL §"publickey-hostbound": the EXT_INFO extension offering it, value "0". */
export const PUBKEY_HOSTBOUND_EXTENSION = 'publickey-hostbound@openssh.com';

/**
 * Whether an EXT_INFO offers the host-bound method: {@link PUBKEY_HOSTBOUND_EXTENSION} with the
 * value "0", the only version known (OpenSSH kex.c kex_input_ext_info: KEX_HAS_PUBKEY_HOSTBOUND).
 */
export function offersPubkeyHostbound(extensions: ReadonlyMap<string, Uint8Array>): boolean {
  return offersVersionZero(extensions, PUBKEY_HOSTBOUND_EXTENSION);
}

/** Whether an EXT_INFO has extension `name` with the value "0" (OpenSSH kex.c kex_ext_info_check_ver). */
export function offersVersionZero(extensions: ReadonlyMap<string, Uint8Array>, name: string): boolean {
  const v = extensions.get(name);
  return v !== undefined && v.length === 1 && v[0] === 0x30;
}

/** sshconnect2.c authmethods[]: methods OpenSSH's client knows and pure-ssh does not implement. */
const UNIMPLEMENTED_METHODS: ReadonlySet<string> = new Set(['gssapi-with-mic', 'hostbased']);

/**
 * PubkeyAcceptedAlgorithms' default: OpenSSH 9.2/10's (myproposal.h KEX_DEFAULT_PK_ALG, the same
 * list as HostKeyAlgorithms') without the FIDO `sk-*` types pure-ssh cannot use.
 */
export const DEFAULT_PUBKEY_ACCEPTED_ALGORITHMS: readonly string[] = DEFAULT_HOST_KEY_ALGORITHMS;

/** The RSA signature algorithms a plain or certified RSA key may also be accepted by (sshconnect2.c key_type_allowed()). */
const RSA_ALTERNATES: Readonly<Record<string, readonly string[]>> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256'],
  'ssh-rsa-cert-v01@openssh.com': ['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com'],
};

export interface UserAuthHandler {
  send(payload: Uint8Array): void;
  sessionId(): Uint8Array;
  /**
   * The first key exchange's host key blob (OpenSSH kex.h initial_hostkey) if the server's EXT_INFO
   * offered `publickey-hostbound@openssh.com` version "0" (OpenSSH PROTOCOL §"publickey-hostbound";
   * kex.c kex_input_ext_info: KEX_HAS_PUBKEY_HOSTBOUND); undefined otherwise.
   */
  hostBoundKey(): Uint8Array | undefined;
  /** server-sig-algs from EXT_INFO (RFC 8308 §3.1), if the server sent it. */
  serverSigAlgs(): string[] | undefined;
  banner(message: string): void;
  /** RFC 4256 §3.3: a keyboard-interactive request's name and instruction (one may be empty), for the user. */
  keyboardInteractiveInfo(name: string, instruction: string): void;
  /**
   * A prompt for a secret: answer with UserAuth.providePassword. `retry`: the server refused
   * this method's previous answer (a password, or the last keyboard-interactive request's);
   * ssh(1) then prints "Permission denied, please try again." for the password method only,
   * sshconnect2.c userauth_passwd. `method`: whose
   * prompt it is: the password prompt, or the server's keyboard-interactive prompt text (ssh(1)
   * shows that one as `(user@host) PROMPT`). `kbd` (keyboard-interactive only): the prompt's echo
   * flag and its place in its request (RFC 4256 §3.2): each prompt of a request is asked in turn,
   * as sshconnect2.c input_userauth_info_req reads each with read_passphrase (RP_ECHO when echo
   * is set); the answers go in one INFO_RESPONSE once all are had. `retry` is true for a request's
   * first prompt only.
   */
  passwordNeeded(
    prompt: string,
    retry: boolean,
    method: 'password' | 'keyboard-interactive',
    kbd?: { echo: boolean; index: number; count: number },
  ): void;
  /** A signature is needed: answer with UserAuth.provideSignature(id, ...). */
  signRequest(request: SignRequest): void;
  /**
   * An identity without a public key has its turn: load its private key (asking its passphrase)
   * and answer with UserAuth.provideKey(id, ...).
   */
  keyRequest(request: KeyRequest): void;
  success(): void;
  failure(error: SshError): void;
  /** Diagnostics for -v; `level` is ssh's debug level (2, 3), 1 when absent. */
  log(message: string, level?: 2 | 3): void;
}

/** What the `sign-request` event carries. */
export interface SignRequest {
  /** Echo it back in provideSignature. */
  id: number;
  /** The key (or certificate) blob the server accepted. */
  keyBlob: Uint8Array;
  /** The signature algorithm wanted, e.g. `rsa-sha2-512` (the signature blob's format name). */
  algorithm: string;
  /** The bytes to sign: RFC 4252 §7 `string session_id || the USERAUTH_REQUEST up to the key`. */
  data: Uint8Array;
  /** The SSH_AGENTC_SIGN_REQUEST flags for this algorithm (draft-miller-ssh-agent-14 §3.6.1). */
  flags: number;
  /**
   * The identity offered (the object given in {@link AuthOptions.identities}): two identity
   * files may hold the same public key (a stale FILE.pub beside another key), and the one the
   * server accepted is the one that must sign (ssh(1) signs with the identity it offered).
   */
  identity: AuthIdentity;
}

/** What the `key-request` event carries. */
export interface KeyRequest {
  /** Echo it back in provideKey. */
  id: number;
  /** The identity whose private key is wanted (the object given in {@link AuthOptions.identities}). */
  identity: AuthIdentity;
}

/** An identity whose public half is known: every one offered or signed with. */
type KnownIdentity = AuthIdentity & { publicKeyBlob: Uint8Array };

const known = (identity: AuthIdentity): identity is KnownIdentity => identity.publicKeyBlob !== undefined;

type Attempt =
  | { method: 'none' }
  | { method: 'publickey'; identity: KnownIdentity; algorithm: string; query: boolean; loaded?: boolean }
  | { method: 'password' }
  | { method: 'keyboard-interactive' };

/** One prompt of an SSH_MSG_USERAUTH_INFO_REQUEST (RFC 4256 §3.2). */
interface KbdPrompt {
  prompt: string;
  echo: boolean;
}

type State =
  | { kind: 'idle' }
  | { kind: 'service-requested' }
  | { kind: 'trying'; attempt: Attempt }
  | { kind: 'awaiting-password'; method: 'password' }
  /** RFC 4256 §3.2–3.4: the request's prompts, asked one by one; `answers` so far, in order. */
  | { kind: 'awaiting-password'; method: 'keyboard-interactive'; prompts: KbdPrompt[]; answers: string[] }
  | { kind: 'awaiting-signature'; id: number; identity: KnownIdentity; algorithm: string; signed: Uint8Array }
  | { kind: 'awaiting-key'; id: number; identity: AuthIdentity }
  | { kind: 'done' };

const SERVICE_USERAUTH = 'ssh-userauth';
const SERVICE_CONNECTION = 'ssh-connection';

/**
 * sshkey_type and sshkey_fingerprint of an identity, as ssh(1)'s lines give them: `ED25519-CERT`
 * for a certificate, whose fingerprint is the certified key's (sshkey_fingerprint hashes the plain key).
 */
function typeAndFingerprint(identity: KnownIdentity, hash: FingerprintHash | undefined): string {
  const keyType = keyBlobType(identity.publicKeyBlob);
  const type = sshKeyTypeLabel(keyType);
  const key = identity.key;
  let plain = identity.publicKeyBlob;
  if (key && isCertifiedKey(key)) plain = key.certificate.publicKeyBlob;
  else if (keyType.endsWith('-cert-v01@openssh.com')) {
    try {
      plain = parseCertificate(identity.publicKeyBlob).publicKeyBlob;
    } catch {
      // A certificate the agent holds but we cannot read: named by its own blob's hash.
    }
  }
  return `${type} ${keyFingerprint(plain, hash)}`;
}

/** Client side of RFC 4252. */
export class UserAuth {
  private state: State = { kind: 'idle' };
  private allowed: string[] = [];
  private readonly tried: string[] = [];
  private keyIndex = 0;
  private signId = 0;
  private identities: AuthIdentity[];
  /** The identities of {@link AuthOptions.privateKeys}, offered first. */
  private readonly local: AuthIdentity[];
  /** Methods that had nothing left to send (see next). */
  private readonly exhausted = new Set<string>();
  /** The algorithm each remaining identity goes under (pickSignatureAlgorithm, once). */
  private readonly chosen = new Map<KnownIdentity, string>();
  private passwordTries = 0;
  private order: readonly string[] | undefined;
  /** keyboard-interactive requests sent (sshconnect2.c attempt_kbdint). */
  private kbdAttempts = 0;
  /** Whether the server sent an SSH_MSG_USERAUTH_INFO_REQUEST (sshconnect2.c info_req_seen). */
  private kbdInfoSeen = false;
  /** The keyboard-interactive request out has had an answer to a prompt. */
  private kbdAnswered = false;
  /** Whether the `password` option has answered a keyboard-interactive prompt already. */
  private kbdStoredPasswordSent = false;
  /** The last keyboard-interactive request's answer was refused: the next prompt is a retry. */
  private kbdRefused = false;
  private lastError: string | undefined;
  /** The method of the last "Next authentication method" line. */
  private announced: string | undefined;
  /** Whether there were keys to offer at all (ssh(1): PubkeyAuthentication; see next()). */
  private pubkeyEnabled = false;

  private readonly options: Omit<AuthOptions, 'password'>;
  /**
   * The configured password: an ES private field (never shown by util.inspect or JSON.stringify),
   * dropped once authentication is over, as sshconnect2.c userauth_passwd frees its copy.
   */
  #password: string | undefined;

  constructor(
    options: AuthOptions,
    private readonly handler: UserAuthHandler,
  ) {
    const { password, ...rest } = options;
    this.options = rest;
    this.#password = password;
    this.local = (options.privateKeys ?? []).map((key) => ({
      publicKeyBlob: key.publicKeyBlob,
      label: key.comment || key.keyType,
      key,
    }));
    this.identities = [...this.local, ...(options.identities ?? [])];
  }

  get methodsTried(): readonly string[] {
    return this.tried;
  }

  /** Whether our `none` request (RFC 4252 §5.2) is out and its answer not yet in. */
  get awaitingMethods(): boolean {
    return this.state.kind === 'trying' && this.state.attempt.method === 'none';
  }

  /**
   * The identities to offer after the `privateKeys`, replacing {@link AuthOptions.identities},
   * before authentication starts: ssh(1) lists its agent's keys only once the host key is trusted
   * and the agent bound to the session (sshconnect2.c pubkey_prepare).
   */
  replaceIdentities(identities: readonly AuthIdentity[]): void {
    if (this.state.kind !== 'idle') throw new UsageError('identities can only be replaced before user authentication starts');
    this.identities = [...this.local, ...identities];
  }

  /** RFC 4253 §10: ask for the ssh-userauth service, once the keys to try are settled. */
  start(): void {
    this.prepareIdentities();
    this.state = { kind: 'service-requested' };
    this.handler.send(encodeServiceRequest(SERVICE_USERAUTH));
  }

  /** Handle SERVICE_ACCEPT or a message in 50..79. Returns false for anything else. */
  handle(payload: Uint8Array): boolean {
    const type = payload[0]!;
    if (type === MSG.SERVICE_ACCEPT) {
      const m = decodeMessage(payload);
      if (this.state.kind !== 'service-requested' || m?.type !== MSG.SERVICE_ACCEPT || m.service !== SERVICE_USERAUTH) {
        throw new ProtocolError('unexpected SERVICE_ACCEPT');
      }
      this.chooseAlgorithms();
      this.attempt({ method: 'none' });
      return true;
    }
    if (type < 50 || type > 79) return false;
    if (type === MSG.USERAUTH_BANNER) {
      // RFC 4252 §5.4: may arrive any time before success; show it.
      const m = decodeMessage(payload);
      if (m?.type === MSG.USERAUTH_BANNER) this.handler.banner(m.message);
      return true;
    }
    const state = this.state;
    if (state.kind === 'done' && type !== MSG.USERAUTH_SUCCESS) return false;
    // sshconnect2.c: before SERVICE_ACCEPT no user authentication number has a handler
    // (input_userauth_error's fatal, as ssh 9.2 words it).
    if (state.kind === 'service-requested') throw new ProtocolError(`bad message during authentication: type ${type}`);
    if (state.kind !== 'trying') {
      throw new ProtocolError(`unexpected user authentication message ${type}`);
    }
    switch (type) {
      case MSG.USERAUTH_SUCCESS:
        decodeMessage(payload);
        this.handler.log(`Authenticated using "${state.attempt.method}".`);
        this.state = { kind: 'done' };
        this.#password = undefined;
        this.handler.success();
        return true;
      case MSG.USERAUTH_FAILURE: {
        const m = decodeMessage(payload);
        if (m?.type !== MSG.USERAUTH_FAILURE) return false;
        // sshconnect2.c authmethod_get: a list other than the last one starts over, its method
        // announced anew ("Next authentication method"); the same list keeps the current method.
        if (m.methods.join(',') !== this.allowed.join(',')) this.announced = undefined;
        this.allowed = m.methods;
        if (m.partialSuccess) {
          // RFC 4252 §5.1: that method worked, but more are required (sshconnect2.c
          // input_userauth_failure's verbose() line).
          this.handler.log(`Authenticated using "${state.attempt.method}" with partial success.`);
        } else if (state.attempt.method !== 'none') {
          // sshconnect2.c input_userauth_failure: no line naming the method refused, only the list below.
          if (state.attempt.method === 'keyboard-interactive') this.kbdRefused = this.kbdAnswered;
          // OpenSSH PROTOCOL.certkeys: the server never says why; name the certificate and its terms.
          const identity = state.attempt.method === 'publickey' ? state.attempt.identity : undefined;
          const key = identity?.key;
          if (key && isCertifiedKey(key)) this.lastError = key.refusalDetail();
          else if (identity?.refusalDetail) this.lastError = identity.refusalDetail();
        }
        this.handler.log(`Authentications that can continue: ${m.methods.join(',')}`);
        this.next();
        return true;
      }
      case MSG.USERAUTH_60:
        return this.on60(state.attempt, payload);
      default:
        throw new ProtocolError(`unexpected user authentication message ${type}`);
    }
  }

  /** The answer to `passwordNeeded`; null cancels that method. */
  providePassword(password: string | null): void {
    const s = this.state;
    if (s.kind !== 'awaiting-password') return;
    if (password === null) {
      if (s.method === 'password') this.passwordTries = Number.POSITIVE_INFINITY;
      else this.kbdAttempts = Number.POSITIVE_INFINITY;
      this.state = { kind: 'trying', attempt: { method: 'none' } };
      // Abandoning keyboard-interactive mid-exchange: move on to whatever is left.
      this.next();
      return;
    }
    if (s.method === 'password') {
      this.sendPassword(password);
      return;
    }
    // RFC 4256 §3.4: one response per prompt, in the prompts' order, sent once all are had.
    s.answers.push(password);
    if (s.answers.length < s.prompts.length) {
      this.askKbdPrompt(s.prompts, s.answers.length, false);
      return;
    }
    this.kbdAnswered = true;
    this.sendInfoResponse(s.answers);
    this.state = { kind: 'trying', attempt: { method: 'keyboard-interactive' } };
  }

  /** Ask prompt `index` of a keyboard-interactive request (its answer comes to providePassword). */
  private askKbdPrompt(prompts: KbdPrompt[], index: number, retry: boolean): void {
    const p = prompts[index]!;
    this.handler.passwordNeeded(p.prompt, retry, 'keyboard-interactive', { echo: p.echo, index, count: prompts.length });
  }

  /**
   * The answer to `sign-request`: the signature blob (RFC 4253 §6.6), or null with the reason
   * the key could not sign (without one: its key could not be loaded, reported by the caller,
   * nothing logged); the next key or method is tried then. `reported`: the caller logged the
   * failure in ssh(1)'s words already; the reason is kept for the error, not logged again. Anything
   * else (neither bytes nor null) is a UsageError that ends authentication (handler.failure).
   */
  provideSignature(id: number, signature: Uint8Array | null, reason?: string, opts?: { reported?: boolean }): void {
    const s = this.state;
    if (s.kind !== 'awaiting-signature' || s.id !== id) return;
    const { identity, algorithm } = s;
    const keyType = keyBlobType(identity.publicKeyBlob);
    // A signer that resolved with no bytes (a string, undefined, WebCrypto's ArrayBuffer) is the
    // caller's bug (src/auth/signer.ts), not a key that could not sign: authentication ends with
    // a UsageError (the transport closes), no other key tried.
    if (signature !== null && !(signature instanceof Uint8Array)) {
      return this.handler.failure(new UsageError(`signing failed for ${sshKeyTypeLabel(keyType)} "${identity.label}": sign() resolved with ${show(signature)}`));
    }
    if (signature !== null) {
      const format = signatureFormatOf(algorithm);
      let got: string | undefined;
      try {
        got = fromUtf8(new SshReader(signature).string('signature format'));
      } catch {
        got = undefined;
      }
      // OpenSSH sshconnect2.c: a signer that answers with another format (ssh-rsa for
      // rsa-sha2-512) "returned incorrect signature type"; the server would refuse it.
      if (got !== format) {
        reason = `returned ${got === undefined ? 'a malformed signature' : `a ${got} signature`}, not ${format}`;
        signature = null;
      }
    }
    if (signature === null) {
      // No reason: the key could not be loaded (no or a wrong passphrase), which the adapter
      // reports; ssh(1) has no "signing failed" line then (sshconnect2.c SSH_ERR_KEY_NOT_FOUND).
      if (reason !== undefined) {
        const why = `signing failed for ${sshKeyTypeLabel(keyType)} "${identity.label}"${reason ? `: ${reason}` : ''}`;
        if (!opts?.reported) this.handler.log(why);
        this.lastError = why;
      }
      this.state = { kind: 'trying', attempt: { method: 'none' } };
      this.next();
      return;
    }
    const w = new SshWriter(s.signed.length + signature.length + 8).raw(s.signed.subarray(this.sessionIdLength())).string(signature);
    this.state = { kind: 'trying', attempt: { method: 'publickey', identity, algorithm, query: false } };
    this.handler.send(w.toBytes());
  }

  /**
   * The answer to `key-request`: the private key (the core signs with it once and disposes of
   * it, as ssh(1) frees a key it loaded at its turn), or null with the reason it could not be
   * loaded (no passphrase given, a wrong one, an unreadable file); the next key or method is
   * tried then.
   */
  provideKey(id: number, key: PrivateKey | null, reason?: string): void {
    const s = this.state;
    if (s.kind !== 'awaiting-key' || s.id !== id) {
      key?.dispose();
      return;
    }
    this.state = { kind: 'trying', attempt: { method: 'none' } };
    if (key === null) {
      if (reason) this.lastError = reason;
      this.next();
      return;
    }
    const identity: KnownIdentity = { ...s.identity, publicKeyBlob: key.publicKeyBlob, key };
    // sshconnect2.c load_identity_file: a key loaded at its turn under RequiredRSASize
    // (sshkey_check_rsa_length, SSH_ERR_KEY_LENGTH) is skipped with a debug line, not offered.
    if (rsaKeyTooShort(key.publicKeyBlob, this.options.requiredRsaSize)) {
      this.handler.log(`load_identity_file: Skipping key ${identity.label}: Invalid key length`);
      key.dispose();
      this.next();
      return;
    }
    try {
      // sshconnect2.c sign_and_send_pubkey → key_sig_algorithm: the algorithm for the loaded key.
      const algorithm = this.pickSignatureAlgorithm(identity);
      if (algorithm === undefined) {
        // sshconnect2.c sign_and_send_pubkey (error_f there).
        if (this.handler.serverSigAlgs() === undefined) this.handler.log('sign_and_send_pubkey: no mutual signature supported');
        this.next();
        return;
      }
      this.attempt({ method: 'publickey', identity, algorithm, query: false, loaded: true });
    } finally {
      key.dispose();
    }
  }

  private on60(attempt: Attempt, payload: Uint8Array): boolean {
    if (attempt.method === 'password') {
      // RFC 4252 §8: SSH_MSG_USERAUTH_PASSWD_CHANGEREQ
      this.lastError = 'the server requires a password change, which pure-ssh does not support; change it with ssh';
      this.next();
      return true;
    }
    if (attempt.method === 'keyboard-interactive') {
      // RFC 4256 §3.2: SSH_MSG_USERAUTH_INFO_REQUEST
      const r = new SshReader(payload, 1);
      // sshconnect2.c input_userauth_info_req: sshpkt_get_cstring, no encoding checked; the
      // name and instruction are logged and the prompts shown escaped.
      const name = r.text();
      const instruction = r.text();
      r.text(); // language tag
      const n = r.uint32();
      if (n > 16) throw new ProtocolError(`keyboard-interactive request with ${n} prompts`);
      const prompts: KbdPrompt[] = [];
      for (let i = 0; i < n; i++) prompts.push({ prompt: r.text(), echo: r.boolean() });
      r.end('SSH_MSG_USERAUTH_INFO_REQUEST');
      this.kbdInfoSeen = true;
      // RFC 4256 §3.3: the name and instruction are for the user (sshconnect2.c logit()s each).
      if (name || instruction) this.handler.keyboardInteractiveInfo(name, instruction);
      if (n === 0) {
        this.sendInfoResponse([]);
        return true;
      }
      // The stored password answers one hidden prompt once per connection, as the password method
      // sends it once: a refused one is not sent again, the prompts go to askPassword (if any).
      if (this.#password !== undefined && !this.kbdStoredPasswordSent && n === 1 && !prompts[0]!.echo) {
        this.kbdStoredPasswordSent = true;
        this.kbdAnswered = true;
        this.sendInfoResponse([this.#password]);
        return true;
      }
      if (this.options.askPassword) {
        // sshconnect2.c input_userauth_info_req: each prompt in turn, one answer each (below,
        // providePassword), sent in one INFO_RESPONSE.
        this.state = { kind: 'awaiting-password', method: 'keyboard-interactive', prompts, answers: [] };
        // A retry: the first prompt after the server refused the previous request's answer
        // (sshconnect2.c userauth_kbdint asks again; it prints no line, as it does for passwords).
        const retry = this.kbdRefused;
        this.kbdRefused = false;
        this.askKbdPrompt(prompts, 0, retry);
        return true;
      }
      this.sendInfoResponse(prompts.map(() => ''));
      return true;
    }
    if (attempt.method === 'publickey' && attempt.query) {
      // RFC 4252 §7: SSH_MSG_USERAUTH_PK_OK echoes the algorithm and key blob we offered.
      const r = new SshReader(payload, 1);
      const algorithm = r.utf8('public key algorithm');
      const blob = r.string('public key blob');
      r.end('SSH_MSG_USERAUTH_PK_OK');
      if (algorithm !== attempt.algorithm || !constantTimeEqual(blob, attempt.identity.publicKeyBlob)) {
        throw new ProtocolError(`SSH_MSG_USERAUTH_PK_OK for a key we did not offer (${algorithm})`);
      }
      this.handler.log(`Server accepts key: ${this.describe(attempt.identity)}`);
      const signed = this.signedData(attempt.identity, attempt.algorithm);
      const id = ++this.signId;
      this.state = { kind: 'awaiting-signature', id, identity: attempt.identity, algorithm: attempt.algorithm, signed };
      const format = signatureFormatOf(attempt.algorithm);
      this.handler.signRequest({ id, keyBlob: attempt.identity.publicKeyBlob, algorithm: format, data: signed, flags: agentSignFlags(format), identity: attempt.identity });
      return true;
    }
    // sshconnect2.c: "none", the first request, has set no handler for 60 (input_userauth_error).
    if (attempt.method === 'none') throw new ProtocolError('bad message during authentication: type 60');
    // A signed publickey request is answered with SUCCESS or FAILURE, never PK_OK (RFC 4252 §7).
    throw new ProtocolError('unexpected SSH_MSG_USERAUTH_PK_OK');
  }

  /**
   * ssh(1)'s format_identity: `label TYPE SHA256:... [explicit] [agent]`; a certificate's type is
   * `ED25519-CERT` and its fingerprint the certified key's (sshkey_fingerprint hashes the plain key).
   */
  private describe(identity: AuthIdentity): string {
    const explicitOrAgent = identity.note ? ` ${identity.note}` : '';
    // sshconnect2.c format_identity without a key: the name, a space, no type nor fingerprint.
    if (!known(identity)) return `${identity.label} ${explicitOrAgent}`;
    return `${identity.label} ${typeAndFingerprint(identity, this.options.fingerprintHash)}${explicitOrAgent}`;
  }

  private sessionIdLength(): number {
    return 4 + this.handler.sessionId().length;
  }

  /**
   * RFC 4252 §7: the signature covers `string session_id || byte SSH_MSG_USERAUTH_REQUEST ||
   * string user || string service || string "publickey" || TRUE || string algorithm || string key`.
   * OpenSSH PROTOCOL §"publickey-hostbound": where the server offers it (and
   * {@link AuthOptions.pubkeyHostbound} allows), the method is
   * `publickey-hostbound-v00@openssh.com` and `string server host key` (the first key exchange's)
   * follows the key, in the signed data and the request alike (sshconnect2.c sign_and_send_pubkey).
   */
  private signedData(identity: KnownIdentity, algorithm: string): Uint8Array {
    const sessionId = this.handler.sessionId();
    const hostKey = this.options.pubkeyHostbound === false ? undefined : this.handler.hostBoundKey();
    const method = hostKey ? PUBLICKEY_HOSTBOUND : 'publickey';
    // sshconnect2.c sign_and_send_pubkey's debug3 line (its format_identity's type and fingerprint).
    this.handler.log(`sign_and_send_pubkey: using ${method} with ${typeAndFingerprint(identity, this.options.fingerprintHash)}`, 3);
    const w = new SshWriter(512 + (hostKey?.length ?? 0))
      .string(sessionId)
      .byte(MSG.USERAUTH_REQUEST)
      .string(this.options.username)
      .string(SERVICE_CONNECTION)
      .string(method)
      .boolean(true)
      .string(algorithm)
      .string(identity.publicKeyBlob);
    if (hostKey) w.string(hostKey);
    return w.toBytes();
  }

  /**
   * sshconnect2.c authmethod_get: "Next authentication method: NAME" each time another method is
   * taken up (not for its further keys or password prompts), and again after a partial success,
   * which hands over a new list of methods.
   */
  private announce(method: 'publickey' | 'password' | 'keyboard-interactive'): void {
    if (this.announced === method) return;
    this.announced = method;
    this.handler.log(`Next authentication method: ${method}`);
  }

  /**
   * The methods to try, in order (PreferredAuthentications); the names pure-ssh lacks are said
   * once, the first time, and dropped.
   */
  private methodOrder(): readonly string[] {
    if (this.order) return this.order;
    const wanted = this.options.preferredAuthentications ?? DEFAULT_PREFERRED_AUTHENTICATIONS;
    this.order = wanted.filter((m) => {
      if (DEFAULT_PREFERRED_AUTHENTICATIONS.includes(m)) return true;
      this.handler.log(
        UNIMPLEMENTED_METHODS.has(m)
          ? `PreferredAuthentications: skipping ${m}, which pure-ssh does not implement`
          : `Unrecognized authentication method name: ${m}`,
      );
      return false;
    });
    return this.order;
  }

  /**
   * Choose and send the next attempt, or fail with what was tried and what is allowed: the first
   * method of {@link methodOrder} the server allows that has something left to try, as
   * sshconnect2.c authmethod_get walks PreferredAuthentications (a method with nothing left is
   * disabled there, as it is passed over here).
   */
  private next(): void {
    for (const method of this.methodOrder()) {
      if (!this.allowed.includes(method) || this.exhausted.has(method)) continue;
      if (this.tryMethod(method)) return;
      // sshconnect2.c userauth(): a method that sent nothing is disabled for the session
      // (method->enabled = NULL), so it is neither taken up nor announced again.
      this.exhausted.add(method);
    }
    this.state = { kind: 'done' };
    this.#password = undefined;
    // sshconnect2.c authmethod_get: its debug() when no method is left, before userauth()'s fatal.
    this.handler.log('No more authentication methods to try.');
    this.handler.failure(new AuthenticationError(this.options.username, this.tried, this.allowed, this.lastError));
  }

  /** Send the method's next request (or ask for its password); false when it has nothing left. */
  private tryMethod(method: string): boolean {
    const canPassword = this.#password !== undefined || this.options.askPassword === true;
    switch (method) {
      case 'publickey': {
        // ssh(1) takes up publickey whenever PubkeyAuthentication is on, even with no key left to offer.
        if (!this.pubkeyEnabled) return false;
        this.announce('publickey');
        const ids = this.identities;
        while (this.keyIndex < ids.length) {
          const identity = ids[this.keyIndex++]!;
          if (!known(identity)) {
            // sshconnect2.c userauth_pubkey: a key without its public half is loaded at its turn
            // (load_identity_file asks the passphrase then) and signed for at once, no query.
            this.handler.log(`Trying private key: ${identity.label}`);
            const id = ++this.signId;
            this.state = { kind: 'awaiting-key', id, identity };
            this.handler.keyRequest({ id, identity });
            return true;
          }
          const algorithm = this.chosen.get(identity);
          if (algorithm) {
            this.attempt({ method: 'publickey', identity, algorithm, query: identity.key === undefined });
            return true;
          }
          // sshconnect2.c userauth_pubkey → send_pubkey_test: offered, but no algorithm the
          // configuration and a server without server-sig-algs share (chooseAlgorithms kept it).
          this.handler.log(`Offering public key: ${this.describe(identity)}`);
          this.handler.log('send_pubkey_test: no mutual signature algorithm');
        }
        return false;
      }
      case 'password': {
        const maxTries = this.options.passwordAttempts ?? 3;
        if (this.options.passwordAuthentication === false || !canPassword || this.passwordTries >= maxTries) return false;
        // OpenSSH tries a configured password once; prompting allows NumberOfPasswordPrompts.
        if (this.#password !== undefined && this.passwordTries === 0) {
          this.announce('password');
          this.passwordTries++;
          this.sendPassword(this.#password);
          return true;
        }
        if (!this.options.askPassword) return false;
        this.announce('password');
        this.passwordTries++;
        this.state = { kind: 'awaiting-password', method: 'password' };
        // OpenSSH sshconnect2.c userauth_passwd: every prompt after the first follows a refusal.
        this.handler.passwordNeeded(this.options.passwordPrompt ?? `${this.options.username}'s password: `, this.passwordTries > 1, 'password');
        return true;
      }
      case 'keyboard-interactive':
      {
        if (this.options.kbdInteractiveAuthentication === false || !canPassword) return false;
        // sshconnect2.c userauth_kbdint: asked again after a failure, NumberOfPasswordPrompts
        // requests in all, and not again when the server never sent an INFO_REQUEST. A stored
        // password without prompting is given once (as the password method does).
        const max = this.options.askPassword ? (this.options.passwordAttempts ?? 3) : 1;
        if (this.kbdAttempts >= max || (this.kbdAttempts > 0 && !this.kbdInfoSeen)) return false;
        this.kbdAttempts++;
        this.kbdAnswered = false;
        this.announce('keyboard-interactive');
        this.attempt({ method: 'keyboard-interactive' });
        return true;
      }
    }
    return false;
  }

  /**
   * sshconnect2.c pubkey_prepare(), its last steps, before the service request: drop the keys
   * PubkeyAcceptedAlgorithms rules out (key_type_allowed_by_config(); the wording is ssh 9.2's,
   * "algo", which 10.0 spells "algorithm"), then list the others as ssh does, in the order they
   * will be tried: `Will attempt key: FILE TYPE SHA256:... [explicit] [agent]`.
   */
  private prepareIdentities(): void {
    const accepted = this.options.pubkeyAcceptedAlgorithms ?? DEFAULT_PUBKEY_ACCEPTED_ALGORITHMS;
    const matches = (name: string) => accepted.some((p) => globMatch(name, p));
    this.pubkeyEnabled = this.identities.length > 0;
    this.identities = this.identities.filter((identity) => {
      // pubkey_prepare judges a key file it could not read the public half of only once loaded.
      if (!known(identity)) return true;
      const keyType = keyBlobType(identity.publicKeyBlob);
      // RequiredRSASize (sshkey_check_rsa_length, SSH_ERR_KEY_LENGTH): pubkey_prepare ignores an
      // agent's key, load_identity_file skips a file's, both at debug level.
      if (rsaKeyTooShort(identity.publicKeyBlob, this.options.requiredRsaSize)) {
        this.handler.log(
          identity.note?.includes('agent') === true
            ? `pubkey_prepare: ignoring ${keyType} agent key: Invalid key length`
            : `load_identity_file: Skipping key ${identity.label}: Invalid key length`,
        );
        return false;
      }
      if (matches(keyType) || (RSA_ALTERNATES[keyType] ?? []).some(matches)) return true;
      this.handler.log(`Skipping ${keyType} key ${identity.label} - corresponding algo not in PubkeyAcceptedAlgorithms`);
      return false;
    });
    for (const identity of this.identities) this.handler.log(`Will attempt key: ${this.describe(identity)}`);
  }

  /**
   * Once server-sig-algs is known (RFC 8308 §3.1): the algorithm each key goes under, or none to
   * skip it. Without server-sig-algs a key with no algorithm stays, to be passed over at its turn
   * (OpenSSH 10 sshconnect2.c pubkey_prepare filters only with the server's list).
   */
  private chooseAlgorithms(): void {
    this.identities = this.identities.filter((identity) => {
      if (!known(identity)) return true;
      const algorithm = this.pickSignatureAlgorithm(identity);
      if (algorithm !== undefined) this.chosen.set(identity, algorithm);
      return algorithm !== undefined || this.handler.serverSigAlgs() === undefined;
    });
  }

  /**
   * The algorithm to offer `identity` under, or undefined (with a debug line) to skip it. OpenSSH
   * sshconnect2.c key_sig_algorithm(): a non-RSA key, or any key when the server sent no
   * server-sig-algs (RFC 8308 §3.1), goes under its own type name if accepted (so an RSA key then
   * needs `ssh-rsa` listed, RFC 4253 §6.6); an RSA key goes under the first accepted RSA algorithm
   * (RFC 8332 §3) the server's server-sig-algs lists.
   */
  private pickSignatureAlgorithm(identity: KnownIdentity): string | undefined {
    const keyType = keyBlobType(identity.publicKeyBlob);
    const own = identity.key ? identity.key.signatureAlgorithms : publicKeyAlgorithmsFor(keyType);
    const accepted = this.options.pubkeyAcceptedAlgorithms ?? DEFAULT_PUBKEY_ACCEPTED_ALGORITHMS;
    const rsa = RSA_ALTERNATES[keyType];
    const serverAlgs = this.handler.serverSigAlgs();
    let alg: string | undefined;
    if (serverAlgs === undefined || rsa === undefined) {
      // No line here: the caller's at the key's turn (send_pubkey_test, sign_and_send_pubkey).
      return accepted.includes(keyType) && own.includes(keyType) ? keyType : undefined;
    }
    alg = accepted.find((a) => (a === keyType || rsa.includes(a)) && own.includes(a) && serverAlgs.includes(signatureFormatOf(a)));
    if (alg === undefined) this.handler.log(`Skipping ${keyType} key ${identity.label} - corresponding algo not supported by server`);
    return alg;
  }

  private attempt(attempt: Attempt): void {
    this.state = { kind: 'trying', attempt };
    const user = this.options.username;
    const w = new SshWriter(512).byte(MSG.USERAUTH_REQUEST).string(user).string(SERVICE_CONNECTION);
    switch (attempt.method) {
      case 'none':
        w.string('none');
        break;
      case 'publickey': {
        this.note(`publickey`);
        const { identity, algorithm } = attempt;
        if (attempt.query) {
          // RFC 4252 §7: FALSE and no signature asks whether the key would be accepted.
          this.handler.log(`Offering public key: ${this.describe(identity)}`);
          w.string('publickey').boolean(false).string(algorithm).string(identity.publicKeyBlob);
          break;
        }
        if (identity.key && isCertifiedKey(identity.key)) {
          // A certificate is offered by its public blob (ssh(1): "Offering public key: ... -CERT").
          this.handler.log(`Offering public key: ${describeCertifiedKey(identity.key, this.options.fingerprintHash)} (${algorithm})`);
        } else {
          if (!attempt.loaded) this.handler.log(`Trying private key: ${identity.label} ${sshKeyTypeLabel(keyBlobType(identity.publicKeyBlob))} (${algorithm})`);
        }
        // RFC 4252 §7: sign session_id || the request up to and including the key blob.
        const signed = this.signedData(identity, algorithm);
        const signature = identity.key!.sign(signatureFormatOf(algorithm), signed);
        this.handler.send(new SshWriter(signed.length + signature.length + 8).raw(signed.subarray(this.sessionIdLength())).string(signature).toBytes());
        return;
      }
      case 'keyboard-interactive':
        this.note('keyboard-interactive');
        // RFC 4256 §3.1: language tag, submethods (both empty).
        w.string('keyboard-interactive').string('').string('');
        break;
      case 'password':
        throw new Error('unreachable: password requests go through sendPassword');
    }
    this.handler.send(w.toBytes());
  }

  private sendPassword(password: string): void {
    this.note('password');
    this.state = { kind: 'trying', attempt: { method: 'password' } };
    // RFC 4252 §8: boolean FALSE, then the plaintext password (the transport encrypts it).
    const w = new SshWriter(128)
      .byte(MSG.USERAUTH_REQUEST)
      .string(this.options.username)
      .string(SERVICE_CONNECTION)
      .string('password')
      .boolean(false)
      .string(password);
    this.handler.send(w.toBytes());
  }

  private sendInfoResponse(answers: string[]): void {
    // RFC 4256 §3.4: SSH_MSG_USERAUTH_INFO_RESPONSE
    const w = new SshWriter(64).byte(MSG.USERAUTH_INFO_RESPONSE).uint32(answers.length);
    for (const a of answers) w.string(a);
    this.handler.send(w.toBytes());
  }

  private note(method: string): void {
    if (!this.tried.includes(method)) this.tried.push(method);
  }
}
