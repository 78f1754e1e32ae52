import { readSettings } from "../config";
import { EndpointChecksMessageSchema, type CheckResult, type CheckTask } from "./check-messages";
import { monitorFor } from "./client";
import { runCheck } from "./run-check";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Endpoint-check messages from the exec queue: every check is started at its due time (not before),
 * all of a message's checks run concurrently through the invocation's outbound slots, and their
 * results go back to the shard's monitor in one call per message. A message whose report fails is
 * retried; the monitor ignores results it already has.
 */
export async function handleEndpointChecksBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const { allowPrivateTargets } = readSettings(env);
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = EndpointChecksMessageSchema.safeParse(message.body);
      if (!parsed.success) {
        console.error("dropping malformed endpoint-checks message", parsed.error.issues);
        return message.ack();
      }
      const { shard, checks } = parsed.data;
      const results = await Promise.all(checks.map((task) => checkAtDueTime(task, allowPrivateTargets)));
      try {
        await monitorFor(env, shard).report({ shard, results });
        message.ack();
      } catch (err) {
        console.error(`endpoint monitor ${shard}: report failed; the message is retried`, err);
        message.retry({ delaySeconds: 1 });
      }
    }),
  );
}

async function checkAtDueTime(task: CheckTask, allowPrivate: boolean): Promise<CheckResult> {
  const wait = task.dueAt - Date.now();
  if (wait > 0) await sleep(wait);
  return runCheck(task, allowPrivate);
}
