/** The ssh-agent codec (src/auth/agent-protocol.ts): framing, strict decoding, flags. */
import { describe, expect, it } from 'vitest';
import {
  AgentFrameDecoder,
  MAX_AGENT_MESSAGE,
  SSH_AGENT_RSA_SHA2_256,
  SSH_AGENT_RSA_SHA2_512,
  agentSignFlags,
  decodeAgentReply,
  encodeRequestIdentities,
  encodeSessionBind,
  encodeSignRequest,
} from '../src/auth/agent-protocol.js';
import { orderIdentities, publicKeyOfPrivateKeyFile, sshKeyTypeLabel } from '../src/auth/identity.js';
import { SshReader, SshWriter } from '../src/protocol/wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('agent protocol codec', () => {
  it('REQUEST_IDENTITIES is length 1, type 11', () => {
    expect(hex(encodeRequestIdentities())).toBe('000000010b');
  });

  it('SIGN_REQUEST carries key, data and flags', () => {
    const m = encodeSignRequest(Uint8Array.of(1, 2), Uint8Array.of(3), SSH_AGENT_RSA_SHA2_512);
    expect(hex(m)).toBe('00000010' + '0d' + '00000002' + '0102' + '00000001' + '03' + '00000004');
  });

  it('flags follow the signature algorithm', () => {
    expect(agentSignFlags('rsa-sha2-256')).toBe(SSH_AGENT_RSA_SHA2_256);
    expect(agentSignFlags('rsa-sha2-512')).toBe(SSH_AGENT_RSA_SHA2_512);
    expect(agentSignFlags('ssh-ed25519')).toBe(0);
  });

  it('decodes IDENTITIES_ANSWER, SIGN_RESPONSE and FAILURE; rejects trailing bytes and unknown types', () => {
    const ids = new SshWriter().byte(12).uint32(2).string(Uint8Array.of(9)).string('a').string(Uint8Array.of(8)).string('b').toBytes();
    expect(decodeAgentReply(ids)).toEqual({
      type: 'identities',
      identities: [
        { keyBlob: Uint8Array.of(9), comment: 'a' },
        { keyBlob: Uint8Array.of(8), comment: 'b' },
      ],
    });
    expect(decodeAgentReply(new SshWriter().byte(14).string(Uint8Array.of(7)).toBytes())).toEqual({ type: 'signature', signature: Uint8Array.of(7) });
    expect(decodeAgentReply(Uint8Array.of(5))).toEqual({ type: 'failure' });
    expect(() => decodeAgentReply(Uint8Array.of(...new SshWriter().byte(14).string(Uint8Array.of(7)).toBytes(), 0))).toThrow(/malformed/);
    expect(() => decodeAgentReply(new SshWriter().byte(12).uint32(1).string(Uint8Array.of(9)).toBytes())).toThrow(/malformed/);
    expect(() => decodeAgentReply(Uint8Array.of(99))).toThrow(/unexpected message type 99/);
  });

  it('frames split anywhere are reassembled; oversized lengths refused before buffering', () => {
    const a = encodeSignRequest(Uint8Array.of(1), Uint8Array.of(2, 3), 0);
    const b = encodeRequestIdentities();
    const all = Uint8Array.of(...a, ...b);
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new AgentFrameDecoder();
      const out = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
      expect(out.map(hex)).toEqual([hex(a.subarray(4)), hex(b.subarray(4))]);
      expect(d.pending).toBe(0);
    }
    const huge = new SshWriter().uint32(MAX_AGENT_MESSAGE + 1).toBytes();
    expect(() => new AgentFrameDecoder().push(huge)).toThrow(/exceeds/);
  });

  it('an oversized length: the bodies before it first, then a throw for it alone, then the bytes after it read on (authfd.c ssh_request_reply)', () => {
    const b = encodeRequestIdentities();
    const d = new AgentFrameDecoder();
    // A body, a length over the limit, then a body: ssh reads the third as the next reply.
    const stream = Uint8Array.of(...b, ...new SshWriter().uint32(MAX_AGENT_MESSAGE + 1).toBytes(), ...b);
    expect(d.push(stream).map(hex)).toEqual([hex(b.subarray(4))]);
    expect(d.lengthPending).toBe(true);
    expect(() => d.push(new Uint8Array(0))).toThrow(/exceeds/);
    expect(d.push(new Uint8Array(0)).map(hex)).toEqual([hex(b.subarray(4))]);
    expect(d.pending).toBe(0);
  });
});

describe('identities', () => {
  it("ssh(1)'s key type names", () => {
    expect(sshKeyTypeLabel('ssh-ed25519')).toBe('ED25519');
    expect(sshKeyTypeLabel('ecdsa-sha2-nistp384')).toBe('ECDSA');
    expect(sshKeyTypeLabel('ssh-rsa')).toBe('RSA');
    expect(sshKeyTypeLabel('ssh-ed25519-cert-v01@openssh.com')).toBe('ED25519-CERT');
  });

  it('pubkey_prepare order: agent keys matching files (agent order), other agent keys, other files', () => {
    const k = (n: number) => Uint8Array.of(n);
    const files = [
      { publicKeyBlob: k(3), item: 'f3' },
      { publicKeyBlob: k(2), item: 'f2' },
      { publicKeyBlob: undefined, item: 'f9' },
    ];
    const agent = [
      { publicKeyBlob: k(1), item: 'a1' },
      { publicKeyBlob: k(2), item: 'a2' },
      { publicKeyBlob: k(3), item: 'a3' },
    ];
    const name = (o: { kind: string; agent?: string; file?: string }) => (o.kind === 'agent' ? `${o.agent}${o.file ? `=${o.file}` : ''}` : o.file);
    expect(orderIdentities(files, agent, false).map(name)).toEqual(['a2=f2', 'a3=f3', 'a1', 'f9']);
    expect(orderIdentities(files, agent, true).map(name)).toEqual(['a2=f2', 'a3=f3', 'f9']);
    // Two files with one key: the agent's key stands for the first only.
    const twice = [{ publicKeyBlob: k(2), item: 'f2' }, { publicKeyBlob: k(2), item: 'g2' }];
    expect(orderIdentities(twice, agent, true).map(name)).toEqual(['a2=f2', 'g2']);
  });

  it('reads the clear public key of an OpenSSH private key file; other formats give undefined', () => {
    expect(publicKeyOfPrivateKeyFile('-----BEGIN RSA PRIVATE KEY-----\n')).toBeUndefined();
    expect(() => publicKeyOfPrivateKeyFile('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----')).toThrow(/OpenSSH private key/);
  });
});

describe('session-bind@openssh.com (OpenSSH PROTOCOL.agent §1)', () => {
  it('frames SSH_AGENTC_EXTENSION with the name, host key, session id, signature and is_forwarding', () => {
    const framed = encodeSessionBind(Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6), false);
    const r = new SshReader(framed);
    const body = r.string();
    r.end();
    const b = new SshReader(body);
    expect(b.byte()).toBe(27);
    expect(new TextDecoder().decode(b.string())).toBe('session-bind@openssh.com');
    expect([...b.string()]).toEqual([1, 2]);
    expect([...b.string()]).toEqual([3]);
    expect([...b.string()]).toEqual([4, 5, 6]);
    expect(b.boolean()).toBe(false);
    b.end();
    expect(encodeSessionBind(Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3), true).at(-1)).toBe(1);
  });
});
