/**
 * Builds what `npm pack` ships (run as `prepack`): Node does not strip types inside
 * node_modules, so the package carries JavaScript and declarations compiled from src/ into
 * dist/ (imports rewritten to .js), with the SQL migrations beside them. The repository itself
 * keeps running the TypeScript directly.
 */
import { execFileSync } from "node:child_process";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const dist = path.join(root, "dist");

await rm(dist, { recursive: true, force: true });
execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

/** Declarations keep the sources' `./x.ts` specifiers: point them at the compiled files. */
async function rewriteDeclarations(folder: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) count += await rewriteDeclarations(file);
    else if (entry.name.endsWith(".d.ts")) {
      const text = await readFile(file, "utf8");
      const rewritten = text.replace(/(from\s+["']\.{1,2}\/[^"']+)\.ts(["'])/g, "$1.js$2");
      if (rewritten !== text) {
        await writeFile(file, rewritten);
        count += 1;
      }
    }
  }
  return count;
}

const rewritten = await rewriteDeclarations(dist);
// src/store/migrate.ts reads ../../sql/ next to itself: dist/sql/.
await cp(path.join(root, "sql"), path.join(dist, "sql"), { recursive: true });
// The dashboard's browser modules are plain JavaScript served as they are (src/ui/dashboard-assets.ts).
await cp(path.join(root, "src/ui/browser"), path.join(dist, "src/ui/browser"), { recursive: true });
process.stdout.write(`built dist/ (${rewritten} declaration files rewritten)\n`);
