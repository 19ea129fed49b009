/**
 * The connection protocol, client side (RFC 4254): the channel table, opens, data and flow
 * control in both directions, EOF/CLOSE, channel and global requests. Sans-IO: it writes
 * messages through the transport and reports to the client core through `emit`.
 */
import type { Channel } from './channel.js';
import { Channel as ChannelState, ChannelTable, DEFAULT_ACCEPT_MAX_PACKET, DEFAULT_MAX_PACKET, DEFAULT_RECEIVE_MAX_PACKET, DEFAULT_WINDOW, LARGE_PACKET_CHANNELS, MAX_WINDOW } from './channel.js';
import { ChannelOpenError, ChannelOpenFailureReason, ProtocolError, SshError, UsageError } from '../errors.js';
import type { ClientEvent } from '../events.js';
import type { DirectTcpipParams } from './channel-types.js';
import { decodeChannelOpenParams, encodeDirectStreamlocal, encodeDirectTcpip } from './channel-types.js';
import { decodeTcpipForwardReply, GlobalRequestName } from './global-requests.js';
import { SshReader, SshWriter, readUint32 } from '../protocol/wire.js';
import {
  MSG,
  decodeMessage,
  messageName,
  encodeChannelOpen,
  encodeChannelOpenFailure,
  encodeChannelSimple,
  encodeGlobalRequest,
  encodeRequestReply,
  encodeWindowAdjust,
} from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import { sharedWindowBudget, type WindowBudget } from './window-budget.js';
import { DEFAULT_WINDOW_AUTOTUNE_MAX, RttEstimator, WindowTuner, type WindowAutoTuneOptions } from './window-tuning.js';
import { checkDirectTcpip, checkOptionKeys, show } from '../option-check.js';

export type { DirectTcpipParams } from './channel-types.js';

/** Channel tuning of our receiving side (RFC 4254 §5.1). */
export interface ChannelOptions {
  /** Initial receive window in bytes (default 2 MiB as ssh(1); auto-tuning, when on, starts from it). */
  window?: number;
  /**
   * The largest CHANNEL_DATA payload the peer may send us, bytes (default 128 KiB on the channels
   * we open while fewer than 8 are open, else 32 KiB, see DEFAULT_RECEIVE_MAX_PACKET and
   * LARGE_PACKET_CHANNELS; 32 KiB on those the server opens, see DEFAULT_ACCEPT_MAX_PACKET).
   */
  maxPacket?: number;
  /**
   * A number held with {@link Connection.reserveChannelNumber} for this channel (its sender
   * channel, RFC 4254 §5.1), e.g. one a forward gave its connection when accepting it, before
   * knowing where it goes (ssh(1)'s -D: channels.c makes the channel at accept). Else the lowest free.
   */
  channel?: number;
}

function tcpipKey(address: string, port: number): string {
  return `tcpip ${port} ${address}`;
}

function streamlocalKey(path: string): string {
  return `streamlocal ${path}`;
}

/** RFC 4254 §5.1 SSH_MSG_CHANNEL_OPEN_CONFIRMATION (no type-specific data for the types we accept). */
function encodeChannelOpenConfirmation(recipient: number, sender: number, window: number, maxPacket: number): Uint8Array {
  return new SshWriter(17).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(recipient).uint32(sender).uint32(window).uint32(maxPacket).toBytes();
}

/** Client side of RFC 4254. */
export class Connection {
  private readonly channels = new ChannelTable();
  private active = false;
  /** The adapter's socket is congested: hold channel data until it drains. */
  private outputPaused = false;
  /** RFC 4254 §4: replies come in request order; one entry per request sent with want_reply. */
  private readonly pendingGlobal: { id: number; name: string; data: Uint8Array | undefined; sentAt: number }[] = [];
  private nextGlobalId = 1;
  /**
   * Forwards the server agreed to (`tcpip <address> <bound port>`, `streamlocal <path>`): only
   * opens matching one are reported (OpenSSH channels.c open_listen_match_*); others are refused.
   */
  private readonly remoteListeners = new Set<string>();
  /** Cap on the sum of all receive windows with auto-tuning; undefined: fixed windows. */
  private readonly windowCap: number | undefined;
  /** Where window beyond the initial windows comes from (window-budget.ts), shared with other connections. */
  readonly windowBudget: WindowBudget;
  /** Channels in phase `opening` (see {@link pendingOpens}). */
  private opening = 0;

  /**
   * The path's round-trip time, shared by the channels' window tuners (window-tuning.ts): fed
   * by each CHANNEL_OPEN → answer and global request → reply turnaround when a clock is given,
   * and by the tuners' WINDOW_ADJUST samples.
   */
  readonly rtt = new RttEstimator();

