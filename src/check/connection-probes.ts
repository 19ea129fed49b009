/**
 * Connection-protocol probes (RFC 4254) run after user authentication: the server keeps to the
 * window and maximum packet size we grant (§5.1, §5.2), orders EOF, exit-status and CLOSE as
 * §5.3 and §6.10 ask and answers our CLOSE, answers global requests in order (§4), answers
 * keepalive@openssh.com and, when announced, ping@openssh.com (OpenSSH PROTOCOL §1.9) after
 * login. Each probe waits at most a few budgets of `timeoutMs` and closes what it opened.
 */
import { encodeDirectTcpip } from '../connection/channel-types.js';
import { encodeTcpipForward } from '../connection/global-requests.js';
import { MSG, encodeChannelOpen, encodeChannelSimple, encodeGlobalRequest, encodeWindowAdjust } from '../protocol/messages.js';
import { SshReader, SshWriter, fromUtf8 } from '../protocol/wire.js';
import { describeIncoming, seconds, type Incoming, type ProbeConnection } from './connection.js';
import { answerGlobalRequest, type Extensions } from './login.js';
import type { Finding } from './report.js';

/** OpenSSH PROTOCOL §1.9 "ping facility": SSH2_MSG_PING / SSH2_MSG_PONG. */
export const MSG_PING = 192;
export const MSG_PONG = 193;

/** The window we open the probed channel with, bytes (RFC 4254 §5.1 initial window size). */
export const PROBE_WINDOW = 1024;
/** The maximum packet size we grant, bytes of data per CHANNEL_DATA (RFC 4254 §5.1). */
export const PROBE_MAX_PACKET = 512;
/** The second, odd-sized grant: the server must stop again exactly at its end. */
export const PROBE_SECOND_GRANT = 3000;
/** Later grants, until the command's output is complete. */
const LATER_GRANT = 64 * 1024;
/** At most this many later grants (bounds a command whose output has no known size). */
const MAX_LATER_GRANTS = 64;
/** The window probe ends after this many times the per-wait budget, whatever happens. */
const PROBE_BUDGETS = 6;

/** Bytes the default command prints. */
export const DEFAULT_EXEC_BYTES = 65536;
/**
 * The default command of the window probe: POSIX `head` reading `/dev/zero`, harmless on any
 * Unix shell account. Its output size is known, so the probe also checks that all of it came.
 */
export const DEFAULT_EXEC_COMMAND = `head -c ${DEFAULT_EXEC_BYTES} /dev/zero`;

/** Where the window probe's data comes from: a command's output. */
export interface ExecProbe {
  kind?: 'exec';
  /** The command (RFC 4254 §6.5 "exec"). */
  command: string;
  /** Bytes it prints on stdout, when known: then they are counted and must all be zeros. */
  expectBytes?: number;
}

/**
 * Or bytes we send ourselves, looped through the server: a tcpip-forward on its loopback
 * (RFC 4254 §7.1) and a direct-tcpip channel to that port (§7.2). The server connects to its
 * own listener and opens a forwarded-tcpip channel to us; what we write there comes back on the
 * direct-tcpip channel, under the window we grant. No shell or command is needed, only
 * permission to forward.
 */
export interface LoopProbe {
  kind: 'loop';
  bytes: number;
}

/** Our channel number for the forwarded-tcpip end of the loop. */
const FEED_CHANNEL = 2;

type Add = (f: Finding) => void;

/**
 * A wait that ran out (`-t`) proves nothing either way: a slow server or link looks the same as
 * one that never answers. The detail of such a finding (verdict `info`), or undefined.
 */
function timedOut(e: Incoming | undefined, timeoutMs: number, what: string): string | undefined {
  return e?.kind === 'timeout' ? `inconclusive: ${what}: no answer within ${seconds(timeoutMs)}` : undefined;
}

const finding = (id: string, title: string, spec: string, verdict: Finding['verdict'], requirement: Finding['requirement'], detail: string): Finding => ({
  id: `connection.${id}`,
  group: 'connection',
  title,
  spec,
  verdict,
  requirement,
  detail,
});

/**
 * The next connection-layer message: IGNORE and DEBUG are skipped, the server's own global
 * requests answered (RFC 4254 §4), anything else returned.
 */
