import { endpointChange, endpointSplunkEvent, isEndpointEvent } from "./endpoint-event";
import { jiraText, slackText, teamsText } from "./escape";
import { escapingFor, parseTemplate, renderTemplate, templateContext, TemplateError } from "./template";
import type { Format, StoredEvent } from "./model";

export type RenderedBody = { body: string; headers: Record<string, string> };
type Options = Record<string, unknown>;
type Severity = "critical" | "warning" | "good" | "info";
type Fact = { name: string; value: string };
type Summary = { title: string; severity: Severity; facts: Fact[] };

const JSON_TYPE = "application/json";
const SLACK_COLORS: Record<Severity, string> = { critical: "danger", warning: "warning", good: "good", info: "#439FE0" };
const TEAMS_COLORS: Record<Severity, string> = { critical: "FF0000", warning: "FFA500", good: "00FF00", info: "0078D7" };
const SLACK_ICONS: Record<Severity, string> = { critical: "🔴", warning: "🟠", good: "🟢", info: "🔵" };

/**
 * No rendered body is larger than this. Job events stay well below it (a result is at most 128 KB,
 * chat facts are cut at 1000 characters); a template that repeats large values does not.
 */
export const MAX_RENDERED_BODY_BYTES = 256 * 1024;

export class BodyTooLargeError extends Error {}

/** Renders one event into the request body (and format headers) an endpoint of this format receives. */
export function renderBody(event: StoredEvent, format: Format, options: Options, token: string | null): RenderedBody {
  const rendered = renderUncapped(event, format, options, token);
  const bytes = new TextEncoder().encode(rendered.body).byteLength;
  if (bytes > MAX_RENDERED_BODY_BYTES) throw new BodyTooLargeError(`The ${format} body of this ${event.type} event is ${bytes} bytes, over the ${MAX_RENDERED_BODY_BYTES / 1024} KB limit`);
  return rendered;
}

function renderUncapped(event: StoredEvent, format: Format, options: Options, token: string | null): RenderedBody {
  switch (format) {
    case "json":
      return json({ event: event.type, timestamp: event.timestamp, data: event.data });
    case "slack":
      return json(slack(event, summarize(event), options));
    case "teams":
      return json(teams(event, summarize(event), options));
    case "servicenow":
      return json(servicenow(event, summarize(event), options));
    case "jira":
      return json(jira(event, summarize(event), options));
    case "splunk-hec":
      return { ...json(splunk(event, options)), headers: { "content-type": JSON_TYPE, authorization: `Splunk ${token ?? ""}` } };
    case "template":
      return template(event, options);
  }
}

const json = (value: unknown): RenderedBody => ({ body: JSON.stringify(value), headers: { "content-type": JSON_TYPE } });

function template(event: StoredEvent, options: Options): RenderedBody {
  const source = typeof options.template === "string" ? options.template : JSON.stringify(options.template);
  const contentType = typeof options.contentType === "string" ? options.contentType : JSON_TYPE;
  const escaping = escapingFor(contentType);
  const body = renderTemplate(parseTemplate(source), templateContext(event), escaping, MAX_RENDERED_BODY_BYTES);
  if (escaping === "json") {
    try {
      JSON.parse(body);
    } catch {
      throw new TemplateError("rendered a body that is not valid JSON (is a placeholder outside quotes where a string belongs?)");
    }
  }
  return { body, headers: { "content-type": contentType } };
}

const str = (v: unknown): string | null => (v == null || v === "" ? null : typeof v === "string" ? v : JSON.stringify(v));