  /**
   * @param windowAutoTune receive-window auto-tuning (window-tuning.ts); false: OpenSSH's fixed windows.
   * @param clock milliseconds on a monotonic clock, the one `consumed()` is given; without it
   *   only WINDOW_ADJUST turnarounds are timed.
   * @param defaultWindow initial receive window of a channel opened without its own, bytes
   *   (RFC 4254 §5.1; default OpenSSH's CHAN_TCP_WINDOW_DEFAULT, 2 MiB).
   */
  constructor(
    private readonly transport: Transport,
    private readonly emit: (e: ClientEvent) => void,
    windowAutoTune: WindowAutoTuneOptions | false = {},
    private readonly clock?: () => number,
    private readonly defaultWindow: number = DEFAULT_WINDOW,
  ) {
    // RFC 4254 §5.2: a window is a uint32; a zero window would let nothing through.
    if (!(Number.isInteger(defaultWindow) && defaultWindow >= 1 && defaultWindow <= MAX_WINDOW)) throw new UsageError(`channelWindow must be 1 to ${MAX_WINDOW} bytes, got ${defaultWindow}`);
    checkWindowAutoTune(windowAutoTune);
    // RFC 4254 §5.2: no window beyond 2^32 - 1.
    this.windowCap = windowAutoTune === false ? undefined : Math.min(MAX_WINDOW, windowAutoTune.max ?? DEFAULT_WINDOW_AUTOTUNE_MAX);
    this.windowBudget = (windowAutoTune === false ? undefined : windowAutoTune.budget) ?? sharedWindowBudget;
  }

