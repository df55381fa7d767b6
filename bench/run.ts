/**
 * `npm run bench`: runs every benchmark (bench/<name>/<name>.ts or any .ts in a bench folder),
 * one process each, one after another; each prints its own ratio against a baseline measured in
 * the same run. `npm run bench -- converge relay` runs only those folders.
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL("./", import.meta.url));
/** Folder names pick benchmarks; flags (`--runtime swarm`) go to each of them. */
const names: string[] = [];
const flags: string[] = [];
for (let index = 2; index < process.argv.length; index += 1) {
  const argument = process.argv[index] as string;
  if (!argument.startsWith("--")) {
    names.push(argument);
    continue;
  }
  flags.push(argument);
  const value = process.argv[index + 1];
  if (!argument.includes("=") && value !== undefined && !value.startsWith("--")) {
    flags.push(value);
    index += 1;
  }
}
const only = names;

/** Long soaks run only when named: `npm run bench -- chaos`. */
const onlyWhenNamed = new Set(["chaos"]);
const folders = (await readdir(benchDir, { withFileTypes: true }))
  .filter(
    (entry) =>
      entry.isDirectory() &&
      (only.length === 0 ? !onlyWhenNamed.has(entry.name) : only.includes(entry.name)),
  )
  .map((entry) => entry.name)
  .sort();

let failed = 0;
for (const folder of folders) {
  const files = (await readdir(new URL(`./${folder}/`, import.meta.url))).filter(
    (file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.includes("support"),
  );
  for (const file of files.sort()) {
    process.stdout.write(`\n== bench/${folder}/${file}\n`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", `${benchDir}${folder}/${file}`, ...flags],
        {
          stdio: "inherit",
        },
      );
      child.on("exit", (exitCode) => resolve(exitCode ?? 1));
    });
    if (code !== 0) {
      failed += 1;
      process.stdout.write(`bench/${folder}/${file} failed (exit ${code})\n`);
    }
  }
}
process.exitCode = failed === 0 ? 0 : 1;
