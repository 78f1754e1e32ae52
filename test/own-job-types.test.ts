import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createEdgeTicker, defineJobType, listJobTypes } from "../src/edge-ticker";
import repositoryWorker from "../src/index";
import { wordCount } from "../src/jobs/examples/word-count";
import { getJobType } from "../src/jobs/registry";
import { ADMIN, api, BASE, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { seedJob } from "./http-job-type-helpers";

type Seen = { attempts: number[]; cancelReason?: string } | null;
const jobService = () => (env as unknown as { JOB_SERVICE: { seen(id: string): Promise<Seen> } }).JOB_SERVICE;

// The repository's Worker as src/index.ts builds it, plus one own type and one type on the bound test Worker.
const emailNotification = defineJobType({
  description: "Sends a templated e-mail.",
  parameters: z.strictObject({ recipientEmail: z.email(), templateId: z.string().min(1) }),
  timeoutSeconds: 7,
  async run(params, ctx) {
    ctx.log("Info", `sending ${params.templateId}`, undefined, "send");
    ctx.progress(100);
    return { messageId: `msg-${ctx.jobId}`, deliveryStatus: "delivered" };
  },
});

const remoteTask = {
  binding: "JOB_SERVICE",
  parameters: z.strictObject({ logLines: z.number().int().optional(), failTimes: z.number().int().optional(), waitForCancel: z.boolean().optional() }),
  timeoutSeconds: 30,
};
const installTestTypes = () =>
  createEdgeTicker({
    jobTypes: { "word-count": wordCount, EmailNotificationJob: emailNotification },
    serviceJobTypes: { RemoteTask: remoteTask, Unbound: { binding: "NO_SUCH_BINDING" } },
  });

beforeAll(installTestTypes);
afterAll(() => {
  createEdgeTicker({ jobTypes: { "word-count": wordCount } });
});

describe("createEdgeTicker: bad registrations fail at start-up", () => {
  it("refuses a type that reuses a built-in name, and installs nothing", () => {
    expect(() => createEdgeTicker({ jobTypes: { Other: emailNotification, echo: emailNotification } })).toThrow(/"echo" is built into Edge Ticker/);
    expect(() => createEdgeTicker({ serviceJobTypes: { http: { binding: "JOB_SERVICE" } } })).toThrow(/"http" is built into Edge Ticker/);
    expect(getJobType("Other")).toBeUndefined();
    expect(getJobType("EmailNotificationJob")).toBeDefined();
  });

  it("refuses the same name as an own type and a service type", () => {
    expect(() => createEdgeTicker({ jobTypes: { Dup: emailNotification }, serviceJobTypes: { Dup: { binding: "JOB_SERVICE" } } })).toThrow(/"Dup" is defined twice/);
  });

  it("refuses a bad name, a bad timeout and a service type without a binding", () => {
    expect(() => createEdgeTicker({ jobTypes: { "has space": emailNotification } })).toThrow(/name "has space" must be/);
    expect(() => createEdgeTicker({ jobTypes: { Slow: { ...emailNotification, timeoutSeconds: 0 } } })).toThrow(/timeoutSeconds must be/);
    expect(() => createEdgeTicker({ serviceJobTypes: { NoBinding: {} as never } })).toThrow(/needs a binding name/);
  });
});

describe("createEdgeTicker: what a user's Worker serves", () => {
  it("serves the test-only routes only where they are passed in, as this repository's Worker does", async () => {
    const post = (path: string) => new Request(`${BASE}${path}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
    const faultsOn = { ...env, FAULT_INJECTION: "true" };
    const withBody = new Request(`${BASE}/_faults/duplicate-exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ jobIds: [] }),
    });
    const asAdmin = await repositoryWorker.fetch(withBody as never, faultsOn, createExecutionContext());
    expect(asAdmin.status).toBe(400); // behind authentication and the admin scope, then validated
    const anonymous = new Request(`${BASE}/_faults/duplicate-exec`, { method: "POST" });
    expect((await repositoryWorker.fetch(anonymous as never, faultsOn, createExecutionContext())).status).toBe(401);
    const userWorker = createEdgeTicker({}).handler;
    installTestTypes();
    for (const path of ["/_faults/duplicate-exec", "/_meter"]) {
      const res = await userWorker.fetch(post(path) as Parameters<typeof userWorker.fetch>[0], env, createExecutionContext());
      expect(res.status).toBe(404);
      expect(((await res.json()) as { message: string }).message).toBe(`No route for POST /api/tickerq${path}.`);
    }
  });
});