async function nextMessage(conn: ProbeConnection, timeoutMs: number): Promise<Incoming> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await conn.next(Math.max(1, deadline - Date.now()));
    if (e.kind !== 'packet') return e;
    if (e.type === MSG.IGNORE || e.type === MSG.DEBUG) continue;
    if (e.type === MSG.GLOBAL_REQUEST) {
      answerGlobalRequest(conn, e.payload);
      continue;
    }
    return e;
  }
}

/** The server's answer to our CHANNEL_OPEN (RFC 4254 §5.1): its channel number, or why not. */
async function openSession(conn: ProbeConnection, ours: number, window: number, maxPacket: number, timeoutMs: number): Promise<{ remote: number } | { error: string }> {
  conn.send(encodeChannelOpen('session', ours, window, maxPacket, new Uint8Array(0)));
  for (;;) {
    const e = await nextMessage(conn, timeoutMs);
    if (e.kind !== 'packet') return { error: describeIncoming(e) };
    const r = new SshReader(e.payload, 1);
    if (e.type === MSG.CHANNEL_OPEN_CONFIRMATION && r.uint32() === ours) return { remote: r.uint32() };
    if (e.type === MSG.CHANNEL_OPEN_FAILURE && r.uint32() === ours) {
      const reason = r.uint32();
      return { error: `open refused (reason ${reason}) ${r.utf8()}` };
    }
  }
}

/** One thing the server did on the probed channel, in order. */
type ChannelEvent = { kind: 'data' | 'extended-data'; bytes: number } | { kind: 'eof' | 'close' } | { kind: 'request'; name: string; value?: number };

function describeEvents(events: ChannelEvent[]): string {
  const out: string[] = [];
  for (const ev of events) {
    const last = out[out.length - 1];
    const text = ev.kind === 'request' ? `${ev.name}${ev.value !== undefined ? ` ${ev.value}` : ''}` : ev.kind === 'data' || ev.kind === 'extended-data' ? ev.kind : ev.kind.toUpperCase();
    if ((ev.kind === 'data' || ev.kind === 'extended-data') && last?.startsWith(ev.kind)) continue;
    out.push(text);
  }
  return out.join(', ');
}

/**
 * RFC 4254 §5.1/§5.2/§5.3/§6.10 on a session channel running `exec.command`: a window of
 * {@link PROBE_WINDOW} bytes and a maximum packet of {@link PROBE_MAX_PACKET}, more window
 * granted each time the server has stopped at zero, then the order of EOF, exit-status and
 * CLOSE. A second channel, opened and closed by us, checks that our CLOSE is answered.
 */
