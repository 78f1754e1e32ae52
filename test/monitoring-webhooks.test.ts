import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventStatements } from "../src/events/publisher";
import { makeEvent } from "../src/model/events";
import { rollupSink } from "../src/metrics/rollup-sink";
import { renderBody } from "../src/webhooks/formats";
import { targetUrl } from "./helpers";
import { endpointStatusChange } from "./monitoring-helpers";
import { webhookFactory } from "./webhook-helpers";

const change = (status: "online" | "offline", previousStatus: "online" | "offline", responseTime: number | null) =>
  endpointStatusChange({ status, previousStatus, responseTime });
const offline = makeEvent("endpoint.status_changed", change("offline", "online", null), Date.parse("2024-01-15T10:30:01Z"));
const online = makeEvent("endpoint.status_changed", change("online", "offline", 2.5), Date.parse("2024-01-15T10:30:01Z"));
const template = (event: typeof offline, source: unknown) => JSON.parse(renderBody(event, "template", { template: source }, null).body);

// Seed 002's examples, verbatim (the Slack emoji as the seed spells them).
const SLACK = {
  text: "{{#eq status 'offline'}}ðŸ”´{{else}}ðŸŸ¢{{/eq}} *{{endpoint.name}}* is now *{{status}}*",
  attachments: [
    {
      color: "{{#eq status 'offline'}}danger{{else}}good{{/eq}}",
      fields: [
        { title: "Address", value: "{{endpoint.address}}", short: true },
        { title: "Group", value: "{{endpoint.group}}", short: true },
        { title: "Response Time", value: "{{response_time}}ms", short: true },
      ],
    },
  ],
};
const TEAMS = {
  "@type": "MessageCard",
  "@context": "https://schema.org/extensions",
  summary: "Network Alert",
  themeColor: "{{#eq status 'offline'}}FF0000{{else}}00FF00{{/eq}}",
  sections: [
    {
      activityTitle: "{{endpoint.name}} Status Change",
      activitySubtitle: "{{timestamp}}",
      facts: [
        { name: "Status", value: "{{status}}" },
        { name: "Address", value: "{{endpoint.address}}" },
        { name: "Response Time", value: "{{response_time}}ms" },
      ],
    },
  ],
};
const SERVICENOW = {
  short_description: "Network endpoint {{endpoint.name}} is {{status}}",
  description: "Endpoint {{endpoint.name}} ({{endpoint.address}}) changed from {{previous_status}} to {{status}} at {{timestamp}}",
  category: "Network",
  subcategory: "Monitoring",
  urgency: "{{#eq status 'offline'}}1{{else}}3{{/eq}}",
  impact: "2",
  caller_id: "monitoring_system",
};
const JIRA = {
  fields: {
    project: { key: "NET" },
    summary: "Network Alert: {{endpoint.name}} is {{status}}",
    description:
      "Monitoring endpoint {{endpoint.name}} has changed status to {{status}}.\n\nDetails:\n- Address: {{endpoint.address}}\n- Group: {{endpoint.group}}\n- Response Time: {{response_time}}ms\n- Timestamp: {{timestamp}}",
    issuetype: { name: "Bug" },
    priority: { name: "{{#eq status 'offline'}}High{{else}}Medium{{/eq}}" },
  },
};

