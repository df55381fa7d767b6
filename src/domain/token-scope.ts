/**
 * What a token may do: `read` only reads, `write` reads and changes its user's own resources,
 * `admin` acts for anyone. Each scope includes the ones before it.
 */
export const tokenScopes = ["read", "write", "admin"] as const;

export type TokenScope = (typeof tokenScopes)[number];

/** Whether a holder of `held` may hand out (or use) `wanted`. Pure. */
export function scopeIncludes(held: TokenScope, wanted: TokenScope): boolean {
  return tokenScopes.indexOf(held) >= tokenScopes.indexOf(wanted);
}

/** Methods a read-only token may use. */
export function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS";
}
