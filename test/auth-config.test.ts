/** IdentityAgent and IdentitiesOnly from ssh_config and -o to the resolved configuration. */
import { describe, expect, it } from 'vitest';
import { resolveCommandLine, resolveIdentityAgent } from '../src/config/cli-args.js';

const expand = (s: string) => (s.startsWith('~/') ? `/home/joe/${s.slice(2)}` : s);

describe('IdentityAgent', () => {
  it('SSH_AUTH_SOCK by default, none, $VAR, ${VAR} and ~ expansion', () => {
    const env = { SSH_AUTH_SOCK: '/run/agent.sock', OTHER: '/tmp/other.sock' };
    expect(resolveIdentityAgent(undefined, env, expand)).toBe('/run/agent.sock');
    expect(resolveIdentityAgent(undefined, {}, expand)).toBeUndefined();
    expect(resolveIdentityAgent('SSH_AUTH_SOCK', env, expand)).toBe('/run/agent.sock');
    expect(resolveIdentityAgent('none', env, expand)).toBeUndefined();
    expect(resolveIdentityAgent('$OTHER', env, expand)).toBe('/tmp/other.sock');
    expect(resolveIdentityAgent('${OTHER}.2', env, expand)).toBe('/tmp/other.sock.2');
    expect(resolveIdentityAgent('~/.ssh/agent', env, expand)).toBe('/home/joe/.ssh/agent');
    expect(() => resolveIdentityAgent('${NOPE}/x', env, expand)).toThrow(/NOPE/);
  });

  it('-o IdentityAgent and IdentitiesOnly reach the resolved config; the first value wins', () => {
    const out = resolveCommandLine(['-N', '-o', 'IdentityAgent=~/a.sock', '-o', 'IdentityAgent=/b.sock', '-o', 'IdentitiesOnly=yes', 'h'], {
      env: { SSH_AUTH_SOCK: '/run/agent.sock' },
      home: '/home/joe',
      localUser: 'joe',
      fs: { readFile: () => undefined, listDir: () => undefined },
    });
    expect(out.kind).toBe('run');
    if (out.kind !== 'run') return;
    expect(out.config.identityAgent).toBe('/home/joe/a.sock');
    expect(out.config.identitiesOnly).toBe(true);
  });
});
