import { defineConfig } from "vitest/config";

// Unit tests of the statistics and report code only: no timing assertions.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
  },
});
