/**
 * pure-ssh-check's engine: inventory, posture and probes against one server, each probe on its
 * own connection through an injected {@link LinkFactory}, each wait bounded by `timeoutMs`.
 * Returns a {@link CheckReport}; verdicts come from what the server did on the wire.
 *
 * @example
 * ```ts
 * const report = await runCheck({ host, port, connect: () => tcpLink(host, port), random, crypto: pureCryptoProvider, now: () => new Date().toISOString() });
 * process.exitCode = mustViolations(report).length > 0 ? 1 : 0;
 * ```
 */
import { cipherAlgorithms } from '../cipher/registry.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { DisconnectReason } from '../errors.js';
import { KEX_CURVE25519 } from '../kex/curve25519.js';
import { kexMethods } from '../kex/registry.js';
import type { Random } from '../kex/kex.js';
import { hostKeyAlgorithms, legacyHostKeyAlgorithms } from '../keys/hostkey.js';
import { macAlgorithms } from '../mac/registry.js';
import { MSG, decodeMessage, encodeDisconnect, encodeIgnore, encodeServiceRequest, encodeUnimplemented } from '../protocol/messages.js';
import { SshReader, SshWriter, fromUtf8 } from '../protocol/wire.js';
import { isPseudoKex, type KexInit } from '../transport/kexinit.js';
import { DEFAULT_CLIENT_VERSION } from '../transport/version.js';
import { ProbeConnection, describeIncoming, isTermination, seconds, type Incoming, type LinkFactory, type ProbeLink } from './connection.js';
import { DEFAULT_EXEC_BYTES, DEFAULT_EXEC_COMMAND, MSG_PING, MSG_PONG, channelProbes, globalRequestProbes, pingProbe, type ExecProbe, type LoopProbe } from './connection-probes.js';
import { authenticate, type Extensions, type ProbeLogin } from './login.js';
import { KEX_STEPS, runInitialExchange, runRekey, type ExchangeDone, type ExchangeFailed, type ExchangeOutcome, type ExchangePlan, type KexStep } from './exchange.js';
import { postureFindings, rsaHostKeyFinding } from './posture.js';
import { publicKeyBits } from '../keys/fingerprint.js';
import type { CheckReport, Finding } from './report.js';

export { MSG_PING, MSG_PONG } from './connection-probes.js';
/** A message number RFC 4250 §4.1.2 leaves unassigned in the transport range (1–19). */
export const MSG_UNASSIGNED = 15;

/** Options of {@link runCheck}. */
export interface CheckOptions {
  host: string;
  port: number;
  /** Opens a new connection to the server (one per probe). */
  connect: LinkFactory;
  random: Random;
  crypto: CryptoProvider;
  /** ISO 8601 time stamp for the report. */
  now: () => string;
  /** Budget of each wait for the server, milliseconds (default 5000). */
  timeoutMs?: number;
  /** Our identification (RFC 4253 §4.2). */
  clientVersion?: string;
  /** Skip the strict-kex and protocol probes (inventory and posture only). */
  inventoryOnly?: boolean;
  /**
   * The kex methods every probe offers, in order (RFC 4253 §7.1: the first the server also
   * lists is used). Default {@link PROBE_KEX}: curve25519 first, then every other method
   * pure-ssh has, so a server without curve25519 (only NIST ECDH, only DH, ...) is checked too.
   */
  kex?: string[];
  /** Credentials: with them, the connection probes run after user authentication (RFC 4252). */
  login?: ProbeLogin;
  /**
   * Where the window probe's data comes from: a command's output (default
   * {@link DEFAULT_EXEC_COMMAND}) or bytes looped through a remote forward on the server.
   */
  source?: ExecProbe | LoopProbe;
  /** Progress lines for -v. */
  log?: (message: string) => void;
}

/**
 * The probes' default kex list: curve25519 (the common case, and fast), then every other method
 * in registry order, legacy ones included (a server offering only diffie-hellman-group14-sha1
 * is still checked; its posture names the weakness).
 */
export const PROBE_KEX: readonly string[] = [...KEX_CURVE25519, ...[...kexMethods.keys()].filter((k) => !KEX_CURVE25519.includes(k))];

/** The message sent at each strict-kex step (OpenSSH PROTOCOL, strict kex a: all are forbidden). */
const STRICT_MESSAGES: readonly { name: string; payload: () => Uint8Array }[] = [
  { name: 'ignore', payload: () => encodeIgnore() },
  { name: 'debug', payload: () => new SshWriter(32).byte(MSG.DEBUG).boolean(false).string('pure-ssh-check').string('').toBytes() },
  { name: 'unimplemented', payload: () => encodeUnimplemented(0) },
  { name: 'unknown', payload: () => Uint8Array.of(MSG_UNASSIGNED) },
];

const STEP_TEXT: Record<KexStep, string> = {
  'before-kexinit': 'before our KEXINIT',
  'after-kexinit': 'right after our KEXINIT',
  'before-kex-init-message': 'before our kex init message',
  'before-newkeys': 'before our NEWKEYS',
};

const STRICT_SPEC = 'OpenSSH PROTOCOL, strict key exchange (a)';

/** Pauses before the retries of a connection closed before the server's identification. */
const UNIDENTIFIED_RETRY_MS = [250, 1000];

interface AfterKex {
  /** EXT_INFO extensions seen (RFC 8308 §2.3), name → value. */
  extInfo?: Map<string, Uint8Array>;
  /** How the wait for SERVICE_ACCEPT ended. */
  end: Incoming;
  /** Messages other than SERVICE_ACCEPT, in order (type, seq, payload). */
  seen: { type: number; seq: number; payload: Uint8Array }[];
}

