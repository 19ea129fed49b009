/**
 * An encrypted private key given without a passphrase: the ERR_KEY_ENCRYPTED message says what
 * works where it runs. pure-ssh/web (a browser reaches no ssh-agent) names its passphrase option
 * and connect()'s signers; the Node adapter still suggests ssh-agent. Keys made by ssh-keygen.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect as webConnect, KeyError, parsePrivateKey as webParsePrivateKey } from '../src/web/index.js';
import { parsePrivateKey as nodeParsePrivateKey } from '../src/index.js';

describe('the encrypted-key hint per runtime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pure-ssh-enc-hint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const keyText = (type: string, ...extra: string[]) => {
    const path = join(dir, `${type}${extra.join('')}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', 'secret', ...extra, '-f', path]);
    return readFileSync(path, 'utf8');
  };
  let made: string[] | undefined;
  const files = () => (made ??= [keyText('ed25519'), keyText('ecdsa', '-m', 'PKCS8'), keyText('rsa', '-m', 'PEM')]);
  const webHint = 'Give it as the passphrase option (no ssh-agent in a browser; or sign through the signers option)';

  const errorOf = (f: () => unknown): KeyError => {
    try {
      f();
    } catch (err) {
      return err as KeyError;
    }
    throw new Error('no error');
  };

  it('pure-ssh/web parsePrivateKey and connect(): the passphrase option and signers, no "load the key into ssh-agent"', async () => {
    for (const text of files()) {
      const err = errorOf(() => webParsePrivateKey(text));
      expect(err).toBeInstanceOf(KeyError);
      expect(err.code).toBe('ERR_KEY_ENCRYPTED');
      expect(err.message.endsWith(`a passphrase is needed. ${webHint}`), err.message).toBe(true);
      const viaConnect = await webConnect({ transport: new Promise(() => {}), host: 'h', username: 'u', privateKey: text, knownHosts: '' }).then(
        () => undefined,
        (e: unknown) => e as KeyError,
      );
      expect(viaConnect?.code).toBe('ERR_KEY_ENCRYPTED');
      expect(viaConnect?.message).toContain(webHint);
      expect(viaConnect?.message).not.toContain('load the key into ssh-agent');
    }
  });

  it('pure-ssh (Node): still the passphrase option or ssh-agent', () => {
    for (const text of files()) {
      const err = errorOf(() => nodeParsePrivateKey(text));
      expect(err.code).toBe('ERR_KEY_ENCRYPTED');
      expect(err.message).toMatch(/a passphrase is needed\. Give it as the passphrase option, or load the key into ssh-agent$/);
    }
  });
});
