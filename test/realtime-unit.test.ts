import { describe, expect, it } from "vitest";
import { jobEventData, makeEvent } from "../src/model/events";
import { MAX_LIVE_RESULT_BYTES, toPublishInput } from "../src/realtime/event-mapping";
import { envelope, matches, type Draft } from "../src/realtime/messages";
import { hubFrames } from "../src/realtime/signalr-events";
import { handshakeReply, parseRecord, records, resolveInvocation, RS } from "../src/realtime/signalr-protocol";
import { MAX_SUBSCRIPTIONS, parseClientMessage, subscribe, unsubscribe } from "../src/realtime/topic-protocol";

const job = { id: "job_1", type: "echo", name: "Echo", queue: "mail", priority: 1, attempt: 1, retryCount: 0, maxRetries: 3, runAt: 0, executedAt: 1000 };
const base = { jobId: "job_1", jobType: "echo", jobName: "Echo", queue: "mail", attempt: 1 };

describe("event mapping", () => {
  it("turns status events into job-status-changed with the previous status, and marks their queues", () => {
    const input = toPublishInput([
      makeEvent("job.started", jobEventData(job, { status: "running", previousStatus: "pending" })),
      makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: 2000, result: { ok: true } })),
      makeEvent("queue.paused", { queue: "reports", status: "paused" }),
    ]);
    expect(input.queues.sort()).toEqual(["mail", "reports"]);
    expect(input.messages.map((m) => [m.topic, m.data.previousStatus, m.data.status, m.data.event])).toEqual([
      ["job-status", "pending", "running", "job.started"],
      ["job-status", "running", "completed", "job.completed"],
    ]);
    expect(input.messages[1]).toMatchObject({ queue: "mail", jobId: "job_1", jobType: "echo", data: { result: { ok: true }, durationMs: 1000 } });
  });

  it("keeps only the latest progress per job and gathers a batch's log lines per job", () => {
    const input = toPublishInput([
      makeEvent("job.progress", { ...base, percent: 10, message: "a" }),
      makeEvent("job.log", { ...base, level: "Info", message: "one", details: null, stepName: null, createdAt: "t1" }),
      makeEvent("job.progress", { ...base, percent: 60, message: "b" }),
      makeEvent("job.log", { ...base, level: "Warning", message: "two", details: "d", stepName: "s", createdAt: "t2" }),
      makeEvent("job.log", { ...base, jobId: "job_2", level: "Info", message: "other", details: null, stepName: null, createdAt: "t3" }),
    ]);
    expect(input.queues).toEqual([]);
    expect(input.messages.map((m) => [m.topic, m.jobId])).toEqual([
      ["job-progress", "job_1"],
      ["job-logs", "job_1"],
      ["job-logs", "job_2"],
    ]);
    expect(input.messages[0].data).toMatchObject({ percent: 60, message: "b" });
    expect(input.messages[1].data).toEqual({
      ...base,
      logs: [
        { level: "Info", message: "one", details: null, stepName: null, createdAt: "t1" },
        { level: "Warning", message: "two", details: "d", stepName: "s", createdAt: "t2" },
      ],
    });
  });

  it("leaves large results out of live messages and passes system alerts through", () => {
    const big = "x".repeat(MAX_LIVE_RESULT_BYTES + 1);
    const input = toPublishInput([
      makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: 2000, result: big })),
      makeEvent("system.alert", { status: "degraded", reason: "webhook endpoint disabled" }),
    ]);
    expect(input.messages[0].data).toMatchObject({ result: null, resultTruncated: true });
    expect(input.messages[1]).toMatchObject({ topic: "system-health", data: { status: "degraded" }, queue: null });
  });
});

describe("subscriptions", () => {
  const msg = (over: Partial<Draft>): Draft => ({ topic: "job-status", data: {}, timestamp: "t", queue: "mail", jobId: "job_1", jobType: "echo", ...over });

  it("match on topic and on every filter given", () => {
    expect(matches({ topic: "job-status", filter: {} }, msg({}))).toBe(true);
    expect(matches({ topic: "job-logs", filter: {} }, msg({}))).toBe(false);
    expect(matches({ topic: "job-status", filter: { queue: ["mail", "sms"] } }, msg({}))).toBe(true);
    expect(matches({ topic: "job-status", filter: { queue: ["sms"] } }, msg({}))).toBe(false);
    expect(matches({ topic: "job-status", filter: { queue: ["mail"], type: ["http"] } }, msg({}))).toBe(false);
    expect(matches({ topic: "job-status", filter: { jobId: ["job_1"] } }, msg({}))).toBe(true);
    expect(matches({ topic: "queue-metrics", filter: { jobId: ["job_1"] } }, msg({ topic: "queue-metrics", jobId: null }))).toBe(false);
  });

  it("parse the seed's messages and explain bad ones", () => {
    expect(parseClientMessage(JSON.stringify({ action: "subscribe", topics: ["job-status", "queue-metrics", "system-health"] }))).toMatchObject({ ok: true });
    expect(parseClientMessage(JSON.stringify({ action: "subscribe", topics: ["job-status"], filters: { queue: "mail" }, since: 4 }))).toEqual({
      ok: true,
      message: { action: "subscribe", topics: ["job-status"], filters: { queue: ["mail"] }, since: 4 },
    });
    expect(parseClientMessage("{")).toMatchObject({ ok: false, error: { error: "malformed_json" } });
    expect(parseClientMessage(new ArrayBuffer(2))).toMatchObject({ ok: false, error: { error: "invalid_message" } });
    expect(parseClientMessage(JSON.stringify({ action: "subscribe", topics: [] }))).toMatchObject({ ok: false, error: { details: [{ path: "topics" }] } });
    expect(parseClientMessage(JSON.stringify({ action: "subscribe", topics: ["job-status"], since: -1 }))).toMatchObject({ ok: false, error: { details: [{ path: "since" }] } });
  });

  it("add without duplicates, are capped, and unsubscribe by topic or by topic and filter", () => {
    let subs = subscribe([], ["job-status", "job-logs"], {})!;
    subs = subscribe(subs, ["job-status"], {})!;
    subs = subscribe(subs, ["job-status"], { queue: ["mail"] })!;
    expect(subs).toHaveLength(3);
    expect(unsubscribe(subs, ["job-status"], { queue: ["mail"] })).toHaveLength(2);
    expect(unsubscribe(subs, ["job-status"], undefined)).toEqual([{ topic: "job-logs", filter: {} }]);
    const many = Array.from({ length: MAX_SUBSCRIPTIONS }, (_, i) => ({ topic: "job-status" as const, filter: { jobId: [`j${i}`] } }));
    expect(subscribe(many, ["job-logs"], {})).toBeNull();
  });
});