export async function channelProbes(conn: ProbeConnection, source: ExecProbe | LoopProbe, timeoutMs: number, add: Add): Promise<void> {
  const S51 = 'RFC 4254 §5.1, §5.2';
  const titles = {
    maxPacket: 'data within the maximum packet size we grant',
    window: 'data within the window we grant',
    adjust: 'data resumes after WINDOW_ADJUST',
    eof: 'no data after EOF',
    exit: 'exit-status before CLOSE',
    close: 'our CLOSE is answered with CLOSE',
  };
  const ours = 0;
  const loop = source.kind === 'loop';
  const opened: { remote: number; feeder?: Feeder } | { error: string; forwardPort?: number } =
    source.kind === 'loop' ? await openLoop(conn, ours, source.bytes, timeoutMs) : await openSession(conn, ours, PROBE_WINDOW, PROBE_MAX_PACKET, timeoutMs);
  if ('error' in opened) {
    for (const [id, t] of [['max-packet', titles.maxPacket], ['window', titles.window]] as const) {
      add(finding(id, t, S51, 'info', 'none', `inconclusive: ${loop ? 'loop through a remote forward' : 'session channel'} not opened (${opened.error})`));
    }
    if (opened.forwardPort !== undefined) await cancelForward(conn, opened.forwardPort, timeoutMs);
    return;
  }
  const remote = opened.remote;
  const feeder = opened.feeder;
  const exec: ExecProbe = source.kind === 'loop' ? { command: '', expectBytes: source.bytes } : source;
  // RFC 4254 §6.5: exec, with a reply so a refusal is seen.
  if (!loop) conn.send(new SshWriter(64 + exec.command.length).byte(MSG.CHANNEL_REQUEST).uint32(remote).string('exec').boolean(true).string(exec.command).toBytes());
  feeder?.pump();

  const stallMs = Math.min(timeoutMs, 500);
  let window = PROBE_WINDOW;
  /** Bytes of CHANNEL_DATA (stdout), and of extended data (stderr). */
  let received = 0;
  let stderrBytes = 0;
  let nonZero = false;
  let largest = 0;
  const overPacket: number[] = [];
  let overWindow: { bytes: number; window: number } | undefined;
  let stallsAtZero = 0;
  let grants = 0;
  let execReply: 'success' | 'failure' | undefined = loop ? 'success' : undefined;
  const events: ChannelEvent[] = [];
  let eofAt = -1;
  let dataAfterEof = 0;
  let closed = false;
  let end: Incoming | undefined;

  const grant = (n: number) => {
    window += n;
    grants++;
    conn.send(encodeWindowAdjust(remote, n));
  };
  // The whole probe is bounded: a few budgets, however the server paces its output.
  const deadline = Date.now() + PROBE_BUDGETS * timeoutMs;
  while (!closed) {
    const left = deadline - Date.now();
    if (left <= 0) {
      end = { kind: 'timeout' };
      break;
    }
    const e = await nextMessage(conn, Math.min(left, window === 0 ? stallMs : timeoutMs));
    if (e.kind === 'timeout') {
      // Refused, or nothing printed at all: there is no data to judge the window by.
      if (execReply === 'failure' || largest === 0 || grants > MAX_LATER_GRANTS) {
        end = e;
        break;
      }
      if (window === 0) stallsAtZero++;
      // The server has stopped: at zero (the rule kept) or waiting for a larger window.
      grant(grants === 0 ? PROBE_SECOND_GRANT : LATER_GRANT);
      continue;
    }
    if (e.kind !== 'packet') {
      end = e;
      break;
    }
    const r = new SshReader(e.payload, 1);
    if (e.type < MSG.CHANNEL_WINDOW_ADJUST || e.type > MSG.CHANNEL_FAILURE) continue;
    const recipient = r.uint32();
    if (feeder && recipient === FEED_CHANNEL) {
      feeder.handle(e.type, r);
      continue;
    }
    if (recipient !== ours) continue;
    switch (e.type) {
      case MSG.CHANNEL_DATA:
      case MSG.CHANNEL_EXTENDED_DATA: {
        if (e.type === MSG.CHANNEL_EXTENDED_DATA) r.uint32();
        const data = r.string();
        const n = data.length;
        // Both sources send zeros to stdout (head -c N /dev/zero, or our own loop): other bytes
        // are corruption. stderr (a login warning, say) is counted apart.
        if (e.type === MSG.CHANNEL_DATA && exec.expectBytes !== undefined && !nonZero && data.some((b) => b !== 0)) nonZero = true;
        // RFC 4254 §5.2: both kinds of data consume the window.
        if (n > PROBE_MAX_PACKET) overPacket.push(n);
        if (n > window && !overWindow) overWindow = { bytes: n, window };
        window = Math.max(0, window - n);
        largest = Math.max(largest, n);
        if (e.type === MSG.CHANNEL_DATA) received += n;
        else stderrBytes += n;
        if (eofAt >= 0) dataAfterEof += n;
        events.push({ kind: e.type === MSG.CHANNEL_DATA ? 'data' : 'extended-data', bytes: n });
        break;
      }
      case MSG.CHANNEL_SUCCESS:
        execReply ??= 'success';
        break;
      case MSG.CHANNEL_FAILURE:
        execReply ??= 'failure';
        break;
      case MSG.CHANNEL_EOF:
        if (eofAt < 0) eofAt = events.length;
        events.push({ kind: 'eof' });
        // The loop's other direction: our EOF lets the server close its socket, then the channel.
        if (loop) conn.send(encodeChannelSimple(MSG.CHANNEL_EOF, remote));
        break;
      case MSG.CHANNEL_REQUEST: {
        const name = r.utf8();
        const wantReply = r.boolean();
        // RFC 4254 §6.10: exit-status carries a uint32; exit-signal its signal name.
        const value = name === 'exit-status' ? r.uint32() : undefined;
        events.push({ kind: 'request', name, value });
        if (wantReply) conn.send(encodeChannelSimple(MSG.CHANNEL_FAILURE, remote));
        break;
      }
      case MSG.CHANNEL_CLOSE:
        events.push({ kind: 'close' });
        closed = true;
        break;
    }
  }
  // RFC 4254 §5.3: answer the server's CLOSE (or close the channel we are giving up on).
  conn.send(encodeChannelSimple(MSG.CHANNEL_CLOSE, remote));
  if (!closed) await drainUntilClose(conn, ours, timeoutMs);
  if (feeder) {
    await feeder.close(timeoutMs);
    await cancelForward(conn, feeder.port, timeoutMs);
  }

  if (execReply === 'failure' || largest === 0) {
    const what = loop ? 'the loop through a remote forward' : `"${exec.command}"`;
    const why = execReply === 'failure' ? `the server refused exec of "${exec.command}"` : `no data from ${what} (${closed ? 'channel closed' : describeIncoming(end ?? { kind: 'timeout' })})`;
    add(finding('max-packet', titles.maxPacket, S51, 'info', 'none', `inconclusive: ${why}`));
    add(finding('window', titles.window, 'RFC 4254 §5.2', 'info', 'none', `inconclusive: ${why}`));
  } else {
    add(
      finding(
        'max-packet',
        titles.maxPacket,
        'RFC 4254 §5.1, §5.2',
        overPacket.length === 0 ? 'pass' : 'fail',
        'must',
        overPacket.length === 0
          ? `largest data packet ${largest} bytes, max packet ${PROBE_MAX_PACKET}`
          : `${overPacket.length} packet(s) above the max packet of ${PROBE_MAX_PACKET} (largest ${Math.max(...overPacket)} bytes)`,
      ),
    );
    add(
      finding(
        'window',
        titles.window,
        'RFC 4254 §5.2',
        overWindow ? 'fail' : 'pass',
        'must',
        overWindow
          ? `${overWindow.bytes} bytes sent with ${overWindow.window} bytes of window left`
          : `initial window ${PROBE_WINDOW}${grants > 0 ? `, then WINDOW_ADJUST ${PROBE_SECOND_GRANT}` : ''}${grants > 1 ? ` and ${grants - 1} of ${LATER_GRANT}` : ''}: never exceeded; stopped at zero ${stallsAtZero} time(s)`,
      ),
    );
    const complete = exec.expectBytes === undefined ? closed : received === exec.expectBytes && !nonZero;
    // Nothing to resume: all the output fit in the first window (`--command` with a short output).
    const untested = complete && grants === 0 ? `inconclusive: all ${received} bytes${stderrBytes > 0 ? ` (and ${stderrBytes} on stderr)` : ''} fit in the first window of ${PROBE_WINDOW}, no WINDOW_ADJUST was needed` : undefined;
    // Stopped, and no more within the probe's budget after our grants: as slow as a server that hangs.
    const late = !complete && !nonZero ? timedOut(end ?? { kind: 'timeout' }, timeoutMs, `${received}${exec.expectBytes !== undefined ? ` of ${exec.expectBytes}` : ''} bytes after ${grants} WINDOW_ADJUST, then no more`) : undefined;
    if (untested || late) add(finding('window-adjust', titles.adjust, 'RFC 4254 §5.2', 'info', 'none', (untested ?? late)!));
    else add(
      finding(
        'window-adjust',
        titles.adjust,
        'RFC 4254 §5.2',
        complete ? 'pass' : 'fail',
        'should',
        complete
          ? `${received} bytes ${loop ? 'looped through a remote forward' : 'of output'}${exec.expectBytes !== undefined ? ' (all of it)' : ''}${stderrBytes > 0 ? ` and ${stderrBytes} on stderr` : ''} after ${grants} WINDOW_ADJUST`
          : nonZero
            ? `${received} bytes, not all of them the zeros sent`
            : `${received}${exec.expectBytes !== undefined ? ` of ${exec.expectBytes}` : ''} bytes, then ${describeIncoming(end ?? { kind: 'timeout' })}`,
      ),
    );
    const order = describeEvents(events);
    if (!closed) {
      add(finding('eof', titles.eof, 'RFC 4254 §5.3', 'info', 'none', `inconclusive: the channel did not close (${order})`));
    } else if (eofAt < 0) {
      add(finding('eof', titles.eof, 'RFC 4254 §5.3', 'fail', 'should', `no EOF before CLOSE: ${order}`));
    } else {
      add(
        finding(
          'eof',
          titles.eof,
          'RFC 4254 §5.3',
          dataAfterEof === 0 ? 'pass' : 'fail',
          'must',
          dataAfterEof === 0 ? order : `${dataAfterEof} bytes of data after EOF: ${order}`,
        ),
      );
    }
    if (closed && !loop) {
      const exitAt = events.findIndex((ev) => ev.kind === 'request' && (ev.name === 'exit-status' || ev.name === 'exit-signal'));
      add(
        finding(
          'exit-status',
          titles.exit,
          'RFC 4254 §6.10',
          exitAt >= 0 ? 'pass' : 'fail',
          'should',
          exitAt >= 0 ? order : `no exit-status: ${order}`,
        ),
      );
    }
  }

  // RFC 4254 §5.3: a party receiving CLOSE MUST send back CLOSE unless it already has.
  const second = await openSession(conn, 1, 2 * 1024 * 1024, 32768, timeoutMs);
  if ('error' in second) {
    add(finding('close-answered', titles.close, 'RFC 4254 §5.3', 'info', 'none', `inconclusive: second session channel not opened (${second.error})`));
    return;
  }
  conn.send(encodeChannelSimple(MSG.CHANNEL_CLOSE, second.remote));
  // A request after the CLOSE tells a slow server from one that ignores the CLOSE: once its reply
  // is in, the server has read our CLOSE (RFC 4253 §6: packets in order), and a CLOSE still
  // missing a whole -t later is a missing answer, not a late one.
  conn.send(encodeGlobalRequest('keepalive@openssh.com', true));
  let answer: Incoming;
  let repliedAt: number | undefined;
  let closeBy = Date.now() + timeoutMs;
  for (;;) {
    answer = await nextMessage(conn, Math.max(1, closeBy - Date.now()));
    if (answer.kind === 'timeout') {
      if (repliedAt !== undefined && Date.now() < repliedAt + timeoutMs) {
        closeBy = repliedAt + timeoutMs;
        continue;
      }
      break;
    }
    if (answer.kind !== 'packet') break;
    if (answer.type === MSG.REQUEST_SUCCESS || answer.type === MSG.REQUEST_FAILURE) {
      repliedAt ??= Date.now();
      closeBy = Math.max(closeBy, repliedAt + timeoutMs);
    }
    if (answer.type === MSG.CHANNEL_CLOSE && new SshReader(answer.payload, 1).uint32() === 1) break;
  }
  const late = repliedAt === undefined ? timedOut(answer, timeoutMs, 'an idle session channel closed by us, and a keepalive after it') : undefined;
  if (late) return add(finding('close-answered', titles.close, 'RFC 4254 §5.3', 'info', 'none', late));
  add(
    finding(
      'close-answered',
      titles.close,
      'RFC 4254 §5.3',
      answer.kind === 'packet' ? 'pass' : 'fail',
      'must',
      answer.kind === 'packet'
        ? 'an idle session channel closed by us was closed by the server'
        : `no CLOSE back (${describeIncoming(answer, timeoutMs)}${repliedAt !== undefined && answer.kind === 'timeout' ? ', though the keepalive sent after our CLOSE was answered' : ''})`,
    ),
  );
}

