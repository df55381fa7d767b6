/**
 * Whether a database error means "the server is not there right now" (restarting, unreachable,
 * our session was ended), as opposed to a query that is wrong. Callers answer the first with
 * 503 and retry it; the second is a bug. Also whether a transaction lost to a concurrent one.
 */

/** The driver's own codes for a connection that could not be made or was lost. */
const connectionCodes = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server going away or not accepting us yet: connection exceptions (class 08),
 * admin/crash shutdown and "starting up" (57P01–57P03), too many connections (53300).
 */
const unavailableStates = /^(08...|57P0[123]|53300)$/;

/** Whether the error, or one of its causes, has a string `code` that `matches`. */
function hasCode(error: unknown, matches: (code: string) => boolean): boolean {
  for (let current = error, depth = 0; current != null && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && matches(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return hasCode(error, (code) => connectionCodes.has(code) || unavailableStates.test(code));
}

/**
 * Whether the transaction lost to a concurrent one: a deadlock (40P01) or a serialization
 * failure (40001). Postgres rolled it back, so nothing changed, and sent again it is decided
 * afresh: the API answers 409, not 500.
 */
export function isWriteConflict(error: unknown): boolean {
  return hasCode(error, (code) => code === "40P01" || code === "40001");
}
