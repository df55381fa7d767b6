/**
 * Where a CPU profile's time went: `node bench/relay/support-profile-summary.ts FILE.cpuprofile`.
 * Prints self time by area (PGlite's JavaScript, its WebAssembly, kafkajs, our modules, garbage
 * collection, idle) and the 25 dearest functions.
 */
import { readFile } from "node:fs/promises";

type Node = {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
};
type Profile = {
  readonly nodes: Node[];
  readonly samples: number[];
  readonly timeDeltas: number[];
};

function areaOf({ functionName, url }: Node["callFrame"]): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("wasm://")) return "WebAssembly (PGlite's Postgres)";
  const inModules = url.split("node_modules/")[1];
  if (inModules !== undefined)
    return inModules
      .split("/")
      .slice(0, inModules.startsWith("@") ? 2 : 1)
      .join("/");
  const inSource = url.split("/src/")[1];
  if (inSource !== undefined) return `src/${inSource}`;
  return url.startsWith("node:") ? url : (url.split("/").at(-1) ?? url);
}

const file = process.argv[2];
if (file === undefined) throw new Error("usage: support-profile-summary.ts FILE.cpuprofile");
const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const [index, id] of profile.samples.entries()) {
  const micros = profile.timeDeltas[index] ?? 0;
  const frame = nodes.get(id)?.callFrame;
  if (frame === undefined) continue;
  total += micros;
  const area = areaOf(frame);
  byArea.set(area, (byArea.get(area) ?? 0) + micros);
  const name = `${frame.functionName || "(anonymous)"} ${area}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
}
const top = (map: Map<string, number>, count: number) =>
  [...map]
    .sort((left, right) => right[1] - left[1])
    .slice(0, count)
    .map(
      ([name, micros]) =>
        `${(micros / 1000).toFixed(0).padStart(7)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`,
    )
    .join("\n");
console.log(
  `${(total / 1000).toFixed(0)} ms sampled\n\nby area:\n${top(byArea, 15)}\n\nby function (self):\n${top(byFunction, 25)}`,
);