/** The forwarded-tcpip end of the loop: we write `bytes` zeros into it, within its window, then EOF. */
interface Feeder {
  /** The server's port of the remote forward. */
  port: number;
  pump(): void;
  /** A message for {@link FEED_CHANNEL} (its recipient already read from `r`). */
  handle(type: number, r: SshReader): void;
  /** CLOSE it (RFC 4254 §5.3) and wait for the server's. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Set up the loop of {@link LoopProbe}: tcpip-forward on 127.0.0.1 port 0, a direct-tcpip channel
 * `ours` (our tiny window) to it, and the forwarded-tcpip channel the server opens back, which we
 * confirm as {@link FEED_CHANNEL} with OpenSSH's window (2 MiB) and packet size (32 KiB).
 */
async function openLoop(
  conn: ProbeConnection,
  ours: number,
  bytes: number,
  timeoutMs: number,
): Promise<{ remote: number; feeder: Feeder } | { error: string; forwardPort?: number }> {
  conn.send(encodeGlobalRequest('tcpip-forward', true, encodeTcpipForward('127.0.0.1', 0)));
  let e: Incoming;
  do e = await nextMessage(conn, timeoutMs);
  while (e.kind === 'packet' && e.type !== MSG.REQUEST_SUCCESS && e.type !== MSG.REQUEST_FAILURE);
  if (e.kind !== 'packet') return { error: `tcpip-forward: ${describeIncoming(e)}` };
  if (e.type !== MSG.REQUEST_SUCCESS || e.payload.length !== 5) return { error: 'the server refused tcpip-forward on 127.0.0.1 port 0' };
  const port = new SshReader(e.payload, 1).uint32();
  conn.send(encodeChannelOpen('direct-tcpip', ours, PROBE_WINDOW, PROBE_MAX_PACKET, encodeDirectTcpip({ host: '127.0.0.1', port, originatorAddress: '127.0.0.1', originatorPort: 1 })));
  let remote: number | undefined;
  let feed: { remote: number; window: number; maxPacket: number } | undefined;
  const deadline = Date.now() + timeoutMs;
  while (remote === undefined || feed === undefined) {
    const m = await nextMessage(conn, Math.max(1, deadline - Date.now()));
    if (m.kind !== 'packet') return { error: `waiting for both ends of the loop: ${describeIncoming(m)}`, forwardPort: port };
    const r = new SshReader(m.payload, 1);
    if (m.type === MSG.CHANNEL_OPEN && r.utf8() === 'forwarded-tcpip') {
      // RFC 4254 §7.2: sender channel, initial window, maximum packet, then the addresses.
      feed = { remote: r.uint32(), window: r.uint32(), maxPacket: r.uint32() };
      conn.send(new SshWriter(17).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(feed.remote).uint32(FEED_CHANNEL).uint32(2 * 1024 * 1024).uint32(32768).toBytes());
    } else if (m.type === MSG.CHANNEL_OPEN_CONFIRMATION && r.uint32() === ours) remote = r.uint32();
    else if (m.type === MSG.CHANNEL_OPEN_FAILURE && r.uint32() === ours) return { error: `direct-tcpip to 127.0.0.1 port ${port} refused (reason ${r.uint32()}) ${r.utf8()}`, forwardPort: port };
  }
  const f = feed;
  let left = bytes;
  let eofSent = false;
  let closed = false;
  const feeder: Feeder = {
    port,
    pump() {
      // RFC 4254 §5.2: we keep to the server's window and maximum packet on this channel.
      while (left > 0 && f.window > 0 && !closed) {
        const n = Math.min(left, f.window, f.maxPacket);
        conn.send(new SshWriter(16 + n).byte(MSG.CHANNEL_DATA).uint32(f.remote).string(new Uint8Array(n)).toBytes());
        left -= n;
        f.window -= n;
      }
      if (left === 0 && !eofSent && !closed) {
        eofSent = true;
        conn.send(encodeChannelSimple(MSG.CHANNEL_EOF, f.remote));
      }
    },
    handle(type, r) {
      if (type === MSG.CHANNEL_WINDOW_ADJUST) {
        f.window += r.uint32();
        feeder.pump();
      } else if (type === MSG.CHANNEL_CLOSE && !closed) {
        closed = true;
        conn.send(encodeChannelSimple(MSG.CHANNEL_CLOSE, f.remote));
      }
    },
    async close(ms) {
      if (closed) return;
      closed = true;
      conn.send(encodeChannelSimple(MSG.CHANNEL_CLOSE, f.remote));
      await drainUntilClose(conn, FEED_CHANNEL, ms);
    },
  };
  return { remote, feeder };
}

/** RFC 4254 §7.1: cancel the probe's own forward; returns the reply (or how the wait ended). */
async function cancelForward(conn: ProbeConnection, port: number, timeoutMs: number): Promise<Incoming> {
  conn.send(encodeGlobalRequest('cancel-tcpip-forward', true, encodeTcpipForward('127.0.0.1', port)));
  let e: Incoming;
  do e = await nextMessage(conn, timeoutMs);
  while (e.kind === 'packet' && e.type !== MSG.REQUEST_SUCCESS && e.type !== MSG.REQUEST_FAILURE);
  return e;
}

/** Read until the server's CLOSE for our channel `ours`; returns it, or how the wait ended. */
async function drainUntilClose(conn: ProbeConnection, ours: number, timeoutMs: number): Promise<Incoming> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await nextMessage(conn, Math.max(1, deadline - Date.now()));
    if (e.kind !== 'packet') return e;
    if (e.type === MSG.CHANNEL_CLOSE && new SshReader(e.payload, 1).uint32() === ours) return e;
  }
}

