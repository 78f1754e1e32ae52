// Recurring jobs: the cron in words, time zone, next runs and last result; enable / disable, trigger now, edit.
import { api } from "../api.js";
import { cronInWords } from "../cron-words.js";
import { actionButton, ago, badge, fill, h, toast } from "../ui.js";
import { livePage } from "./common.js";

export function recurringPage(ctx) {
  const tbody = h("tbody");
  const el = h(
    "div",
    {},
    h("h1", {}, "Recurring jobs"),
    h(
      "div",
      { class: "table-wrap" },
      h("table", { "aria-label": "Recurring jobs" }, h("thead", {}, h("tr", {}, ["Name", "Schedule", "Time zone", "Next runs", "Last run", "Actions"].map((t) => h("th", { scope: "col" }, t)))), tbody),
    ),
  );
  const w = "tickerq:write";
  const path = (id, action = "") => `/jobs/recurring/${encodeURIComponent(id)}${action}`;

  function editDialog(r) {
    const dlg = h(
      "dialog",
      { "aria-labelledby": "edit-h" },
      h(
        "form",
        {
          onsubmit: async (e) => {
            e.preventDefault();
            const data = new FormData(e.target);
            const body = { name: String(data.get("name")), cronExpression: String(data.get("cron")), timezone: String(data.get("tz")) };
            try {
              await api(path(r.id), { method: "PATCH", body });
              toast(`Saved ${r.name}.`);
              dlg.close();
              page.reload();
            } catch (err) {
              fill(dlg.querySelector(".error"), err.message);
            }
          },
        },
        h("h2", { id: "edit-h" }, `Edit ${r.name}`),
        h("p", {}, h("label", { for: "ed-name" }, "Name", h("input", { id: "ed-name", name: "name", value: r.name }))),
        h("p", {}, h("label", { for: "ed-cron" }, "Cron expression", h("input", { id: "ed-cron", name: "cron", value: r.cronExpression }))),
        h("p", {}, h("label", { for: "ed-tz" }, "Time zone", h("input", { id: "ed-tz", name: "tz", value: r.timezone }))),
        h("p", { class: "error", role: "alert" }),
        h("div", { class: "row" }, h("button", { type: "submit" }, "Save"), h("button", { type: "button", class: "ghost", onclick: () => dlg.close() }, "Cancel")),
      ),
    );
    dlg.addEventListener("close", () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
  }

  function row(r) {
    return h(
      "tr",
      { "data-recurring-id": r.id },
      h("td", { class: "name" }, r.name, h("div", { class: "muted" }, `${r.type} · ${r.queue}`)),
      h("td", { class: "name" }, cronInWords(r.cronExpression), h("div", { class: "muted" }, h("code", {}, r.cronExpression))),
      h("td", {}, r.timezone),
      h("td", {}, r.enabled ? (r.nextRuns ?? []).slice(0, 3).map((n) => h("div", { title: n.utc }, n.local.replace("T", " ").slice(0, 16))) : badge("disabled")),
      h("td", {}, r.lastRun ? [badge(r.lastRun.status), " ", h("a", { href: `#/jobs/${encodeURIComponent(r.lastRun.id)}` }, ago(r.lastRun.createdAt))] : h("span", { class: "muted" }, "never")),
      h(
        "td",
        {},
        h(
          "div",
          { class: "row" },
          actionButton(ctx.session, w, "Trigger now", async () => {
            const job = await api(path(r.id, "/trigger"), { method: "POST" });
            toast(`Triggered ${r.name}: ${job.id}.`);
            page.reload();
          }),
          actionButton(ctx.session, w, r.enabled ? "Disable" : "Enable", async () => {
            await api(path(r.id, r.enabled ? "/disable" : "/enable"), { method: "POST" });
            toast(`${r.enabled ? "Disabled" : "Enabled"} ${r.name}.`);
            page.reload();
          }, { class: "ghost" }),
          actionButton(ctx.session, w, "Edit", async () => editDialog(r), { class: "ghost" }),
        ),
      ),
    );
  }

  async function load() {
    const { recurringJobs } = await api("/jobs/recurring?limit=100");
    const detailed = await Promise.all(recurringJobs.map((r) => api(path(r.id)).catch(() => r)));
    fill(tbody, detailed.length ? detailed.map(row) : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No recurring jobs.")));
  }

  const page = livePage(ctx, { title: "Recurring jobs", el, load, matters: (m) => m.type === "job-status-changed" });
  return page;
}
