import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { configDefaults, defineConfig } from "vitest/config";
import LongestFirst from "./test/support/longest-first.js";

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // Most of a test file's time is spent waiting on real backends and TTLs, not on the CPU: four files at
    // once keep a 2-core machine busy (vitest's default here would be one file at a time, over 20 minutes).
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts", "src/**/*.test.ts", "adapters/**/*.test.ts", "service/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/workers/**"],
          testTimeout: 20_000,
          // Starting a backend (a JVM, workerd, PostgreSQL) on a loaded machine: the readiness waits allow 90 s.
          hookTimeout: 180_000,
        },
      },
      {
        // Tests inside workerd, against the Worker wrangler.toml describes.
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          testTimeout: 20_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
