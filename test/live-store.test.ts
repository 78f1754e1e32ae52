import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import { LiveStore } from "../src/scheduler/live-store";
import { uniqueQueue } from "./helpers";

describe("LiveStore rotation", () => {
  it("waits until the generation is several times what its snapshot takes, counting waiting events as well as held jobs", async () => {
    await runInDurableObject(schedulerFor(env, uniqueQueue()), async (_instance: unknown, state) => {
      // The object holds nothing yet: a second store over its storage sees only the rows written here.
      const store = new LiveStore(state.storage);
      store.load(1_000_000);
      for (let i = 0; i < 100; i++) store.appendJournal({ c: [] });
      expect(store.rowCount).toBeGreaterThanOrEqual(100);
      // Nothing held and nothing waiting: the rows name only archived jobs.
      expect(store.shouldRotate(0, 0)).toBe(true);
      // 20,000 waiting events take 100 snapshot rows: rewriting them after 100 rows would cost a row per row.
      expect(store.shouldRotate(0, 20_000)).toBe(false);
      expect(store.shouldRotate(10_000, 10_000)).toBe(false);
      // A small snapshot: past the minimum generation size.
      expect(store.shouldRotate(200, 200)).toBe(true);
    });
  });
});
