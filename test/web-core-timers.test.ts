/**
 * The core's timers (aioquic's get_timer/handle_timer shape) on a fake clock, through the
 * in-memory pair: ConnectTimeout up to the host key, ServerAlive* probes and their count,
 * RekeyLimit's time part. The Node and web adapters arm one timer at getTimer().
 */
import { describe, expect, it } from 'vitest';
import { ClientCore } from '../src/client-core.js';
import { TimeoutError, UsageError } from '../src/errors.js';
import { seededRandom } from './support/fake-server.js';
import { Pair } from './support/pair.js';

function clock() {
  const c = { t: 1_000, now: () => c.t };
  return c;
}

describe('core timers', () => {
  it('no timer options: no timer, and no clock needed', () => {
    const p = new Pair().start();
    expect(p.client.getTimer()).toBeUndefined();
  });

  it('a timer without a clock is a usage error', () => {
    expect(() => new ClientCore({ username: 'a', random: seededRandom(1), keepaliveInterval: 1000 })).toThrow(UsageError);
    expect(() => new ClientCore({ username: 'a', random: seededRandom(1), now: () => 0, rekeyTime: -1 })).toThrow(UsageError);
  });

  it('ConnectTimeout: fires when the server never answers, with ssh(1) wording', () => {
    const c = clock();
    const core = new ClientCore({ username: 'a', random: seededRandom(1), now: c.now, connectTimeout: 5000, host: 'h.example', port: 2222 });
    core.start();
    expect(core.getTimer()).toBe(6000);
    core.handleTimer(5999);
    expect(core.isClosed).toBe(false);
    core.handleTimer(6000);
    expect(core.isClosed).toBe(true);
    expect(core.error).toBeInstanceOf(TimeoutError);
    expect(core.error?.code).toBe('ERR_TIMEOUT');
    expect(core.error?.message).toBe('ssh: connect to host h.example port 2222: Connection timed out during handshake (ConnectTimeout 5000 ms)');
    expect(core.getTimer()).toBeUndefined();
  });

  it('ConnectTimeout stops at the host key (a person may take long to answer)', () => {
    const c = clock();
    const p = new Pair({ client: { now: c.now, connectTimeout: 5000 }, autoAccept: false }).start();
    expect(p.eventsOf('host-key')).toHaveLength(1);
    expect(p.client.getTimer()).toBeUndefined();
  });

  it('ServerAlive: probes ServerAliveInterval after the last read or probe (clientloop.c schedule_server_alive_check), any received byte resets the count, more than CountMax unanswered ends it', () => {
    const c = clock();
    const p = new Pair({ client: { now: c.now, keepaliveInterval: 1000, keepaliveCountMax: 2, host: 'h.example' } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.getTimer()).toBe(2000);
    // Heard from the server at 1500: no probe at 2000, the next check is 1500 + 1000 (ssh's
    // schedule, not a grid from authentication, which said 3000).
    c.t = 1500;
    p.client.rekey();
    p.pump();
    c.t = 2000;
    p.client.handleTimer(c.t);
    expect(p.client.outstandingKeepalives).toBe(0);
    expect(p.client.getTimer()).toBe(2500);
    // Idle since 1500: a probe at 2500, answered at once by the fake server (REQUEST_FAILURE counts as alive).
    c.t = 2500;
    p.client.handleTimer(c.t);
    expect(p.client.outstandingKeepalives).toBe(1);
    p.pump();
    expect(p.eventsOf('global-reply')).toHaveLength(1);
    expect(p.client.getTimer()).toBe(3500);
    // The server goes silent: CountMax (2) unanswered probes a second apart, then the timeout.
    p.toClient = () => null;
    for (const t of [3500, 4500]) {
      c.t = t;
      p.client.handleTimer(c.t);
      p.pump();
      expect(p.client.isClosed).toBe(false);
      expect(p.client.getTimer()).toBe(t + 1000);
    }
    c.t = 5500;
    p.client.handleTimer(c.t);
    p.pump();
    expect(p.closedError).toBeInstanceOf(TimeoutError);
    expect((p.closedError as TimeoutError).code).toBe('ERR_KEEPALIVE_TIMEOUT');
    expect(p.closedError?.message).toBe('Timeout, server h.example not responding.');
  });

  it('bannerTimeout (ssh(1)\'s ConnectTimeout scope): fires without an identification line; ends once the line is in', () => {
    const c = clock();
    const silent = new ClientCore({ username: 'a', random: seededRandom(1), now: c.now, bannerTimeout: 2000 });
    silent.start();
    expect(silent.getTimer()).toBe(3000);
    // Bytes that are not yet a whole line: still waiting.
    silent.receive(new TextEncoder().encode('SSH-2.0-'));
    silent.handleTimer(2999);
    expect(silent.isClosed).toBe(false);
    silent.handleTimer(3000);
    expect(silent.isClosed).toBe(true);
    expect(silent.error?.code).toBe('ERR_BANNER_TIMEOUT');
    expect(silent.error?.message).toBe('Connection timed out during banner exchange');
    const answered = new ClientCore({ username: 'a', random: seededRandom(1), now: c.now, bannerTimeout: 2000 });
    answered.start();
    answered.receive(new TextEncoder().encode('SSH-2.0-OpenSSH_9.2\r\n'));
    // The key exchange is not timed.
    expect(answered.getTimer()).toBeUndefined();
  });

  it('ServerAlive before the session: Interval × CountMax without a packet ends it (packet.c ssh_packet_set_timeout), not while the host key question is open', () => {
    const c = clock();
    const p = new Pair({ client: { now: c.now, keepaliveInterval: 1000, keepaliveCountMax: 2, host: 'h.example', port: 2222 }, autoAccept: false }).start();
    expect(p.eventsOf('host-key')).toHaveLength(1);
    // The question is open: ssh is not reading then.
    expect(p.client.getTimer()).toBeUndefined();
    c.t = 60_000;
    p.client.acceptHostKey();
    // The server is silent from here on: 2 s after the answer.
    p.toClient = () => null;
    p.pump();
    expect(p.client.getTimer()).toBe(62_000);
    p.client.handleTimer(61_999);
    expect(p.client.isClosed).toBe(false);
    p.client.handleTimer(62_000);
    expect(p.client.isClosed).toBe(true);
    expect(p.client.error?.code).toBe('ERR_PACKET_TIMEOUT');
    expect(p.client.error?.message).toBe('Connection to h.example port 2222 timed out');
  });

  it('RekeyLimit time: a key exchange after rekeyTime since the last one, re-armed after it', () => {
    const c = clock();
    const p = new Pair({ client: { now: c.now, rekeyTime: 60_000 } }).start();
    expect(p.client.info.kexCount).toBe(1);
    expect(p.client.getTimer()).toBe(61_000);
    c.t = 61_000;
    p.client.handleTimer(c.t);
    p.pump();
    expect(p.client.info.kexCount).toBe(2);
    expect(p.client.getTimer()).toBe(121_000);
  });

  it('RekeyLimit time on an idle connection: no rekey until a packet goes either way (packet.c ssh_packet_need_rekeying)', () => {
    const c = clock();
    const p = new Pair({ client: { now: c.now, rekeyTime: 60_000 } }).start();
    // Authentication's packets went under the first keys: the first interval rekeys.
    c.t = 61_000;
    p.client.handleTimer(c.t);
    p.pump();
    expect(p.client.info.kexCount).toBe(2);
    // Nothing since: no rekey, checked again every second as clientloop.c does.
    for (const t of [121_000, 122_000, 123_000]) {
      expect(p.client.getTimer()).toBe(t);
      c.t = t;
      p.client.handleTimer(c.t);
      p.pump();
      expect(p.client.info.kexCount).toBe(2);
    }
    // A packet each way (a channel opened): the overdue rekey starts on the answer.
    p.openChannel();
    expect(p.client.info.kexCount).toBe(3);
    expect(p.client.getTimer()).toBe(c.t + 60_000);
  });
});
