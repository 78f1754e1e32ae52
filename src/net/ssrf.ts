/**
 * Decides whether an outbound URL may be fetched by a job or webhook. Workers cannot resolve DNS,
 * so names are checked as written; in production Cloudflare's network itself refuses private
 * destinations that a public name resolves to.
 */
export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

const BLOCKED_HOSTNAMES = new Set(["localhost", "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);
const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"];

export function checkTarget(raw: string, allowPrivate: boolean): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not a valid absolute URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: `uses ${url.protocol} (only http and https are allowed)` };
  if (url.username || url.password) return { ok: false, reason: "must not carry credentials in the URL (use the auth settings)" };
  if (allowPrivate) return { ok: true, url };
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (!host) return { ok: false, reason: "has no host" };
  if (BLOCKED_HOSTNAMES.has(host) || BLOCKED_SUFFIXES.some((s) => host.endsWith(s))) {
    return { ok: false, reason: `targets a local or internal host (${host})` };
  }
  if (host.startsWith("[")) {
    const why = blockedIPv6(host.slice(1, -1));
    return why ? { ok: false, reason: `targets ${why} address ${host}` } : { ok: true, url };
  }
  const v4 = parseIPv4(host);
  if (v4) {
    const why = blockedIPv4(v4);
    return why ? { ok: false, reason: `targets ${why} address ${host}` } : { ok: true, url };
  }
  if (!host.includes(".")) return { ok: false, reason: `targets a single-label host (${host})` };
  return { ok: true, url };
}

// The WHATWG URL parser already normalises decimal, octal and hex IPv4 forms to dotted quads.
function parseIPv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const nums = parts.map(Number);
  return nums.every((n) => n <= 255) ? nums : null;
}

function blockedIPv4([a, b, c]: number[]): string | null {
  if (a === 0) return "an unspecified";
  if (a === 10) return "a private";
  if (a === 127) return "a loopback";
  if (a === 169 && b === 254) return "a link-local (metadata)";
  if (a === 172 && b >= 16 && b <= 31) return "a private";
  if (a === 192 && b === 168) return "a private";
  if (a === 100 && b >= 64 && b <= 127) return "a carrier-grade NAT";
  if (a === 192 && b === 0 && c === 0) return "an IETF protocol";
  if (a === 198 && (b === 18 || b === 19)) return "a benchmarking";
  if (a >= 224) return "a multicast or reserved";
  return null;
}

function blockedIPv6(addr: string): string | null {
  const words = expandIPv6(addr);
  if (!words) return "an unparseable";
  if (words.every((w) => w === 0)) return "an unspecified";
  if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return "a loopback";
  const mapped = words.slice(0, 5).every((w) => w === 0) && (words[5] === 0xffff || words[5] === 0);
  const nat64 = words[0] === 0x64 && words[1] === 0xff9b;
  if (mapped || nat64) {
    const v4 = [words[6] >> 8, words[6] & 0xff, words[7] >> 8, words[7] & 0xff];
    const why = blockedIPv4(v4);
    if (why) return why;
  }
  if ((words[0] & 0xfe00) === 0xfc00) return "a unique-local (private)";
  if ((words[0] & 0xffc0) === 0xfe80) return "a link-local";
  if ((words[0] & 0xff00) === 0xff00) return "a multicast";
  return null;
}

function expandIPv6(addr: string): number[] | null {
  const halves = addr.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const toWords = (groups: string[]): number[] | null => {
    const out: number[] = [];
    for (const g of groups) {
      if (g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const h = toWords(head);
  const t = toWords(tail);
  if (!h || !t) return null;
  const missing = 8 - h.length - t.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...h, ...new Array(missing).fill(0), ...t];
}
