import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["@ts-ebpf/testing/global-setup"],
    testTimeout: 300_000, // each batch has its own, shorter timeout; this catches harness hangs
    hookTimeout: 300_000,
  },
});
