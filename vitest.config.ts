import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['sdk/test/**/*.test.ts', 'collector-receiver/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: suites spawn apps and receivers; keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
