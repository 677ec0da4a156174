import { defineConfig } from 'vitest/config';

// dawn.node crashes inside worker threads, so every test file runs in a forked process.
export default defineConfig({
  test: {
    pool: 'forks',
    // the hygiene test measures memory after explicit collections
    execArgv: ['--expose-gc'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
