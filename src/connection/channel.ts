/**
 * One channel's state (RFC 4254 §5): its ids, both windows, the bytes waiting for window, and
 * where it stands in the EOF/CLOSE handshake. Pure data plus the window rules; the connection
 * layer (connection.ts) drives it.
 */
import type { WindowTuner } from './window-tuning.js';

/** OpenSSH's CHAN_TCP_PACKET_DEFAULT (channels.h): 32 KiB of data per packet. */
export const DEFAULT_MAX_PACKET = 32 * 1024;
/**
 * The maximum packet size we ask for on the channels we receive on (RFC 4254 §5.1: the largest
 * CHANNEL_DATA the peer may send us): 128 KiB, four times ssh(1)'s. sshd sends at most one
 * CHANNEL_DATA per channel per turn of its main loop (channels.c channel_output_poll), each
 * capped at our maximum, so this is what it can move per turn: measured through the bench's
 * download (256 MiB, sshd 9.2 on loopback, interleaved): 32 KiB 13–36 MiB/s and 5.4–7.8 s of
 * client CPU per GiB, 128 KiB 31–75 MiB/s and 4.6–6.0 s/GiB, 64 KiB in between, 256 KiB no
 * better. A quarter of OpenSSH's PACKET_MAX_SIZE (256 KiB, which MAX_PACKET_LENGTH also is).
 */
export const DEFAULT_RECEIVE_MAX_PACKET = 128 * 1024;
/**
 * The maximum packet size we grant on the channels the server opens (forwarded-tcpip,
 * forwarded-streamlocal@openssh.com; RFC 4254 §5.1 CHANNEL_OPEN_CONFIRMATION): ssh(1)'s
 * CHAN_TCP_PACKET_DEFAULT, as clientloop.c grants them. Each is the end of a server-side listener,
 * and many of them may have data at once: sshd's main loop (serverloop.c) polls channels
 * whenever less than 128 KiB of output is queued, and each pass then appends one CHANNEL_DATA of
 * up to our maximum for every channel with input, so 100 busy -R connections added up to 12.8 MiB
 * per pass at 128 KiB (3.2 MiB at 32 KiB). That packet buffer's growth and compaction (memmove,
 * page faults: three quarters of sshd's samples) cost sshd 2.6 times the CPU time and made
 * 100 x 256 KiB through -R 1.5-2 times slower than ssh(1); at 32 KiB it is on par, and one
 * 64 MiB -R transfer is no slower (bench/README.md, "Remote forwarding with many connections").
 */
export const DEFAULT_ACCEPT_MAX_PACKET = DEFAULT_MAX_PACKET;
/**
 * The channels we open ask for {@link DEFAULT_RECEIVE_MAX_PACKET} while fewer than this many
 * channels are open, ssh(1)'s 32 KiB from then on: the same sshd pass as for
 * DEFAULT_ACCEPT_MAX_PACKET, with 100 parallel 2 MiB downloads through -L, took 3.6-4.7 s of
 * sshd's CPU at 128 KiB against 1.5-2.3 s at 32 KiB (ssh(1): 2.1-2.2 s). Eight at 128 KiB
 * queue at most 1 MiB per pass; a lone bulk transfer keeps the larger packets.
 */
export const LARGE_PACKET_CHANNELS = 8;
/** OpenSSH's CHAN_TCP_WINDOW_DEFAULT: 64 packets of 32 KiB = 2 MiB. */
export const DEFAULT_WINDOW = 64 * DEFAULT_MAX_PACKET;
/** RFC 4254 §5.2: windows are uint32 and must not overflow. */
export const MAX_WINDOW = 0xffffffff;

/**
 * `opening`: our CHANNEL_OPEN awaits the server's answer; `offered`: the server's CHANNEL_OPEN
 * awaits ours (RFC 4254 §5.1); `open`; `closed`.
 */
export type ChannelPhase = 'opening' | 'offered' | 'open' | 'closed';

/** Channel bookkeeping. Field names follow RFC 4254. */
export class Channel {
  phase: ChannelPhase = 'opening';
  /** The peer's id for this channel (recipient channel in what we send). */
  remoteId = -1;
  /** RFC 4254 §5.2: bytes we may still send. */
  remoteWindow = 0;
  /** RFC 4254 §5.1: the largest data payload the peer accepts in one packet. */
  remoteMaxPacket = 0;
  /** Bytes the peer may still send us (our window). */
  localWindow: number;
  /**
   * Bytes delivered and consumed locally but not yet granted back. Negative after the window
   * shrank: consumption repays that first (see {@link resizeWindow}).
   */
  localConsumed = 0;
  /** Every byte that counted against our window (data and extended data), since the open. */
  windowReceived = 0;
  /** Receive-window auto-tuning (window-tuning.ts); undefined: a fixed window, as OpenSSH. */
  tuner: WindowTuner | undefined;
  /**
   * Bytes taken from the connection's window budget (window-budget.ts) for window beyond the
   * initial one; given back as {@link windowCommitted} falls and when the channel goes.
   */
  windowBorrowed = 0;
  /** When our CHANNEL_OPEN went out, ms on the connection's clock (-1: no clock, or not ours). */
  openSentAt = -1;
  /** Bytes delivered to the local side and not yet reported consumed. */
  unconsumed = 0;
  /** Data waiting for window (or for a key exchange to end), in order. */
  readonly pending: Uint8Array[] = [];
  pendingOffset = 0;
  pendingBytes = 0;
  /** The local side ended its writes: send EOF once `pending` is flushed. */
  eofQueued = false;
  /** Closed locally while the open was in flight: CLOSE as soon as the confirmation arrives. */
  closeRequested = false;
  eofSent = false;
  eofReceived = false;
  closeSent = false;
  closeReceived = false;
  /** Bytes that crossed the channel, for counters. */
  bytesSent = 0;
  bytesReceived = 0;

