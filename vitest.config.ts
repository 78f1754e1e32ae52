import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { build } from "esbuild";
import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// cron-parser (CommonJS) requires luxon; in the Workers pool that require resolves to luxon's
// ESM build and yields undefined, so point it at luxon's own CommonJS build.
const luxonCjs = createRequire(import.meta.url).resolve("luxon");

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  // A second Worker that runs service-binding job types; bundled here because auxiliary workers are not compiled by Vite.
  const jobService = await build({
    entryPoints: ["./test/workers/job-service.ts"],
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["cloudflare:workers"],
    write: false,
  });
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // Small enough that a test can reach it with a fresh key; the bootstrap token is exempt.
          serviceBindings: { JOB_SERVICE: { name: "job-service", entrypoint: "TestJobService" } },
          // Optional in production: where retention moves expired history (src/maintenance/history-archive.ts).
          r2Buckets: ["ARCHIVE_BUCKET"],
          workers: [
            {
              name: "job-service",
              modules: [{ type: "ESModule", path: "job-service.mjs", contents: jobService.outputFiles[0].text }],
              compatibilityDate: "2026-04-01",
            },
          ],
          // Failed authentications share one budget here (requests without CF-Connecting-IP): large enough for the suite.
          ratelimits: { API_RATE_LIMITER: { simple: { limit: 25, period: 10 } }, AUTH_FAILURE_RATE_LIMITER: { simple: { limit: 60, period: 60 } } },
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token-0123456789abcdef-0123",
            WEBHOOK_SECRET_KEY: "test-webhook-secret-key-0123456789abcdef",
            ALLOW_PRIVATE_TARGETS: "true",
            DEV_JOB_TYPES: "true",
            RETRY_BASE_DELAY_MS: "200",
            RETRY_MAX_DELAY_MS: "2000",
            // Endpoint checks every second, so status changes show within a test's time.
            MIN_ENDPOINT_INTERVAL_SECONDS: "1",
          },
        },
      }),
    ],
    resolve: { alias: { luxon: luxonCjs } },
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**", "test/faults/**"],
      setupFiles: ["./test/apply-migrations.ts"],
      globalSetup: ["./test/global-setup.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
