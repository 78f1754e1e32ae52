import { describe, expect, it } from "vitest";
import { renderBody } from "../src/webhooks/formats";
import type { StoredEvent } from "../src/webhooks/model";

const failed: StoredEvent = {
  id: "evt_1",
  type: "job.failed",
  timestamp: "2024-01-15T10:31:30.000Z",
  data: {
    jobId: "job-123",
    jobType: "EmailNotificationJob",
    jobName: "Send email",
    queue: "emails",
    status: "failed",
    attempt: 4,
    maxRetries: 3,
    duration: "00:00:30",
    error: "SMTP timeout",
    nextRetryAt: null,
    result: null,
  },
};

const facts = [
  { name: "Job", value: "Send email" },
  { name: "Job ID", value: "job-123" },
  { name: "Type", value: "EmailNotificationJob" },
  { name: "Queue", value: "emails" },
  { name: "Status", value: "failed" },
  { name: "Attempt", value: "4 of 4" },
  { name: "Duration", value: "00:00:30" },
  { name: "Error", value: "SMTP timeout" },
];
const factLines = facts.map((f) => `- ${f.name}: ${f.value}`).join("\n");
const render = (format: Parameters<typeof renderBody>[1], options: Record<string, unknown> = {}, token: string | null = null) => {
  const out = renderBody(failed, format, options, token);
  return { ...out, json: JSON.parse(out.body) };
};

describe("webhook formats render a sample job.failed event", () => {
  it("json: the seed payload { event, timestamp, data }", () => {
    const { json, headers } = render("json");
    expect(json).toEqual({ event: "job.failed", timestamp: "2024-01-15T10:31:30.000Z", data: failed.data });
    expect(headers["content-type"]).toBe("application/json");
  });

  it("slack: text, colour and fields", () => {
    const { json } = render("slack", { channel: "#jobs", username: "Edge Ticker", iconEmoji: ":warning:" });
    expect(json).toEqual({
      channel: "#jobs",
      username: "Edge Ticker",
      icon_emoji: ":warning:",
      text: '🔴 *Job "Send email" failed*',
      attachments: [
        {
          color: "danger",
          fields: facts.map((f) => ({ title: f.name, value: f.value, short: true })),
          footer: "Edge Ticker · job.failed",
          ts: 1705314690,
        },
      ],
    });
  });

  it("teams: a MessageCard as in the seed", () => {
    expect(render("teams").json).toEqual({
      "@type": "MessageCard",
      "@context": "https://schema.org/extensions",
      summary: 'Job "Send email" failed',
      themeColor: "FF0000",
      sections: [{ activityTitle: 'Job "Send email" failed', activitySubtitle: "2024-01-15T10:31:30.000Z", facts }],
    });
  });

  it("servicenow: an incident with urgency 1 for a failure", () => {
    expect(render("servicenow", { category: "Batch", assignmentGroup: "Ops" }).json).toEqual({
      short_description: 'Job "Send email" failed',
      description: `Job "Send email" failed at 2024-01-15T10:31:30.000Z.\n\n${factLines}\n\nEvent: job.failed (evt_1)`,
      category: "Batch",
      subcategory: "Job Scheduler",
      urgency: "1",
      impact: "2",
      caller_id: "edge_ticker",
      assignment_group: "Ops",
      correlation_id: "job-123",
    });
  });

  it("jira: an issue in the configured project with High priority for a failure", () => {
    expect(render("jira", { projectKey: "OPS" }).json).toEqual({
      fields: {
        project: { key: "OPS" },
        summary: 'Job "Send email" failed',
        description: `Job "Send email" failed at 2024-01-15T10:31:30.000Z.\n\nDetails:\n${factLines}\n\nEvent: job.failed (evt_1)`,
        issuetype: { name: "Bug" },
        priority: { name: "High" },
        labels: ["edge-ticker", "job-failed"],
      },
    });
  });

  it("splunk-hec: { time, host, source, sourcetype, index, event } with Authorization: Splunk <token>", () => {
    const { json, headers } = render("splunk-hec", { index: "jobs", source: "edge-ticker-prod", sourcetype: "tickerq" }, "hec-token-1");
    expect(json).toEqual({
      time: 1705314690,
      host: "edge-ticker",
      source: "edge-ticker-prod",
      sourcetype: "tickerq",
      index: "jobs",
      event: { event: "job.failed", eventId: "evt_1", timestamp: "2024-01-15T10:31:30.000Z", ...failed.data },
    });
    expect(headers.authorization).toBe("Splunk hec-token-1");
  });

  it("template: the seed's ServiceNow body with {{path}} and {{#eq}}", () => {
    const template = {
      short_description: "Job {{jobName}} is {{status}}",
      urgency: "{{#eq status 'failed'}}1{{else}}3{{/eq}}",
      attempt: "{{data.attempt}}",
    };
    expect(render("template", { template }).json).toEqual({ short_description: "Job Send email is failed", urgency: "1", attempt: "4" });
  });

  it("summarises queue events and alerts too", () => {
    const paused = renderBody({ id: "evt_2", type: "queue.paused", timestamp: failed.timestamp, data: { queue: "emails", status: "paused" } }, "teams", {}, null);
    expect(JSON.parse(paused.body)).toMatchObject({ summary: 'Queue "emails" paused', themeColor: "FFA500", sections: [{ facts: [{ name: "Queue", value: "emails" }, { name: "Status", value: "paused" }] }] });
    const alert = renderBody({ id: "evt_3", type: "system.alert", timestamp: failed.timestamp, data: { severity: "critical", message: "Endpoint disabled", webhookId: "whk_1" } }, "slack", {}, null);
    expect(JSON.parse(alert.body)).toMatchObject({ text: "🔴 *Alert: Endpoint disabled*", attachments: [{ color: "danger", fields: [{ title: "severity", value: "critical" }, { title: "webhookId", value: "whk_1" }] }] });
  });
});