/**
 * RFC 4254 §4: replies to global requests come in the order of the requests, FAILURE for one the
 * server does not know. Sent at once: keepalive@openssh.com, an unknown request, tcpip-forward
 * on loopback port 0 (§7.1: SUCCESS carries the port), the unknown request again. The
 * forward's SUCCESS between two FAILUREs shows the order; the forward is then cancelled.
 */
export async function globalRequestProbes(conn: ProbeConnection, timeoutMs: number, add: Add): Promise<void> {
  const unknown = 'unknown-request@pure-ssh-check.invalid';
  const requests = ['keepalive@openssh.com', unknown, 'tcpip-forward', unknown];
  conn.send(encodeGlobalRequest(requests[0]!, true));
  conn.send(encodeGlobalRequest(unknown, true));
  conn.send(encodeGlobalRequest('tcpip-forward', true, encodeTcpipForward('127.0.0.1', 0)));
  conn.send(encodeGlobalRequest(unknown, true));
  const replies: { type: number; data: Uint8Array }[] = [];
  let end: Incoming | undefined;
  while (replies.length < requests.length) {
    const e = await nextMessage(conn, timeoutMs);
    if (e.kind !== 'packet') {
      end = e;
      break;
    }
    if (e.type === MSG.REQUEST_SUCCESS || e.type === MSG.REQUEST_FAILURE) replies.push({ type: e.type, data: e.payload.subarray(1) });
  }
  const name = (t: number) => (t === MSG.REQUEST_SUCCESS ? 'SUCCESS' : 'FAILURE');
  const seen = replies.map((r) => name(r.type) + (r.type === MSG.REQUEST_SUCCESS && r.data.length === 4 ? `(port ${new SshReader(r.data).uint32()})` : '')).join(', ');
  const S4 = 'RFC 4254 §4';
  const late = timedOut(end, timeoutMs, `${requests.length} requests with want-reply, ${replies.length} replies (${seen || 'none'})`);
  // keepalive@openssh.com: OpenSSH answers FAILURE (it does not know it); any reply counts.
  if (replies.length === 0 && late) add(finding('keepalive', 'keepalive@openssh.com answered after login', 'RFC 4254 §4; OpenSSH PROTOCOL §2.5', 'info', 'none', late));
  else add(
    finding(
      'keepalive',
      'keepalive@openssh.com answered after login',
      'RFC 4254 §4; OpenSSH PROTOCOL §2.5',
      replies.length > 0 ? 'pass' : 'fail',
      'must',
      replies.length > 0 ? `answered with ${name(replies[0]!.type)}` : `no reply (${describeIncoming(end ?? { kind: 'timeout' })})`,
    ),
  );
  if (replies.length < requests.length) {
    if (late) return add(finding('global-replies', 'global requests answered in order', S4, 'info', 'none', late));
    add(finding('global-replies', 'global requests answered in order', S4, 'fail', 'must', `${requests.length} requests with want-reply, ${replies.length} replies (${seen || 'none'}), then ${describeIncoming(end ?? { kind: 'timeout' })}`));
    return;
  }
  const forward = replies[2]!;
  const forwardPort = forward.type === MSG.REQUEST_SUCCESS && forward.data.length === 4 ? new SshReader(forward.data).uint32() : undefined;
  const unknownOk = replies[1]!.type === MSG.REQUEST_FAILURE && replies[3]!.type === MSG.REQUEST_FAILURE;
  const successes = replies.filter((r) => r.type === MSG.REQUEST_SUCCESS && r.data.length === 4).length;
  if (forwardPort !== undefined && unknownOk) {
    add(finding('global-replies', 'global requests answered in order', S4, 'pass', 'must', `keepalive, unknown, tcpip-forward, unknown → ${seen}`));
  } else if (successes > 0) {
    add(finding('global-replies', 'global requests answered in order', S4, 'fail', 'must', `keepalive, unknown, tcpip-forward, unknown → ${seen}: the forward's reply is not the third`));
  } else if (!unknownOk) {
    add(finding('global-replies', 'global requests answered in order', S4, 'fail', 'must', `an unknown request was answered with SUCCESS: ${seen}`));
  } else {
    add(finding('global-replies', 'global requests answered in order', S4, 'info', 'none', `${seen}: all FAILURE (tcpip-forward refused), so the order is not visible; the unknown requests got FAILURE`));
  }
  // Leave the server clean: cancel the forward it opened (RFC 4254 §7.1).
  const port = forwardPort ?? replies.filter((r) => r.type === MSG.REQUEST_SUCCESS && r.data.length === 4).map((r) => new SshReader(r.data).uint32())[0];
  if (port !== undefined) {
    const e = await cancelForward(conn, port, timeoutMs);
    const ok = e.kind === 'packet' && e.type === MSG.REQUEST_SUCCESS;
    // A forward left behind ends with the connection, which the probe closes next.
    const detail = ok ? `port ${port} cancelled` : `port ${port}: ${e.kind === 'packet' ? 'FAILURE (the forward lasts until the connection ends)' : describeIncoming(e)}`;
    const cancelLate = timedOut(e, timeoutMs, `cancel-tcpip-forward of port ${port}`);
    if (cancelLate) add(finding('cancel-tcpip-forward', 'cancel-tcpip-forward of the forward it opened', 'RFC 4254 §7.1', 'info', 'none', cancelLate));
    else add(finding('cancel-tcpip-forward', 'cancel-tcpip-forward of the forward it opened', 'RFC 4254 §7.1', ok ? 'pass' : 'fail', 'should', detail));
  }
}