describe("own job types (in this Worker)", () => {
  it("runs the seed's EmailNotificationJob request verbatim to completion", async () => {
    const created = await api("/jobs", { body: seedJob("EmailNotificationJob") });
    expect(created.status).toBe(201);
    const done = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "completed", result: { messageId: `msg-${created.json.id}`, deliveryStatus: "delivered" }, timeoutSeconds: 7 });
  });

  it("refuses bad parameters naming the field, and stores nothing", async () => {
    const queue = uniqueQueue();
    const bad = await api("/jobs", { body: { type: "EmailNotificationJob", parameters: { recipientEmail: "not-an-address", templateId: "x" }, queue } });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([expect.objectContaining({ path: "parameters.recipientEmail" })]);
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(0);
  });

  it("keeps an unknown type a 400 that names every registered type", async () => {
    const bad = await api("/jobs", { body: { type: "NoSuchJob" } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/Unknown job type "NoSuchJob"\. Known types: http, echo, report, word-count, EmailNotificationJob, RemoteTask, Unbound\./);
  });

  it("lists every code-defined type with its kind, parameter schema and timeout", () => {
    const byName = Object.fromEntries(listJobTypes().map((t) => [t.name, t]));
    expect(byName.echo).toMatchObject({ kind: "built-in", timeoutSeconds: 60 });
    expect(byName["word-count"]).toMatchObject({ kind: "package", timeoutSeconds: 10, parameters: { type: "object", required: ["text"] } });
    expect(byName.EmailNotificationJob).toMatchObject({ kind: "package", description: "Sends a templated e-mail.", parameters: { properties: { recipientEmail: { format: "email" } } } });
    expect(byName.RemoteTask).toMatchObject({ kind: "service-binding", timeoutSeconds: 30 });
  });

  it("keeps the timeout a job was created with when its type's default is later changed", async () => {
    const created = await api("/jobs", { body: { type: "EmailNotificationJob", parameters: { recipientEmail: "a@example.com", templateId: "t" }, delay: "01:00:00", queue: uniqueQueue() } });
    createEdgeTicker({ jobTypes: { "word-count": wordCount, EmailNotificationJob: { ...emailNotification, timeoutSeconds: 99 } } });
    try {
      expect((await api(`/jobs/${created.json.id}`)).json.timeoutSeconds).toBe(7);
      expect(listJobTypes().find((t) => t.name === "EmailNotificationJob")?.timeoutSeconds).toBe(99);
    } finally {
      installTestTypes();
    }
  });
});

describe("service-binding job types (on another Worker)", () => {
  it("runs the seed's EmailNotificationJob request verbatim on the bound Worker", async () => {
    createEdgeTicker({ serviceJobTypes: { EmailNotificationJob: { binding: "JOB_SERVICE", parameters: emailNotification.parameters, timeoutSeconds: 20 } } });
    try {
      const created = await api("/jobs", {
        rawBody: `{"type":"EmailNotificationJob","name":"Welcome Email","parameters":{"recipientEmail":"newuser@example.com","templateId":"welcome-email"},"priority":"normal","delay":"00:00:00","maxRetries":3,"cronExpression":null}`,
        headers: { "content-type": "application/json" },
      });
      expect(created.status).toBe(201);
      const done = await waitForStatus(created.json.id, ["completed", "failed"]);
      expect(done).toMatchObject({ status: "completed", timeoutSeconds: 20, result: { messageId: `remote-${created.json.id}`, deliveryStatus: "delivered" } });
      const logs = (await api(`/jobs/${created.json.id}/logs`)).json.logs;
      expect(logs.map((l: { message: string }) => l.message)).toEqual(["Sent welcome-email to newuser@example.com"]);
    } finally {
      installTestTypes();
    }
  });

  it("runs on the bound Worker; its logs and progress flow back", async () => {
    const created = await api("/jobs", { body: { type: "RemoteTask", parameters: { logLines: 2 }, queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    const done = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "completed", result: { ran: "RemoteTask", attempt: 1 }, progress: { percent: 100, message: "done" } });
    const logs = (await api(`/jobs/${created.json.id}/logs`)).json.logs;
    expect(logs.map((l: { message: string; details: string; stepName: string }) => [l.message, l.details, l.stepName])).toEqual([
      ["remote line 1", "of RemoteTask", "remote"],
      ["remote line 2", "of RemoteTask", "remote"],
    ]);
  });

  it("fails the attempt when the remote handler throws, and retries it", async () => {
    const created = await api("/jobs", { body: { type: "RemoteTask", parameters: { failTimes: 1 }, maxRetries: 2, queue: uniqueQueue() } });
    const done = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.executionHistory.map((a: { status: string }) => a.status)).toEqual(["failed", "completed"]);
    expect(done.executionHistory[0].error).toMatch(/remote failure on attempt 1/);
    expect((await jobService().seen(created.json.id))?.attempts).toEqual([1, 2]);
  });

  it("fails for good once the retries are used up", async () => {
    const created = await api("/jobs", { body: { type: "RemoteTask", parameters: { failTimes: 5 }, maxRetries: 1, queue: uniqueQueue() } });
    const done = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "failed", error: "remote failure on attempt 2" });
  });

  it("delivers a cancel to the remote handler", async () => {
    const created = await api("/jobs", { body: { type: "RemoteTask", parameters: { waitForCancel: true }, queue: uniqueQueue() } });
    await waitForStatus(created.json.id, ["running"]);
    await waitFor(async () => ((await jobService().seen(created.json.id))?.attempts.length ? true : null));
    expect((await api(`/jobs/${created.json.id}/cancel`, { method: "POST" })).status).toBe(202);
    expect(await waitForStatus(created.json.id, ["cancelled"])).toMatchObject({ status: "cancelled" });
    const seen = await waitFor(async () => {
      const s = await jobService().seen(created.json.id);
      return s?.cancelReason ? s : null;
    });
    expect(seen.cancelReason).toBe("Cancelled while running.");
  });

  it("fails without retrying when the Worker lacks the binding", async () => {
    const created = await api("/jobs", { body: { type: "Unbound", queue: uniqueQueue(), maxRetries: 3 } });
    const done = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "failed", retryCount: 0, error: expect.stringMatching(/service binding "NO_SUCH_BINDING"/) });
  });
});