/** A neutral view of any event that the chat and ticketing formats lay out in their own way. */
export function summarize(event: StoredEvent): Summary {
  const d = event.data;
  const facts: Fact[] = [];
  const add = (name: string, value: unknown) => {
    const s = str(value);
    if (s != null) facts.push({ name, value: s.length > 1000 ? `${s.slice(0, 999)}…` : s });
  };
  if (event.type.startsWith("job.")) {
    const verb = { "job.started": "started", "job.completed": "completed", "job.failed": "failed", "job.cancelled": "was cancelled", "job.retrying": "failed and will be retried" }[event.type] ?? event.type;
    const severity: Severity = event.type === "job.failed" ? "critical" : event.type === "job.retrying" || event.type === "job.cancelled" ? "warning" : event.type === "job.completed" ? "good" : "info";
    add("Job", d.jobName);
    add("Job ID", d.jobId);
    add("Type", d.jobType);
    add("Queue", d.queue);
    add("Status", d.status);
    if (typeof d.attempt === "number" && typeof d.maxRetries === "number") add("Attempt", `${d.attempt} of ${d.maxRetries + 1}`);
    add("Duration", d.duration);
    add("Error", d.error);
    add("Next retry", d.nextRetryAt);
    return { title: `Job "${str(d.jobName) ?? str(d.jobId)}" ${verb}`, severity, facts };
  }
  if (event.type.startsWith("queue.")) {
    const verb = { "queue.paused": "paused", "queue.resumed": "resumed", "queue.cleared": "cleared" }[event.type] ?? event.type;
    add("Queue", d.queue);
    add("Status", d.status);
    add("Cleared pending jobs", d.clearedPending);
    add("Cleared failed jobs", d.clearedFailed);
    return { title: `Queue "${str(d.queue)}" ${verb}`, severity: event.type === "queue.paused" ? "warning" : "info", facts };
  }
  const change = isEndpointEvent(event.type) ? endpointChange(d) : null;
  if (change) {
    add("Endpoint", change.name);
    add("Endpoint ID", change.endpointId);
    add("Address", change.address);
    add("Group", change.group);
    add("Status", change.status);
    add("Previous status", change.previousStatus);
    add("Response time", change.responseTime == null ? null : `${change.responseTime} ms`);
    add("Checked at", change.changedAt);
    return { title: `Endpoint "${change.name}" is ${change.status}`, severity: change.status === "offline" ? "critical" : change.status === "online" ? "good" : "info", facts };
  }
  for (const [k, v] of Object.entries(d)) if (k !== "message") add(k, v);
  return { title: `Alert: ${str(d.message) ?? event.type}`, severity: d.severity === "info" ? "info" : d.severity === "warning" ? "warning" : "critical", facts };
}

const factText = (s: Summary, escape: (t: string) => string = (t) => t) => s.facts.map((f) => `- ${escape(f.name)}: ${escape(f.value)}`).join("\n");

function slack(event: StoredEvent, s: Summary, o: Options) {
  return {
    ...(o.channel ? { channel: o.channel } : {}),
    ...(o.username ? { username: o.username } : {}),
    ...(o.iconEmoji ? { icon_emoji: o.iconEmoji } : {}),
    text: `${SLACK_ICONS[s.severity]} *${slackText(s.title)}*`,
    attachments: [
      {
        color: SLACK_COLORS[s.severity],
        fields: s.facts.map((f) => ({ title: slackText(f.name), value: slackText(f.value), short: f.value.length <= 40 })),
        footer: `Edge Ticker · ${slackText(event.type)}`,
        ts: Math.floor(Date.parse(event.timestamp) / 1000),
      },
    ],
  };
}

function teams(event: StoredEvent, s: Summary, o: Options) {
  return {
    "@type": "MessageCard",
    "@context": "https://schema.org/extensions",
    summary: typeof o.title === "string" ? o.title : s.title,
    themeColor: TEAMS_COLORS[s.severity],
    sections: [{ activityTitle: teamsText(s.title), activitySubtitle: event.timestamp, facts: s.facts.map((f) => ({ name: teamsText(f.name), value: teamsText(f.value) })) }],
  };
}