  constructor(
    readonly id: number,
    readonly channelType: string,
    /** Set when we send our CHANNEL_OPEN, or when we accept the server's (then fixed). */
    public localWindowMax: number = DEFAULT_WINDOW,
    public localMaxPacket: number = DEFAULT_RECEIVE_MAX_PACKET,
  ) {
    this.localWindow = localWindowMax;
  }

  /**
   * OpenSSH channels.c channel_check_window(): grant window back once the free window falls below
   * half, or more than three packets' worth is owed, and something was consumed. Returns the
   * increment to send in WINDOW_ADJUST, or 0.
   */
  windowAdjustDue(): number {
    // OpenSSH channel_check_window(): nothing is granted once CLOSE went either way (RFC 4254 §5.3).
    if (this.phase !== 'open' || this.eofReceived || this.closeSent || this.closeReceived || this.localConsumed <= 0) return 0;
    const owed = this.localWindowMax - this.localWindow;
    if (this.localWindow < this.localWindowMax / 2 || owed > this.localMaxPacket * 3) {
      const grant = this.localConsumed;
      this.localWindow += grant;
      this.localConsumed = 0;
      return grant;
    }
    return 0;
  }

  /**
   * The most this channel may still hold, bytes: what was delivered and not consumed plus what
   * the peer may send. After a shrink the window already granted may exceed the new size until
   * consumption repays it; after the peer's EOF or CLOSE nothing more may come (RFC 4254 §5.3).
   */
  get windowCommitted(): number {
    if (this.eofReceived || this.closeReceived) return Math.max(0, this.unconsumed);
    return Math.max(this.localWindowMax, this.localWindow + this.unconsumed);
  }

  /**
   * Move the window size we maintain to `size` bytes (1..2^32-1, RFC 4254 §5.2). Growing adds
   * the difference to what the next WINDOW_ADJUST grants; shrinking withholds it from later
   * grants (a window already granted cannot be taken back), so the peer slows within an RTT.
   */
  resizeWindow(size: number): void {
    const target = Math.min(MAX_WINDOW, Math.max(1, Math.floor(size)));
    this.localConsumed += target - this.localWindowMax;
    this.localWindowMax = target;
  }
}

/**
 * Lowest free channel number allocator (OpenSSH reuses the lowest slot; keeps ids small and
 * readable in logs: "channel 3: open failed").
 */
export class ChannelTable {
  /** A channel, `null` for a number held by {@link reserve}, `undefined` for a free one. */
  private readonly slots: (Channel | null | undefined)[] = [];
  private count = 0;
  private held = 0;

  /** A new channel: the lowest free number, or `held`, a number {@link reserve} holds, given up for it. */
  allocate(make: (id: number) => Channel, held?: number): Channel {
    if (held !== undefined) this.unreserve(held);
    const ch = make(held ?? this.lowestFree());
    this.slots[ch.id] = ch;
    this.count++;
    return ch;
  }

  /**
   * Hold the lowest free number for something of the application's own that never reaches the
   * wire: ssh(1) numbers its listeners in the same table as its SSH channels (channels.c
   * channel_new), so a CLI that holds one number per listener gets, for the channels it opens
   * after them, the numbers ssh would send, and a server's log matches its own. Held for the
   * table's life; get() and the iterator never see it.
   */
  reserve(): number {
    const id = this.lowestFree();
    this.slots[id] = null;
    this.held++;
    return id;
  }

  /** Numbers held by {@link reserve}. */
  get reserved(): number {
    return this.held;
  }

  /** Whether {@link reserve} holds `id`. */
  isReserved(id: number): boolean {
    return this.slots[id] === null;
  }

  /** Give up a number {@link reserve} holds (free again); any other number is left alone. */
  unreserve(id: number): void {
    if (this.slots[id] !== null) return;
    this.slots[id] = undefined;
    this.held--;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
  }

  private lowestFree(): number {
    const id = this.slots.indexOf(undefined);
    return id < 0 ? this.slots.length : id;
  }

  get(id: number): Channel | undefined {
    return this.slots[id] ?? undefined;
  }

  release(id: number): void {
    if (!this.slots[id]) return;
    this.slots[id] = undefined;
    this.count--;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
  }

  *[Symbol.iterator](): IterableIterator<Channel> {
    for (const c of this.slots) if (c) yield c;
  }

  /** Channels in the table (any phase). Kept as a count: the Node adapter asks on every flush. */
  get size(): number {
    return this.count;
  }
}
