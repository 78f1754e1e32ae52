// Overview: the health verdict and its reasons, job counts, throughput and failure charts, one card per queue.
import { api, query } from "../api.js";
import { badge, barChart, fill, h, num } from "../ui.js";
import { livePage } from "./common.js";

export function overviewPage(ctx) {
  const health = h("section", { class: "panel", "aria-labelledby": "health-h" });
  const counts = h("section", { class: "grid", "aria-label": "Job counts" });
  const charts = h("section", { class: "cols", "aria-label": "Charts" });
  const queues = h("section", { class: "grid", "aria-label": "Queues" });
  const el = h("div", {}, h("h1", {}, "Overview"), health, h("h2", {}, "Jobs"), counts, h("h2", {}, "Throughput"), charts, h("h2", {}, "Queues"), queues);

  async function load() {
    const hourFrom = new Date(Date.now() - 23 * 3600_000).toISOString();
    const [system, q, hours, days] = await Promise.all([
      api("/metrics/system"),
      api("/queues"),
      api(`/metrics/performance${query({ granularity: "hour", from: hourFrom })}`),
      api(`/metrics/performance${query({ granularity: "day" })}`),
    ]);
    fill(
      health,
      h("div", { class: "row" }, h("h2", { id: "health-h" }, "Health"), badge(system.systemHealth)),
      system.reasons?.length ? h("ul", {}, system.reasons.map((r) => h("li", {}, r))) : h("p", { class: "muted" }, "All checks pass."),
    );
    const sum = (k) => q.queues.reduce((n, x) => n + (x[k] ?? 0), 0);
    fill(
      counts,
      [["Pending", "pendingJobs", "pending"], ["Running", "runningJobs", "running"], ["Completed", "completedJobs", "completed"], ["Failed", "failedJobs", "failed"]].map(([label, key, status]) =>
        h("a", { class: "panel", href: `#/jobs?status=${status}` }, h("div", { class: "muted" }, label), h("div", { class: "stat", "data-count": status }, num(sum(key)))),
      ),
    );
    const failureRate = (s) => (s.jobsExecuted ? ((s.failedJobs ?? 0) * 100) / s.jobsExecuted : 0);
    fill(
      charts,
      barChart("Jobs finished per hour, last 24 h (line: failure rate)", hours.trends, (s) => s.jobsExecuted, failureRate),
      barChart("Jobs finished per day, last 7 days (line: failure rate)", days.trends, (s) => s.jobsExecuted, failureRate),
    );
    fill(
      queues,
      q.queues.length
        ? q.queues.map((x) =>
            h(
              "article",
              { class: "panel" },
              h("div", { class: "row" }, h("h3", {}, h("a", { href: `#/jobs?queue=${encodeURIComponent(x.name)}` }, x.name)), badge(x.status)),
              h("dl", { class: "kv" }, h("dt", {}, "pending / running"), h("dd", {}, `${num(x.pendingJobs)} / ${num(x.runningJobs)}`), h("dt", {}, "completed / failed"), h("dd", {}, `${num(x.completedJobs)} / ${num(x.failedJobs)}`), h("dt", {}, "last hour"), h("dd", {}, `${num(x.throughput?.jobsPerHour)} jobs`), h("dt", {}, "workers"), h("dd", {}, num(x.workers))),
            ),
          )
        : h("p", { class: "muted" }, "No queues yet: schedule a job to create one."),
    );
  }

  return livePage(ctx, { title: "Overview", el, load });
}
