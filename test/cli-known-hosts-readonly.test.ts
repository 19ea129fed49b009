/**
 * `UserKnownHostsFile none`: no file to record a new host key in, so an unknown host is refused
 * in every StrictHostKeyChecking mode, as ssh 9.2 does (sshconnect.c check_host_key: no user
 * hostfiles → readonly; HOST_NEW then goes to `fail` before the mode is looked at). pure-ssh used
 * to append the key to the first GlobalKnownHostsFile (/etc/ssh/ssh_known_hosts when run as root)
 * and connect (break20 F11).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, describeInteropWithHome, suiteHome } from './harness/home.js';
import { sshdSuite } from './harness/sshd.js';
import { startCli } from './harness/proc.js';

describeInteropWithHome('CLI: UserKnownHostsFile none and a new host key, beside ssh 9.2', () => {
  const home = suiteHome();
  const sshd = sshdSuite();

  for (const mode of ['accept-new', 'no', 'yes', 'ask'] as const) {
    it(`StrictHostKeyChecking=${mode}: refused, the global file untouched, ssh's stderr`, async () => {
      const seen: Record<string, { code: number | null; stderr: string; global: string }> = {};
      for (const client of ['ssh', 'pure-ssh'] as const) {
        const global = join(sshd.dir, `global-${mode}-${client}`);
        writeFileSync(global, '');
        // Ours first: ssh keeps the first value of an option.
        const args = [
          '-F', 'none', '-o', 'UserKnownHostsFile=none', '-o', `GlobalKnownHostsFile=${global}`, '-o', `StrictHostKeyChecking=${mode}`,
          '-o', 'BatchMode=yes', ...sshd.clientArgs, '-W', '127.0.0.1:1', sshd.target,
        ];
        const r = await startCli(client, args, { env: cliEnv(home) }).done;
        seen[client] = { code: r.code, stderr: r.stderr.replace(/\r/g, ''), global: readFileSync(global, 'utf8') };
      }
      expect(seen.ssh).toEqual({ code: 255, stderr: 'Host key verification failed.\n', global: '' });
      expect(seen['pure-ssh']).toEqual(seen.ssh);
    }, 60_000);
  }
});