function servicenow(event: StoredEvent, s: Summary, o: Options) {
  return {
    short_description: s.title.slice(0, 160),
    description: `${s.title} at ${event.timestamp}.\n\n${factText(s)}\n\nEvent: ${event.type} (${event.id})`,
    category: o.category ?? "Software",
    subcategory: o.subcategory ?? "Job Scheduler",
    urgency: s.severity === "critical" ? "1" : s.severity === "warning" ? "2" : "3",
    impact: o.impact ?? "2",
    caller_id: o.callerId ?? "edge_ticker",
    ...(o.assignmentGroup ? { assignment_group: o.assignmentGroup } : {}),
    correlation_id: str(event.data.jobId) ?? str(event.data.endpointId) ?? event.id,
  };
}

function jira(event: StoredEvent, s: Summary, o: Options) {
  return {
    fields: {
      project: { key: o.projectKey },
      summary: s.title.slice(0, 255),
      description: `${jiraText(s.title)} at ${event.timestamp}.\n\nDetails:\n${factText(s, jiraText)}\n\nEvent: ${event.type} (${event.id})`,
      issuetype: { name: o.issueType ?? "Bug" },
      priority: { name: s.severity === "critical" ? "High" : "Medium" },
      labels: ["edge-ticker", event.type.replace(/\./g, "-")],
    },
  };
}

function splunk(event: StoredEvent, o: Options) {
  const change = isEndpointEvent(event.type) ? endpointChange(event.data) : null;
  return {
    time: Date.parse(event.timestamp) / 1000,
    host: o.host ?? "edge-ticker",
    source: o.source ?? "edge-ticker",
    sourcetype: o.sourcetype ?? "tickerq:event",
    ...(o.index ? { index: o.index } : {}),
    event: change ? endpointSplunkEvent(change, event) : { event: event.type, eventId: event.id, timestamp: event.timestamp, ...event.data },
  };
}

/** A representative event of each type, used to check a template when it is saved and in the docs. */
export function sampleEvent(type: string): StoredEvent {
  const timestamp = "2024-01-15T10:31:30.000Z";
  if (type.startsWith("queue.")) {
    const data: Record<string, unknown> = { queue: "emails", status: type === "queue.paused" ? "paused" : "running" };
    if (type === "queue.cleared") Object.assign(data, { clearedPending: 4, clearedFailed: 1 });
    return { id: "evt_sample", type, timestamp, data };
  }
  if (type === "endpoint.status_changed") {
    return {
      id: "evt_sample",
      type,
      timestamp,
      data: { endpointId: "ep-123", name: "router-01", address: "192.168.1.1", group: "network", type: "tcp", status: "offline", previousStatus: "online", responseTime: null, changedAt: "2024-01-15T10:30:00.000Z" },
    };
  }
  if (type === "system.alert") {
    return {
      id: "evt_sample",
      type,
      timestamp,
      data: { alert: "webhook_endpoint_disabled", severity: "critical", message: "Webhook endpoint whk_sample (example.com) was disabled: 10 consecutive failed deliveries", webhookId: "whk_sample", host: "example.com", consecutiveFailures: 10, reason: "HTTP 500" },
    };
  }
  const status = { "job.started": "running", "job.completed": "completed", "job.failed": "failed", "job.cancelled": "cancelled", "job.retrying": "pending" }[type] ?? "completed";
  return {
    id: "evt_sample",
    type,
    timestamp,
    data: {
      jobId: "job-123",
      jobType: "EmailNotificationJob",
      jobName: "Send \"welcome\" email\nto new user",
      queue: "emails",
      status,
      previousStatus: "running",
      priority: "normal",
      attempt: 1,
      retryCount: 0,
      maxRetries: 3,
      scheduledAt: "2024-01-15T10:31:00.000Z",
      startedAt: "2024-01-15T10:31:00.000Z",
      completedAt: status === "running" ? null : timestamp,
      duration: status === "running" ? null : "00:00:30",
      durationMs: status === "running" ? null : 30_000,
      result: status === "completed" ? { messageId: "msg-456", deliveryStatus: "delivered" } : null,
      error: status === "failed" || status === "pending" ? "SMTP server said \"421 try later\"" : null,
      nextRetryAt: status === "pending" ? "2024-01-15T10:32:00.000Z" : null,
    },
  };
}