describe("SignalR JSON hub protocol", () => {
  it("splits frames into records and answers the handshake", () => {
    expect(records(`{"type":6}${RS}{"type":1,"target":"x","arguments":[]}${RS}`)).toEqual([`{"type":6}`, `{"type":1,"target":"x","arguments":[]}`]);
    expect(handshakeReply(`{"protocol":"json","version":1}`)).toEqual({ ok: true, frame: `{}${RS}` });
    expect(handshakeReply(`{"protocol":"messagepack","version":1}`).ok).toBe(false);
    expect(handshakeReply(`{"protocol":"json","version":2}`).frame).toContain("version 2");
    expect(handshakeReply(`nope`).ok).toBe(false);
  });

  it("parses invocations, pings and close, and flags malformed records", () => {
    expect(parseRecord(`{"type":1,"invocationId":"0","target":"JoinGroup","arguments":["job-updates"]}`)).toEqual({
      kind: "invoke",
      invocationId: "0",
      target: "JoinGroup",
      args: ["job-updates"],
    });
    expect(parseRecord(`{"type":6}`)).toEqual({ kind: "ping" });
    expect(parseRecord(`{"type":7}`)).toEqual({ kind: "close" });
    expect(parseRecord(`{"type":4,"invocationId":"1","target":"s","arguments":[]}`)).toEqual({ kind: "stream", invocationId: "1" });
    expect(parseRecord(`{"type":1,"target":"JoinGroup"}`).kind).toBe("malformed");
    expect(parseRecord(`not json`).kind).toBe("malformed");
  });

  it("resolves hub methods case-insensitively, with the seed's groups", () => {
    expect(resolveInvocation("tickerq", "JoinGroup", ["job-updates"])).toEqual({ ok: true, join: true, group: "job-updates" });
    expect(resolveInvocation("tickerq", "joingroup", ["queue:mail"])).toEqual({ ok: true, join: true, group: "queue:mail" });
    expect(resolveInvocation("tickerq", "LeaveGroup", ["job:job_1"])).toEqual({ ok: true, join: false, group: "job:job_1" });
    expect(resolveInvocation("tickerq", "JoinGroup", ["queue:bad name"]).ok).toBe(false);
    expect(resolveInvocation("tickerq", "SubscribeToJob", ["job_1"]).ok).toBe(false);
    expect(resolveInvocation("job-progress", "SubscribeToJob", ["job_1"])).toEqual({ ok: true, join: true, group: "job:job_1" });
    expect(resolveInvocation("job-progress", "UnsubscribeFromJob", ["job_1"])).toEqual({ ok: true, join: false, group: "job:job_1" });
    expect(resolveInvocation("job-progress", "SubscribeToJob", [])).toMatchObject({ ok: false, error: expect.stringContaining("expects 1") });
  });

  it("maps live messages to each hub's client methods and groups", () => {
    const [completed] = toPublishInput([makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: 2000, result: 1 }))]).messages;
    const frames = hubFrames(envelope(completed, 9));
    expect(frames.map((f) => [f.hub, f.groups])).toEqual([
      ["tickerq", ["job-updates", "queue:mail", "job:job_1"]],
      ["job-progress", ["job:job_1"]],
    ]);
    const [status, done] = frames.map((f) => JSON.parse(f.frame.slice(0, -1)));
    expect(status).toMatchObject({ type: 1, target: "JobStatusChanged", arguments: ["job_1", "completed", { previousStatus: "running" }] });
    expect(done).toMatchObject({ type: 1, target: "JobCompleted", arguments: [{ jobId: "job_1", status: 3, result: 1 }] });
    const metrics: Draft = { topic: "queue-metrics", data: { name: "mail" }, timestamp: "t", queue: "mail", jobId: null, jobType: null };
    expect(hubFrames(envelope(metrics, 10)).map((f) => [f.hub, f.groups, JSON.parse(f.frame.slice(0, -1)).target])).toEqual([
      ["tickerq", ["system-metrics", "queue:mail"], "MetricsUpdated"],
    ]);
  });
});
