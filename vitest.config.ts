import { defineConfig } from 'vitest/config';

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
