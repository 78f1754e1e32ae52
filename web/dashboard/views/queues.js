// Queues: status, counts, throughput, workers and rate limit (editable); pause / resume / clear with confirmations.
import { api } from "../api.js";
import { actionButton, badge, confirmDialog, fill, h, num, toast } from "../ui.js";
import { livePage } from "./common.js";

export function queuesPage(ctx) {
  const list = h("div", { class: "grid" });
  const el = h("div", {}, h("h1", {}, "Queues"), list);
  // Configure, pause, resume and clear need the queue-admin scope (admin implies it).
  const w = "tickerq:queue-admin";
  const path = (name, action = "") => `/queues/${encodeURIComponent(name)}${action}`;
  const jobs = (n) => `${num(n)} ${n === 1 ? "job" : "jobs"}`;

  function card(q) {
    const s = q.settings ?? {};
    const canAdminister = ctx.session.can(w);
    const idp = `q-${q.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const settings = h(
      "form",
      {
        class: "row",
        "aria-label": `Settings of ${q.name}`,
        onsubmit: async (e) => {
          e.preventDefault();
          const data = new FormData(e.target);
          const limit = String(data.get("limit") ?? "").trim();
          const interval = String(data.get("interval") ?? "").trim();
          try {
            await api(path(q.name), { method: "PATCH", body: { workers: Number(data.get("workers")), rateLimit: limit ? { limit: Number(limit), intervalSeconds: Number(interval || 1) } : null } });
            toast(`Saved ${q.name}.`);
            page.reload();
          } catch (err) {
            toast(err.message, true);
          }
        },
      },
      h("label", { for: `${idp}-w` }, "Workers", h("input", { id: `${idp}-w`, name: "workers", type: "number", min: 1, max: 1000, value: q.workers, disabled: !canAdminister, size: 5 })),
      h("label", { for: `${idp}-l` }, "Rate limit (starts)", h("input", { id: `${idp}-l`, name: "limit", type: "number", min: 1, value: s.rateLimit?.limit ?? "", placeholder: "none", disabled: !canAdminister, size: 6 })),
      h("label", { for: `${idp}-i` }, "per seconds", h("input", { id: `${idp}-i`, name: "interval", type: "number", min: 1, value: s.rateLimit?.intervalSeconds ?? "", disabled: !canAdminister, size: 5 })),
      h("button", { type: "submit", class: "ghost", disabled: !canAdminister, title: canAdminister ? null : "Needs the tickerq:queue-admin scope" }, "Save"),
    );
    const paused = q.status === "paused";
    return h(
      "article",
      { class: "panel", "data-queue": q.name },
      h("div", { class: "row" }, h("h2", {}, h("a", { href: `#/jobs?queue=${encodeURIComponent(q.name)}` }, q.name)), badge(q.status)),
      h(
        "dl",
        { class: "kv" },
        h("dt", {}, "pending"), h("dd", { "data-count": "pending" }, num(q.pendingJobs)),
        h("dt", {}, "running"), h("dd", {}, num(q.runningJobs)),
        h("dt", {}, "completed / failed"), h("dd", {}, `${num(q.completedJobs)} / ${num(q.failedJobs)}`),
        h("dt", {}, "throughput"), h("dd", {}, `${num(q.throughput?.jobsPerHour)} / h · ${q.throughput?.jobsPerMinute ?? 0} / min`),
      ),
      settings,
      h(
        "div",
        { class: "row" },
        paused
          ? actionButton(ctx.session, w, "Resume", async () => {
              if (!(await confirmDialog(`Resume ${q.name}?`, `${jobs(q.pendingJobs)} waiting in ${q.name} can start again.`, "Resume"))) return;
              await api(path(q.name, "/resume"), { method: "POST" });
              toast(`Resumed ${q.name}.`);
              page.reload();
            })
          : actionButton(ctx.session, w, "Pause", async () => {
              if (!(await confirmDialog(`Pause ${q.name}?`, `${jobs(q.pendingJobs)} pending in ${q.name} will wait until it is resumed; ${jobs(q.runningJobs)} running will finish.`, "Pause"))) return;
              await api(path(q.name, "/pause"), { method: "POST" });
              toast(`Paused ${q.name}.`);
              page.reload();
            }),
        actionButton(ctx.session, w, "Clear pending", async () => {
          if (!(await confirmDialog(`Clear ${q.name}?`, `This deletes ${jobs(q.pendingJobs)} pending in ${q.name}, with their history.`, `Delete ${jobs(q.pendingJobs)}`))) return;
          const res = await api(path(q.name, "/clear"), { body: { clearPending: true, clearFailed: false } });
          toast(`Cleared ${jobs(res.clearedPending)} from ${q.name}.`);
          page.reload();
        }, { class: "danger" }),
        actionButton(ctx.session, w, "Clear failed", async () => {
          if (!(await confirmDialog(`Clear failed jobs of ${q.name}?`, `This deletes ${jobs(q.failedJobs)} failed in ${q.name}, with their history.`, `Delete ${jobs(q.failedJobs)}`))) return;
          const res = await api(path(q.name, "/clear"), { body: { clearPending: false, clearFailed: true } });
          toast(`Cleared ${jobs(res.clearedFailed)} from ${q.name}.`);
          page.reload();
        }, { class: "ghost" }),
      ),
    );
  }

  async function load() {
    const { queues } = await api("/queues");
    const detailed = await Promise.all(queues.map((q) => api(path(q.name)).catch(() => q)));
    // Keep the focus where it was when the cards are rebuilt by a live update.
    const focused = document.activeElement?.id;
    fill(list, detailed.length ? detailed.map(card) : h("p", { class: "muted" }, "No queues yet."));
    if (focused) document.getElementById(focused)?.focus();
  }

  const page = livePage(ctx, { title: "Queues", el, load, matters: (m) => (m.type === "queue-metrics-updated" || m.type === "job-status-changed") && !editing() });
  // A live update does not throw away settings someone is typing.
  const editing = () => document.activeElement?.tagName === "INPUT" && list.contains(document.activeElement);
  return page;
}
