import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["@ts-ebpf/testing/global-setup"],
    testTimeout: 300_000, // catches hangs only: shared machines run slow under load
    hookTimeout: 300_000,
  },
});
