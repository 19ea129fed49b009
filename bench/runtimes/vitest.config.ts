import { defineConfig } from 'vitest/config';

/** `npm run bench:runtimes`: the runtime throughput benchmark, alone (not part of npm test). */
export default defineConfig({
  test: {
    include: process.env.PURE_SSH_AB || process.env.PURE_SSH_PROBE ? ['bench/runtimes/ab.ts'] : ['bench/runtimes/throughput.ts', 'bench/runtimes/micro.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
