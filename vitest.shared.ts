import { defineConfig } from "vitest/config";

// One test configuration for every package: real servers on 127.0.0.1 and
// child processes make some tests slower than unit tests, so the timeouts are
// generous; nothing here asserts on timing. The JSON report feeds the
// one-line summary that .ci/run prints (scripts/test-summary.mjs).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }]],
  },
});
