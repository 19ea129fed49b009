import { describe, expect, it } from 'vitest';
import { AuthenticationError, SshError } from '../src/errors.js';
import { MSG } from '../src/protocol/messages.js';
import { SshWriter } from '../src/protocol/wire.js';
import { readFileSync } from 'node:fs';
import { parsePrivateKey } from '../src/keys/privatekey.js';
import { Pair, fixtureKey } from './support/pair.js';
import { PUBLICKEY_HOSTBOUND } from '../src/auth/userauth.js';

const fixture = (name: string) => parsePrivateKey(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'), name);

function authError(p: Pair): AuthenticationError {
  const closed = p.eventsOf('closed');
  expect(closed).toHaveLength(1);
  expect(closed[0]!.error).toBeInstanceOf(AuthenticationError);
  return closed[0]!.error as AuthenticationError;
}

describe('user authentication (RFC 4252) against the fake server', () => {
  it('none, then publickey with a signature over session_id || request', () => {
    const p = new Pair().start();
    expect(p.client.isAuthenticated).toBe(true);
    const [none, pk] = p.server.authRequests;
    expect(none).toMatchObject({ user: 'alice', service: 'ssh-connection', method: 'none' });
    expect(pk).toMatchObject({ method: 'publickey', algorithm: 'ssh-ed25519', signatureValid: true });
    expect(pk!.keyBlob).toEqual(fixtureKey().publicKeyBlob);
  });

  it('awaitingAuthMethods is true exactly while our none request is unanswered (the adapter loads key files then)', () => {
    const p = new Pair();
    const seen: { awaiting: boolean; authRequests: number }[] = [];
    p.toServer = (b) => {
      seen.push({ awaiting: p.client.awaitingAuthMethods, authRequests: p.server.authRequests.length });
      return b;
    };
    p.start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.client.awaitingAuthMethods).toBe(false);
    // True only for the output that carries the none request: nothing answered yet then.
    const awaiting = seen.filter((s) => s.awaiting);
    expect(awaiting).toHaveLength(1);
    expect(awaiting[0]!.authRequests).toBe(0);
    expect(seen.indexOf(awaiting[0]!)).toBeLessThan(seen.length - 1);
  });

  it('a refused key is followed by the next one', () => {
    const ecdsa = fixture('id_ecdsa256');
    const ed = fixtureKey();
    const p = new Pair({ client: { privateKeys: [ecdsa, ed] }, server: { authorizedKeys: [ed.publicKeyBlob] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    const pk = p.server.authRequests.filter((r) => r.method === 'publickey');
    expect(pk.map((r) => r.algorithm)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(pk.every((r) => r.signatureValid)).toBe(true);
  });

  it('publickey-hostbound-v00@openssh.com where EXT_INFO offers version "0", with the host key signed; plain publickey for another version, none, or pubkeyHostbound false', () => {
    const hostbound = ['publickey-hostbound@openssh.com', '0'] as [string, string];
    const p = new Pair({ server: { extInfo: true, extInfoExtra: [hostbound] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    const signed = p.server.authRequests.filter((r) => r.signatureValid !== undefined);
    expect(signed.map((r) => r.method)).toEqual([PUBLICKEY_HOSTBOUND]);
    expect(signed[0]!.signatureValid).toBe(true);
    const logs = p.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs).toContain('kex_input_ext_info: publickey-hostbound@openssh.com=<0>');
    for (const [extra, client] of [
      [[['publickey-hostbound@openssh.com', '1']], {}],
      [[], {}],
      [[hostbound], { pubkeyHostbound: false }],
    ] as [[string, string][], { pubkeyHostbound?: boolean }][]) {
      const q = new Pair({ client, server: { extInfo: true, extInfoExtra: extra } }).start();
      expect(q.client.isAuthenticated).toBe(true);
      expect(q.server.authRequests.filter((r) => r.signatureValid !== undefined).map((r) => r.method)).toEqual(['publickey']);
    }
  });

  it('RSA user key: server-sig-algs from EXT_INFO chooses rsa-sha2-256 (RFC 8308 §3.1)', () => {
    const rsa = fixture('id_rsa');
    const p = new Pair({ client: { privateKeys: [rsa] }, server: { extInfo: true, authorizedKeys: [rsa.publicKeyBlob] } }).start();
    expect(p.client.isAuthenticated).toBe(true);
    const pk = p.server.authRequests.find((r) => r.method === 'publickey')!;
    expect(pk.algorithm).toBe('rsa-sha2-256');
    expect(pk.signatureValid).toBe(true);
  });

  it('RSA user key without server-sig-algs: skipped unless PubkeyAcceptedAlgorithms lists ssh-rsa (sshconnect2.c key_sig_algorithm)', () => {
    const rsa = fixture('id_rsa');
    const p = new Pair({ client: { privateKeys: [rsa] }, server: { authorizedKeys: [rsa.publicKeyBlob] } }).start();
    expect(p.client.isAuthenticated).toBe(false);
    expect(p.server.authRequests.filter((r) => r.method === 'publickey')).toEqual([]);
    const q = new Pair({
      client: { privateKeys: [rsa], pubkeyAcceptedAlgorithms: ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] },
      server: { authorizedKeys: [rsa.publicKeyBlob] },
    }).start();
    expect(q.server.authRequests.find((r) => r.method === 'publickey')?.algorithm).toBe('ssh-rsa');
    // With server-sig-algs, ssh-rsa listed last: the SHA-2 algorithm the server names wins.
    const r = new Pair({
      client: { privateKeys: [rsa], pubkeyAcceptedAlgorithms: ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] },
      server: { extInfo: true, authorizedKeys: [rsa.publicKeyBlob] },
    }).start();
    expect(r.server.authRequests.find((x) => x.method === 'publickey')?.algorithm).toBe('rsa-sha2-256');
  });

  it('failure lists what was tried and what the server allows; DISCONNECT 14 is sent', () => {
    const p = new Pair({ server: { authorizedKeys: [], authMethods: ['publickey', 'password'] } }).start();
    const e = authError(p);
    expect(e.code).toBe('ERR_AUTH_FAILED');
    expect(e.methodsTried).toEqual(['publickey']);
    expect(e.methodsAllowed).toEqual(['publickey', 'password']);
    expect(e.message).toBe('Permission denied for alice (tried: publickey; server allows: publickey,password).');
    expect(p.server.disconnects[0]?.reason).toBe(14);
  });

  // The lib testers: "tried: none" read as RFC 4252 §5.2's `none` method, or as a list of ours.
  it('with nothing to offer, the error says tried: nothing', () => {
    const p = new Pair({ client: { privateKeys: [] }, server: { authMethods: ['publickey'] } }).start();
    const e = authError(p);
    expect(e.methodsTried).toEqual([]);
    expect(e.message).toBe('Permission denied for alice (tried: nothing; server allows: publickey).');
  });

  it('partial success continues with the remaining method', () => {
    const p = new Pair({
      client: { password: 'hunter2' },
      server: { authMethods: ['publickey', 'password'], requireAll: ['publickey', 'password'], password: 'hunter2' },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.server.authRequests.map((r) => r.method)).toEqual(['none', 'publickey', 'password']);
    expect(p.events.some((e) => e.type === 'log' && /partial success/.test(e.message))).toBe(true);
  });

  it('sshconnect2.c pubkey_prepare / authmethod_get lines: "Will attempt key" before the service request, "Next authentication method" once per method taken up', () => {
    const ecdsa = fixture('id_ecdsa256');
    const ed = fixtureKey();
    const p = new Pair({
      client: { privateKeys: [ecdsa, ed], password: 'hunter2', pubkeyAcceptedAlgorithms: ['ssh-ed25519'] },
      server: { authMethods: ['publickey', 'keyboard-interactive'], password: 'hunter2', authorizedKeys: [] },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
    const logs = p.events.flatMap((e) => (e.type === 'log' && /^(Will attempt|Skipping|Next authentication|Authentications that)/.test(e.message) ? [e.message] : []));
    const label = ed.comment || ed.keyType;
    expect(logs).toEqual([
      `Skipping ecdsa-sha2-nistp256 key ${ecdsa.comment || ecdsa.keyType} - corresponding algo not in PubkeyAcceptedAlgorithms`,
      expect.stringMatching(new RegExp(`^Will attempt key: ${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ED25519 SHA256:\\S+$`)),
      'Authentications that can continue: publickey,keyboard-interactive',
      'Next authentication method: publickey',
      'Authentications that can continue: publickey,keyboard-interactive',
      'Next authentication method: keyboard-interactive',
    ]);
  });

  // sshconnect2.c userauth(): a method that sent nothing is disabled for the session, so after a
  // refused key each wrong password asks again without taking up publickey anew. pure-ssh walked
  // the methods from the start after each failure and announced publickey (and password) again
  // every time (break31 F1).
  it('"Next authentication method" once per method: a method with nothing left is not taken up again', () => {
    const p = new Pair({
      client: { privateKeys: [fixtureKey()], askPassword: true, passwordAttempts: 2 },
      server: { authMethods: ['publickey', 'password'], password: 'pw', authorizedKeys: [] },
    });
    p.onEvent = (e, pair) => {
      if (e.type === 'password-needed') pair.client.providePassword('wrong');
    };
    p.start();
    expect(authError(p)).toBeInstanceOf(AuthenticationError);
    const logs = p.events.flatMap((e) => (e.type === 'log' && /^(Next authentication|No more)/.test(e.message) ? [e.message] : []));
    expect(logs).toEqual(['Next authentication method: publickey', 'Next authentication method: password', 'No more authentication methods to try.']);
    expect(p.server.authRequests.filter((r) => r.method === 'password')).toHaveLength(2);
  });

  // OpenSSH sshconnect2.c: without server-sig-algs (RFC 8308) an RSA key under an ssh-rsa-less
  // PubkeyAcceptedAlgorithms is offered at its turn ("Offering public key") and passed over by
  // send_pubkey_test; pure-ssh said "no mutual signature algorithm" before the service request and
  // never offered it (break31 F2, a paramiko server).
  it('no server-sig-algs: a key without a mutual algorithm is passed over at its turn, with ssh\'s two lines', () => {
    const rsa = fixture('id_rsa');
    const p = new Pair({
      client: { privateKeys: [rsa], password: 'pw' },
      server: { authMethods: ['publickey', 'password'], password: 'pw', extInfo: false },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
    const logs = p.events.flatMap((e) => (e.type === 'log' && /^(Next authentication|Offering|send_pubkey_test|Authentications that)/.test(e.message) ? [e.message] : []));
    expect(logs).toEqual([
      'Authentications that can continue: publickey,password',
      'Next authentication method: publickey',
      expect.stringMatching(/^Offering public key: .* RSA SHA256:\S+$/),
      'send_pubkey_test: no mutual signature algorithm',
      'Next authentication method: password',
    ]);
    expect(p.server.authRequests.map((r) => r.method)).toEqual(['none', 'password']);
  });

  it('password path', () => {
    const p = new Pair({
      client: { privateKeys: [], password: 'pw' },
      server: { authMethods: ['password'], password: 'pw' },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(p.server.authRequests[1]).toMatchObject({ method: 'password', password: 'pw' });
  });

  it('a wrong password is tried once and reported', () => {
    const p = new Pair({
      client: { privateKeys: [], password: 'wrong' },
      server: { authMethods: ['password'], password: 'pw' },
    }).start();
    const e = authError(p);
    expect(e.methodsTried).toEqual(['password']);
    expect(p.server.authRequests.filter((r) => r.method === 'password')).toHaveLength(1);
    // The password never reaches events or logs.
    expect(JSON.stringify(p.events.map((ev) => ('message' in ev ? ev.message : '')))).not.toContain('wrong');
  });

  it('askPassword: password-needed, answered with providePassword', () => {
    const p = new Pair({
      client: { privateKeys: [], askPassword: true },
      server: { authMethods: ['password'], password: 'pw' },
    });
    p.onEvent = (e, pair) => {
      if (e.type === 'password-needed') pair.client.providePassword('pw');
    };
    p.start();
    expect(p.eventsOf('password-needed')[0]!.prompt).toBe("alice's password: ");
    expect(p.client.isAuthenticated).toBe(true);
  });

  it('banner event before authenticated', () => {
    const p = new Pair({ server: { banner: 'Authorized use only\n' } }).start();
    const types = p.events.map((e) => e.type);
    expect(p.eventsOf('banner')[0]!.message).toBe('Authorized use only\n');
    expect(types.indexOf('banner')).toBeLessThan(types.indexOf('authenticated'));
  });

  it('PASSWD_CHANGEREQ: fails with a message that says a password change is required', () => {
    const p = new Pair({
      client: { privateKeys: [], password: 'old' },
      server: {
        authMethods: ['password'],
        authHook: (req, server) => {
          if (req.method !== 'password') return undefined;
          // RFC 4252 §8: SSH_MSG_USERAUTH_PASSWD_CHANGEREQ
          server.send(new SshWriter().byte(MSG.USERAUTH_60).string('Password expired').string('').toBytes());
          return { kind: 'handled' };
        },
      },
    }).start();
    const e = authError(p);
    expect(e.message).toMatch(/password change/);
    expect(e.methodsTried).toEqual(['password']);
  });

  it('keyboard-interactive: one echo-off prompt answered with the password', () => {
    const p = new Pair({
      client: { privateKeys: [], password: 'kbd-pw' },
      server: { authMethods: ['keyboard-interactive'], password: 'kbd-pw' },
    }).start();
    expect(p.client.isAuthenticated).toBe(true);
    const methods = p.server.authRequests.map((r) => r.method);
    expect(methods).toEqual(['none', 'keyboard-interactive', 'keyboard-interactive-response']);
    expect(p.server.authRequests[2]!.password).toBe('kbd-pw');
  });

  it('keyboard-interactive with askPassword and a wrong answer ends in AuthenticationError', () => {
    const p = new Pair({
      client: { privateKeys: [], askPassword: true },
      server: { authMethods: ['keyboard-interactive'], password: 'right' },
    });
    p.onEvent = (e, pair) => {
      if (e.type === 'password-needed') pair.client.providePassword('wrong');
    };
    p.start();
    const e = authError(p);
    expect(e.methodsTried).toEqual(['keyboard-interactive']);
  });

  // RFC 4256 §3.2–3.4, as sshconnect2.c input_userauth_info_req: each prompt asked in turn with its
  // echo flag, one answer each, in order, in one INFO_RESPONSE. pure-ssh used to ask once with the
  // prompts joined and send that one answer for every prompt.
  it('keyboard-interactive with several prompts, mixed echo: one password-needed per prompt, the answers in order in one INFO_RESPONSE', () => {
    const kbdPrompts = [
      { prompt: 'Password: ', echo: false },
      { prompt: 'Verification code: ', echo: true },
      { prompt: 'PIN: ', echo: false },
    ];
    const p = new Pair({
      client: { privateKeys: [], askPassword: true },
      server: { authMethods: ['keyboard-interactive'], password: 'pw', kbdPrompts },
    });
    const answers: Record<string, string> = { 'Password: ': 'pw', 'Verification code: ': '123456', 'PIN: ': '0000' };
    const asked: unknown[] = [];
    p.onEvent = (e, pair) => {
      if (e.type !== 'password-needed') return;
      const responses = pair.server.authRequests.filter((r) => r.method === 'keyboard-interactive-response').length;
      asked.push({ prompt: e.prompt, echo: e.echo, index: e.index, count: e.count, retry: e.retry, responses });
      pair.client.providePassword(answers[e.prompt]!);
    };
    p.start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(asked).toEqual([
      { prompt: 'Password: ', echo: false, index: 0, count: 3, retry: false, responses: 0 },
      { prompt: 'Verification code: ', echo: true, index: 1, count: 3, retry: false, responses: 0 },
      { prompt: 'PIN: ', echo: false, index: 2, count: 3, retry: false, responses: 0 },
    ]);
    const responses = p.server.authRequests.filter((r) => r.method === 'keyboard-interactive-response');
    expect(responses.map((r) => r.answers)).toEqual([['pw', '123456', '0000']]);
    expect(p.server.violations).toEqual([]);
  });

  it('keyboard-interactive with several prompts: the request after a refusal asks them all again, retry on its first prompt only', () => {
    const kbdPrompts = [
      { prompt: 'Password: ', echo: false },
      { prompt: 'Code: ', echo: true },
    ];
    const p = new Pair({
      client: { privateKeys: [], askPassword: true },
      server: { authMethods: ['keyboard-interactive'], password: 'pw', kbdPrompts },
    });
    const given = ['bad', 'c1', 'pw', 'c2'];
    const asked: unknown[] = [];
    p.onEvent = (e, pair) => {
      if (e.type !== 'password-needed') return;
      asked.push([e.prompt, e.index, e.retry]);
      pair.client.providePassword(given.shift()!);
    };
    p.start();
    expect(p.client.isAuthenticated).toBe(true);
    expect(asked).toEqual([['Password: ', 0, false], ['Code: ', 1, false], ['Password: ', 0, true], ['Code: ', 1, false]]);
    const responses = p.server.authRequests.filter((r) => r.method === 'keyboard-interactive-response');
    expect(responses.map((r) => r.answers)).toEqual([['bad', 'c1'], ['pw', 'c2']]);
  });

  /** A request of two prompts, the second echoed (a password, then a one-time code). */
  const PASSWORD_AND_CODE = [
    { prompt: 'Password: ', echo: false },
    { prompt: 'Code: ', echo: true },
  ];

  /**
   * A keyboard-interactive login to a server asking {@link PASSWORD_AND_CODE}, answered 'pw' for
   * the first prompt and `code` for the second (null abandons the method); `password` is the
   * client's option. The pair, once run, and the prompts asked.
   */
  const passwordAndCode = (code: string | null, password?: string) => {
    const p = new Pair({
      client: { privateKeys: [], askPassword: true, ...(password !== undefined ? { password } : {}) },
      server: { authMethods: ['keyboard-interactive'], password: 'pw', kbdPrompts: PASSWORD_AND_CODE },
    });
    const asked: string[] = [];
    p.onEvent = (e, pair) => {
      if (e.type !== 'password-needed') return;
      asked.push(e.prompt);
      pair.client.providePassword(e.index === 0 ? 'pw' : code);
    };
    p.start();
    return { p, asked };
  };

  it('keyboard-interactive with several prompts: null for a later one abandons the method, no INFO_RESPONSE sent', () => {
    const { p, asked } = passwordAndCode(null);
    const e = authError(p);
    expect(e.methodsTried).toEqual(['keyboard-interactive']);
    expect(asked).toEqual(['Password: ', 'Code: ']);
    expect(p.server.authRequests.filter((r) => r.method === 'keyboard-interactive-response')).toEqual([]);
  });

  it('keyboard-interactive with several prompts and the `password` option: not answered with it (a lone echo-off prompt only)', () => {
    const { p, asked } = passwordAndCode('42', 'pw');
    expect(p.client.isAuthenticated).toBe(true);
    expect(asked).toEqual(['Password: ', 'Code: ']);
    expect(p.server.authRequests.filter((r) => r.method === 'keyboard-interactive-response').map((r) => r.answers)).toEqual([['pw', '42']]);
  });

  it('USERAUTH_SUCCESS before any request is a protocol error', () => {
    const p = new Pair({
      server: {
        onPacket: (payload, _seq, server) => {
          if (payload[0] === MSG.SERVICE_REQUEST) {
            server.send(Uint8Array.of(MSG.USERAUTH_SUCCESS));
            return true;
          }
          return false;
        },
      },
    }).start();
    const closed = p.eventsOf('closed')[0]!;
    expect(closed.error).toBeInstanceOf(SshError);
    expect(closed.error!.code).toBe('ERR_PROTOCOL');
    expect(p.client.isAuthenticated).toBe(false);
  });
});
