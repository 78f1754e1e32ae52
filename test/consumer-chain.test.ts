import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { api, uniqueQueue } from "./helpers";
import { deliverBatch, dueButHeldJob, execMessage } from "./queue-helpers";

const ledgerRuns = async (id: string) =>
  (await env.DB.prepare("SELECT attempt, COUNT(*) AS n FROM echo_ledger WHERE job_id = ? GROUP BY attempt").bind(id).all()).results;

describe("a consumer invocation takes its queue's next jobs as its attempts end", () => {
  it("runs the jobs that wait for its slot in the same invocation, each once, and still acks its message", async () => {
    const queue = uniqueQueue();
    const first = await dueButHeldJob(queue, { ledger: true, sleepMs: 300 });
    expect((await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 1 } })).status).toBe(200);
    const rest = [await dueButHeldJob(queue, { ledger: true }), await dueButHeldJob(queue, { ledger: true })];

    const delivered = deliverBatch([execMessage(queue, [[first, 0]])]);
    // Resumed while the first job runs: its one slot is taken, so nothing is sent to the queue;
    // the invocation takes the others as the slot frees.
    await new Promise((r) => setTimeout(r, 100));
    expect((await api(`/queues/${queue}/resume`, { method: "POST" })).status).toBe(200);
    const result = await delivered;
    expect(result).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });

    // Done by the time the invocation returned: no message carried them.
    for (const id of [first, ...rest]) {
      expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "completed", attempts: 1 });
      expect(await ledgerRuns(id)).toEqual([{ attempt: 1, n: 1 }]);
    }
  });
});
