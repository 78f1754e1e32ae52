// Jobs: the list filters, paging (newest first), status badges, and bulk retry / cancel.
import { api, query } from "../api.js";
import { actionButton, ago, badge, confirmDialog, fill, h, num, toast } from "../ui.js";
import { livePage, select, statusOptions } from "./common.js";

const PAGE = 25;
const FILTERS = ["status", "type", "queue", "from", "to", "search"];

export function jobsPage(ctx) {
  const q = ctx.query;
  const filter = Object.fromEntries(FILTERS.map((k) => [k, q.get(k) ?? ""]).filter(([, v]) => v));
  const offset = Number(q.get("offset") ?? 0) || 0;
  const selected = new Set();

  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const next = new URLSearchParams();
        for (const k of FILTERS) {
          let v = String(data.get(k) ?? "").trim();
          if (v && (k === "from" || k === "to")) v = new Date(v).toISOString();
          if (v) next.set(k, v);
        }
        location.hash = `#/jobs${next.size ? `?${next}` : ""}`;
      },
    },
    select("status", "Status", statusOptions, filter.status ?? ""),
    h("label", {}, "Type", h("input", { name: "type", value: filter.type ?? "", size: 10 })),
    h("label", {}, "Queue", h("input", { name: "queue", value: filter.queue ?? "", size: 10 })),
    h("label", {}, "Created from", h("input", { name: "from", type: "datetime-local", value: localInput(filter.from) })),
    h("label", {}, "to", h("input", { name: "to", type: "datetime-local", value: localInput(filter.to) })),
    h("label", {}, "Name or id", h("input", { name: "search", type: "search", value: filter.search ?? "", size: 16 })),
    h("button", { type: "submit" }, "Filter"),
    h("a", { href: "#/jobs" }, "Clear"),
  );
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const tbody = h("tbody");
  const allBox = h("input", { type: "checkbox", "aria-label": "Select all jobs on this page" });
  allBox.addEventListener("change", () => {
    for (const box of tbody.querySelectorAll("input[type=checkbox]")) {
      box.checked = allBox.checked;
      box.dispatchEvent(new Event("change"));
    }
  });
  const pager = h("div", { class: "pager" });
  const w = "tickerq:write";
  const bulk = (action, scope) => async () => {
    const body = scope === "selected" ? { action, ids: [...selected] } : { action, filter };
    const dry = await api("/jobs/bulk", { body: { ...body, dryRun: true } });
    if (dry.matched === 0) return toast(`No ${scope === "selected" ? "selected" : "matching"} job can be ${action === "retry" ? "retried" : "cancelled"}.`);
    const what = `${dry.matched} ${dry.matched === 1 ? "job" : "jobs"}`;
    if (!(await confirmDialog(`${action === "retry" ? "Retry" : "Cancel"} ${what}?`, `This will ${action} ${what} ${scope === "selected" ? "you selected" : "matching the filters"}.`, `${action === "retry" ? "Retry" : "Cancel"} ${what}`))) return;
    let done = 0;
    for (let i = 0; i < 1000; i++) {
      const res = await api("/jobs/bulk", { body });
      done += res.succeeded;
      if (!res.hasMore || res.succeeded === 0) break;
    }
    toast(`${action === "retry" ? "Retried" : "Cancelled"} ${done} ${done === 1 ? "job" : "jobs"}.`);
    selected.clear();
    page.reload();
  };
  const actions = h(
    "div",
    { class: "row", role: "group", "aria-label": "Bulk actions" },
    actionButton(ctx.session, w, "Retry selected", bulk("retry", "selected"), { class: "ghost" }),
    actionButton(ctx.session, w, "Cancel selected", bulk("cancel", "selected"), { class: "ghost" }),
    actionButton(ctx.session, w, "Retry all matching", bulk("retry", "filter"), { class: "ghost" }),
    actionButton(ctx.session, w, "Cancel all matching", bulk("cancel", "filter"), { class: "ghost" }),
  );
  const el = h(
    "div",
    {},
    h("div", { class: "row" }, h("h1", {}, "Jobs"), h("span", { class: "spacer" }), ctx.session.can(w) ? h("a", { class: "button", href: "#/jobs/new" }, "New job") : h("button", { disabled: true, title: "Needs the tickerq:write scope; this token is read-only" }, "New job")),
    form,
    actions,
    summary,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { "aria-label": "Jobs" },
        h("thead", {}, h("tr", {}, h("th", {}, allBox), ["Name", "Status", "Type", "Queue", "Created", "Duration", "Attempts"].map((t) => h("th", { scope: "col", class: ["Type", "Duration", "Attempts"].includes(t) ? "hide-narrow" : null }, t)))),
        tbody,
      ),
    ),
    pager,
  );

  async function load() {
    const data = await api(`/jobs${query({ ...filter, limit: PAGE, offset })}`);
    fill(summary, data.totalCount ? `${num(offset + 1)}–${num(offset + data.jobs.length)} of ${num(data.totalCount)} jobs, newest first` : "No jobs match.");
    fill(
      tbody,
      data.jobs.map((j) => {
        const box = h("input", { type: "checkbox", "aria-label": `Select ${j.name || j.id}`, checked: selected.has(j.id) });
        box.addEventListener("change", () => (box.checked ? selected.add(j.id) : selected.delete(j.id)));
        return h(
          "tr",
          { "data-job-id": j.id },
          h("td", {}, box),
          h("td", { class: "name" }, h("a", { href: `#/jobs/${encodeURIComponent(j.id)}` }, j.name || j.id)),
          h("td", {}, badge(j.status)),
          h("td", { class: "hide-narrow" }, j.type),
          h("td", {}, j.queue),
          h("td", { title: j.createdAt }, ago(j.createdAt)),
          h("td", { class: "hide-narrow" }, j.duration ?? "—"),
          h("td", { class: "hide-narrow" }, String(j.attempts)),
        );
      }),
    );
    const link = (o) => {
      const p = new URLSearchParams(filter);
      if (o) p.set("offset", String(o));
      return `#/jobs${p.size ? `?${p}` : ""}`;
    };
    fill(
      pager,
      offset > 0 ? h("a", { href: link(Math.max(0, offset - PAGE)) }, "← Newer") : null,
      data.hasMore ? h("a", { href: link(offset + PAGE) }, "Older →") : null,
    );
  }

  const page = livePage(ctx, { title: "Jobs", el, load, matters: (m) => m.type === "job-status-changed" });
  return page;
}

function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