/** Send SERVICE_REQUEST("ssh-userauth") and read until SERVICE_ACCEPT (RFC 4253 §10) or the end. */
async function serviceRoundTrip(conn: ProbeConnection, timeoutMs: number): Promise<AfterKex> {
  conn.send(encodeServiceRequest('ssh-userauth'));
  return readUntilAccept(conn, timeoutMs);
}

async function readUntilAccept(conn: ProbeConnection, timeoutMs: number): Promise<AfterKex> {
  const out: AfterKex = { end: { kind: 'timeout' }, seen: [] };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await conn.next(Math.max(1, deadline - Date.now()));
    if (e.kind !== 'packet' || e.type === MSG.SERVICE_ACCEPT) {
      out.end = e;
      return out;
    }
    if (e.type === MSG.EXT_INFO) {
      try {
        const m = decodeMessage(e.payload);
        if (m && m.type === MSG.EXT_INFO) out.extInfo = m.extensions;
      } catch {
        // a malformed EXT_INFO is reported through `seen`
      }
    }
    out.seen.push({ type: e.type, seq: e.seq, payload: e.payload });
  }
}

const accepted = (a: AfterKex) => a.end.kind === 'packet' && a.end.type === MSG.SERVICE_ACCEPT;

/** A connection after the first that the link factory could not make (the server went away). */
class LaterConnectError extends Error {}

/**
 * Run the whole check. Never throws for anything the server does. When the first connection
 * cannot be made, or what answers is no SSH server, or no key exchange with it is possible, the
 * report says why in `error` (the check could not run, or not in full); so does a later
 * connection the link factory cannot make (the server stopped answering mid-run), with the
 * findings made until then kept.
 */
export async function runCheck(o: CheckOptions): Promise<CheckReport> {
  const report: CheckReport = { target: { host: o.host, port: o.port }, startedAt: o.now(), findings: [] };
  try {
    return await runProbes(o, report);
  } catch (err) {
    if (!(err instanceof LaterConnectError)) throw err;
    report.error = `a connection for the next probe could not be made (${(err.cause as Error)?.message ?? String(err.cause)}): the check stopped there, the findings above are those made before`;
    return report;
  }
}

