import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateToken } from "./tokens.ts";

export type AdminToken = {
  readonly token: string;
  /** "environment", "file", or "generated" when this start created it. */
  readonly origin: "environment" | "file" | "generated";
  readonly file: string;
};

export function adminTokenFile(dataDir: string): string {
  return path.join(dataDir, "admin-token");
}

/**
 * ORCHESTRATOR_ADMIN_TOKEN wins; otherwise DATA_DIR/admin-token; otherwise a new token is
 * written there (mode 0600, never overwritten) and reported as generated.
 */
export async function resolveAdminToken(
  configured: string | undefined,
  dataDir: string,
): Promise<AdminToken> {
  const file = adminTokenFile(dataDir);
  if (configured !== undefined) return { token: configured, origin: "environment", file };
  const existing = await readAdminTokenFile(dataDir);
  if (existing !== undefined) return { token: existing, origin: "file", file };
  await mkdir(dataDir, { recursive: true });
  const token = generateToken();
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const raced = await readAdminTokenFile(dataDir);
    if (raced !== undefined) return { token: raced, origin: "file", file };
    throw error;
  }
  return { token, origin: "generated", file };
}

export async function readAdminTokenFile(dataDir: string): Promise<string | undefined> {
  try {
    const content = (await readFile(adminTokenFile(dataDir), "utf8")).trim();
    return content.length > 0 ? content : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
