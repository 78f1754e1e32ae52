import { describe, expect, it } from "vitest";
import { checkTarget } from "../src/net/ssrf";

const refused = [
  "ftp://example.com/file",
  "file:///etc/passwd",
  "gopher://example.com/",
  "javascript:alert(1)",
  "http://localhost/",
  "http://LOCALHOST:8080/",
  "http://api.localhost/",
  "http://127.0.0.1/",
  "http://127.1.2.3:9000/",
  "http://2130706433/",
  "http://0x7f000001/",
  "http://0177.0.0.1/",
  "http://0.0.0.0/",
  "http://10.0.0.5/",
  "http://172.16.0.1/",
  "http://172.31.255.255/",
  "http://192.168.1.1/",
  "http://169.254.169.254/latest/meta-data/",
  "http://100.64.0.1/",
  "http://198.18.0.1/",
  "http://224.0.0.1/",
  "http://255.255.255.255/",
  "http://[::1]/",
  "http://[::]/",
  "http://[fd00::1]/",
  "http://[fe80::1]/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:10.0.0.1]/",
  "http://[64:ff9b::a9fe:a9fe]/",
  // IPv6 prefixes that carry an IPv4 address inside, and the other special-purpose blocks.
  "http://[2002:7f00:1::]/",
  "http://[2002:a9fe:a9fe::1]/",
  "http://[64:ff9b:1::a00:1]/",
  "http://[::ffff:0:7f00:1]/",
  "http://[::ffff:0:a9fe:a9fe]/",
  "http://[::7f00:1]/",
  "http://[fec0::1]/",
  "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
  "http://[ff02::1]/",
  "http://[2001:db8::1]/",
  "http://192.0.2.10/",
  "http://240.0.0.1/",
  // Public names that resolve to loopback or to the private address written into them.
  "http://localtest.me/",
  "http://app.localtest.me:8080/",
  "http://lvh.me/",
  "http://127.0.0.1.nip.io/",
  "http://app.10.0.0.5.nip.io/",
  "http://169-254-169-254.sslip.io/latest/meta-data/",
  "http://www-192-168-1-1.sslip.io/",
  "http://7f000001.nip.io/",
  "http://--1.sslip.io/",
  "http://metadata.google.internal/computeMetadata/v1/",
  "http://metadata/",
  "http://printer.local/",
  "http://intranet/",
  "http://user:pass@example.com/",
  "not a url",
];

const allowed = ["https://example.com/hook", "https://93.184.216.34.nip.io/", "https://nip.io/", "https://[2a00:1450:4001:82b::200e]/", "http://93.184.216.34/", "https://api.github.com:443/x?y=1", "http://[2606:4700:4700::1111]/", "https://172.32.0.1/", "https://100.128.0.1/"];

describe("SSRF guard", () => {
  it.each(refused)("refuses %s", (url) => {
    const r = checkTarget(url, false);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(5);
  });

  it.each(allowed)("allows %s", (url) => {
    expect(checkTarget(url, false).ok).toBe(true);
  });

  it("lets ALLOW_PRIVATE_TARGETS reach loopback but still refuses other schemes and credentials", () => {
    expect(checkTarget("http://127.0.0.1:8787/", true).ok).toBe(true);
    expect(checkTarget("ftp://127.0.0.1/", true).ok).toBe(false);
    expect(checkTarget("http://a:b@127.0.0.1/", true).ok).toBe(false);
  });
});
