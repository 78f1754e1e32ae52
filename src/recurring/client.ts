export function recurringSchedulerFor(env: Env, recurringId: string) {
  return env.RECURRING_SCHEDULER.get(env.RECURRING_SCHEDULER.idFromName(recurringId));
}

/**
 * Tells a recurring job's scheduler that its definition changed. A failure is only logged:
 * D1 holds the schedule, and the cron reconciler re-arms a scheduler whose slot is overdue.
 */
export async function syncRecurringBestEffort(env: Env, recurringId: string): Promise<void> {
  try {
    await recurringSchedulerFor(env, recurringId).sync(recurringId);
  } catch (err) {
    console.warn(`recurring scheduler sync failed for ${recurringId}; the reconciler will re-arm it`, err);
  }
}
