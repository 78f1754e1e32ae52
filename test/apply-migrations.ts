import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Idempotent: every test file's setup calls it, only the first applies anything.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