describe("webhook formats escape event text for their markup and cap the body", () => {
  const hostile: StoredEvent = {
    ...failed,
    data: { ...failed.data, jobName: "<!channel> <https://evil.example|Reset your password> [click](https://evil.example) & *bold*", error: "<b>boom</b> [x|https://evil.example] {code}" },
  };
  const body = (format: Parameters<typeof renderBody>[1], options: Record<string, unknown> = {}) => JSON.parse(renderBody(hostile, format, options, null).body);

  it("slack: no mention and no disguised link survive; &, < and > are entities", () => {
    const slack = body("slack");
    const text = JSON.stringify(slack);
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<https://");
    expect(slack.text).toContain("&lt;!channel&gt; &lt;https://evil.example|Reset your password&gt;");
    expect(slack.text).toContain("&amp; *bold*");
    expect(slack.attachments[0].fields.find((f: { title: string }) => f.title === "Error").value).toBe("&lt;b&gt;boom&lt;/b&gt; [x|https://evil.example] {code}");
  });

  it("teams: no Markdown link, emphasis or HTML survives", () => {
    const teams = body("teams");
    const section = teams.sections[0];
    expect(section.activityTitle).toContain("\\[click\\](https://evil.example)");
    expect(section.activityTitle).toContain("&amp; \\*bold\\*");
    expect(section.activityTitle).not.toMatch(/<!channel>|(?<!\\)\[click/);
    expect(section.facts.find((f: { name: string }) => f.name === "Error").value).toBe("&lt;b&gt;boom&lt;/b&gt; \\[x|https://evil.example\\] {code}");
  });

  it("jira: no wiki link or macro survives in the description", () => {
    const { description, summary } = body("jira", { projectKey: "OPS" }).fields;
    expect(description).toContain("- Error: <b>boom</b> \\[x\\|https://evil.example\\] \\{code\\}");
    expect(description).not.toMatch(/(?<!\\)\[x\|/);
    expect(summary).toContain("[click](https://evil.example)"); // the summary is plain text
  });

  it("template: values are escaped for the content type, not always for JSON", () => {
    const template = (t: string, contentType: string) => renderBody(hostile, "template", { template: t, contentType }, null).body;
    expect(template("<job><name>{{jobName}}</name></job>", "application/xml")).toBe(
      "<job><name>&lt;!channel&gt; &lt;https://evil.example|Reset your password&gt; [click](https://evil.example) &amp; *bold*</name></job>",
    );
    expect(template('Job "{{jobName}}" failed:\n{{error}}', "text/plain")).toBe(`Job "${hostile.data.jobName}" failed:\n${hostile.data.error}`);
    expect(template("name={{jobName}}&status={{status}}", "application/x-www-form-urlencoded")).toBe(`name=${encodeURIComponent(String(hostile.data.jobName))}&status=failed`);
    expect(JSON.parse(template('{"name":"{{jobName}}"}', "application/vnd.api+json")).name).toBe(hostile.data.jobName);
  });

  it("caps the rendered body: a template that repeats a large value fails instead of growing without bound", () => {
    const big: StoredEvent = { ...failed, data: { ...failed.data, result: { text: "x".repeat(100_000) } } };
    expect(() => renderBody(big, "template", { template: `{"a":{{result}},"b":{{result}},"c":{{result}}}` }, null)).toThrow(/longer than 262144 characters/);
    expect(renderBody(big, "json", {}, null).body.length).toBeGreaterThan(100_000);
    const huge: StoredEvent = { ...failed, data: { ...failed.data, result: { text: "x".repeat(300_000) } } };
    expect(() => renderBody(huge, "json", {}, null)).toThrow(/over the 256 KB limit/);
  });
});
