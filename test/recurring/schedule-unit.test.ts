import { describe, expect, it } from "vitest";
import { CronError, parseCron, Schedule, shortestIntervalMs } from "../../src/recurring/schedule";
import { cachedFormatterCount, canonicalTimeZone, localIso, MAX_CACHED_FORMATTERS, offsetAt } from "../../src/recurring/timezone";

const at = (s: string) => Date.parse(s);
const isoList = (ts: number[]) => ts.map((t) => new Date(t).toISOString());

/** Fire times of `expr` in `tz` within [from, to), in UTC. */
function firesBetween(expr: string, tz: string, from: string, to: string): string[] {
  const s = new Schedule(expr, tz);
  const out: number[] = [];
  for (let t = s.next(at(from) - 1); t != null && t < at(to); t = s.next(t)) out.push(t);
  return isoList(out);
}

describe("cron syntax", () => {
  it("accepts 5 fields, 6 fields with seconds and the usual macros", () => {
    expect(isoList(new Schedule("*/15 9 * * 1-5", "UTC").upcoming(at("2026-06-05T09:20:00Z"), 3))).toEqual([
      "2026-06-05T09:30:00.000Z",
      "2026-06-05T09:45:00.000Z",
      "2026-06-08T09:00:00.000Z",
    ]);
    expect(isoList(new Schedule("*/20 * * * * *", "UTC").upcoming(at("2026-06-05T09:20:00Z"), 3))).toEqual([
      "2026-06-05T09:20:20.000Z",
      "2026-06-05T09:20:40.000Z",
      "2026-06-05T09:21:00.000Z",
    ]);
    const after = at("2026-06-05T09:20:00Z");
    const first = (macro: string) => new Date(new Schedule(macro, "UTC").next(after)!).toISOString();
    expect(first("@yearly")).toBe("2027-01-01T00:00:00.000Z");
    expect(first("@annually")).toBe("2027-01-01T00:00:00.000Z");
    expect(first("@monthly")).toBe("2026-07-01T00:00:00.000Z");
    expect(first("@weekly")).toBe("2026-06-07T00:00:00.000Z");
    expect(first("@daily")).toBe("2026-06-06T00:00:00.000Z");
    expect(first("@midnight")).toBe("2026-06-06T00:00:00.000Z");
    expect(first("@hourly")).toBe("2026-06-05T10:00:00.000Z");
    expect(first("0 9 * JAN-DEC MON-FRI")).toBe("2026-06-08T09:00:00.000Z");
  });

  it("says what is wrong with an invalid expression", () => {
    const problem = (expr: string) => {
      try {
        parseCron(expr);
        return "accepted";
      } catch (err) {
        expect(err).toBeInstanceOf(CronError);
        return (err as Error).message;
      }
    };
    expect(problem("")).toBe("must not be empty");
    expect(problem("* * * *")).toMatch(/^has 4 fields; use 5 \(minute hour day-of-month month day-of-week\), 6/);
    expect(problem("0 0 0 * * * *")).toMatch(/^has 7 fields/);
    expect(problem("61 * * * *")).toMatch(/61.*0-59/);
    expect(problem("@fortnightly")).toMatch(/^unknown macro "@fortnightly"; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly/);
    expect(problem("H * * * *")).toBe("hashed values (H) are not supported");
    expect(problem("*/0 * * * *")).toMatch(/0/);
    expect(problem("0 9 * * THU")).toBe("accepted");
  });

  it("tells wall-clock schedules from interval schedules by their hour field", () => {
    expect(parseCron("30 2 * * *").kind).toBe("wallClock");
    expect(parseCron("0 9-17 * * *").kind).toBe("wallClock");
    expect(parseCron("@daily").kind).toBe("wallClock");
    expect(parseCron("@hourly").kind).toBe("interval");
    expect(parseCron("*/5 * * * *").kind).toBe("interval");
    expect(parseCron("0 */2 * * *").kind).toBe("interval");
    expect(parseCron("* * * * * *").kind).toBe("interval");
  });
});

describe("time zones", () => {
  it("knows IANA names, canonicalises their spelling and refuses the rest", () => {
    expect(canonicalTimeZone("UTC")).toBe("UTC");
    expect(canonicalTimeZone("Australia/Lord_Howe")).toBe("Australia/Lord_Howe");
    expect(canonicalTimeZone("america/new_york")).toBe("America/New_York");
    expect(canonicalTimeZone("Mars/Olympus_Mons")).toBeNull();
    expect(canonicalTimeZone("+05:00")).toBeNull();
    expect(canonicalTimeZone("")).toBeNull();
  });

  it("fires at local times, shown with the zone's offset", () => {
    const s = new Schedule("0 9 * * *", "Asia/Kolkata");
    const t = s.next(at("2026-06-05T00:00:00Z"))!;
    expect(new Date(t).toISOString()).toBe("2026-06-05T03:30:00.000Z");
    expect(localIso("Asia/Kolkata", t)).toBe("2026-06-05T09:00:00+05:30");
    expect(localIso("America/New_York", at("2026-03-08T07:00:00Z"))).toBe("2026-03-08T03:00:00-04:00");
  });
});

