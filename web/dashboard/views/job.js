// Job detail: parameters and result, error, the attempts as a timeline, live logs and progress, and its actions.
import { api } from "../api.js";
import { subscribeExtra } from "../live.js";
import { actionButton, badge, fill, h, json, toast, when } from "../ui.js";
import { livePage } from "./common.js";

export function jobPage(ctx) {
  const [id] = ctx.params;
  const head = h("div", { class: "row" });
  const progress = h("div");
  const actions = h("div", { class: "row", role: "group", "aria-label": "Job actions" });
  const facts = h("dl", { class: "kv" });
  const params = h("div");
  const result = h("div");
  const error = h("div");
  const timeline = h("ol", { class: "timeline", "aria-label": "Attempts" });
  const logs = h("div", { class: "logs panel", role: "log", "aria-label": "Log lines", tabindex: "0" });
  const el = h(
    "div",
    {},
    h("p", {}, h("a", { href: "#/jobs" }, "← Jobs")),
    head,
    progress,
    actions,
    h("div", { class: "cols" }, h("section", { class: "panel" }, h("h2", {}, "Details"), facts), h("section", { class: "panel" }, h("h2", {}, "Attempts"), timeline)),
    h("div", { class: "cols" }, h("section", {}, h("h2", {}, "Parameters"), params), h("section", {}, h("h2", {}, "Result"), result)),
    error,
    h("h2", {}, "Logs"),
    logs,
  );
  let job = null;
  const w = "tickerq:write";
  const act = (path, body, message) => async () => {
    await api(`/jobs/${encodeURIComponent(id)}/${path}`, { method: "POST", body });
    toast(message);
    page.reload();
  };

  function renderProgress(percent, message) {
    if (job?.status !== "running" || percent == null) return fill(progress);
    const bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(percent)), "aria-label": "Progress" }, h("span", { style: { width: `${percent}%` } }));
    fill(progress, h("p", { class: "muted" }, `${Math.round(percent)} %${message ? ` · ${message}` : ""}`), bar);
  }

  // Lines seen live are stored only when the attempt ends: keep them across reloads until the API has them.
  const liveLines = [];
  const lineKey = (l) => `${l.createdAt}|${l.message}`;

  function addLogLines(lines) {
    for (const l of lines) logs.append(h("div", {}, h("span", { class: "muted" }, `${when(l.createdAt)} ${l.level.toUpperCase()} `), l.stepName ? `[${l.stepName}] ` : "", l.message));
    logs.scrollTop = logs.scrollHeight;
  }

  async function load() {
    const [j, l] = await Promise.all([api(`/jobs/${encodeURIComponent(id)}`), api(`/jobs/${encodeURIComponent(id)}/logs`)]);
    job = j;
    fill(head, h("h1", {}, j.name || j.id), badge(j.status), j.cancelRequested && j.status === "running" ? h("span", { class: "muted" }, "cancel requested") : null);
    renderProgress(j.progress?.percent, j.progress?.message);
    const cancellable = j.status === "pending" || (j.status === "running" && !j.cancelRequested);
    fill(
      actions,
      cancellable ? actionButton(ctx.session, w, "Cancel", act("cancel", undefined, j.status === "running" ? "Cancel requested." : "Cancelled."), { class: "danger" }) : null,
      j.status === "failed" || j.status === "cancelled" ? actionButton(ctx.session, w, "Retry", act("retry", { resetRetryCount: false }, "Retrying.")) : null,
      j.status !== "running" ? actionButton(ctx.session, w, "Run again", act("execute", {}, "Queued to run again."), { class: "ghost" }) : null,
    );
    const fact = (k, v) => [h("dt", {}, k), h("dd", {}, v ?? "—")];
    fill(
      facts,
      fact("Id", j.id), fact("Type", j.type), fact("Queue", j.queue), fact("Priority", j.priority),
      fact("Created", when(j.createdAt)), fact("Scheduled", when(j.scheduledAt)), fact("Started", when(j.executedAt)), fact("Finished", when(j.completedAt)),
      fact("Duration", j.duration), fact("Retries", `${j.retryCount} of ${j.maxRetries}`), fact("Timeout", j.timeoutSeconds == null ? null : `${j.timeoutSeconds} s`),
      j.recurringId ? fact("Recurring job", h("a", { href: "#/recurring" }, j.recurringId)) : null,
    );
    fill(params, json(j.parameters));
    fill(result, j.result == null ? h("p", { class: "muted" }, "No result yet.") : json(j.result));
    fill(error, j.error ? [h("h2", {}, "Error"), h("pre", { class: "error" }, j.error)] : null);
    fill(
      timeline,
      j.executionHistory.length
        ? j.executionHistory.map((a) => h("li", { class: a.status }, h("strong", {}, `Attempt ${a.attempt}`), " ", badge(a.status), h("div", { class: "muted" }, `${when(a.startedAt)} · ${a.duration ?? "running"}`), a.error ? h("div", { class: "error" }, a.error) : null, a.retryAt ? h("div", { class: "muted" }, `retry at ${when(a.retryAt)}`) : null))
        : h("li", {}, "Not started yet."),
    );
    fill(logs);
    const stored = new Set(l.logs.map(lineKey));
    const lines = [...l.logs, ...liveLines.filter((x) => !stored.has(lineKey(x)))];
    addLogLines(lines);
    if (!lines.length) logs.append(h("div", { class: "muted" }, "No log lines yet."));
  }

  const unsubscribe = subscribeExtra(`job:${id}`, ["job-progress", "job-logs"], { jobId: id });
  const page = livePage(ctx, {
    title: `Job ${id}`,
    el,
    load,
    matters: (m) => m.type === "job-status-changed" && m.data?.jobId === id,
    onMessage: (m) => {
      if (m.data?.jobId !== id) return;
      if (m.type === "job-progress") renderProgress(m.data.percent, m.data.message);
      if (m.type === "job-logs") {
        logs.querySelector(".muted:only-child")?.remove();
        liveLines.push(...m.data.logs);
        addLogLines(m.data.logs);
      }
    },
  });
  const dispose = page.dispose;
  page.dispose = () => {
    unsubscribe();
    dispose();
  };
  return page;
}
