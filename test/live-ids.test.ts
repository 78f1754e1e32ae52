import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../src/lib/ids";
import { ensureQueueRows, liveQueuesFor, newJobId, queueTag, queueTagOf } from "../src/scheduler/job-ids";
import { uniqueQueue } from "./helpers";

describe("job ids that name their queue", () => {
  it("carry the queue's tag after the time, still sort by creation, and are told apart from untagged ids", () => {
    const a = newJobId("emails", 1_700_000_000_000);
    const b = newJobId("emails", 1_700_000_000_001);
    expect(a).toMatch(/^job_[0-9a-z]{27}$/);
    expect(a < b).toBe(true);
    expect(queueTagOf(a)).toBe(queueTag("emails"));
    expect(queueTag("emails")).toHaveLength(4);
    expect(queueTag("emails")).not.toBe(queueTag("reports"));
    expect(queueTagOf(newId("job"))).toBeNull();
    expect(queueTagOf("BI_20231029120000_abc123")).toBeNull();
  });

  it("route to the known queues whose tag matches (every known queue for an untagged id); a new queue is known once it has a row", async () => {
    const queue = uniqueQueue();
    await ensureQueueRows(env, [queue]);
    expect(await env.DB.prepare(`SELECT name FROM queues WHERE name = ?`).bind(queue).first()).toEqual({ name: queue });
    expect(await liveQueuesFor(env, newJobId(queue))).toEqual([queue]);
    expect(await liveQueuesFor(env, newId("job"))).toContain(queue);
    // A queue whose row another isolate wrote is found too: an unmatched tag re-reads the names.
    const other = uniqueQueue();
    await env.DB.prepare(`INSERT INTO queues (name, created_at, updated_at) VALUES (?, 0, 0)`).bind(other).run();
    expect(await liveQueuesFor(env, newJobId(other))).toContain(other);
  });
});
