import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Values at rest: AES-256-GCM with a random 96-bit IV per value and a 128-bit tag, bound by the
 * additional authenticated data to what the value belongs to (`secret:7:db-password`), so a
 * ciphertext copied onto another row, name or tenant does not open. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url): the version says which scheme wrote it.
 */

export const secretsKeyBytes = 32;

/** A 32-byte key, kept out of logs and JSON. */
export type SecretsKey = { readonly bytes: Buffer; toJSON(): string; toString(): string };

export function secretsKeyOf(bytes: Buffer): SecretsKey {
  if (bytes.length !== secretsKeyBytes) {
    throw new Error(`a secrets key is ${secretsKeyBytes} bytes, not ${bytes.length}`);
  }
  return { bytes, toJSON: () => "[secrets key]", toString: () => "[secrets key]" };
}

/** A sealed value that could not be opened: another key, another owner or name, or altered. */
export class SecretUnreadableError extends Error {
  override name = "SecretUnreadableError";
}

const scheme = "v1";

export function seal(key: SecretsKey, plaintext: string, boundTo: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, iv);
  cipher.setAAD(Buffer.from(boundTo, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [scheme, iv, tag, ciphertext]
    .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
    .join(".");
}

export function open(key: SecretsKey, sealed: string, boundTo: string): string {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split(".");
  if (
    version !== scheme ||
    iv === undefined ||
    tag === undefined ||
    ciphertext === undefined ||
    rest.length > 0
  ) {
    throw new SecretUnreadableError(`${boundTo}: not a sealed value of scheme ${scheme}`);
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.bytes, Buffer.from(iv, "base64url"), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(boundTo, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([
      decipher.update(Buffer.from(ciphertext, "base64url")),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    throw new SecretUnreadableError(
      `${boundTo} cannot be decrypted: it was sealed with another key (SECRETS_KEY or DATA_DIR/secrets.key changed) or altered`,
    );
  }
}

/** What a tenant's secret value is bound to. */
export const secretBinding = (userId: number, name: string) => `secret:${userId}:${name}`;

/** What a tenant's registry password is bound to. */
export const registryBinding = (userId: number, server: string) => `registry:${userId}:${server}`;