/** OpenSSH PROTOCOL §1.9: after login, PING is answered with PONG carrying the same data. */
export async function pingProbe(conn: ProbeConnection, extensions: Extensions, timeoutMs: number, add: Add): Promise<void> {
  const t = 'ping@openssh.com answered after login';
  const spec = 'OpenSSH PROTOCOL §1.9, ping facility';
  if (!extensions.has('ping@openssh.com')) {
    add(finding('ping', t, spec, 'info', 'none', 'not advertised in EXT_INFO'));
    return;
  }
  const data = 'pure-ssh-check after login';
  conn.send(new SshWriter(48).byte(MSG_PING).string(data).toBytes());
  const deadline = Date.now() + timeoutMs;
  let e: Incoming;
  // Channel and global traffic may still be on its way; PONG is what counts.
  do e = await nextMessage(conn, Math.max(1, deadline - Date.now()));
  while (e.kind === 'packet' && e.type !== MSG_PONG && e.type >= MSG.GLOBAL_REQUEST && e.type <= MSG.CHANNEL_FAILURE);
  if (e.kind === 'packet' && e.type === MSG_PONG) {
    const echoed = fromUtf8(new SshReader(e.payload, 1).string());
    add(finding('ping', t, spec, echoed === data ? 'pass' : 'fail', 'must', echoed === data ? 'PONG with the same data' : `PONG with other data: ${JSON.stringify(echoed)}`));
  } else if (e.kind === 'timeout') {
    add(finding('ping', t, spec, 'info', 'none', timedOut(e, timeoutMs, 'advertised, PING sent')!));
  } else {
    add(finding('ping', t, spec, 'fail', 'must', `advertised, but ${e.kind === 'packet' ? `message ${e.type} came instead of PONG` : describeIncoming(e)}`));
  }
}
