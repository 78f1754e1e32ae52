// What every page shares: a debounced reload driven by live messages (never a polling loop).
import { ApiFailure } from "../api.js";
import { fill, h } from "../ui.js";

/**
 * Calls load() now and again after live messages that `matters` accepts (coalesced to one reload per
 * 300 ms), and after a reconnect. Renders errors in place; a 401 signs out.
 */
export function livePage(ctx, { title, el, load, matters = () => true, onMessage }) {
  let timer = null;
  let disposed = false;
  const status = h("p", { class: "error", role: "alert" });
  el.append(status);
  const run = async () => {
    timer = null;
    try {
      await load();
      if (!disposed) fill(status);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 401) return ctx.onAuthLost();
      if (!disposed) fill(status, err.message);
    }
  };
  const schedule = () => {
    if (!timer && !disposed) timer = setTimeout(run, 300);
  };
  run();
  return {
    title,
    el,
    reload: run,
    onLive(msg) {
      if (msg.type === "resync") return schedule();
      onMessage?.(msg);
      if (matters(msg)) schedule();
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
    },
  };
}

export const statusOptions = ["", "pending", "running", "completed", "failed", "cancelled"];

export function select(name, label, options, value) {
  return h(
    "label",
    {},
    label,
    h("select", { name }, options.map((o) => h("option", { value: o, selected: o === value }, o || "any"))),
  );
}