async function runProbes(o: CheckOptions, report: CheckReport): Promise<CheckReport> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const log = o.log ?? (() => {});
  const add = (f: Finding) => {
    report.findings.push(f);
    log(`${f.verdict}: ${f.id}: ${f.detail}`);
  };
  const basePlan: ExchangePlan = {
    clientVersion: o.clientVersion ?? DEFAULT_CLIENT_VERSION,
    kex: [...(o.kex ?? PROBE_KEX)],
    hostKey: [...hostKeyAlgorithms.keys(), ...legacyHostKeyAlgorithms.keys()],
    cipher: [...cipherAlgorithms.keys()],
    mac: [...macAlgorithms.keys()],
    legacyRsaSha1: true,
    timeoutMs,
  };

  // Whether a connection closed before the server's identification is tried again (see session).
  let retryUnidentified = true;
  /**
   * One connection (`link`, or a new one): exchange per `plan`, then `body`; always closed with a
   * DISCONNECT. A connection the server closes before its identification is tried again after a
   * pause (twice): sshd with `MaxStartups 1` drops a connection while the slot of our previous one
   * is not yet free. When the retries do not help (OpenSSH's PerSourcePenalties refuses for
   * seconds), later connections are not retried.
   */
  const connectAgain = async (): Promise<ProbeLink> => {
    try {
      return await o.connect();
    } catch (cause) {
      throw new LaterConnectError('connect', { cause });
    }
  };
  async function session<T>(plan: ExchangePlan, body: (conn: ProbeConnection, x: ExchangeOutcome) => Promise<T>, link?: ProbeLink): Promise<T> {
    let conn = new ProbeConnection(link ?? (await connectAgain()), o.random, o.crypto);
    try {
      let x = await runInitialExchange(conn, plan);
      const refused = (y: ExchangeOutcome) => !y.ok && y.stage === 'version' && y.event.kind === 'closed';
      if (refused(x) && retryUnidentified) {
        for (const pause of UNIDENTIFIED_RETRY_MS) {
          conn.close();
          await new Promise((r) => setTimeout(r, pause));
          conn = new ProbeConnection(await connectAgain(), o.random, o.crypto);
          x = await runInitialExchange(conn, plan);
          if (!refused(x)) break;
        }
        if (refused(x)) retryUnidentified = false;
      }
      return await body(conn, x);
    } finally {
      try {
        conn.send(encodeDisconnect(DisconnectReason.BY_APPLICATION, 'pure-ssh-check done'));
      } catch {
        // the server may have gone already
      }
      conn.close();
    }
  }

  // ---- baseline: inventory ----
  let baseline: ExchangeOutcome | undefined;
  let after: AfterKex | undefined;
  let first: ProbeLink;
  try {
    first = await o.connect();
  } catch (err) {
    // No connection at all (refused, no such host, timed out): nothing was checked.
    report.error = (err as Error).message;
    return report;
  }
  await session(
    basePlan,
    async (conn, x) => {
      baseline = x;
      report.serverVersion = conn.serverVersion;
      if (x.ok) after = await serviceRoundTrip(conn, timeoutMs);
    },
    first,
  );
  const b = baseline!;
  if (report.serverVersion) {
    add({ id: 'inventory.version', group: 'inventory', title: 'identification', verdict: 'info', requirement: 'none', spec: 'RFC 4253 §4.2', detail: report.serverVersion });
  }
  const server = b.serverKexInit;
  if (!server) {
    const failed = b as ExchangeFailed;
    const notRun = notAnSshServer(failed, o.host, o.port, timeoutMs);
    if (notRun !== undefined) {
      // Nothing that identified as an SSH server (or sent its KEXINIT) answered: the check could
      // not run. No MUST can be violated by what is not an SSH server (RFC 4253 §4.2).
      report.error = notRun;
      add({ id: 'inventory.kexinit', group: 'inventory', title: 'server KEXINIT', verdict: 'info', requirement: 'none', spec: 'RFC 4253 §4.2, §7.1', detail: `not run: ${notRun}` });
      return report;
    }
    // An SSH server whose KEXINIT cannot be read (malformed, or an unreadable packet).
    add({
      id: 'inventory.kexinit',
      group: 'inventory',
      title: 'server KEXINIT',
      verdict: 'fail',
      requirement: 'must',
      spec: 'RFC 4253 §7.1',
      detail: `no KEXINIT from the server at the ${failed.stage} step: ${failed.error?.message ?? describeIncoming(failed.event, timeoutMs)}`,
    });
    return report;
  }
  inventoryFindings(server, add);
  for (const f of postureFindings(server)) add(f);
  if (!b.ok) {
    const why = b.error?.message ?? describeIncoming(b.event, timeoutMs);
    add({
      id: 'inventory.exchange',
      group: 'inventory',
      title: 'key exchange with pure-ssh',
      verdict: 'info',
      requirement: 'none',
      spec: 'RFC 4253 §7.1',
      detail: `not possible (${why}) with kex ${basePlan.kex.join(',')}`,
    });
    // Every probe needs a key exchange: none ran, so the check did not run in full (the CLI exits
    // 255, as docs/pure-ssh-check.md says for no kex method in common), and the skipped groups
    // are listed rather than silently missing.
    report.error = `key exchange with pure-ssh not possible (${why}): ${o.inventoryOnly ? 'no host key fetched' : 'no probe run'}`;
    if (!o.inventoryOnly) {
      const skipped: [Finding['group'], string][] = [
        ['strict-kex', 'strict key exchange enforcement'],
        ['protocol', 'protocol probes'],
      ];
      if (o.login) skipped.push(['connection', 'connection protocol probes (after login)']);
      for (const [group, title] of skipped) {
        add({ id: `${group}.not-run`, group, title, verdict: 'info', requirement: 'none', spec: 'RFC 4253 §7.1', detail: `not run: no key exchange with pure-ssh (${why})` });
      }
    }
    // A login was asked for and cannot happen without a key exchange: say so,
    // as ssh does when it finds no common kex method (RFC 4253 §7.1).
    if (o.login) report.login = { user: o.login.auth.username, error: `key exchange failed: ${why}` };
    return report;
  }
  const strict = b.strict;
  add({
    id: 'inventory.negotiated',
    group: 'inventory',
    title: 'negotiated with pure-ssh',
    verdict: 'info',
    requirement: 'none',
    spec: 'RFC 4253 §7.1',
    detail: `${b.negotiated.kex}, ${b.negotiated.hostKey}, ${b.negotiated.cipherServerToClient}${b.negotiated.macServerToClient ? ' + ' + b.negotiated.macServerToClient : ''}, strict kex ${strict ? 'on' : 'off'}`,
  });
  const ext = after?.extInfo;
  add({
    id: 'inventory.ext-info',
    group: 'inventory',
    title: 'EXT_INFO',
    verdict: 'info',
    requirement: 'none',
    spec: 'RFC 8308 §2.3',
    detail: ext
      ? [...ext.entries()].map(([k, v]) => `${k}=${printable(v)}`).join('; ') || '(no extensions)'
      : 'not sent',
  });

  // ---- host keys: one handshake per key type the server lists ----
  await hostKeyInventory(server, basePlan, session, add, b);

  if (strict) {
    add({
      id: 'strict-kex.kexinit-first',
      group: 'strict-kex',
      title: "server's KEXINIT is its first packet",
      verdict: b.kexInitFirst ? 'pass' : 'fail',
      requirement: 'must',
      spec: STRICT_SPEC,
      detail: b.kexInitFirst ? 'yes' : 'the server sent other packets before its KEXINIT',
    });
    const serverExtra = b.serverExtraMessages.length === 0;
    add({
      id: 'strict-kex.server-sends-only-kex',
      group: 'strict-kex',
      title: 'server sends only kex messages during kex',
      verdict: serverExtra ? 'pass' : 'fail',
      requirement: 'must',
      spec: STRICT_SPEC,
      detail: serverExtra ? 'yes' : `also sent messages ${b.serverExtraMessages.join(', ')}`,
    });
    const broken = after?.end.kind === 'broken';
    const ok = after !== undefined && accepted(after);
    // Under AES-GCM a packet under the wrong number opens as well (sequenceNumberVerified): the
    // session going on shows nothing then.
    const s2c = b.negotiated.cipherServerToClient;
    const unseen = ok && !sequenceNumberVerified(s2c);
    // No answer within -t to the first request under the new keys: a slow server, not a verdict.
    const late = ok ? undefined : timedOut(after?.end, timeoutMs, 'SERVICE_REQUEST after NEWKEYS');
    add({
      id: 'strict-kex.server-seq-reset',
      group: 'strict-kex',
      title: 'server resets its sequence number at NEWKEYS',
      verdict: unseen || late ? 'info' : ok ? 'pass' : 'fail',
      requirement: unseen || late ? 'none' : 'must',
      spec: 'OpenSSH PROTOCOL, strict key exchange (b)',
      detail: unseen
        ? `not testable under ${s2c}, which does not use the sequence number (the session went on)`
        : late
          ? late
          : ok
          ? 'its first packets under the new keys open with sequence number 0'
          : broken
            ? `its packets do not open with sequence number 0 (${describeIncoming(after!.end)})`
            : describeIncoming(after?.end ?? { kind: 'timeout' }),
    });
  }
  if (o.inventoryOnly) return report;

  // ---- strict kex enforcement: every forbidden message at every step ----
  for (const m of STRICT_MESSAGES) {
    for (const step of KEX_STEPS) {
      const outcome = await session({ ...basePlan, inject: { [step]: [m.payload()] } }, async (conn, x) => {
        if (!x.ok) return { x, after: undefined };
        return { x, after: await serviceRoundTrip(conn, timeoutMs) };
      });
      add(strictVerdict(`strict-kex.${m.name}.${step}`, `${m.name.toUpperCase()} ${STEP_TEXT[step]}`, strict, outcome.x, outcome.after, timeoutMs));
    }
  }
  if (strict) add(await clientSeqResetProbe(basePlan, server, session, timeoutMs));

  // ---- protocol probes ----
  await protocolProbes(o, basePlan, session, add, server, timeoutMs, ext);
  if (o.login) await connectionProbes(o, o.login, basePlan, session, add, report, timeoutMs, log);
  return report;
}

