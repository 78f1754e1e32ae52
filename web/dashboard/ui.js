// DOM helpers shared by every page: element builder, formatting, badges, toasts, confirmations, charts.

/** h("button", { onclick, class: "x" }, "text", child): builds an element; null/false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = tag === "svg" || SVG_TAGS.has(tag) ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}
const SVG_TAGS = new Set(["rect", "path", "line", "text", "g", "title", "polyline"]);

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const badge = (status) => h("span", { class: `badge ${status}` }, status);

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function ago(iso) {
  if (!iso) return "—";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export const num = (n) => (n == null ? "—" : Number(n).toLocaleString());
export const json = (v) => h("pre", {}, v === undefined ? "" : JSON.stringify(v, null, 2));

export function toast(message, bad = false) {
  const el = h("div", { class: `toast${bad ? " bad" : ""}` }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), bad ? 8000 : 4000);
}

/** A modal confirmation; resolves true when confirmed. */
export function confirmDialog(title, message, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dlg = h(
      "dialog",
      { "aria-labelledby": "dlg-title" },
      h("h2", { id: "dlg-title" }, title),
      h("p", {}, message),
      h(
        "form",
        { method: "dialog", class: "row" },
        h("button", { value: "yes", class: "danger" }, confirmLabel),
        h("button", { value: "no", class: "ghost", autofocus: true }, "Cancel"),
      ),
    );
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "yes");
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Bar chart of values over labelled slots, drawn as SVG (no library). `line` draws a second series as a polyline (0–100 %). */
export function barChart(title, slots, value, line) {
  const W = 600, H = 140, pad = 18;
  const max = Math.max(1, ...slots.map(value));
  const bw = (W - pad) / Math.max(1, slots.length);
  const bars = slots.map((s, i) => {
    const v = value(s);
    const bh = ((H - pad) * v) / max;
    return h("rect", { x: pad + i * bw + 1, y: H - pad - bh, width: Math.max(1, bw - 2), height: bh, fill: "var(--bar)" }, h("title", {}, `${s.date}: ${v}`));
  });
  const points = line
    ? slots.map((s, i) => `${pad + i * bw + bw / 2},${H - pad - ((H - pad) * (line(s) ?? 0)) / 100}`).join(" ")
    : null;
  return h(
    "figure",
    { class: "chart panel" },
    h("figcaption", {}, h("h3", {}, title)),
    h(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: peak ${max}` },
      h("line", { x1: pad, x2: W, y1: H - pad, y2: H - pad, stroke: "var(--border)" }),
      h("text", { x: 0, y: 10, class: "axis" }, String(max)),
      h("text", { x: pad, y: H - 4, class: "axis" }, slotLabel(slots[0])),
      h("text", { x: W, y: H - 4, class: "axis", "text-anchor": "end" }, slotLabel(slots.at(-1))),
      bars,
      points ? h("polyline", { points, fill: "none", stroke: "var(--bar2)", "stroke-width": 2 }) : null,
    ),
  );
}

/** "2026-01-15" → "01-15"; "2026-01-15T10:00:00.000Z" → "10:00" (UTC, as the rollups are). */
const slotLabel = (slot) => (!slot?.date ? "" : slot.date.length > 10 ? `${slot.date.slice(11, 16)} UTC` : slot.date.slice(5));

/** A button that changes something: disabled, with the reason as its tooltip, when the token may not. */
export function actionButton(session, scope, label, onclick, attrs = {}) {
  const allowed = session.can(scope);
  const btn = h("button", { type: "button", ...attrs, disabled: !allowed, title: allowed ? attrs.title : `Needs the ${scope} scope; this token has ${session.scopes.join(", ")}` }, label);
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await onclick();
    } catch (err) {
      toast(err.message, true);
    } finally {
      btn.disabled = !allowed;
    }
  });
  return btn;
}
