import { z } from "zod";
import { defineJobType } from "../own-types";

/**
 * An example of a deployment's own job type, installed by src/index.ts through `createEdgeTicker`
 * exactly as a user's Worker installs its types. Parameters are validated with the schema when the job is created.
 */
export const wordCount = defineJobType({
  description: "Counts the words and characters of `text` (an example custom job type).",
  parameters: z.strictObject({ text: z.string().max(100_000) }),
  timeoutSeconds: 10,
  async run({ text }, ctx) {
    ctx.log("Info", "Counting words", `${text.length} characters`, "count");
    const words = text.split(/\s+/).filter(Boolean).length;
    ctx.progress(100, "counted");
    return { words, characters: text.length };
  },
});
