import { describe, expect, it } from "vitest";
import { call, waitFor } from "./client";

describe("wrangler dev, black box", () => {
  it("serves health without a token and refuses the API without one", async () => {
    expect((await call("/health", { token: null })).status).toBe(200);
    const refused = await call("/jobs", { token: null });
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: "unauthorized" });
  });

  it("runs a job through the real local Queue and Durable Object", async () => {
    const created = await call("/jobs", { body: { type: "echo", parameters: { message: "e2e" } } });
    expect(created.status).toBe(201);
    const done = await waitFor(async () => {
      const r = await call(`/jobs/${created.json.id}`);
      return r.json.status === "completed" ? r.json : null;
    });
    expect(done.result).toEqual({ echo: "e2e", attempt: 1 });
  });
});
