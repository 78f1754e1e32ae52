import { afterEach, describe, expect, it } from "vitest";
import { call, token } from "./client";
import { createJob, Recorder, refusedStatus, uniqueQueue, waitForJob, wsUrl, type Message } from "./realtime-clients";

const open: Recorder[] = [];
const connect = async (query = "") => {
  const rec = await Recorder.open(query);
  open.push(rec);
  return rec;
};
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

const statusesOf = (msgs: Message[], jobId: string) => msgs.filter((m) => m.type === "job-status-changed" && m.data.jobId === jobId);

describe("WebSocket /ws (ws client, real wrangler dev)", () => {
  it("delivers a job's status changes pending → running → completed in order, with previous status and rising seq", async () => {
    const queue = uniqueQueue();
    const ws = await connect();
    const hello = await ws.next("connected");
    expect(hello.data.topics).toEqual(["job-status", "queue-metrics", "system-health", "job-progress", "job-logs", "endpoint-status"]);
    await ws.subscribe({ topics: ["job-status"], filters: { queue } });

    const job = await createJob(queue);
    await ws.next("job-status-changed", (m) => m.data.jobId === job.id && m.data.status === "completed");

    const changes = statusesOf(ws.messages, job.id);
    expect(changes.map((m) => [m.data.previousStatus, m.data.status])).toEqual([
      [null, "pending"],
      ["pending", "running"],
      ["running", "completed"],
    ]);
    for (const m of changes) {
      expect(m.data.queue).toBe(queue);
      expect(Number.isNaN(Date.parse(m.timestamp))).toBe(false);
    }
    const seqs = changes.map((m) => m.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(3);
  });

  it("a queue filter receives nothing from another queue", async () => {
    const mine = uniqueQueue("mine");
    const other = uniqueQueue("other");
    const filtered = await connect();
    await filtered.subscribe({ topics: ["job-status", "queue-metrics", "job-progress", "job-logs"], filters: { queue: mine } });
    const everything = await connect("?topics=job-status");

    const noise = await createJob(other, { message: "noise", logLines: 2, progressSteps: 2, sleepMs: 100 });
    await everything.next("job-status-changed", (m) => m.data.jobId === noise.id && m.data.status === "completed");
    // The hub delivers in order: once the later job's completion arrives, anything of the other queue would have too.
    const job = await createJob(mine);
    await filtered.next("job-status-changed", (m) => m.data.jobId === job.id && m.data.status === "completed");

    expect(filtered.messages.filter((m) => m.seq !== undefined && (m.data.queue ?? m.data.name) !== mine)).toEqual([]);
    expect(statusesOf(filtered.messages, job.id)).toHaveLength(3);
    expect(statusesOf(everything.messages, noise.id)).toHaveLength(3);
  });

  it("reconnecting with since fills the gap exactly", async () => {
    const queue = uniqueQueue();
    const witness = await connect(`?topics=job-status,job-logs&queue=${queue}`);
    const first = await connect();
    await first.subscribe({ topics: ["job-status", "job-logs"], filters: { queue } });
    const a = await createJob(queue, { message: "a", logLines: 1 });
    await first.next("job-status-changed", (m) => m.data.jobId === a.id && m.data.status === "completed");
    const lastSeen = Math.max(...first.messages.filter((m) => m.seq !== undefined).map((m) => m.seq!));
    first.close();

    for (const name of ["b", "c"]) await waitForJob((await createJob(queue, { message: name, logLines: 1 })).id);
    await witness.next("job-status-changed", (m) => m.data.status === "completed" && m.data.result?.echo === "c");

    const again = await connect();
    await again.subscribe({ topics: ["job-status", "job-logs"], filters: { queue }, since: lastSeen });
    const missed = witness.messages.filter((m) => m.seq !== undefined && m.seq > lastSeen);
    expect(missed.length).toBe(8);
    await again.next("job-status-changed", (m) => m.seq === missed.at(-1)!.seq);
    expect(again.messages.filter((m) => m.seq !== undefined)).toEqual(missed);
    expect(again.of("replay-gap")).toEqual([]);

    const d = await createJob(queue);
    await again.next("job-status-changed", (m) => m.data.jobId === d.id && m.data.status === "completed");
  });

  it("says so when the requested history is not there", async () => {
    const ws = await connect();
    ws.send({ action: "subscribe", topics: ["job-status"], since: 1e12 });
    const gap = await ws.next("replay-gap");
    expect(gap.data).toMatchObject({ since: 1e12, latestSeq: expect.any(Number) });
    expect(gap.data.message).toMatch(/no longer all available/);
  });

  it("answers a malformed message with an error frame and stays usable", async () => {
    const queue = uniqueQueue();
    const ws = await connect();
    ws.send("this is not json");
    ws.send({ action: "subscribe", topics: ["no-such-topic"] });
    ws.send({ action: "dance" });
    ws.send({ action: "subscribe", topics: ["job-status"], filters: { queue, colour: "red" } });
    const errors = await (async () => {
      await ws.next("error", (m) => m.data.message.includes("colour"));
      return ws.of("error");
    })();
    expect(errors.map((e) => e.data.error)).toEqual(["malformed_json", "invalid_message", "invalid_message", "invalid_message"]);
    expect(errors[1].data.details[0].path).toBe("topics[0]");

    ws.send('{"action":"ping"}');
    await ws.next("pong");
    await ws.subscribe({ topics: ["job-status"], filters: { queue } });
    const job = await createJob(queue);
    await ws.next("job-status-changed", (m) => m.data.jobId === job.id && m.data.status === "completed");
  });

  it("unsubscribe stops delivery", async () => {
    const queue = uniqueQueue();
    const ws = await connect();
    const witness = await connect(`?topics=job-status&queue=${queue}`);
    await ws.subscribe({ topics: ["job-status"], filters: { queue } });
    ws.send({ action: "unsubscribe", topics: ["job-status"] });
    await ws.next("unsubscribed");
    const job = await createJob(queue);
    await witness.next("job-status-changed", (m) => m.data.jobId === job.id && m.data.status === "completed");
    expect(statusesOf(ws.messages, job.id)).toEqual([]);
  });

  it("refuses unauthenticated, unknown and under-scoped tokens before the upgrade", async () => {
    expect(await refusedStatus(wsUrl("/ws"))).toBe(401);
    expect(await refusedStatus(wsUrl("/ws?access_token=nope"))).toBe(401);
    expect(await refusedStatus(wsUrl("/ws"), { authorization: "Bearer nope" })).toBe(401);
    const key = await call("/keys", { body: { name: "writer-only", scopes: ["tickerq:write"] } });
    expect(key.status).toBe(201);
    expect(await refusedStatus(wsUrl(`/ws?access_token=${key.json.key}`))).toBe(403);
    expect(await refusedStatus(wsUrl(`/ws?topics=nope&access_token=${token()}`))).toBe(400);

    const reader = await call("/keys", { body: { name: "reader", scopes: ["tickerq:read"] } });
    const ws = await Recorder.open("", null).catch(() => null);
    expect(ws).toBeNull();
    const ok = await Recorder.open(`?access_token=${reader.json.key}`, null);
    open.push(ok);
    await ok.next("connected");
  });
});
