// Webhooks: endpoints with their health, recent deliveries with the response, redeliver, and a test event.
import { api } from "../api.js";
import { actionButton, ago, badge, fill, h, toast } from "../ui.js";
import { livePage } from "./common.js";

export function webhooksPage(ctx) {
  const admin = "tickerq:admin";
  if (!ctx.session.can(admin)) {
    return { title: "Webhooks", el: h("div", {}, h("h1", {}, "Webhooks"), h("p", { class: "muted" }, "Webhook endpoints need the tickerq:admin scope; this token does not have it.")) };
  }
  const list = h("div", { class: "grid" });
  const el = h("div", {}, h("h1", {}, "Webhooks"), list);

  function deliveryRow(d) {
    const last = d.history?.at(-1);
    return h(
      "tr",
      {},
      h("td", {}, d.event),
      h("td", {}, badge(d.status)),
      h("td", {}, d.responseCode ?? "—"),
      h("td", {}, d.latencyMs == null ? "—" : `${d.latencyMs} ms`),
      h("td", { title: d.createdAt }, ago(d.createdAt)),
      h("td", { class: "name" }, last?.responseBody ? h("code", {}, last.responseBody.slice(0, 80)) : d.error ?? ""),
      h(
        "td",
        {},
        d.status === "pending"
          ? null
          : actionButton(ctx.session, admin, "Redeliver", async () => {
              await api(`/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`, { method: "POST" });
              toast("Redelivery queued.");
              page.reload();
            }, { class: "ghost" }),
      ),
    );
  }

  async function card(wh) {
    const { deliveries } = await api(`/webhooks/${encodeURIComponent(wh.id)}/deliveries?limit=10`);
    const hl = wh.health ?? {};
    return h(
      "article",
      { class: "panel", "data-webhook": wh.id },
      h("div", { class: "row" }, h("h2", {}, wh.description || wh.url), badge(wh.enabled ? "enabled" : "disabled")),
      h(
        "dl",
        { class: "kv" },
        h("dt", {}, "URL"), h("dd", {}, wh.url),
        h("dt", {}, "events"), h("dd", {}, wh.events.join(", ")),
        h("dt", {}, "success rate"), h("dd", {}, hl.successRate == null ? "—" : `${hl.successRate} % (${hl.succeededDeliveries} ok, ${hl.failedDeliveries} failed)`),
        h("dt", {}, "failure streak"), h("dd", {}, String(hl.consecutiveFailures ?? 0)),
        wh.disabledReason ? [h("dt", {}, "disabled"), h("dd", { class: "error" }, wh.disabledReason)] : null,
      ),
      h(
        "p",
        {},
        actionButton(ctx.session, admin, "Send test event", async () => {
          const res = await api(`/webhooks/${encodeURIComponent(wh.id)}/test`, { method: "POST" });
          toast(res.delivered ? "Test event delivered." : `Test event failed: ${res.delivery?.error ?? res.delivery?.responseCode}`, !res.delivered);
          page.reload();
        }),
      ),
      h("h3", {}, "Recent deliveries"),
      deliveries.length
        ? h("div", { class: "table-wrap" }, h("table", { "aria-label": `Deliveries to ${wh.url}` }, h("thead", {}, h("tr", {}, ["Event", "Status", "Code", "Latency", "When", "Response", ""].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, deliveries.map(deliveryRow))))
        : h("p", { class: "muted" }, "No deliveries yet."),
    );
  }

  async function load() {
    const { webhooks } = await api("/webhooks");
    fill(list, webhooks.length ? await Promise.all(webhooks.map(card)) : h("p", { class: "muted" }, "No webhook endpoints. Create one with POST /webhooks (see the README)."));
  }

  const page = livePage(ctx, { title: "Webhooks", el, load, matters: (m) => m.type === "job-status-changed" || m.type === "system-health-alert" });
  return page;
}
