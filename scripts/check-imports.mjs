// Fails on any run-time import cycle in src/, and when the data layer (db/) or the event publisher
// loads at run time anything but db/, model/ and lib/ (and packages): what consumes events
// (webhooks, realtime, metrics) or drives jobs (scheduler, execution) depends on them, never the
// other way, and the publisher learns its sinks from the entry point. Type-only imports are
// dropped before the analysis (dpdm's transform): they vanish from the bundle.
// Usage: node scripts/check-imports.mjs [root]   (root defaults to the current directory)
import { parseCircular, parseDependencyTree } from "dpdm";
import path from "node:path";

const root = path.resolve(process.argv[2] ?? ".");
process.chdir(root);
const tree = await parseDependencyTree(["src/**/*.ts"], { transform: true, context: root });

const LAYER = [/^src\/db\//, /^src\/model\//, /^src\/lib\//, /^src\/events\/publisher\.ts$/];
const inLayer = (file) => LAYER.some((re) => re.test(file));
const problems = [];

for (const cycle of parseCircular(tree)) problems.push(`import cycle: ${[...cycle, cycle[0]].join(" -> ")}`);

// Everything the data layer and the publisher load at run time, with the path that loads it.
const reached = new Map();
const pending = Object.keys(tree).filter((f) => /^src\/db\//.test(f) || f === "src/events/publisher.ts").map((f) => [f, [f]]);
while (pending.length) {
  const [file, via] = pending.pop();
  if (reached.has(file)) continue;
  reached.set(file, via);
  for (const dep of tree[file] ?? []) if (dep.id?.startsWith("src/")) pending.push([dep.id, [...via, dep.id]]);
}
for (const [file, via] of reached) {
  if (!inLayer(file)) problems.push(`${via[0]} loads ${file} at run time (${via.join(" -> ")}); db/ and the publisher may reach only db/, model/ and lib/`);
}

if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`imports: ${Object.keys(tree).filter((f) => f.startsWith("src/")).length} modules, no cycles; db/ and the publisher reach only db/, model/ and lib/`);