describe("seed 002 templates rendered with an endpoint.status_changed", () => {
  it("Slack messageTemplate", () => {
    expect(template(offline, SLACK)).toEqual({
      text: "ðŸ”´ *router-01* is now *offline*",
      attachments: [
        {
          color: "danger",
          fields: [
            { title: "Address", value: "192.168.1.1", short: true },
            { title: "Group", value: "network", short: true },
            { title: "Response Time", value: "ms", short: true },
          ],
        },
      ],
    });
    expect(template(online, SLACK)).toMatchObject({ text: "ðŸŸ¢ *router-01* is now *online*", attachments: [{ color: "good", fields: [{}, {}, { value: "2.5ms" }] }] });
  });

  it("Teams card", () => {
    expect(template(online, TEAMS)).toEqual({
      "@type": "MessageCard",
      "@context": "https://schema.org/extensions",
      summary: "Network Alert",
      themeColor: "00FF00",
      sections: [
        {
          activityTitle: "router-01 Status Change",
          activitySubtitle: "2024-01-15T10:30:00.000Z",
          facts: [
            { name: "Status", value: "online" },
            { name: "Address", value: "192.168.1.1" },
            { name: "Response Time", value: "2.5ms" },
          ],
        },
      ],
    });
    expect(template(offline, TEAMS).themeColor).toBe("FF0000");
  });

  it("ServiceNow body", () => {
    expect(template(offline, SERVICENOW)).toEqual({
      short_description: "Network endpoint router-01 is offline",
      description: "Endpoint router-01 (192.168.1.1) changed from online to offline at 2024-01-15T10:30:00.000Z",
      category: "Network",
      subcategory: "Monitoring",
      urgency: "1",
      impact: "2",
      caller_id: "monitoring_system",
    });
    expect(template(online, SERVICENOW).urgency).toBe("3");
  });

  it("Jira payload", () => {
    expect(template(online, JIRA)).toEqual({
      fields: {
        project: { key: "NET" },
        summary: "Network Alert: router-01 is online",
        description: "Monitoring endpoint router-01 has changed status to online.\n\nDetails:\n- Address: 192.168.1.1\n- Group: network\n- Response Time: 2.5ms\n- Timestamp: 2024-01-15T10:30:00.000Z",
        issuetype: { name: "Bug" },
        priority: { name: "Medium" },
      },
    });
    expect(template(offline, JIRA).fields.priority.name).toBe("High");
  });

  it("endpoint.id and the value types outside strings", () => {
    expect(template(online, { id: "{{endpoint.id}}", rt: "{{response_time}}" })).toEqual({ id: "ep-123", rt: "2.5" });
    expect(JSON.parse(renderBody(online, "template", { template: '{"rt":{{response_time}},"was":{{previous_status}}}' }, null).body)).toEqual({ rt: 2.5, was: "offline" });
  });

  it("Splunk HEC carries seed 002's event fields", () => {
    const rendered = renderBody(online, "splunk-hec", { index: "network_monitoring", source: "thingconnect_pulse", sourcetype: "network_monitoring", host: "pulse-monitor" }, "hec-token");
    expect(rendered.headers.authorization).toBe("Splunk hec-token");
    expect(JSON.parse(rendered.body)).toEqual({
      time: Date.parse(online.timestamp) / 1000,
      host: "pulse-monitor",
      source: "thingconnect_pulse",
      sourcetype: "network_monitoring",
      index: "network_monitoring",
      event: expect.objectContaining({ endpoint: "router-01", status: "online", response_time: 2.5, group: "network", timestamp: "2024-01-15T10:30:00.000Z" }),
    });
  });

  it("the built-in chat and ticket formats name the endpoint, not an alert", () => {
    const slack = JSON.parse(renderBody(offline, "slack", {}, null).body);
    expect(slack.text).toBe('🔴 *Endpoint "router-01" is offline*');
    expect(slack.attachments[0].fields).toEqual(expect.arrayContaining([{ title: "Address", value: "192.168.1.1", short: true }]));
    const jira = JSON.parse(renderBody(online, "jira", { projectKey: "NET" }, null).body);
    expect(jira.fields.summary).toBe('Endpoint "router-01" is online');
    expect(jira.fields.priority.name).toBe("Medium");
  });
});

describe("endpoint.status_changed through the webhook outbox", () => {
  const createWebhook = webhookFactory();
  const statusChangeGuard = (id: string) => ({ sql: "EXISTS (SELECT 1 FROM endpoint_status_changes WHERE id = ?)", params: [id] });

  it("a subscription may name it, with a seed 002 template; a delivery row is written only when the change committed", async () => {
    const hook = await createWebhook({ url: `${targetUrl()}/ok/ep-hook`, events: ["endpoint.status_changed"], format: "template", formatOptions: { template: SLACK } });
    expect(hook.events).toEqual(["endpoint.status_changed"]);
    const committed = makeEvent("endpoint.status_changed", change("offline", "online", null));
    const lost = makeEvent("endpoint.status_changed", change("online", "offline", 3));
    const insert = env.DB.prepare("INSERT INTO endpoint_status_changes (id, endpoint_id, at, status, previous_status, response_time_ms) VALUES (?, 'ep-123', ?, 'offline', 'online', NULL)").bind("esc_committed", Date.now());
    await env.DB.batch([
      insert,
      ...eventStatements(env, [
        { event: committed, guard: statusChangeGuard("esc_committed") },
        { event: lost, guard: statusChangeGuard("esc_never_written") },
      ]),
    ]);
    const { results } = await env.DB.prepare("SELECT event_id, event_type, payload FROM webhook_deliveries WHERE endpoint_id = ?").bind(hook.id).all<{ event_id: string; event_type: string; payload: string }>();
    expect(results.map((r) => r.event_id)).toEqual([committed.id]);
    expect(results[0].event_type).toBe("endpoint.status_changed");
    expect(JSON.parse(results[0].payload)).toEqual(committed);
  });

  it("job metrics rollups ignore it", () => {
    expect(rollupSink.statements!(env, [{ event: online, guard: statusChangeGuard("x") }])).toEqual([]);
  });
});
