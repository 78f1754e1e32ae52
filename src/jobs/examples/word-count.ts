import { z } from "zod";
import { defineJobType } from "../job-type";

/**
 * An example of a user job type: copy this file, change the schema and `run`, and add one line to
 * src/jobs/registry.ts. Parameters are validated with the schema when the job is created.
 */
export const wordCountJob = defineJobType({
  name: "word-count",
  description: "Counts the words and characters of `text` (an example custom job type).",
  parameters: z.strictObject({ text: z.string().max(100_000) }),
  timeoutMs: 10_000,
  async run({ text }, ctx) {
    ctx.log("Info", "Counting words", `${text.length} characters`, "count");
    const words = text.split(/\s+/).filter(Boolean).length;
    ctx.progress(100, "counted");
    return { words, characters: text.length };
  },
});
