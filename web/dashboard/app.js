// The dashboard shell: sign-in, the session's scopes, hash routing and the live connection.
import { api, ApiFailure, clearToken, getToken, loadSettings, setToken } from "./api.js";
import { onLive, setIndicator, startLive, stopLive } from "./live.js";
import { fill, h } from "./ui.js";
import { overviewPage } from "./views/overview.js";
import { jobsPage } from "./views/jobs.js";
import { jobPage } from "./views/job.js";
import { newJobPage } from "./views/new-job.js";
import { queuesPage } from "./views/queues.js";
import { recurringPage } from "./views/recurring.js";
import { webhooksPage } from "./views/webhooks.js";

const ROUTES = [
  [/^\/$/, overviewPage, "/"],
  [/^\/jobs$/, jobsPage, "/jobs"],
  [/^\/jobs\/new$/, newJobPage, "/jobs"],
  [/^\/jobs\/([^/]+)$/, jobPage, "/jobs"],
  [/^\/queues$/, queuesPage, "/queues"],
  [/^\/recurring$/, recurringPage, "/recurring"],
  [/^\/webhooks$/, webhooksPage, "/webhooks"],
];

const main = document.getElementById("main");
let current = null;
let session = null;

/** What the signed-in token may do. */
function makeSession(me) {
  const scopes = me.scopes;
  return { ...me, scopes, can: (scope) => scopes.includes(scope) || scopes.includes("tickerq:admin") };
}

function showSignIn(message) {
  stopLive();
  for (const id of ["nav", "who", "signout"]) document.getElementById(id).hidden = true;
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" }, message ?? "");
  const form = h(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        try {
          const me = await api("/me", { token });
          setToken(token);
          signedIn(me);
        } catch (err) {
          fill(error, err instanceof ApiFailure && err.status === 401 ? "That token is not valid." : err.message);
        }
      },
    },
    h("label", { for: "token" }, "API token", input),
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  fill(main, h("section", { class: "signin panel" }, h("h1", {}, "Sign in"), h("p", { class: "muted" }, "Use ADMIN_TOKEN or an API key. It is kept in this tab's session storage only."), form));
  input.focus();
  markInteractive();
}

function signedIn(me) {
  session = makeSession(me);
  document.getElementById("nav").hidden = false;
  const who = document.getElementById("who");
  who.hidden = false;
  fill(who, `${me.name} · ${session.can("tickerq:write") ? (session.can("tickerq:admin") ? "admin" : "read/write") : "read-only"}`);
  document.getElementById("signout").hidden = false;
  startLive();
  route();
}

function route() {
  if (!session) return;
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  const target = path || "/";
  current?.dispose?.();
  for (const [re, page, navPath] of ROUTES) {
    const m = re.exec(target);
    if (!m) continue;
    for (const a of document.querySelectorAll("nav a")) {
      if (a.getAttribute("href") === `#${navPath}`) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    current = page({ session, params: m.slice(1).map(decodeURIComponent), query: new URLSearchParams(search), onAuthLost: () => signOut("The token stopped working; sign in again.") });
    fill(main, current.el);
    document.title = `${current.title} · Edge Ticker`;
    markInteractive();
    return;
  }
  current = null;
  fill(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the overview")));
}

/** The first moment someone can use the page (the browser tests hold it to under a second). */
function markInteractive() {
  if (!performance.getEntriesByName("dashboard-interactive").length) performance.mark("dashboard-interactive");
}

function signOut(message) {
  clearToken();
  session = null;
  current?.dispose?.();
  current = null;
  showSignIn(message);
}

setIndicator((state) => {
  const el = document.getElementById("live");
  el.dataset.state = state;
  const text = { on: "Live", connecting: "Connecting…", off: "Reconnecting…", idle: "Offline" }[state];
  el.title = `Live updates: ${text}`;
  fill(el.querySelector(".label"), text);
});
onLive((msg) => current?.onLive?.(msg));
addEventListener("hashchange", route);
document.getElementById("signout").addEventListener("click", () => signOut());

(async () => {
  await loadSettings();
  const token = getToken();
  if (!token) return showSignIn();
  try {
    signedIn(await api("/me"));
  } catch {
    signOut("Sign in again.");
  }
})();
