// A second Worker that runs jobs for Edge Ticker over a service binding (bundled by vitest.config.ts).
import { JobServiceEntrypoint, type ServiceJob } from "../../src/service";

type Params = { logLines?: number; failTimes?: number; waitForCancel?: boolean };

/** What the handler saw, by job id, for the tests to read back over RPC. */
const seen = new Map<string, { attempts: number[]; cancelReason?: string }>();

export class TestJobService extends JobServiceEntrypoint {
  async run(job: ServiceJob) {
    if (job.type === "EmailNotificationJob") {
      const { recipientEmail, templateId } = job.params as { recipientEmail: string; templateId: string };
      job.log("Info", `Sent ${templateId} to ${recipientEmail}`, undefined, "send");
      return { messageId: `remote-${job.id}`, deliveryStatus: "delivered" };
    }
    const params = job.params as Params;
    const record = seen.get(job.id) ?? { attempts: [] };
    seen.set(job.id, record);
    record.attempts.push(job.attempt);
    for (let i = 1; i <= (params.logLines ?? 0); i++) job.log("Info", `remote line ${i}`, `of ${job.type}`, "remote");
    job.progress(50, "half way");
    if (job.retryCount < (params.failTimes ?? 0)) throw new Error(`remote failure on attempt ${job.attempt}`);
    if (params.waitForCancel) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20_000);
        job.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          record.cancelReason = String((job.signal.reason as Error)?.message ?? job.signal.reason);
          resolve();
        });
      });
      return { cancelled: job.signal.aborted };
    }
    job.progress(100, "done");
    return { ran: job.type, attempt: job.attempt, params };
  }

  seen(jobId: string) {
    return seen.get(jobId) ?? null;
  }
}

export default { fetch: () => new Response("job service") };
