import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The version of the orchestrator package this code belongs to: the first package.json named
 * `orchestrator` above this file (`src/` in a checkout, `dist/src/` in the installed package).
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let folder = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(folder, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === "orchestrator" && typeof manifest.version === "string") {
        cached = manifest.version;
        return cached;
      }
    } catch {
      // no package.json here: look further up
    }
    const parent = path.dirname(folder);
    if (parent === folder) return "unknown";
    folder = parent;
  }
}
