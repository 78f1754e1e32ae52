import { defineConfig } from "vitest/config";

// The fault suite: a real `wrangler dev` with persisted state, killed and restarted under load.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.faults.test.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
