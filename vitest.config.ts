import { defineConfig } from 'vitest/config';

/**
 * NODE_EXTRA_CA_CERTS (set on the CI machines, to /etc/ssl/certs/ca-certificates.crt) makes
 * every Node process parse that CA bundle at start-up: about 50 ms of CPU each (node -e 0: 0.10 s
 * of CPU with it, 0.05 s without), paid by each of the suite's hundreds of CLI runs, none of
 * which speaks TLS (the suite needs no registry or other HTTPS peer). Removed here, before the
 * workers are forked, so neither they nor anything they start loads it.
 */
delete process.env.NODE_EXTRA_CA_CERTS;

/**
 * Test files run in parallel in forked processes (two workers for the two cores the CI machines
 * have); forks rather than threads because the interop harness spawns and owns real servers and
 * installs process-exit cleanup that must not be shared between files.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
