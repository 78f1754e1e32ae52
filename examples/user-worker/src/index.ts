import { createEdgeTicker, defineJobType, PermanentJobError } from "edge-ticker";
import { z } from "zod";

/**
 * Seed 000's "Schedule New Job" example: `recipientEmail` and `templateId`. The names `to`, `subject`
 * and `template` are accepted too, so clients written against either spelling work.
 */
const EmailNotificationJob = defineJobType({
  description: "Sends the e-mail template `templateId` (or `template`) to `recipientEmail` (or `to`), with an optional `subject`.",
  parameters: z
    .strictObject({
      recipientEmail: z.email().optional(),
      to: z.email().optional(),
      templateId: z.string().min(1).optional(),
      template: z.string().min(1).optional(),
      subject: z.string().max(998).optional(),
    })
    .superRefine((p, ctx) => {
      if (!p.recipientEmail && !p.to) ctx.addIssue({ code: "custom", path: ["recipientEmail"], message: "is required (or `to`)" });
      if (!p.templateId && !p.template) ctx.addIssue({ code: "custom", path: ["templateId"], message: "is required (or `template`)" });
    }),
  timeoutSeconds: 30,
  async run(params, ctx) {
    const recipient = params.recipientEmail ?? params.to;
    const template = params.templateId ?? params.template;
    if (template === "retired") throw new PermanentJobError(`Template ${template} no longer exists.`);
    ctx.log("Info", `Rendering ${template}`, params.subject, "render");
    ctx.progress(50, "rendered");
    // Call your e-mail provider here, e.g. fetch(..., { signal: ctx.signal }) with a key from ctx.env.
    ctx.log("Info", `Sent to ${recipient}`, undefined, "send");
    return { messageId: `msg-${ctx.jobId}`, deliveryStatus: "delivered" };
  },
});

/** Seed 000's "Schedule Recurring Job" example: `backupType` and `destination`, optionally the `databases` to back up. */
const DataBackupJob = defineJobType({
  description: "Backs up `databases` (all when absent) as a `full` or `incremental` backup to `destination`.",
  parameters: z.strictObject({
    backupType: z.enum(["full", "incremental"]).default("full"),
    databases: z.array(z.string().min(1)).min(1).optional(),
    destination: z.string().min(1),
  }),
  timeoutSeconds: 300,
  async run({ backupType, databases, destination }, ctx) {
    for (const db of databases ?? ["all databases"]) ctx.log("Info", `Starting a ${backupType} backup of ${db} to ${destination}`, undefined, "backup");
    ctx.progress(100, "copied");
    return { backupType, databases: databases ?? null, destination, finishedAt: new Date().toISOString() };
  },
});

const ticker = createEdgeTicker({ jobTypes: { EmailNotificationJob, DataBackupJob } });

export default ticker.handler;
export { QueueScheduler, RecurringScheduler, RealtimeHub, EndpointMonitor } from "edge-ticker";
