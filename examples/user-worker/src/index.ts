import { createEdgeTicker, defineJobType, PermanentJobError } from "edge-ticker";
import { z } from "zod";

/** Seed 000's "Schedule New Job" example. */
const EmailNotificationJob = defineJobType({
  description: "Sends the e-mail template `templateId` to `recipientEmail`.",
  parameters: z.strictObject({ recipientEmail: z.email(), templateId: z.string().min(1) }),
  timeoutSeconds: 30,
  async run({ recipientEmail, templateId }, ctx) {
    if (templateId === "retired") throw new PermanentJobError(`Template ${templateId} no longer exists.`);
    ctx.log("Info", `Rendering ${templateId}`, undefined, "render");
    ctx.progress(50, "rendered");
    // Call your e-mail provider here, e.g. fetch(..., { signal: ctx.signal }) with a key from ctx.env.
    ctx.log("Info", `Sent to ${recipientEmail}`, undefined, "send");
    return { messageId: `msg-${ctx.jobId}`, deliveryStatus: "delivered" };
  },
});

/** Seed 000's "Schedule Recurring Job" example. */
const DataBackupJob = defineJobType({
  description: "Backs up the data set (`full` or `incremental`) to `destination`.",
  parameters: z.strictObject({ backupType: z.enum(["full", "incremental"]), destination: z.string().min(1) }),
  timeoutSeconds: 300,
  async run({ backupType, destination }, ctx) {
    ctx.log("Info", `Starting a ${backupType} backup to ${destination}`, undefined, "backup");
    ctx.progress(100, "copied");
    return { backupType, destination, finishedAt: new Date().toISOString() };
  },
});

const ticker = createEdgeTicker({ jobTypes: { EmailNotificationJob, DataBackupJob } });

export default ticker.handler;
export { QueueScheduler, RecurringScheduler, RealtimeHub } from "edge-ticker";
