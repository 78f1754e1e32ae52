import type { EventSource } from "eventsource";
import { afterEach, describe, expect, it } from "vitest";
import { baseUrl, token, waitFor } from "./client";
import { createJob, openEventSource, uniqueQueue, waitForJob } from "./realtime-clients";

const sources: EventSource[] = [];
const open = (...args: Parameters<typeof openEventSource>) => {
  const s = openEventSource(...args);
  sources.push(s.es);
  return s;
};
afterEach(() => {
  for (const es of sources.splice(0)) es.close();
});

describe("SSE /events (eventsource client, real wrangler dev)", () => {
  it("streams a job's status changes in order, each with an id line equal to its seq", async () => {
    const queue = uniqueQueue();
    const { messages, opened } = open(`?topics=job-status&queue=${queue}`);
    await opened;
    const job = await createJob(queue);
    await waitFor(async () => messages.find((m) => m.data.jobId === job.id && m.data.status === "completed"));

    const changes = messages.filter((m) => m.data.jobId === job.id);
    expect(changes.map((m) => `${m.data.previousStatus}→${m.data.status}`)).toEqual(["null→pending", "pending→running", "running→completed"]);
    for (const m of changes) {
      expect(m.type).toBe("job-status-changed");
      expect(m.id).toBe(String(m.seq));
    }
  });

  it("a queue filter receives nothing from another queue", async () => {
    const mine = uniqueQueue("mine");
    const other = uniqueQueue("other");
    const filtered = open(`?topics=job-status,job-logs,queue-metrics&queue=${mine}&access_token=${token()}`, {});
    const all = open(`?topics=job-status`);
    await Promise.all([filtered.opened, all.opened]);

    const noise = await createJob(other, { message: "noise", logLines: 1 });
    await waitFor(async () => all.messages.find((m) => m.data.jobId === noise.id && m.data.status === "completed"));
    const job = await createJob(mine);
    await waitFor(async () => filtered.messages.find((m) => m.data.jobId === job.id && m.data.status === "completed"));

    expect(filtered.messages.filter((m) => (m.data.queue ?? m.data.name) !== mine)).toEqual([]);
  });

  it("resumes from Last-Event-ID with exactly the missed events", async () => {
    const queue = uniqueQueue();
    const witness = open(`?topics=job-status&queue=${queue}`);
    const first = open(`?topics=job-status&queue=${queue}`);
    await Promise.all([witness.opened, first.opened]);
    const a = await createJob(queue);
    await waitFor(async () => first.messages.find((m) => m.data.jobId === a.id && m.data.status === "completed"));
    const lastEventId = first.messages.at(-1)!.id;
    first.es.close();

    const b = await createJob(queue);
    const c = await createJob(queue);
    await Promise.all([waitForJob(b.id), waitForJob(c.id)]);
    await waitFor(async () => witness.messages.filter((m) => m.data.status === "completed").length === 3);
    const missed = witness.messages.filter((m) => m.seq! > Number(lastEventId));
    expect(missed).toHaveLength(6);

    const resumed = open(`?topics=job-status&queue=${queue}`, { authorization: `Bearer ${token()}`, "last-event-id": lastEventId });
    await resumed.opened;
    await waitFor(async () => resumed.messages.length >= missed.length);
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed.messages).toEqual(missed);
  });

  it("sends heartbeat comments and refuses requests without a valid token", async () => {
    const res = await fetch(`${baseUrl()}/api/tickerq/events?heartbeat=1`, { headers: { authorization: `Bearer ${token()}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = "";
    const until = Date.now() + 10_000;
    while (!text.includes(": heartbeat") && Date.now() < until) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toMatch(/^retry: \d+\n/);
    expect(text).toContain(": heartbeat ");

    const refused = await fetch(`${baseUrl()}/api/tickerq/events`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: "unauthorized" });
    const wrong = await fetch(`${baseUrl()}/api/tickerq/events?access_token=nope`);
    expect(wrong.status).toBe(401);
    const badId = await fetch(`${baseUrl()}/api/tickerq/events`, { headers: { authorization: `Bearer ${token()}`, "last-event-id": "abc" } });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ error: "validation_error", details: [{ path: "Last-Event-ID" }] });
  });
});
