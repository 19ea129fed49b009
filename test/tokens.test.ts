/**
 * ssh_config(5) TOKENS (src/config/tokens.ts): %C is ssh.c's ssh_connection_hash, SHA-1 of
 * %l%h%p%r%j in lower-case hex, computed when a text first uses it, also through pickTokens.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectionTokens, percentExpand, pickTokens } from '../src/config/tokens.js';

const values = {
  local: { hostName: 'me.example', home: '/home/me', uid: 1000, user: 'me' },
  host: 'db.example',
  originalHost: 'db',
  port: 2222,
  user: 'joe',
  jump: 'gw',
};

describe('connection tokens', () => {
  it('%C is the SHA-1 of %l%h%p%r%j, computed on first use and kept, through pickTokens too', () => {
    const want = createHash('sha1').update('me.exampledb.example2222joegw').digest('hex');
    const all = connectionTokens(values);
    const picked = pickTokens(all, 'Chr');
    // Not computed yet: a getter in both objects, not a value.
    expect(Object.getOwnPropertyDescriptor(all, 'C')?.get).toBeTypeOf('function');
    expect(Object.getOwnPropertyDescriptor(picked, 'C')?.get).toBeTypeOf('function');
    expect(Object.keys(picked).sort()).toEqual(['C', 'h', 'r']);
    expect(percentExpand('~/.ssh/cm-%C', picked)).toBe(`~/.ssh/cm-${want}`);
    expect(all.C).toBe(want);
    expect({ ...all }.C).toBe(want);
    expect(pickTokens(all, 'd')).toEqual({ d: '/home/me' });
  });
});
