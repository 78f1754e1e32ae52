import ipaddr from "ipaddr.js";

/**
 * Decides whether an outbound URL may be fetched by a job or webhook. Workers cannot resolve DNS,
 * so names are checked as written (see README "Outbound requests" for what protects production
 * from a public name that resolves to a private address).
 */
export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

const BLOCKED_HOSTNAMES = new Set(["localhost", "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);
const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"];
/** Public names (and all their subdomains) whose DNS answers 127.0.0.1 for anyone who asks. */
const LOOPBACK_NAMES = ["localtest.me", "lvh.me", "vcap.me", "localhost.direct"];
/** Wildcard DNS services that answer with the address written into the name (10.0.0.1.nip.io, 10-0-0-1.sslip.io, 0a000001.nip.io). */
const ADDRESS_IN_NAME_DOMAINS = ["nip.io", "sslip.io", "xip.io", "traefik.me"];

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
  // The WHATWG URL parser has already turned decimal, octal and hex IPv4 forms into dotted quads.
  const literal = host.startsWith("[") ? host.slice(1, -1) : ipaddr.IPv4.isValidFourPartDecimal(host) ? host : null;
  if (literal !== null) {
    const why = nonPublicAddress(literal);
    return why ? { ok: false, reason: `targets ${why} address ${host}` } : { ok: true, url };
  }
  if (!host.includes(".")) return { ok: false, reason: `targets a single-label host (${host})` };
  if (LOOPBACK_NAMES.some((n) => isDomainOrSub(host, n))) return { ok: false, reason: `targets a name that resolves to loopback (${host})` };
  const service = ADDRESS_IN_NAME_DOMAINS.find((d) => isDomainOrSub(host, d));
  if (service) {
    for (const address of addressesInName(host.slice(0, -service.length - 1))) {
      const why = nonPublicAddress(address);
      if (why) return { ok: false, reason: `targets a name that resolves to ${why} address ${address} (${host})` };
    }
  }
  return { ok: true, url };
}

const isDomainOrSub = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

const RANGE_NAMES: Record<string, string> = {
  unspecified: "an unspecified",
  broadcast: "a broadcast",
  multicast: "a multicast",
  linkLocal: "a link-local (metadata)",
  loopback: "a loopback",
  carrierGradeNat: "a carrier-grade NAT",
  private: "a private",
  reserved: "a reserved",
  uniqueLocal: "a unique-local (private)",
  deprecatedSiteLocal: "a site-local (private)",
  ipv4Mapped: "an IPv4-mapped",
  rfc6145: "an IPv4-translated",
  rfc6052: "a NAT64 (IPv4-embedding)",
  "6to4": "a 6to4 (IPv4-embedding)",
  teredo: "a Teredo (IPv4-embedding)",
};

/**
 * Why an IP address is not a public unicast one, or null when it is. Only the "unicast" range of
 * ipaddr.js passes: every special-purpose block is refused, including the IPv6 prefixes that carry
 * an IPv4 address inside (6to4, Teredo, NAT64, mapped and translated), since a gateway may route
 * them to the embedded, possibly private, address.
 */
export function nonPublicAddress(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return "an unparseable";
  }
  if (parsed.kind() === "ipv6") {
    const parts = (parsed as ipaddr.IPv6).parts;
    // ::a.b.c.d (IPv4-compatible, deprecated) is not one of the library's named ranges.
    if (parts.slice(0, 6).every((p) => p === 0)) return "an IPv4-compatible";
  }
  const range = parsed.range();
  if (range === "unicast") return null;
  return RANGE_NAMES[range] ?? `a special-purpose (${range})`;
}

/** The addresses a wildcard DNS service could read out of a name's labels, in its dotted, dashed and hex spellings. */
function addressesInName(prefix: string): string[] {
  const out: string[] = [];
  const labels = prefix.split(".");
  for (let i = 0; i + 4 <= labels.length; i++) {
    const dotted = labels.slice(i, i + 4).join(".");
    if (ipaddr.IPv4.isValidFourPartDecimal(dotted)) out.push(dotted);
  }
  for (const label of labels) {
    const dashed = /(?:^|-)(\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3})$/.exec(label);
    if (dashed && ipaddr.IPv4.isValidFourPartDecimal(dashed[1].replace(/-/g, "."))) out.push(dashed[1].replace(/-/g, "."));
    const hex = /(?:^|-)([0-9a-f]{8})$/.exec(label);
    if (hex) out.push(ipaddr.fromByteArray([0, 2, 4, 6].map((o) => parseInt(hex[1].slice(o, o + 2), 16))).toString());
    // sslip.io spells IPv6 with dashes for colons: --1 is ::1, fe80--1 is fe80::1.
    if (label.includes("--") || /^[0-9a-f]{1,4}(-[0-9a-f]{0,4}){2,7}$/.test(label)) {
      const v6 = label.replace(/-/g, ":");
      if (ipaddr.IPv6.isValid(v6)) out.push(v6);
    }
  }
  return out;
}
