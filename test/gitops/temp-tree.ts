import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A folder under the system temp dir, filled from `{ "path/in/it": "content" }`. */
export async function tempTree(files: Readonly<Record<string, string>> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "orchestrator-gitops-"));
  await writeTree(root, files);
  return root;
}

export async function writeTree(root: string, files: Readonly<Record<string, string>>) {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    if (path.endsWith("/")) await mkdir(target, { recursive: true });
    else await writeFile(target, content);
  }
}

export async function link(root: string, path: string, target: string) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await symlink(target, join(root, path));
}

export async function removeTree(root: string) {
  await rm(root, { recursive: true, force: true });
}

/** A valid document; `spec` lines are indented by the caller's template. */
export function imageDocument(name: string, specLines: string): string {
  return `apiVersion: orchestrator/v1\nkind: Image\nmetadata:\n  name: ${name}\nspec:\n${specLines}`;
}
