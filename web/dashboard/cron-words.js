// A cron expression in words, for the common shapes; anything else is shown as it is.
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MACROS = { "@yearly": "once a year (1 January, 00:00)", "@annually": "once a year (1 January, 00:00)", "@monthly": "on the 1st of every month at 00:00", "@weekly": "every Sunday at 00:00", "@daily": "every day at 00:00", "@midnight": "every day at 00:00", "@hourly": "every hour, on the hour" };

const pad = (n) => String(n).padStart(2, "0");
const isNum = (f) => /^\d+$/.test(f);
const step = (f) => /^\*\/(\d+)$/.exec(f)?.[1];

function dayWords(dom, month, dow) {
  if (dom === "*" && month === "*" && dow === "*") return "every day";
  if (dom === "*" && month === "*") {
    if (dow === "1-5" || /^mon-fri$/i.test(dow)) return "on weekdays";
    if (isNum(dow)) return `every ${DAYS[Number(dow) % 7]}`;
    return null;
  }
  if (isNum(dom) && month === "*" && dow === "*") return `on day ${dom} of every month`;
  if (dom === "L" && month === "*" && dow === "*") return "on the last day of every month";
  return null;
}

export function cronInWords(expr) {
  const e = expr.trim();
  if (MACROS[e.toLowerCase()]) return MACROS[e.toLowerCase()];
  let f = e.split(/\s+/);
  let seconds = null;
  if (f.length === 6) [seconds, ...f] = f;
  if (f.length !== 5) return e;
  const [min, hour, dom, month, dow] = f;
  const days = dayWords(dom, month, dow);
  if (seconds != null && seconds !== "0") {
    const s = step(seconds);
    if (seconds === "*" && min === "*" && hour === "*" && days === "every day") return "every second";
    if (s && min === "*" && hour === "*" && days === "every day") return `every ${s} seconds`;
    return e;
  }
  if (!days) return e;
  if (min === "*" && hour === "*") return days === "every day" ? "every minute" : `every minute, ${days}`;
  const m = step(min);
  if (m && hour === "*") return `every ${m} minutes${days === "every day" ? "" : `, ${days}`}`;
  if (isNum(min) && hour === "*") return `every hour at :${pad(min)}${days === "every day" ? "" : `, ${days}`}`;
  const hs = step(hour);
  if (isNum(min) && hs) return `every ${hs} hours at :${pad(min)}${days === "every day" ? "" : `, ${days}`}`;
  if (isNum(min) && /^\d+(,\d+)*$/.test(hour)) return `${days} at ${hour.split(",").map((x) => `${pad(x)}:${pad(min)}`).join(", ")}`;
  return e;
}
