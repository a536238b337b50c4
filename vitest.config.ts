import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['sdk/test/**/*.test.ts', 'collector-receiver/test/**/*.test.ts'],
    // Generous: PGlite start-ups took 10–80 s on a loaded 2-core box; timeouts only catch hangs.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // 2-core machines: suites spawn apps and receivers; keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
