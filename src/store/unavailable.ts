/** Driver codes of a connection that could not be made or was lost (postgres.js, Node). */
const connectionCodes = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** SQLSTATEs of a server that is going away, refusing connections, or lost the database. */
const unavailableStates = new Set([
  "57P01", // admin_shutdown (a terminated session, a server stopping)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "3D000", // invalid_catalog_name: the database is gone
]);

/**
 * Whether a driver error means the database cannot be reached right now (the request may
 * succeed later: 503), rather than that the query itself was wrong.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const code = (current as { code?: unknown } | null)?.code;
    if (typeof code === "string" && (connectionCodes.has(code) || unavailableStates.has(code)))
      return true;
    if (typeof code === "string" && code.startsWith("08")) return true; // connection_exception
    current = (current as { cause?: unknown } | null)?.cause;
  }
  return false;
}
