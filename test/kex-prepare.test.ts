/**
 * ClientCore.prepareKex (Handshake.prepareKex): the client's ephemeral kex key pair made while
 * the server's KEXINIT is on its way. Used when our first preference is negotiated, wiped and
 * replaced when the server picks another method, never carried into a rekey.
 */
import { describe, expect, it } from 'vitest';
import { defaultAlgorithms } from '../src/algorithms.js';
import { kexToPrepare } from '../src/kex/prepare-guess.js';
import { DEFAULT_KEX } from '../src/kex/registry.js';
import { SshReader } from '../src/protocol/wire.js';
import { Pair } from './support/pair.js';

/** The public value of a one-round kex init (message 30: string Q_C / C_INIT). */
function initValues(p: Pair): string[] {
  return p.server.receivedOfType(30).map((r) => Buffer.from(new SshReader(r.payload, 1).string()).toString('hex'));
}

function logs(p: Pair): string[] {
  return p.eventsOf('log').map((e) => e.message);
}

describe('prepareKex', () => {
  it('the prepared key pair of our first preference (mlkem768x25519-sha256) is used when negotiated', () => {
    const p = new Pair();
    p.client.start();
    expect(p.client.prepareKex()).toBe(true);
    // A second call in the same exchange makes nothing more.
    expect(p.client.prepareKex()).toBe(false);
    p.server.start();
    p.pump();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.negotiated?.kex).toBe('mlkem768x25519-sha256');
    expect(p.client.info.strictKex).toBe(true);
    expect(logs(p)).toContain("kex: using the mlkem768x25519-sha256 key pair made while waiting for the server's KEXINIT");
    expect(p.server.violations).toEqual([]);
    // The exchange is over: nothing to prepare for.
    expect(p.client.prepareKex()).toBe(false);
  });

  it('the same prepared key makes the same KEX init as one made after negotiation (same randomness)', () => {
    const a = new Pair();
    a.client.start();
    a.client.prepareKex();
    a.server.start();
    a.pump();
    const b = new Pair().start();
    expect(initValues(a)).toHaveLength(1);
    expect(initValues(a)).toEqual(initValues(b));
  });

  it('when the server picks another method the prepared key is discarded and a fresh one made', () => {
    const p = new Pair({ server: { lists: { kex: ['curve25519-sha256'] } } });
    p.client.start();
    expect(p.client.prepareKex()).toBe(true);
    p.server.start();
    p.pump();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.negotiated?.kex).toBe('curve25519-sha256');
    expect(logs(p)).toContain('kex: discarded the prepared mlkem768x25519-sha256 key pair (negotiated curve25519-sha256)');
    expect(logs(p).some((m) => m.startsWith('kex: using the'))).toBe(false);
    // X25519's 32 bytes, not the hybrid's 1216.
    expect(initValues(p)[0]).toHaveLength(64);
  });

  it('curve25519-sha256 first: prepared and used', () => {
    const p = new Pair({ client: { algorithms: { ...defaultAlgorithms(), kex: ['curve25519-sha256'] } } });
    p.client.start();
    expect(p.client.prepareKex()).toBe(true);
    p.server.start();
    p.pump();
    expect(p.client.isAuthenticated).toBe(true);
    expect(logs(p)).toContain("kex: using the curve25519-sha256 key pair made while waiting for the server's KEXINIT");
  });

  it('a finite-field group first: nothing prepared (its exponent is sized by the negotiated ciphers)', () => {
    const p = new Pair({ client: { algorithms: { ...defaultAlgorithms(), kex: ['diffie-hellman-group14-sha256'] } } });
    p.client.start();
    expect(p.client.prepareKex()).toBe(false);
    p.server.start();
    p.pump();
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('a rekey makes a fresh key pair, also when prepared again', () => {
    const p = new Pair();
    p.client.start();
    p.client.prepareKex();
    p.server.start();
    p.pump();
    p.client.rekey();
    p.pump();
    p.client.rekey();
    expect(p.client.prepareKex()).toBe(true);
    p.pump();
    p.server.rekey();
    p.pump();
    expect(p.client.info.kexCount).toBe(4);
    const values = initValues(p);
    expect(values).toHaveLength(4);
    expect(new Set(values).size).toBe(4);
    expect(logs(p).filter((m) => m.startsWith('kex: using the'))).toHaveLength(2);
  });

  it('against an OpenSSH 9.0-9.8 version line, the key pair made is the one our list negotiates there (sntrup761x25519), and it is used', () => {
    const p = new Pair({ server: { version: 'SSH-2.0-OpenSSH_9.6', lists: { kex: ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256'] } } });
    p.client.start();
    // The version line has not arrived yet: the key pair is made when it does.
    expect(p.client.prepareKex()).toBe(true);
    expect(p.client.prepareKex()).toBe(false);
    p.server.start();
    p.pump();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.info.negotiated?.kex).toBe('sntrup761x25519-sha512@openssh.com');
    expect(logs(p)).toContain('kex: making a sntrup761x25519-sha512@openssh.com key pair: the first of ours that SSH-2.0-OpenSSH_9.6 offers by default');
    expect(logs(p)).toContain("kex: using the sntrup761x25519-sha512@openssh.com key pair made while waiting for the server's KEXINIT");
    expect(logs(p).some((m) => m.startsWith('kex: discarded'))).toBe(false);
  });

  it('a wrong guess (the 9.x server configured otherwise) is discarded as before; negotiation is unchanged', () => {
    const p = new Pair({ server: { version: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10', lists: { kex: ['curve25519-sha256'] } } });
    p.client.start();
    p.client.prepareKex();
    p.server.start();
    p.pump();
    expect(p.client.info.negotiated?.kex).toBe('curve25519-sha256');
    expect(logs(p)).toContain('kex: discarded the prepared sntrup761x25519-sha512 key pair (negotiated curve25519-sha256)');
  });
});

describe('kexToPrepare (kex/prepare-guess.ts)', () => {
  it('our first preference unless the version line names OpenSSH 9.0-9.8', () => {
    expect(kexToPrepare(DEFAULT_KEX, undefined)).toBe('mlkem768x25519-sha256');
    for (const v of ['SSH-2.0-OpenSSH_10.0', 'SSH-2.0-OpenSSH_9.9p1 Ubuntu-3', 'SSH-2.0-OpenSSH_9.10', 'SSH-2.0-OpenSSH_8.9p1', 'SSH-2.0-dropbear_2022.83', 'SSH-2.0-OpenSSH_90.1']) {
      expect(kexToPrepare(DEFAULT_KEX, v)).toBe('mlkem768x25519-sha256');
    }
    for (const v of ['SSH-2.0-OpenSSH_9.0', 'SSH-2.0-OpenSSH_9.3p1', 'SSH-2.0-OpenSSH_9.8p1 Debian-1', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3']) {
      expect(kexToPrepare(DEFAULT_KEX, v)).toBe('sntrup761x25519-sha512@openssh.com');
    }
  });

  it("Debian 12's 9.2p1 from deb12u4 on takes the suffix-less sntrup761x25519-sha512 (its changelog)", () => {
    expect(kexToPrepare(DEFAULT_KEX, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u4')).toBe('sntrup761x25519-sha512');
    expect(kexToPrepare(DEFAULT_KEX, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10')).toBe('sntrup761x25519-sha512');
  });

  it('follows our list: the first of it the 9.x defaults have (curve25519 pinned stays curve25519; none: nothing)', () => {
    expect(kexToPrepare(['mlkem768x25519-sha256', 'curve25519-sha256'], 'SSH-2.0-OpenSSH_9.6')).toBe('curve25519-sha256');
    expect(kexToPrepare(['curve25519-sha256'], 'SSH-2.0-OpenSSH_9.6')).toBe('curve25519-sha256');
    expect(kexToPrepare(['mlkem768x25519-sha256'], 'SSH-2.0-OpenSSH_9.6')).toBeUndefined();
  });
});
