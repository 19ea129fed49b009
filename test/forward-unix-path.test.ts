/**
 * -L with Unix socket paths as ssh(1) treats them (found by a tester): a path too long for
 * sun_path is a bad specification (readconf.c parse_forward), not a silently truncated bind; the
 * listening socket is 0600 whatever the umask (StreamLocalBindMask's default, 0177).
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseForwardSpec } from '../src/config/cli-args.js';
import { checkForwardOptions, startLocalForward, type ForwardHost } from '../src/node/forward.js';

describe('-L Unix socket paths', () => {
  // readconf.c parse_forward: a listen or connect path of PATH_MAX_SUN (sizeof sun_path, 108)
  // bytes or more is a bad specification; libuv would silently bind a truncated path.
  it('rejects a listen path too long for sun_path, as ssh does', () => {
    const long = '/tmp/' + 'a'.repeat(120) + '.sock';
    expect(parseForwardSpec(`${long}:h:22`)).toBeNull();
  });
  it('rejects a connect path too long for sun_path, as ssh does', () => {
    const long = '/tmp/' + 'a'.repeat(120) + '.sock';
    expect(parseForwardSpec(`1234:${long}`)).toBeNull();
    // 107 bytes still fit.
    const fits = '/tmp/' + 'b'.repeat(102);
    expect(parseForwardSpec(`${fits}:h:22`)).toEqual({ listen: { path: fits }, to: { host: 'h', port: 22 } });
  });
  it('forwardLocal() refuses an empty or too long path, listen or target, at the call', () => {
    const long = '/tmp/' + 'a'.repeat(120);
    const tcp = { host: 'h', port: 1 };
    expect(() => checkForwardOptions({ listen: { path: '' }, to: tcp })).toThrow('forwardLocal: listen.path must be a non-empty string');
    expect(() => checkForwardOptions({ listen: { path: long }, to: tcp })).toThrow('forwardLocal: listen.path is 108 bytes or longer');
    expect(() => checkForwardOptions({ listen: { port: 0 }, to: { path: '' } })).toThrow('forwardLocal: to.path must be a non-empty string');
    expect(() => checkForwardOptions({ listen: { port: 0 }, to: { path: long } })).toThrow('forwardLocal: to.path is 108 bytes or longer');
    expect(() => checkForwardOptions({ listen: { path: '/tmp/ok.sock' }, to: { path: '/run/x.sock' } })).not.toThrow();
  });
  // ssh(1) binds -L sockets under StreamLocalBindMask (default 0177): mode 0600, whatever the umask.
  it('creates the listening socket 0600 under umask 022', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brk-'));
    const path = join(dir, 'l.sock');
    const old = process.umask(0o022);
    const host = { log: () => {} } as unknown as ForwardHost;
    try {
      const fwd = await startLocalForward(host, { listen: { path }, to: { host: 'h', port: 1 } });
      try {
        expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
        // The umask is the process's own again after the bind.
        expect(process.umask()).toBe(0o022);
      } finally {
        await fwd.close();
      }
    } finally {
      process.umask(old);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
