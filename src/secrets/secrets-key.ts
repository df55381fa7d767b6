import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type SecretsKey, secretsKeyBytes, secretsKeyOf } from "./cipher.ts";

export type ResolvedSecretsKey = {
  readonly key: SecretsKey;
  /** "environment" (SECRETS_KEY), "file", or "generated" when this start wrote the file. */
  readonly origin: "environment" | "file" | "generated";
  readonly file: string;
};

export function secretsKeyFile(dataDir: string): string {
  return path.join(dataDir, "secrets.key");
}

/** The key in a file: base64 of 32 bytes; anything else is an error naming the file. */
function parseKeyFile(content: string, file: string): SecretsKey {
  const bytes = Buffer.from(content.trim(), "base64");
  if (bytes.length !== secretsKeyBytes) {
    throw new Error(`${file} must hold the base64 of ${secretsKeyBytes} bytes`);
  }
  return secretsKeyOf(bytes);
}

/**
 * SECRETS_KEY wins; otherwise DATA_DIR/secrets.key; otherwise a new random key is written there
 * once (mode 0600, never overwritten: two starts racing agree on the first one's key).
 * Several processes on one Postgres server must share SECRETS_KEY: each has its own DATA_DIR.
 */
export async function resolveSecretsKey(
  configured: Buffer | undefined,
  dataDir: string,
): Promise<ResolvedSecretsKey> {
  const file = secretsKeyFile(dataDir);
  if (configured !== undefined)
    return { key: secretsKeyOf(configured), origin: "environment", file };
  const read = async () => {
    try {
      return parseKeyFile(await readFile(file, "utf8"), file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };
  const existing = await read();
  if (existing !== undefined) return { key: existing, origin: "file", file };
  await mkdir(dataDir, { recursive: true });
  const bytes = randomBytes(secretsKeyBytes);
  try {
    await writeFile(file, `${bytes.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const raced = await read();
    if (raced !== undefined) return { key: raced, origin: "file", file };
    throw error;
  }
  return { key: secretsKeyOf(bytes), origin: "generated", file };
}
