import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveSecretsKey, secretsKeyFile } from "./secrets-key.ts";

describe("the secrets key", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "secrets-key-"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("is generated once into DATA_DIR/secrets.key, readable by its owner only, then reused", async () => {
    const first = await resolveSecretsKey(undefined, dataDir);
    expect(first.origin).toBe("generated");
    expect((await stat(secretsKeyFile(dataDir))).mode & 0o777).toBe(0o600);
    const again = await resolveSecretsKey(undefined, dataDir);
    expect(again.origin).toBe("file");
    expect(again.key.bytes.equals(first.key.bytes)).toBe(true);
  });

  it("takes SECRETS_KEY over the file, and writes nothing", async () => {
    const configured = randomBytes(32);
    const resolved = await resolveSecretsKey(configured, dataDir);
    expect(resolved.origin).toBe("environment");
    expect(resolved.key.bytes.equals(configured)).toBe(true);
    await expect(readFile(secretsKeyFile(dataDir))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a key file that is not 32 bytes of base64", async () => {
    await writeFile(secretsKeyFile(dataDir), "c2hvcnQ=\n");
    await expect(resolveSecretsKey(undefined, dataDir)).rejects.toThrow(/secrets\.key must hold/);
  });

  it("agrees on one key when two starts race", async () => {
    const [left, right] = await Promise.all([
      resolveSecretsKey(undefined, dataDir),
      resolveSecretsKey(undefined, dataDir),
    ]);
    expect(left.key.bytes.equals(right.key.bytes)).toBe(true);
  });
});