  /** RFC 4254 §1: usable only after USERAUTH_SUCCESS. */
  activate(): void {
    this.active = true;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /**
   * Hold the lowest free channel number for a channel of the application's own that is never
   * opened on the wire (a CLI's listener, numbered as ssh(1) numbers its own: see
   * ChannelTable.reserve). Returns the number; {@link reservedChannels} counts them.
   */
  reserveChannelNumber(): number {
    return this.channels.reserve();
  }

  get reservedChannels(): number {
    return this.channels.reserved;
  }

  /** Give up a number {@link reserveChannelNumber} holds, unused. */
  releaseChannelNumber(id: number): void {
    this.channels.unreserve(id);
  }

  /**
   * Channel opens sent and not yet answered. A count kept as opens go out and their answers
   * come in: the client core asks on every read from the socket.
   */
  get pendingOpens(): number {
    return this.opening;
  }

  /** CHANNEL_EOFs sent on this connection so far (RFC 4254 §5.3), a count for the client core. */
  eofsSent = 0;
  /**
   * Of {@link eofsSent}, those whose channel has the server's EOF or CLOSE (received before or
   * after ours): `eofsSent - eofsAnswered` channels wait, as {@link awaitingPeerEof} scans for.
   */
  eofsAnswered = 0;

  /**
   * Whether a channel has sent its EOF and waits for the server's EOF or CLOSE (RFC 4254 §5.3).
   * Asked by the client core on a read from the socket, only when it has nothing else to send.
   */
  get awaitingPeerEof(): boolean {
    for (const ch of this.channels) {
      if (ch.phase === 'open' && ch.eofSent && !ch.eofReceived && !ch.closeReceived) return true;
    }
    return false;
  }

  /** Global requests sent with want_reply and not yet answered. */
  get outstandingGlobalRequests(): number {
    return this.pendingGlobal.length;
  }

  /** RFC 4254 §7.2: open a direct-tcpip channel. Returns the local channel number. */
  openDirectTcpip(p: DirectTcpipParams, opts: ChannelOptions = {}): number {
    checkDirectTcpip(p);
    return this.open('direct-tcpip', encodeDirectTcpip(p), opts);
  }

  /** OpenSSH PROTOCOL §2.4: direct-streamlocal@openssh.com, a Unix socket on the server. */
  openDirectStreamlocal(socketPath: string, opts: ChannelOptions = {}): number {
    if (typeof socketPath !== 'string' || socketPath === '') throw new UsageError(`openDirectStreamlocal: the socket path must be a non-empty string, got ${show(socketPath)}`);
    return this.open('direct-streamlocal@openssh.com', encodeDirectStreamlocal(socketPath), opts);
  }

  /**
   * Answer a `channel-open-request` with CHANNEL_OPEN_CONFIRMATION (RFC 4254 §5.1): the channel
   * is open from now on, with our window and maximum packet size. Throws UsageError when the
   * channel is not an unanswered server-initiated open.
   */
  acceptChannel(id: number, opts: ChannelOptions = {}): void {
    const ch = this.offered(id);
    if (this.transport.isClosed) throw new UsageError('the connection is closed');
    ch.localWindow = ch.localWindowMax = opts.window ?? this.defaultWindow;
    ch.localMaxPacket = opts.maxPacket ?? DEFAULT_ACCEPT_MAX_PACKET;
    if (this.windowCap !== undefined) ch.tuner = new WindowTuner(ch.localWindowMax, this.rtt);
    ch.phase = 'open';
    // RFC 4254 §5.1: recipient channel, sender channel, initial window size, maximum packet size.
    this.transport.send(encodeChannelOpenConfirmation(ch.remoteId, ch.id, ch.localWindow, ch.localMaxPacket));
    this.flushChannel(ch);
  }

  /**
   * Answer a `channel-open-request` with CHANNEL_OPEN_FAILURE (RFC 4254 §5.1) and forget the
   * channel. `reason` is a {@link ChannelOpenFailureReason}; OpenSSH's client refuses opens it
   * did not ask for with 1 (administratively prohibited) and "open failed".
   */
  rejectChannel(id: number, reason: number, description: string): void {
    const ch = this.offered(id);
    ch.phase = 'closed';
    this.releaseChannel(ch);
    if (!this.transport.isClosed) this.transport.send(encodeChannelOpenFailure(ch.remoteId, reason, description));
  }

  private offered(id: number): Channel {
    const ch = this.channels.get(id);
    if (!ch || ch.phase !== 'offered') throw new UsageError(`channel ${id} is not a server-initiated open awaiting an answer`);
    return ch;
  }

  private open(channelType: string, data: Uint8Array, opts: ChannelOptions): number {
    if (!this.active) throw new UsageError('channels can be opened only after authentication');
    if (this.transport.isClosed) throw new UsageError('the connection is closed');
    const window = opts.window ?? this.defaultWindow;
    const maxPacket = opts.maxPacket ?? (this.channels.size < LARGE_PACKET_CHANNELS ? DEFAULT_RECEIVE_MAX_PACKET : DEFAULT_MAX_PACKET);
    if (opts.channel !== undefined && !this.channels.isReserved(opts.channel)) throw new UsageError(`channel ${opts.channel} is not a number held by reserveChannelNumber`);
    const ch = this.channels.allocate((id) => new ChannelState(id, channelType, window, maxPacket), opts.channel);
    this.opening++;
    if (this.windowCap !== undefined) ch.tuner = new WindowTuner(window, this.rtt);
    // RFC 4254 §5.1: sender channel, initial window, maximum packet size, type-specific data.
    this.transport.send(encodeChannelOpen(channelType, ch.id, window, maxPacket, data));
    if (this.clock) ch.openSentAt = this.clock();
    return ch.id;
  }

  /**
   * Queue bytes on a channel. Returns true if all were packetized at once (else wait for drain).
   * `lent`: the caller reuses `data` once this returns (a read buffer), so what has to wait for
   * window is copied; otherwise the bytes not yet sent are kept as given, without a copy.
   */
  write(id: number, data: Uint8Array, lent = false): boolean {
    const ch = this.channels.get(id);
    if (!ch || ch.closeSent || ch.closeRequested || ch.phase === 'closed') throw new UsageError(`channel ${id} is closed`);
    if (ch.eofQueued) throw new UsageError(`channel ${id}: write after end`);
    if (data.length === 0) return true;
    if (ch.pendingBytes === 0) {
      // Nothing queued ahead: packetize straight from the caller's bytes and queue only what
      // window, key exchange or socket hold back (the common case, one message, queues nothing).
      const sent = this.sendFrom(ch, data, 0);
      if (sent === data.length) return true;
      ch.pending.push(lent ? data.slice(sent) : data);
      ch.pendingOffset = lent ? 0 : sent;
      ch.pendingBytes = data.length - sent;
      return false;
    }
    ch.pending.push(lent ? data.slice() : data);
    ch.pendingBytes += data.length;
    this.flushChannel(ch);
    return ch.pendingBytes === 0;
  }

  /** The local side finished writing: EOF after the queued data (RFC 4254 §5.3). */
  end(id: number): void {
    const ch = this.channels.get(id);
    if (!ch || ch.eofQueued || ch.closeSent || ch.closeRequested) return;
    ch.eofQueued = true;
    this.flushChannel(ch);
  }

  /** Close the channel now (RFC 4254 §5.3); queued data not yet sent is discarded. */
  close(id: number): void {
    const ch = this.channels.get(id);
    if (!ch) return;
    if (ch.phase === 'offered') {
      this.rejectChannel(id, ChannelOpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'open failed');
      return;
    }
    ch.pending.length = 0;
    ch.pendingBytes = 0;
    if (ch.phase === 'opening') {
      // RFC 4254 §5.1: no CLOSE before the confirmation; send it when the answer arrives.
      ch.closeRequested = true;
      return;
    }
    this.sendClose(ch);
    this.maybeRelease(ch);
  }

  /**
   * The local side consumed `n` bytes of received data: grant window back with OpenSSH's
   * thresholds. With `now` (ms, monotonic) and auto-tuning on, the window size also follows
   * the measured delivery rate and RTT (window-tuning.ts); without it the window stays fixed.
   */
  consumed(id: number, n: number, now?: number): void {
    const ch = this.channels.get(id);
    if (!ch || n <= 0) return;
    ch.unconsumed -= n;
    ch.localConsumed += n;
    // After the peer's EOF or CLOSE nothing more may arrive (RFC 4254 §5.3): no window to tune.
    if (now !== undefined && ch.tuner && ch.phase === 'open' && !ch.eofReceived && !ch.closeReceived) this.tuneWindow(ch, ch.tuner, n, now);
    if (ch.windowBorrowed > 0) this.settleBorrowed(ch);
    const edge = ch.windowReceived + ch.localWindow;
    const grant = ch.windowAdjustDue();
    if (grant > 0) {
      this.transport.send(encodeWindowAdjust(ch.remoteId, grant));
      if (now !== undefined) ch.tuner?.granted(edge, now);
    }
  }

  /**
   * Apply the tuner's verdict, growing only within the connection's cap on all windows and with
   * bytes taken from the shared budget (window-budget.ts) for what exceeds the initial window.
   */
  private tuneWindow(ch: Channel, tuner: WindowTuner, n: number, now: number): void {
    const d = tuner.consumed(n, now, ch.windowReceived, ch.localWindowMax, ch.unconsumed);
    if (d.kind === 'keep') return;
    let size = d.window;
    let limited = '';
    if (size > ch.localWindowMax) {
      let total = 0;
      for (const c of this.channels) total += c.localWindowMax;
      size = Math.min(size, ch.localWindowMax + Math.max(0, this.windowCap! - total));
      // Invariant: windowBorrowed ≥ windowCommitted - initial window. Growth takes the rest
      // from the budget, and is cut to what the budget gave.
      const initial = tuner.initialWindow;
      const need = Math.max(size, ch.windowCommitted) - initial - ch.windowBorrowed;
      if (need > 0) {
        const got = this.windowBudget.take(need);
        ch.windowBorrowed += got;
        if (got < need) {
          size = Math.min(size, initial + ch.windowBorrowed);
          limited = '; window budget';
        }
      }
    }
    if (size === ch.localWindowMax) return;
    this.emit({
      type: 'log',
      message: `channel ${ch.id}: window ${ch.localWindowMax} -> ${size} (${d.reason}${limited}; rtt ${tuner.rttMin.toFixed(1)} ms, ${Math.round(tuner.perRtt)} bytes per rtt)`,
    });
    ch.resizeWindow(size);
  }

  /**
   * Give the budget back what the channel no longer needs: the part of its borrowed bytes above
   * what it may still hold beyond its initial window. After the peer's EOF or CLOSE that is what
   * was delivered and not yet read ({@link Channel.windowCommitted}): those bytes are still held
   * by the process (RFC 4254 §5.2: the window bounds what the receiver buffers, read or not), so
   * they stay lent until read, as OpenSSH keeps a channel's unwritten output counted against the
   * window it re-grants only as it drains (channels.c channel_check_window). All goes back once
   * the channel is gone (CLOSE both ways, or the connection).
   */
  private settleBorrowed(ch: Channel): void {
    const initial = ch.tuner?.initialWindow ?? ch.localWindowMax;
    const need = ch.phase === 'closed' ? 0 : Math.max(0, ch.windowCommitted - initial);
    if (ch.windowBorrowed > need) {
      this.windowBudget.give(ch.windowBorrowed - need);
      ch.windowBorrowed = need;
    }
  }

  /** The channel is gone (phase `closed`): whatever it borrowed goes back to the budget. */
  private releaseChannel(ch: Channel): void {
    this.channels.release(ch.id);
    this.settleBorrowed(ch);
  }

  /**
   * The receive windows of this connection's channels, bytes: `windows`, the sum of the window
   * sizes of the channels the peer may still send on (no EOF or CLOSE from it yet); `committed`,
   * the most all channels may hold (delivered and not consumed, plus what the peer may still
   * send); `borrowed`, the part taken from the window budget.
   */
  get receiveWindows(): { windows: number; committed: number; borrowed: number } {
    let windows = 0;
    let committed = 0;
    let borrowed = 0;
    for (const ch of this.channels) {
      if (!ch.eofReceived && !ch.closeReceived) windows += ch.localWindowMax;
      committed += ch.windowCommitted;
      borrowed += ch.windowBorrowed;
    }
    return { windows, committed, borrowed };
  }

  /** Bytes written but not yet packetized. */
  pendingBytes(id: number): number {
    return this.channels.get(id)?.pendingBytes ?? 0;
  }

  /** Counters of one channel. */
  stats(id: number): { bytesSent: number; bytesReceived: number } | undefined {
    const ch = this.channels.get(id);
    return ch ? { bytesSent: ch.bytesSent, bytesReceived: ch.bytesReceived } : undefined;
  }

  /** Hold or release channel data while the socket is congested. */
  setOutputPaused(paused: boolean): void {
    this.outputPaused = paused;
    if (!paused) this.flushAll();
  }

  /** Key exchange over or socket drained: move queued data. */
  flushAll(): void {
    for (const ch of this.channels) this.flushChannel(ch);
  }

  /**
   * RFC 4254 §4: send a global request. With `wantReply`, returns the id the matching
   * `global-reply` event will carry (replies are paired with requests in order); else undefined.
   */
  globalRequest(name: string, wantReply: boolean, data?: Uint8Array): number | undefined {
    if (!this.active) throw new UsageError('global requests can be sent only after authentication');
    if (this.transport.isClosed) throw new UsageError('the connection is closed');
    this.transport.send(encodeGlobalRequest(name, wantReply, data));
    // OpenSSH channel_request_rforward_cancel: the permission goes when the cancel is sent.
    if (name === GlobalRequestName.CANCEL_TCPIP_FORWARD && data) {
      const r = new SshReader(data);
      this.remoteListeners.delete(tcpipKey(r.utf8(), r.uint32()));
    } else if (name === GlobalRequestName.CANCEL_STREAMLOCAL_FORWARD && data) {
      this.remoteListeners.delete(streamlocalKey(new SshReader(data).utf8()));
    }
    if (!wantReply) return undefined;
    const id = this.nextGlobalId++;
    this.pendingGlobal.push({ id, name, data, sentAt: this.clock ? this.clock() : -1 });
    return id;
  }

  /** A forward request succeeded: from now on the server may open channels for it. */
  private noteForwardReply(req: { name: string; data: Uint8Array | undefined }, reply: Uint8Array): void {
    if (!req.data) return;
    const r = new SshReader(req.data);
    if (req.name === GlobalRequestName.TCPIP_FORWARD) {
      const address = r.utf8();
      const port = decodeTcpipForwardReply(reply, r.uint32());
      this.remoteListeners.add(tcpipKey(address, port));
    } else if (req.name === GlobalRequestName.STREAMLOCAL_FORWARD) {
      this.remoteListeners.add(streamlocalKey(r.utf8()));
    }
  }

  /** The connection died: every channel ends with `error`. */
  abortAll(error: SshError): void {
    for (const ch of [...this.channels]) {
      const wasOpening = ch.phase === 'opening';
      if (wasOpening) this.opening--;
      ch.phase = 'closed';
      this.releaseChannel(ch);
      if (wasOpening) this.emit({ type: 'channel-open-failed', channel: ch.id, error });
      else this.emit({ type: 'channel-closed', channel: ch.id, error });
    }
  }

  /** Handle a message in 80..127 (RFC 4254). Returns false for numbers we do not know. */
  handle(payload: Uint8Array): boolean {
    const type = payload[0]!;
    if (type < 80 || type > 127) return false;
    if (!this.active) throw new ProtocolError(`connection protocol message ${type} before authentication`);
    // The data path, read in place when well formed (RFC 4254 §5.2: uint32 recipient channel,
    // string data; uint32 recipient channel, uint32 bytes to add). Kept apart from the table
    // below so that the per-channel messages a new connection brings (open, EOF, close) do not
    // deoptimize the function every data packet runs through. Anything else, malformed data
    // messages included, goes through the message table and its errors.
    if (type === MSG.CHANNEL_DATA && payload.length >= 9 && readUint32(payload, 5) === payload.length - 9) {
      this.channelData(readUint32(payload, 1), type, payload.subarray(9));
      return true;
    }
    if (type === MSG.CHANNEL_WINDOW_ADJUST && payload.length === 9) {
      this.windowAdjust(readUint32(payload, 1), readUint32(payload, 5));
      return true;
    }
    return this.handleMessage(payload);
  }

  /**
   * The data path read in place: SSH_MSG_CHANNEL_DATA (RFC 4254 §5.2) at `buf[start, end)`.
   * Returns false, having done nothing, unless it is well formed and after authentication:
   * {@link handle} then takes it, errors included.
   */
  receiveChannelData(buf: Uint8Array, start: number, end: number): boolean {
    if (!this.active || end - start < 9 || readUint32(buf, start + 5) !== end - start - 9) return false;
    this.channelData(readUint32(buf, start + 1), MSG.CHANNEL_DATA, buf.subarray(start + 9, end));
    return true;
  }

  /** {@link handle} for every message but the well-formed data path. */
  private handleMessage(payload: Uint8Array): boolean {
    const m = decodeMessage(payload);
    if (!m) return false;
    switch (m.type) {
      case MSG.GLOBAL_REQUEST:
        // RFC 4254 §4: answer requests we do not support with FAILURE (sshd's keepalive@openssh.com).
        if (m.wantReply) this.transport.send(encodeRequestReply(false));
        return true;
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE: {
        // RFC 4254 §4: the reply belongs to the oldest request still waiting for one. One with
        // none waiting is dropped, as ssh(1) drops it (clientloop.c client_global_request_reply
        // returns 0 on an empty queue): nothing can be credited with it.
        const req = this.pendingGlobal.shift();
        if (!req) {
          this.emit({ type: 'log', message: `${messageName(m.type)} without a pending global request: ignored`, level: 2 });
          return true;
        }
        if (req.sentAt >= 0) this.rtt.sample(this.clock!() - req.sentAt);
        if (m.type === MSG.REQUEST_SUCCESS) this.noteForwardReply(req, payload.subarray(1));
        this.emit({ type: 'global-reply', id: req.id, name: req.name, success: m.type === MSG.REQUEST_SUCCESS, data: payload.subarray(1) });
        return true;
      }
      case MSG.CHANNEL_OPEN: {
        // RFC 4254 §5.1: a server-initiated open; the adapter answers acceptChannel / rejectChannel.
        const known = decodeChannelOpenParams(m.channelType, m.data);
        const unasked = !known
          ? `unsupported channel type ${m.channelType}`
          : known.channelType === 'forwarded-tcpip' && !this.remoteListeners.has(tcpipKey(known.params.address, known.params.port))
            ? `forwarded-tcpip for ${known.params.address}:${known.params.port}, which was not forwarded`
            : known.channelType === 'forwarded-streamlocal@openssh.com' && !this.remoteListeners.has(streamlocalKey(known.params.socketPath))
              ? `forwarded-streamlocal for ${known.params.socketPath}, which was not forwarded`
              : m.maxPacket === 0
                ? 'maximum packet size 0'
                : undefined;
        if (unasked) {
          // OpenSSH clientloop.c client_input_channel_open: every refusal is reason 1, "open failed".
          this.emit({ type: 'log', message: `client_input_channel_open: refused ${unasked} (server channel ${m.sender})` });
          this.transport.send(encodeChannelOpenFailure(m.sender, ChannelOpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'open failed'));
          return true;
        }
        const ch = this.channels.allocate((id) => new ChannelState(id, m.channelType));
        ch.phase = 'offered';
        ch.remoteId = m.sender;
        ch.remoteWindow = m.initialWindow;
        ch.remoteMaxPacket = m.maxPacket;
        this.emit({
          type: 'channel-open-request',
          channel: ch.id,
          remoteChannel: m.sender,
          channelType: m.channelType,
          params: known!,
          data: m.data.slice(),
          initialWindow: m.initialWindow,
          maxPacket: m.maxPacket,
        });
        return true;
      }
      case MSG.CHANNEL_OPEN_CONFIRMATION: {
        const ch = this.channelFor(m.recipient, m.type);
        if (ch.phase !== 'opening') throw new ProtocolError(`channel ${ch.id}: duplicate open confirmation`);
        this.opening--;
        // The server answers after connecting to the target (direct-tcpip): still an upper bound.
        if (ch.openSentAt >= 0) this.rtt.sample(this.clock!() - ch.openSentAt);
        ch.phase = 'open';
        ch.remoteId = m.sender;
        ch.remoteWindow = m.initialWindow;
        ch.remoteMaxPacket = m.maxPacket;
        if (m.maxPacket === 0) throw new ProtocolError(`channel ${ch.id}: maximum packet size 0`);
        if (ch.closeRequested) {
          // Closed locally while the open was in flight: close it now, nobody wants it.
          this.sendClose(ch);
          return true;
        }
        this.emit({ type: 'channel-open', channel: ch.id, window: m.initialWindow, maxPacket: m.maxPacket });
        this.flushChannel(ch);
        return true;
      }
      case MSG.CHANNEL_OPEN_FAILURE: {
        const ch = this.channelFor(m.recipient, m.type);
        if (ch.phase !== 'opening') throw new ProtocolError(`channel ${ch.id}: open failure for an open channel`);
        this.opening--;
        ch.phase = 'closed';
        this.releaseChannel(ch);
        this.emit({
          type: 'channel-open-failed',
          channel: ch.id,
          error: new ChannelOpenError(ch.id, m.reason, m.description),
        });
        return true;
      }
      case MSG.CHANNEL_WINDOW_ADJUST:
        this.windowAdjust(m.recipient, m.bytes);
        return true;
      case MSG.CHANNEL_DATA:
      case MSG.CHANNEL_EXTENDED_DATA:
        this.channelData(m.recipient, m.type, m.data);
        return true;
      case MSG.CHANNEL_EOF: {
        const ch = this.openChannelFor(m.recipient, m.type);
        if (ch.eofSent && !ch.eofReceived && !ch.closeReceived) this.eofsAnswered++;
        ch.eofReceived = true;
        // Nothing more may come (RFC 4254 §5.3): what it borrowed goes back, but for what it
        // received and was not read yet, which goes back as it is read (window-budget.ts).
        if (ch.windowBorrowed > 0) this.settleBorrowed(ch);
        this.emit({ type: 'channel-eof', channel: ch.id });
        return true;
      }
      case MSG.CHANNEL_CLOSE: {
        const ch = this.openChannelFor(m.recipient, m.type);
        if (ch.closeReceived) throw new ProtocolError(`channel ${ch.id}: duplicate CLOSE`);
        if (ch.eofSent && !ch.eofReceived) this.eofsAnswered++;
        ch.closeReceived = true;
        // RFC 4254 §5.3: answer CLOSE with CLOSE, unless we sent one already.
        this.sendClose(ch);
        this.maybeRelease(ch);
        return true;
      }
      case MSG.CHANNEL_REQUEST: {
        const ch = this.openChannelFor(m.recipient, m.type);
        // RFC 4254 §5.4: unknown requests get FAILURE when a reply is wanted (e.g. eow@openssh.com).
        if (m.wantReply && !ch.closeSent) this.transport.send(encodeChannelSimple(MSG.CHANNEL_FAILURE, ch.remoteId));
        return true;
      }
      case MSG.CHANNEL_SUCCESS:
      case MSG.CHANNEL_FAILURE:
        this.openChannelFor(m.recipient, m.type);
        return true;
      default:
        return false;
    }
  }

  /** RFC 4254 §5.2 SSH_MSG_CHANNEL_WINDOW_ADJUST. */
  private windowAdjust(recipient: number, bytes: number): void {
    const ch = this.openChannelFor(recipient, MSG.CHANNEL_WINDOW_ADJUST);
    // RFC 4254 §5.2: the window may grow up to 2^32 - 1.
    if (ch.remoteWindow + bytes > MAX_WINDOW) {
      throw new ProtocolError(`channel ${ch.id}: window adjust overflows 2^32`);
    }
    ch.remoteWindow += bytes;
    this.flushChannel(ch);
  }

  /** RFC 4254 §5.2 SSH_MSG_CHANNEL_DATA and SSH_MSG_CHANNEL_EXTENDED_DATA. */
  private channelData(recipient: number, type: number, data: Uint8Array): void {
    const ch = this.openChannelFor(recipient, type);
    const n = data.length;
    if (ch.phase !== 'open' || ch.eofReceived || ch.closeReceived) {
      throw new ProtocolError(`channel ${ch.id}: data after EOF or CLOSE`);
    }
    // RFC 4254 §5.2: the peer must not exceed our window nor our maximum packet size.
    if (n > ch.localWindow || n > ch.localMaxPacket) {
      throw new ProtocolError(
        `channel ${ch.id}: received ${n} bytes with ${ch.localWindow} bytes of window and max packet ${ch.localMaxPacket}`,
      );
    }
    ch.localWindow -= n;
    ch.windowReceived += n;
    if (type === MSG.CHANNEL_EXTENDED_DATA) {
      // stderr-like data has no meaning on a direct-tcpip channel; consume it so the window moves.
      ch.localConsumed += n;
      const grant = ch.windowAdjustDue();
      if (grant > 0) this.transport.send(encodeWindowAdjust(ch.remoteId, grant));
      return;
    }
    ch.unconsumed += n;
    ch.bytesReceived += n;
    this.emit({ type: 'channel-data', channel: ch.id, data });
  }

  private channelFor(recipient: number, type: number): Channel {
    const ch = this.channels.get(recipient);
    if (!ch) throw new ProtocolError(`${messageName(type)} for unknown channel ${recipient}`);
    return ch;
  }

  /** RFC 4254 §5.1: only OPEN_CONFIRMATION / OPEN_FAILURE may refer to a channel still opening. */
  private openChannelFor(recipient: number, type: number): Channel {
    const ch = this.channelFor(recipient, type);
    if (ch.phase !== 'open') throw new ProtocolError(`channel ${ch.id}: ${messageName(type)} before the open confirmation`);
    return ch;
  }

  /** Packetize as much queued data as window, max packet, kex and socket allow. */
  private flushChannel(ch: Channel): void {
    if (ch.phase !== 'open' || ch.closeSent) return;
    const t = this.transport;
    if (t.isClosed || t.sendBlocked || this.outputPaused) return;
    const hadPending = ch.pendingBytes > 0;
    while (ch.pendingBytes > 0) {
      const buf = ch.pending[0]!;
      const off = this.sendFrom(ch, buf, ch.pendingOffset);
      ch.pendingBytes -= off - ch.pendingOffset;
      if (off < buf.length) {
        ch.pendingOffset = off;
        break;
      }
      ch.pending.shift();
      ch.pendingOffset = 0;
    }
    if (ch.pendingBytes === 0) {
      if (ch.eofQueued && !ch.eofSent) {
        ch.eofSent = true;
        this.eofsSent++;
        if (ch.eofReceived || ch.closeReceived) this.eofsAnswered++;
        t.send(encodeChannelSimple(MSG.CHANNEL_EOF, ch.remoteId));
      }
      if (hadPending) this.emit({ type: 'channel-drain', channel: ch.id });
    }
  }

  /**
   * CHANNEL_DATA packets from `buf[from..]` while window, kex and socket allow; returns the
   * offset reached (`buf.length` when all went out).
   */
  private sendFrom(ch: Channel, buf: Uint8Array, from: number): number {
    if (ch.phase !== 'open' || ch.closeSent) return from;
    const t = this.transport;
    if (t.isClosed || t.sendBlocked || this.outputPaused) return from;
    let off = from;
    while (off < buf.length && ch.remoteWindow > 0) {
      // RFC 4254 §5.2: never more than the peer's window or maximum packet size.
      const n = Math.min(buf.length - off, ch.remoteWindow, ch.remoteMaxPacket);
      if (!t.sendChannelData(ch.remoteId, buf, off, n)) break;
      ch.remoteWindow -= n;
      ch.bytesSent += n;
      off += n;
      if (t.sendBlocked) break; // the packets just sent triggered a rekey
    }
    return off;
  }

  private sendClose(ch: Channel): void {
    if (ch.closeSent) return;
    ch.closeSent = true;
    this.transport.send(encodeChannelSimple(MSG.CHANNEL_CLOSE, ch.remoteId));
  }

  private maybeRelease(ch: Channel): void {
    // RFC 4254 §5.3: the channel is gone once CLOSE went both ways.
    if (!ch.closeSent || !ch.closeReceived) return;
    ch.phase = 'closed';
    this.releaseChannel(ch);
    this.emit({ type: 'channel-closed', channel: ch.id, error: undefined });
  }
}

/**
 * `windowAutoTune` as the caller gave it: false, or an object whose `max` (a whole number of
 * bytes from 1 to 2^32 - 1, RFC 4254 §5.2's uint32 window) and `budget` (a {@link WindowBudget}) are what they say. Anything else
 * is a UsageError naming it, not a default silently put in its place.
 */
export function checkWindowAutoTune(o: unknown): void {
  if (o === false) return;
  if (typeof o !== 'object' || o === null) throw new UsageError(`windowAutoTune must be true, false or { max, budget }, got ${show(o)}`);
  checkOptionKeys(o, { max: 0, budget: 0 }, 'windowAutoTune.');
  const { max, budget } = o as WindowAutoTuneOptions;
  if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= MAX_WINDOW)) {
    throw new UsageError(`windowAutoTune.max must be a whole number of bytes from 1 to ${MAX_WINDOW}, got ${show(max)}`);
  }
  // By shape, not instanceof: a second copy of the library (ESM beside CommonJS) has its own class.
  const b = budget as Partial<WindowBudget> | undefined;
  if (b !== undefined && !(typeof b === 'object' && b !== null && typeof b.take === 'function' && typeof b.give === 'function')) {
    throw new UsageError(`windowAutoTune.budget must be a WindowBudget, got ${show(budget)}`);
  }
}
