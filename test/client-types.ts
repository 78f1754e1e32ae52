// Type-level tests of the typed client, checked by `npm run typecheck` (tsc): each call below is wrong, and
// each `@ts-expect-error` fails the typecheck if the client's types ever accept it.
import { createClient, TickerQClient, type JobDetails, type JobSummary } from "../src/client/index";

const client = createClient({ baseUrl: "https://ticker.example.com", token: "t" });
const seed = new TickerQClient("https://ticker.example.com", "key");

export async function wrongCalls() {
  // @ts-expect-error: a job needs a type
  await client.jobs.create({ parameters: {} });
  // @ts-expect-error: priority is low, normal or high
  await client.jobs.create({ type: "echo", priority: "urgent" });
  // @ts-expect-error: maxRetries is a number
  await client.jobs.create({ type: "echo", maxRetries: "3" });
  // @ts-expect-error: unknown request fields are refused by the server, and by the types
  await client.jobs.create({ type: "echo", retries: 3 });
  // @ts-expect-error: parameters is an object
  await seed.scheduleJob("echo", "hello");
  // @ts-expect-error: options do not take the type again
  await seed.scheduleJob("echo", {}, { type: "other" });
  // @ts-expect-error: status is one of the job statuses
  await seed.getJobs({ status: "done" });
  // @ts-expect-error: the batch is { jobs: [...] }
  await client.jobs.batch([{ type: "echo" }]);
  // @ts-expect-error: a recurring job needs a cron expression
  await client.recurring.create({ type: "echo", name: "n" });
  // @ts-expect-error: workers is a number
  await client.queues.configure("q", { workers: "5" });
  // @ts-expect-error: key scopes are the four tickerq scopes
  await client.keys.create({ name: "k", scopes: ["everything"] });
  // @ts-expect-error: unknown topic
  client.subscribe(["job-status", "jobs"], () => {});
  // @ts-expect-error: filters are queue, jobId and type
  client.subscribe(["job-status"], () => {}, { filters: { status: "failed" } });
  // @ts-expect-error: onProgress gets { percent, message }
  await client.waitForJob("job_1", { onProgress: (p: string) => p });

  // Responses are typed from the server's handlers.
  const job: JobDetails = await client.getJob("job_1");
  const status: "pending" | "running" | "completed" | "failed" | "cancelled" = job.status;
  // @ts-expect-error: a job has no such field
  job.jobStatus;
  const created: JobSummary = await seed.scheduleJob("echo", { message: "hi" }, { queue: "emails", delay: "00:05:00" });
  // @ts-expect-error: the summary's id is a string
  const n: number = created.id;
  for await (const j of client.listJobs({ queue: "emails" })) {
    // @ts-expect-error: listJobs yields jobs, not pages
    j.jobs;
  }
  return [status, n];
}
