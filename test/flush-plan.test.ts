import { describe, expect, it } from "vitest";
import { newJobRow } from "../src/model/job";
import { ARCHIVE_FLUSH_EVENTS, ARCHIVE_FLUSH_JOBS, FLUSH_MAX_BYTES, flushJournalJson, planFlush, type WaitingEvent } from "../src/scheduler/flush-plan";
import type { FlushEntry } from "../src/scheduler/live-store";
import { newJobId } from "../src/scheduler/job-ids";
import { applyChange, newLiveJob, type LiveJob } from "../src/scheduler/live-jobs";
import * as T from "../src/scheduler/transitions";

/** `n` echo jobs run to completion as the object runs them, with the events each raised (created, started, completed), journaled 100 jobs an entry. */
function endedJobs(n: number, result = '{"message":"hello"}'): { jobs: LiveJob[]; events: WaitingEvent[] } {
  const now = Date.now();
  const jobs: LiveJob[] = [];
  const events: WaitingEvent[] = [];
  for (let i = 0; i < n; i++) {
    const row = newJobRow({ id: newJobId("flush-plan", now), queue: "flush-plan", type: "echo", name: "echo", priority: 1, parameters: '{"message":"hello"}', runAt: now, maxRetries: 2, timeoutMs: 10_000, createdAt: now }, now);
    const job = newLiveJob(row, i);
    const seq = 1 + Math.floor(i / 100);
    events.push({ seq, event: T.createdEvent(row, now) });
    const claimed = T.claim(job, now);
    applyChange(job, claimed.change);
    events.push({ seq: seq + 100, event: claimed.event! });
    const ended = T.finish(job, { id: row.id, attempt: 1, outcome: { kind: "completed", result }, logs: [], at: now + 5, progress: null })!;
    applyChange(job, ended.change);
    events.push({ seq: seq + 200, event: ended.event! });
    jobs.push(job);
  }
  events.sort((a, b) => a.seq - b.seq);
  return { jobs, events };
}

describe("planFlush", () => {
  it("carries the three events a job raises along with the job, so waiting events do not pile up under a steady load", () => {
    // 400 echo jobs and their 1,200 events fit in FLUSH_MAX_BYTES; a flush used to take 500 events.
    const { jobs, events } = endedJobs(400);
    expect(events).toHaveLength(1200);
    const plan = planFlush(jobs, events, 400);
    expect(plan.jobs).toHaveLength(400);
    expect(plan.eventsTaken).toBe(events.length);
    expect(plan.events).toHaveLength(events.length);
    expect(plan.through).toBe(400);
  });

  it("takes events by whole journal entries, oldest first, up to ARCHIVE_FLUSH_EVENTS", () => {
    const { events } = endedJobs(2 * ARCHIVE_FLUSH_JOBS);
    const plan = planFlush([], events, 1000);
    expect(plan.eventsTaken).toBe(ARCHIVE_FLUSH_EVENTS);
    // The last event taken closes its entry: `through` is that entry's seq, and the next event is a later entry's.
    expect(events[plan.eventsTaken - 1].seq).toBe(plan.through);
    expect(events[plan.eventsTaken].seq).toBeGreaterThan(plan.through);
    expect(plan.events.map((e) => e.id)).toEqual(events.slice(0, plan.eventsTaken).map((e) => e.event.id));
  });

  it("stays within FLUSH_MAX_BYTES when jobs are large, and still takes the first entry's events", () => {
    const { jobs, events } = endedJobs(300, JSON.stringify({ blob: "x".repeat(20_000) }));
    const plan = planFlush(jobs, events, 600);
    const bytes = JSON.stringify(plan.jobs).length;
    expect(plan.jobs.length).toBeLessThan(300);
    expect(bytes).toBeLessThan(FLUSH_MAX_BYTES + 25_000);
    expect(plan.eventsTaken).toBeGreaterThan(0);
    expect(plan.eventsTaken).toBeLessThan(events.length);
  });
});

describe("flushJournalJson", () => {
  it("is the journal row JSON.stringify({ flush: entry }) would make, from the encodings planFlush already made", () => {
    const { jobs, events } = endedJobs(50, JSON.stringify({ text: 'quotes " and \\\\ backslashes, ünïcödé and 😀' }));
    const plan = planFlush(jobs, events, 300);
    const entry: FlushEntry = { queue: "flush-plan", seq: 301, at: Date.now(), jobs: plan.jobs, maybeArchived: plan.maybeArchived, events: plan.events, through: plan.through };
    const json = flushJournalJson(entry, plan.jobsJson);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify({ flush: entry })));
    // A flush journaled before maybeArchived was kept has none: that means every id may have a row.
    const { maybeArchived: _, ...older } = entry;
    expect(JSON.parse(flushJournalJson(older, plan.jobsJson))).toEqual(JSON.parse(JSON.stringify({ flush: older })));
  });
});
