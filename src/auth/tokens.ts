import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const tokenPrefix = "orc_";

/** A new bearer token: 32 random bytes, URL-safe, with a prefix that secret scanners can match. */
export function generateToken(): string {
  return tokenPrefix + randomBytes(32).toString("base64url");
}

/** Tokens are high-entropy, so a plain SHA-256 is the right hash: fast lookups, nothing to salt. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time comparison of a presented token with a known one. */
export function tokensEqual(presented: string, expected: string): boolean {
  const left = Buffer.from(hashToken(presented), "hex");
  const right = Buffer.from(hashToken(expected), "hex");
  return timingSafeEqual(left, right);
}

/** One character of a bearer token (RFC 6750's b64token): the setting check and the parser share it. */
const tokenCharacter = "[A-Za-z0-9._~+/=-]";

/** A value made only of bearer-token characters (config.ts checks token settings with it). */
export const tokenCharacters = new RegExp(`^${tokenCharacter}+$`);

const bearer = new RegExp(`^Bearer\\s+(${tokenCharacter}{8,512})\\s*$`, "i");

/** The bearer token of an Authorization header, or undefined when there is none (or malformed). */
export function presentedToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : (bearer.exec(header)?.[1] ?? undefined);
}
