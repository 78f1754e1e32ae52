import { WBT_STATUS } from "../compat/wbt-model";
import type { JobStatus } from "../model/job";
import type { Published } from "./messages";
import { invocation, type HubName } from "./signalr-protocol";

/** One client invocation and the groups of one hub that receive it. */
export type HubFrame = { hub: HubName; groups: string[]; frame: string };

const numericStatus = (s: unknown) => WBT_STATUS[s as JobStatus] ?? null;

/**
 * What a live message becomes on the SignalR hubs. `/api/tickerq/hub` (seed 000):
 * JobStatusChanged(jobId, status, details) and MetricsUpdated(metrics), plus SystemHealthAlert(alert).
 * `/hubs/job-progress` (seed 003, numeric statuses): JobProgress, JobCompleted and JobFailed(data).
 */
export function hubFrames(m: Published): HubFrame[] {
  const d = m.data;
  switch (m.topic) {
    case "job-status": {
      const frames: HubFrame[] = [
        { hub: "tickerq", groups: ["job-updates", `queue:${m.queue}`, `job:${m.jobId}`], frame: invocation("JobStatusChanged", [m.jobId, d.status, d]) },
      ];
      const target = d.status === "completed" ? "JobCompleted" : d.status === "failed" ? "JobFailed" : null;
      if (target) {
        const data = {
          jobId: m.jobId,
          name: d.jobName,
          status: numericStatus(d.status),
          attempt: d.attempt,
          startedAt: d.startedAt,
          completedAt: d.completedAt,
          duration: d.duration,
          durationMs: d.durationMs,
          result: d.result,
          error: d.error,
        };
        frames.push({ hub: "job-progress", groups: [`job:${m.jobId}`], frame: invocation(target, [data]) });
      }
      return frames;
    }
    case "job-progress":
      return [
        {
          hub: "job-progress",
          groups: [`job:${m.jobId}`],
          frame: invocation("JobProgress", [{ jobId: m.jobId, status: numericStatus("running"), progress: d.percent, message: d.message, attempt: d.attempt }]),
        },
      ];
    case "queue-metrics":
      return [{ hub: "tickerq", groups: ["system-metrics", `queue:${m.queue}`], frame: invocation("MetricsUpdated", [d]) }];
    case "system-health":
      return [{ hub: "tickerq", groups: ["system-health"], frame: invocation("SystemHealthAlert", [d]) }];
    case "job-logs":
    case "endpoint-status":
      return [];
  }
}
