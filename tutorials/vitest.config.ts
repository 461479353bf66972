import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["runner/test/**/*.test.ts"],
    testTimeout: 300_000, // catches hangs only: shared machines run slow under load
    hookTimeout: 300_000,
  },
});