/**
 * The probes after login (RFC 4254), each group on its own authenticated connection. A
 * password typed once is reused for the next connection instead of asking again.
 */
async function connectionProbes(
  o: CheckOptions,
  login: ProbeLogin,
  basePlan: ExchangePlan,
  session: Session,
  add: (f: Finding) => void,
  report: CheckReport,
  timeoutMs: number,
  log: (message: string) => void,
): Promise<void> {
  let remembered: string | undefined;
  const ask = login.askPassword;
  const probeLogin: ProbeLogin = {
    ...login,
    askPassword: ask
      ? async (prompt, context) => {
          const pw = await ask(prompt, context);
          // Kept for the later probes' logins: a password, or the one answer of a keyboard-interactive request.
          if (pw !== null && (context.count ?? 1) === 1) remembered = pw;
          return pw;
        }
      : undefined,
  };
  const user = login.auth.username;
  const plan: ExchangePlan = { ...basePlan, hostKey: login.orderHostKeyAlgorithms?.(basePlan.hostKey) ?? basePlan.hostKey };
  /** Log in on a fresh connection and run `body`; false when logging in failed (reported once). */
  const loggedIn = (body: (conn: ProbeConnection, extensions: Extensions) => Promise<void>): Promise<boolean> =>
    session(plan, async (conn, x) => {
      if (!x.ok) {
        // Refused before the identification (even after the retries): say so, with the usual causes.
        const why = unreached(x, timeoutMs)?.replace(/^inconclusive: /, '');
        report.login = {
          user,
          error: `key exchange failed: ${why ? `${why} (the server refused the connection: MaxStartups, or OpenSSH's PerSourcePenalties)` : x.error?.message ?? describeIncoming(x.event, timeoutMs)}`,
        };
        return false;
      }
      const auth = remembered !== undefined ? { ...login.auth, password: remembered } : login.auth;
      const r = await authenticate(conn, x, { host: o.host, port: o.port }, { ...probeLogin, auth }, timeoutMs, log);
      if (!r.ok) {
        report.login = { user, error: r.error };
        return false;
      }
      report.login = { user, method: r.method };
      await body(conn, r.extensions);
      return true;
    });
  const source = o.source ?? { command: DEFAULT_EXEC_COMMAND, expectBytes: DEFAULT_EXEC_BYTES };
  if (!(await loggedIn((conn) => channelProbes(conn, source, timeoutMs, add)))) return;
  await loggedIn(async (conn, extensions) => {
    await globalRequestProbes(conn, timeoutMs, add);
    await pingProbe(conn, extensions, timeoutMs, add);
  });
}

const CHACHA20_POLY1305 = 'chacha20-poly1305@openssh.com';

/**
 * Whether a packet under `cipher` only verifies under the right sequence number: every MAC
 * covers it (RFC 4253 §6.4, `mac = MAC(key, sequence_number || unencrypted_packet)`; OpenSSH
 * PROTOCOL §1.5 for -etm), chacha20-poly1305@openssh.com takes its nonce from it (OpenSSH
 * PROTOCOL.chacha20poly1305). aes*-gcm@openssh.com does not: its nonce is an invocation counter of
 * its own and the sequence number is not in its AAD (RFC 5647 §7.1; OpenSSH PROTOCOL §1.6), so a
 * packet under a wrong number is valid there.
 */
export function sequenceNumberVerified(cipher: string): boolean {
  const row = cipherAlgorithms.get(cipher);
  return row !== undefined && (!row.aead || cipher === CHACHA20_POLY1305);
}

/**
 * Whether a bad MAC under `cipher` + `mac` goes unanswered for a while: CBC with a MAC over the
 * plaintext (not -etm). OpenSSH then reads on up to PACKET_MAX_SIZE (256 KiB) before it closes
 * (packet.c ssh_packet_start_discard), its countermeasure to the CBC length oracle (CPNI-957037),
 * so silence there is not acceptance.
 */
export function badMacAnswerDeferred(cipher: string, mac: string | undefined): boolean {
  return cipher.endsWith('-cbc') && mac !== undefined && macAlgorithms.get(mac)?.etm !== true;
}

/**
 * OpenSSH PROTOCOL, strict kex b: a packet sent after our NEWKEYS under the sequence number that
 * was not reset must fail its MAC. Run with a cipher under which the number is verified
 * ({@link sequenceNumberVerified}); without one in the server's list the reset cannot be seen.
 */
async function clientSeqResetProbe(basePlan: ExchangePlan, server: KexInit, session: Session, timeoutMs: number): Promise<Finding> {
  const base = { id: 'strict-kex.client-seq-reset', group: 'strict-kex' as const, title: 'server expects sequence number 0 after NEWKEYS', spec: 'OpenSSH PROTOCOL, strict key exchange (b)' };
  const info = (detail: string): Finding => ({ ...base, verdict: 'info', requirement: 'none', detail });
  // Only the client-to-server direction matters here: it is the server's receiving number. A
  // cipher whose length the server reads whatever the number (CTR or CBC, then the MAC over the
  // number fails) before chacha20-poly1305, whose length key comes from the number: a server that
  // keys it with 0 reads a length of garbage and may wait for it without a word (asyncssh).
  const cipher = basePlan.cipher.filter(sequenceNumberVerified).sort((a, b) => Number(a === CHACHA20_POLY1305) - Number(b === CHACHA20_POLY1305));
  if (!server.cipherClientToServer.some((c) => cipher.includes(c))) {
    return info(`not testable: none of the server's ciphers (${server.cipherClientToServer.join(',')}) uses the sequence number (AES-GCM has a nonce of its own)`);
  }
  const { x, r } = await session({ ...basePlan, cipher, cipherServerToClient: basePlan.cipher, skipSendSequenceReset: true }, async (conn, x) => ({
    x,
    r: x.ok ? await serviceRoundTrip(conn, timeoutMs) : undefined,
  }));
  const notRun = unreached(x, timeoutMs) ?? (x.ok ? undefined : timedOut(x.event, timeoutMs, `key exchange (${x.stage} step)`));
  if (notRun) return info(notRun);
  if (!x.ok || r === undefined) return { ...base, verdict: 'fail', requirement: 'must', detail: 'the exchange did not complete' };
  const used = `${x.negotiated.cipherClientToServer}${x.negotiated.macClientToServer ? ' + ' + x.negotiated.macClientToServer : ''}`;
  if (isTermination(r.end)) return { ...base, verdict: 'pass', requirement: 'must', detail: `a packet under the unreset number was refused: ${describeIncoming(r.end)} (${used})` };
  if (accepted(r)) return { ...base, verdict: 'fail', requirement: 'must', detail: `a packet under the unreset number was accepted (${used})` };
  if (r.end.kind === 'timeout' && badMacAnswerDeferred(x.negotiated.cipherClientToServer, x.negotiated.macClientToServer)) {
    return info(`inconclusive: not acted upon, but no answer under ${used} (OpenSSH reads on up to 256 KiB after a bad MAC there before it closes, a CBC countermeasure)`);
  }
  const late = timedOut(r.end, timeoutMs, `neither refused nor answered under ${used}`);
  if (late) return info(late);
  return { ...base, verdict: 'fail', requirement: 'must', detail: `a packet under the unreset number was not refused: ${describeIncoming(r.end)} (${used})` };
}

type Session = <T>(plan: ExchangePlan, body: (conn: ProbeConnection, x: ExchangeOutcome) => Promise<T>) => Promise<T>;

function printable(v: Uint8Array): string {
  const s = fromUtf8(v);
  return /^[\x20-\x7e]*$/.test(s) ? s : `<${v.length} bytes>`;
}

function inventoryFindings(server: KexInit, add: (f: Finding) => void): void {
  const item = (id: string, title: string, spec: string, names: string[]) =>
    add({ id: `inventory.${id}`, group: 'inventory', title, verdict: 'info', requirement: 'none', spec, detail: names.join(',') || '(none)' });
  item('kex', 'key exchange methods', 'RFC 4253 §7.1', server.kex.filter((k) => !isPseudoKex(k)));
  item('kex-extensions', 'kex pseudo-algorithms', 'RFC 8308 §2.1; OpenSSH PROTOCOL', server.kex.filter(isPseudoKex));
  item('host-key-algorithms', 'host key algorithms', 'RFC 4253 §7.1', server.hostKey);
  const same = (a: string[], b: string[]) => a.join(',') === b.join(',');
  if (same(server.cipherClientToServer, server.cipherServerToClient)) item('ciphers', 'ciphers', 'RFC 4253 §7.1', server.cipherClientToServer);
  else {
    item('ciphers-c2s', 'ciphers (client to server)', 'RFC 4253 §7.1', server.cipherClientToServer);
    item('ciphers-s2c', 'ciphers (server to client)', 'RFC 4253 §7.1', server.cipherServerToClient);
  }
  if (same(server.macClientToServer, server.macServerToClient)) item('macs', 'MACs', 'RFC 4253 §7.1', server.macClientToServer);
  else {
    item('macs-c2s', 'MACs (client to server)', 'RFC 4253 §7.1', server.macClientToServer);
    item('macs-s2c', 'MACs (server to client)', 'RFC 4253 §7.1', server.macServerToClient);
  }
  item('compression', 'compression', 'RFC 4253 §6.2', [...new Set([...server.compressionClientToServer, ...server.compressionServerToClient])]);
}

/** The key type each host key algorithm proves (ssh-rsa and rsa-sha2-* share one RSA key). */
function keyTypeOf(alg: string): string | undefined {
  return (hostKeyAlgorithms.get(alg) ?? legacyHostKeyAlgorithms.get(alg))?.keyType;
}

async function hostKeyInventory(server: KexInit, basePlan: ExchangePlan, session: Session, add: (f: Finding) => void, b: ExchangeDone): Promise<void> {
  const byType = new Map<string, string>();
  const unsupported: string[] = [];
  for (const alg of server.hostKey) {
    const type = keyTypeOf(alg);
    if (!type) unsupported.push(alg);
    else if (!byType.has(type)) byType.set(type, alg);
  }
  let rsaBits: number | undefined;
  for (const [type, alg] of byType) {
    let detail: string;
    const x = alg === b.hostKeyAlgorithm ? b : await session({ ...basePlan, hostKey: [alg] }, async (_conn, x) => x);
    if (x.ok) {
      detail = `${type} ${x.fingerprint}`;
      // An RSA key's size is its own (ssh-keygen -l shows it); the posture rule below judges it.
      if (type === 'ssh-rsa') {
        const bits = publicKeyBits(x.hostKeyBlob);
        if (bits > 0) {
          detail += `, ${bits} bits`;
          rsaBits = bits;
        }
      }
    } else detail = `${type}: not fetched (${x.error?.message ?? describeIncoming(x.event, basePlan.timeoutMs)})`;
    add({ id: `inventory.host-key.${type}`, group: 'inventory', title: `host key (${alg})`, verdict: 'info', requirement: 'none', spec: 'RFC 4253 §6.6', detail });
  }
  if (rsaBits !== undefined) add(rsaHostKeyFinding(rsaBits));
  if (unsupported.length > 0) {
    add({
      id: 'inventory.host-key.unsupported',
      group: 'inventory',
      title: 'host keys not fetched',
      verdict: 'info',
      requirement: 'none',
      spec: 'RFC 4253 §6.6',
      detail: `${unsupported.join(',')}: pure-ssh does not implement these algorithms`,
    });
  }
}

/**
 * Why what answers at host:port is no SSH server the check can run against (nothing that
 * identifies as one, RFC 4253 §4.2, or no KEXINIT after the identification), in ssh(1)'s words
 * where it has them (ssh 9.2 kex.c kex_exchange_identification); undefined for an SSH server
 * that answered wrongly (a malformed KEXINIT, an unreadable packet: a MUST violated).
 */
function notAnSshServer(x: ExchangeFailed, host: string, port: number, timeoutMs: number): string | undefined {
  const at = `${host} port ${port}`;
  const e = x.event;
  if (x.stage === 'version') {
    if (e.kind === 'closed') return `no SSH identification from ${at}: kex_exchange_identification: Connection closed by remote host`;
    if (e.kind === 'timeout') return `no SSH identification from ${at} within ${seconds(timeoutMs)}: Connection timed out during banner exchange`;
    return `no SSH identification from ${at}: ${e.kind === 'broken' ? e.error.message : describeIncoming(e, timeoutMs)}`;
  }
  if (x.stage === 'kexinit' && !x.error && e.kind !== 'broken' && e.kind !== 'packet') {
    return `no KEXINIT from ${at} after its identification: ${describeIncoming(e, timeoutMs)}`;
  }
  return undefined;
}

/**
 * A probe whose connection never reached the server's identification (refused, e.g. by
 * OpenSSH's PerSourcePenalties) proves nothing either way.
 */
function unreached(x: ExchangeOutcome, timeoutMs?: number): string | undefined {
  return !x.ok && x.stage === 'version' ? `inconclusive: ${describeIncoming(x.event, timeoutMs)} before the server's identification` : undefined;
}

/**
 * A wait that ran out (`-t`) proves nothing either way: a slow server or link looks the same as
 * one that never answers. The detail of such a finding (verdict `info`), or undefined.
 */
function timedOut(e: Incoming | undefined, timeoutMs: number, what?: string): string | undefined {
  return e?.kind === 'timeout' ? `inconclusive: ${what ? `${what}: ` : ''}no answer within ${seconds(timeoutMs)}` : undefined;
}

function strictVerdict(id: string, title: string, strict: boolean, x: ExchangeOutcome, after: AfterKex | undefined, timeoutMs: number): Finding {
  const notRun = unreached(x, timeoutMs);
  if (notRun) return { id, group: 'strict-kex', title, spec: STRICT_SPEC, verdict: 'info', requirement: 'none', detail: notRun };
  const ended = !x.ok ? x.event : after!.end;
  const terminated = isTermination(ended) || ended.kind === 'broken';
  const tolerated = x.ok && after !== undefined && accepted(after);
  const base = { id, group: 'strict-kex' as const, title, spec: strict ? STRICT_SPEC : 'RFC 4253 §11.2–§11.4 (no strict kex)' };
  if (!strict) {
    return { ...base, verdict: 'info', requirement: 'none', detail: tolerated ? 'tolerated (strict kex not in force)' : `not tolerated: ${describeIncoming(ended, timeoutMs)}` };
  }
  if (terminated && !tolerated) return { ...base, verdict: 'pass', requirement: 'must', detail: `disconnected: ${describeIncoming(ended)}` };
  if (tolerated) return { ...base, verdict: 'fail', requirement: 'must', detail: 'tolerated: the key exchange completed and the session went on' };
  // Neither tolerated nor ended within -t: a slow server looks the same as one that hangs.
  const late = timedOut(ended, timeoutMs, 'neither completed nor ended the exchange');
  if (late) return { ...base, verdict: 'info', requirement: 'none', detail: late };
  return { ...base, verdict: 'fail', requirement: 'must', detail: `the server neither completed nor ended the exchange (${describeIncoming(ended)})` };
}

async function protocolProbes(
  o: CheckOptions,
  basePlan: ExchangePlan,
  session: Session,
  add: (f: Finding) => void,
  server: KexInit,
  timeoutMs: number,
  ext: Map<string, Uint8Array> | undefined,
): Promise<void> {
  const P = (id: string, title: string, spec: string, verdict: Finding['verdict'], requirement: Finding['requirement'], detail: string) =>
    add({ id: `protocol.${id}`, group: 'protocol', title, spec, verdict, requirement, detail });

  // RFC 4253 §11.4: an unknown message gets UNIMPLEMENTED with its sequence number, in order.
  await session(basePlan, async (conn, x) => {
    if (!x.ok) return P('unimplemented', 'UNIMPLEMENTED for an unknown message', 'RFC 4253 §11.4', 'info', 'none', unreached(x, timeoutMs) ?? `exchange failed: ${describeIncoming(x.event, timeoutMs)}`);
    const seq = conn.send(Uint8Array.of(MSG_UNASSIGNED));
    const a = await serviceRoundTrip(conn, timeoutMs);
    const un = a.seen.find((s) => s.type === MSG.UNIMPLEMENTED);
    const got = un ? new SshReader(un.payload, 1).uint32() : undefined;
    const late = timedOut(a.end, timeoutMs, `message ${MSG_UNASSIGNED} (seq ${seq}) and the next request not answered`);
    if (got === seq) P('unimplemented', 'UNIMPLEMENTED for an unknown message', 'RFC 4253 §11.4', 'pass', 'must', `message ${MSG_UNASSIGNED} (seq ${seq}) answered with UNIMPLEMENTED ${got}`);
    else if (got !== undefined) P('unimplemented', 'UNIMPLEMENTED for an unknown message', 'RFC 4253 §11.4', 'fail', 'must', `UNIMPLEMENTED names sequence number ${got}, the message was ${seq}`);
    else if (late) P('unimplemented', 'UNIMPLEMENTED for an unknown message', 'RFC 4253 §11.4', 'info', 'none', late);
    else P('unimplemented', 'UNIMPLEMENTED for an unknown message', 'RFC 4253 §11.4', 'fail', 'must', `message ${MSG_UNASSIGNED} (seq ${seq}) not answered with UNIMPLEMENTED: ${accepted(a) ? 'the next request was answered first' : describeIncoming(a.end)}`);
  });

  // RFC 4253 §6.1: every implementation MUST process packets of 35000 bytes (payload 32768).
  await session(basePlan, async (conn, x) => {
    if (!x.ok) return P('max-packet', 'a 32768-byte payload is processed', 'RFC 4253 §6.1', 'info', 'none', unreached(x, timeoutMs) ?? `exchange failed: ${describeIncoming(x.event, timeoutMs)}`);
    conn.send(encodeIgnore(new Uint8Array(32768 - 5)));
    const a = await serviceRoundTrip(conn, timeoutMs);
    const late = timedOut(a.end, timeoutMs, 'IGNORE of 32768 bytes sent, the next request not answered');
    if (late) return P('max-packet', 'a 32768-byte payload is processed', 'RFC 4253 §6.1', 'info', 'none', late);
    P('max-packet', 'a 32768-byte payload is processed', 'RFC 4253 §6.1', accepted(a) ? 'pass' : 'fail', 'must', accepted(a) ? 'IGNORE of 32768 bytes accepted' : `refused: ${describeIncoming(a.end)}`);
  });

  // RFC 4253 §6.1: lengths far beyond what the server handles are refused cleanly, not hung on.
  await session(basePlan, async (conn, x) => {
    if (!x.ok) return P('oversize-packet', 'a 1 MiB packet is refused or processed', 'RFC 4253 §6.1', 'info', 'none', unreached(x, timeoutMs) ?? `exchange failed: ${describeIncoming(x.event, timeoutMs)}`);
    conn.send(encodeIgnore(new Uint8Array(1024 * 1024)));
    const a = await serviceRoundTrip(conn, timeoutMs);
    const t = 'a 1 MiB packet is refused or processed';
    if (isTermination(a.end)) P('oversize-packet', t, 'RFC 4253 §6.1', 'pass', 'should', `refused: ${describeIncoming(a.end)}`);
    else if (accepted(a)) P('oversize-packet', t, 'RFC 4253 §6.1', 'info', 'none', 'processed (the server accepts packets of 1 MiB)');
    else if (a.end.kind === 'timeout') P('oversize-packet', t, 'RFC 4253 §6.1', 'info', 'none', timedOut(a.end, timeoutMs, 'neither refused nor processed')!);
    else P('oversize-packet', t, 'RFC 4253 §6.1', 'fail', 'should', `neither refused nor processed: ${describeIncoming(a.end)}`);
  });

  // RFC 4253 §6.4: a packet whose MAC does not verify is never acted upon.
  await session(basePlan, async (conn, x) => {
    if (!x.ok) return P('bad-mac', 'a packet with a bad MAC is refused', 'RFC 4253 §6.4', 'info', 'none', unreached(x, timeoutMs) ?? `exchange failed: ${describeIncoming(x.event, timeoutMs)}`);
    conn.sendMutated(encodeServiceRequest('ssh-userauth'), (p) => {
      p[p.length - 1]! ^= 0x01;
    });
    const a = await readUntilAccept(conn, timeoutMs);
    const t = 'a packet with a bad MAC is refused';
    if (accepted(a)) P('bad-mac', t, 'RFC 4253 §6.4', 'fail', 'must', 'the request under a broken MAC was answered');
    else if (isTermination(a.end)) P('bad-mac', t, 'RFC 4253 §6.4', 'pass', 'must', `refused: ${describeIncoming(a.end)}`);
    else if (a.end.kind === 'timeout' && badMacAnswerDeferred(x.negotiated.cipherClientToServer, x.negotiated.macClientToServer)) {
      P('bad-mac', t, 'RFC 4253 §6.4', 'info', 'none', `not acted upon; no answer under ${x.negotiated.cipherClientToServer} + ${x.negotiated.macClientToServer} (OpenSSH reads on up to 256 KiB after a bad MAC there before it closes, a CBC countermeasure)`);
    } else if (a.end.kind === 'timeout') {
      P('bad-mac', t, 'RFC 4253 §6.4; §11.1 MAC_ERROR', 'info', 'none', `not acted upon; ${timedOut(a.end, timeoutMs, 'and neither refused')!}`);
    } else P('bad-mac', t, 'RFC 4253 §6.4; §11.1 MAC_ERROR', 'fail', 'should', `not answered, but the connection stays open (${describeIncoming(a.end)})`);
  });

  // RFC 4253 §7.1: a wrong first_kex_packet_follows guess is ignored by the server.
  const guessName = 'wrong-guess@pure-ssh.invalid';
  const guess = new SshWriter(48).byte(30).string(o.random(32)).toBytes();
  await session({ ...basePlan, kex: [guessName, ...basePlan.kex], wrongGuess: guess }, async (conn, x) => {
    const t = 'a wrong first_kex_packet_follows guess is ignored';
    const notRun = unreached(x, timeoutMs) ?? (x.ok || x.error ? undefined : timedOut(x.event, timeoutMs, `key exchange (${x.stage} step)`));
    if (notRun) return P('wrong-guess', t, 'RFC 4253 §7.1', 'info', 'none', notRun);
    if (!x.ok) {
      return P('wrong-guess', t, 'RFC 4253 §7.1', 'fail', 'must', x.error ? `the server used the guessed packet (${x.error.message})` : `the exchange failed: ${describeIncoming(x.event)}`);
    }
    const a = await serviceRoundTrip(conn, timeoutMs);
    const late = timedOut(a.end, timeoutMs, 'the exchange completed, the next request not answered');
    if (late) return P('wrong-guess', t, 'RFC 4253 §7.1', 'info', 'none', late);
    P('wrong-guess', t, 'RFC 4253 §7.1', accepted(a) ? 'pass' : 'fail', 'must', accepted(a) ? 'ignored: the exchange ran on the packet that followed' : describeIncoming(a.end));
  });

  // RFC 4253 §9: either side may start a key re-exchange at any time, even right after the first.
  await session(basePlan, async (conn, x) => {
    if (!x.ok) return P('rekey', 'an immediate client rekey completes', 'RFC 4253 §9', 'info', 'none', unreached(x, timeoutMs) ?? `exchange failed: ${describeIncoming(x.event, timeoutMs)}`);
    const r = await runRekey(conn, x, basePlan);
    const a = r.ok ? await serviceRoundTrip(conn, timeoutMs) : undefined;
    const t = 'an immediate client rekey completes';
    if (a && accepted(a)) P('rekey', t, 'RFC 4253 §9', 'pass', 'should', 'second exchange done; the session went on under the new keys');
    else if (!r.ok && r.event.kind === 'packet' && r.event.type === MSG.UNIMPLEMENTED) {
      P('rekey', t, 'RFC 4253 §9', 'info', 'none', 'refused before user authentication: the server answered our KEXINIT with UNIMPLEMENTED');
    } else if ((r.ok ? a!.end : r.event).kind === 'timeout' && (r.ok || !r.error)) {
      P('rekey', t, 'RFC 4253 §9', 'info', 'none', timedOut({ kind: 'timeout' }, timeoutMs, r.ok ? 'second exchange done, the next request not answered' : `second exchange (${r.stage} step)`)!);
    } else P('rekey', t, 'RFC 4253 §9', 'fail', 'should', r.ok ? describeIncoming(a!.end) : `${r.stage}: ${r.error?.message ?? describeIncoming(r.event)}`);
  });

  // OpenSSH PROTOCOL "ping facility": PING answered with PONG carrying the same data.
  const t = 'ping@openssh.com answered';
  if (!ext?.has('ping@openssh.com')) {
    P('ping', t, 'OpenSSH PROTOCOL, ping facility', 'info', 'none', 'not advertised in EXT_INFO');
    return;
  }
  await session(basePlan, async (conn, x) => {
    if (!x.ok || !(await serviceRoundTrip(conn, timeoutMs).then(accepted))) {
      return P('ping', t, 'OpenSSH PROTOCOL, ping facility', 'info', 'none', 'inconclusive: the session did not get as far as the ping');
    }
    const data = 'pure-ssh-check';
    conn.send(new SshWriter(32).byte(MSG_PING).string(data).toBytes());
    const wait = Math.min(timeoutMs, 2000);
    const e = await conn.next(wait);
    if (e.kind === 'packet' && e.type === MSG_PONG) {
      const echoed = fromUtf8(new SshReader(e.payload, 1).string());
      P('ping', t, 'OpenSSH PROTOCOL, ping facility', echoed === data ? 'pass' : 'fail', 'must', echoed === data ? 'PONG with the same data' : `PONG with other data: ${echoed}`);
    } else if (e.kind === 'timeout') {
      P('ping', t, 'OpenSSH PROTOCOL, ping facility', 'info', 'none', `advertised, not answered within ${wait} ms before user authentication (OpenSSH answers only after it)`);
    } else if (e.kind === 'packet' && e.type === MSG.UNIMPLEMENTED) {
      // RFC 4253 §11.4 is an answer too: the facility may be kept for after login.
      P('ping', t, 'OpenSSH PROTOCOL, ping facility', 'info', 'none', 'advertised, answered with UNIMPLEMENTED before user authentication');
    } else {
      P('ping', t, 'OpenSSH PROTOCOL, ping facility', 'fail', 'should', describeIncoming(e));
    }
  });
}