describe("daylight saving", () => {
  it("America/New_York 02:30 daily: on 2026-03-08 (02:00-03:00 skipped) it runs once, just after the gap", () => {
    expect(firesBetween("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual([
      "2026-03-07T07:30:00.000Z", // 02:30 EST
      "2026-03-08T07:00:00.000Z", // 03:00 EDT, the first instant after the gap
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
    ]);
  });

  it("America/New_York on 2026-11-01 (01:00-02:00 repeated): a daily job runs once, a repeated time at its first occurrence only", () => {
    expect(firesBetween("30 2 * * *", "America/New_York", "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual([
      "2026-10-31T06:30:00.000Z",
      "2026-11-01T07:30:00.000Z", // 02:30 EST: exists once
      "2026-11-02T07:30:00.000Z",
    ]);
    expect(firesBetween("30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual([
      "2026-10-31T05:30:00.000Z",
      "2026-11-01T05:30:00.000Z", // 01:30 EDT; 01:30 EST an hour later does not fire
      "2026-11-02T06:30:00.000Z",
    ]);
  });

  it("interval schedules keep their pace in real time through both changes", () => {
    // 01:00 EDT and 01:00 EST both fire: 25 hourly runs on the long day.
    expect(firesBetween("@hourly", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z")).toHaveLength(25);
    expect(firesBetween("@hourly", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z")).toEqual([
      "2026-11-01T04:00:00.000Z",
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T06:00:00.000Z",
      "2026-11-01T07:00:00.000Z",
    ]);
    // 02:30 does not exist: no run at 03:00 for a job that runs at half past every hour.
    expect(firesBetween("30 * * * *", "America/New_York", "2026-03-08T06:00:00Z", "2026-03-08T09:00:00Z")).toEqual([
      "2026-03-08T06:30:00.000Z", // 01:30 EST
      "2026-03-08T07:30:00.000Z", // 03:30 EDT
      "2026-03-08T08:30:00.000Z",
    ]);
    expect(firesBetween("@hourly", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")).toHaveLength(23);
  });

  it("Europe/Berlin: 02:30 runs at 03:00 CEST on 2026-03-29 and once on 2026-10-25", () => {
    expect(firesBetween("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z")).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
    expect(firesBetween("30 2 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z")).toEqual([
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z", // 02:30 CEST; 02:30 CET does not fire
      "2026-10-26T01:30:00.000Z",
    ]);
    // Several slots inside the skipped hour collapse into one run at its end.
    expect(firesBetween("*/20 2 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T12:00:00Z")).toEqual(["2026-03-29T01:00:00.000Z"]);
  });

  it("Australia/Lord_Howe shifts by 30 minutes: 02:15 runs at 02:30 on 2026-10-04, 01:45 once on 2026-04-05", () => {
    expect(firesBetween("15 2 * * *", "Australia/Lord_Howe", "2026-10-02T12:00:00Z", "2026-10-05T12:00:00Z")).toEqual([
      "2026-10-02T15:45:00.000Z", // 10-03 02:15 +10:30
      "2026-10-03T15:30:00.000Z", // 10-04 02:30 +11:00, just after the gap 02:00-02:30
      "2026-10-04T15:15:00.000Z", // 10-05 02:15 +11:00
    ]);
    expect(firesBetween("45 1 * * *", "Australia/Lord_Howe", "2026-04-03T12:00:00Z", "2026-04-06T12:00:00Z")).toEqual([
      "2026-04-03T14:45:00.000Z",
      "2026-04-04T14:45:00.000Z", // 04-05 01:45 +11:00; 01:45 +10:30 half an hour later does not fire
      "2026-04-05T15:15:00.000Z",
    ]);
    expect(firesBetween("*/15 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", "2026-10-03T16:00:00Z")).toEqual([
      "2026-10-03T15:00:00.000Z", // 01:30 +10:30
      "2026-10-03T15:15:00.000Z", // 01:45
      "2026-10-03T15:30:00.000Z", // 02:30 +11:00 (02:00 and 02:15 do not exist)
      "2026-10-03T15:45:00.000Z",
    ]);
  });

  it("365 consecutive days of a daily job give 365 runs, one per local day, in every zone", () => {
    for (const tz of ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]) {
      for (const expr of ["30 2 * * *", "30 1 * * *", "0 0 * * *"]) {
        const s = new Schedule(expr, tz);
        const runs: number[] = [];
        for (let t = s.next(at("2026-01-01T00:00:00Z")); t != null && runs.length < 365; t = s.next(t)) runs.push(t);
        const days = new Set(runs.map((t) => localIso(tz, t).slice(0, 10)));
        expect(days.size, `${expr} in ${tz}`).toBe(365);
        for (let i = 1; i < runs.length; i++) expect(runs[i]).toBeGreaterThan(runs[i - 1]);
      }
    }
  });
});

describe("consistency", () => {
  it("from any instant, next() gives the first fire time after it, across every kind of offset change", () => {
    const cases: [string, string, string][] = [
      ["30 2 * * *", "America/New_York", "2026-03-07"],
      ["30 1 * * *", "America/New_York", "2026-10-31"],
      ["*/20 2 * * *", "Europe/Berlin", "2026-03-28"],
      ["*/20 2 * * *", "Europe/Berlin", "2026-10-24"],
      ["*/10 * * * *", "Australia/Lord_Howe", "2026-10-03"],
      ["*/10 * * * *", "Australia/Lord_Howe", "2026-04-04"],
      ["15 2 * * *", "Australia/Lord_Howe", "2026-10-02"],
    ];
    for (const [expr, tz, day] of cases) {
      const s = new Schedule(expr, tz);
      const fires = s.upcoming(at(`${day}T00:00:00Z`) - 86_400_000, 600);
      for (let i = 1; i < fires.length; i++) {
        const [prev, t] = [fires[i - 1], fires[i]];
        for (const from of [prev, prev + 1, Math.floor((prev + t) / 2), t - 1000, t - 1]) {
          expect(s.next(from), `${expr} ${tz} after ${new Date(from).toISOString()}`).toBe(t);
        }
      }
    }
  });
});

describe("looking back", () => {
  it("lists the latest slots in a range, oldest first", () => {
    const s = new Schedule("@hourly", "UTC");
    expect(isoList(s.latestBetween(at("2026-06-01T00:00:00Z"), at("2026-06-01T03:30:00Z"), 10))).toEqual([
      "2026-06-01T00:00:00.000Z",
      "2026-06-01T01:00:00.000Z",
      "2026-06-01T02:00:00.000Z",
      "2026-06-01T03:00:00.000Z",
    ]);
    expect(isoList(s.latestBetween(at("2026-06-01T00:00:00Z"), at("2026-06-04T00:00:00Z"), 2))).toEqual(["2026-06-03T23:00:00.000Z", "2026-06-04T00:00:00.000Z"]);
    const everySecond = new Schedule("* * * * * *", "UTC").latestBetween(at("2026-06-01T00:00:00Z"), at("2026-06-04T00:00:00Z"), 100);
    expect(everySecond).toHaveLength(100);
    expect(new Date(everySecond[0]).toISOString()).toBe("2026-06-03T23:58:21.000Z");
  });
});

describe("shortest interval of an expression", () => {
  it("is the closest two consecutive fire times come, within a minute, an hour, a day or across midnight", () => {
    const cases: [string, number][] = [
      ["* * * * * *", 1],
      ["*/10 * * * * *", 10],
      ["0,59 * * * * *", 1],
      ["* * * * *", 60],
      ["*/5 * * * *", 300],
      ["@hourly", 3600],
      ["@daily", 86_400],
      ["0,1 0 1 1 *", 60],
      ["59 23 * * *", 86_400],
      ["0 0,23 * * *", 3600],
      // Matching days are taken as consecutive: a lower bound, never more than the real interval.
      ["0 0,23 1 * *", 3600],
      ["0 0 29 2 *", 86_400],
      ["30 23 * * *", 86_400],
      ["0,59 0,23 * * *", 60],
    ];
    for (const [expr, seconds] of cases) expect(shortestIntervalMs(expr), expr).toBe(seconds * 1000);
  });
});

describe("time-zone formatter cache", () => {
  it("holds one entry per canonical zone, however the name was spelled", () => {
    canonicalTimeZone("America/New_York");
    const before = cachedFormatterCount();
    const spellings = new Set<string>();
    for (let mask = 0; spellings.size < 2000; mask++) {
      spellings.add([..."america/new_york"].map((ch, i) => ((mask >> i) & 1 ? ch.toUpperCase() : ch)).join(""));
    }
    for (const name of spellings) expect(canonicalTimeZone(name)).toBe("America/New_York");
    expect(cachedFormatterCount()).toBe(before);
  });

  it("keeps every zone the runtime knows without evicting, and never more than its bound", () => {
    const zones = Intl.supportedValuesOf("timeZone");
    expect(zones.length).toBeLessThan(MAX_CACHED_FORMATTERS);
    for (const zone of zones) expect(canonicalTimeZone(zone.toLowerCase())).not.toBeNull();
    expect(cachedFormatterCount()).toBeLessThanOrEqual(zones.length + 10);
    expect(offsetAt("Europe/Berlin", Date.parse("2026-07-01T00:00:00Z"))).toBe(2 * 3600_000);
  });
});
