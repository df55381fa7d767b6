/**
 * Seconds postgres.js waits before its next connection attempt, after `retries` attempts that
 * failed in a row (the count is shared by the pool and reset by a connection that opens).
 *
 * The driver's own curve reaches 10–20 s after seven failures, and a short outage under load
 * fails seven attempts in a second: every API request and reconcile pass would then wait up to
 * 20 s after the server is back. Ours doubles from 50 ms and stops at 1–2 s (with jitter, so a
 * pool's connections do not knock together), which still spares a server that is down.
 */
export function reconnectBackoff(retries: number): number {
  const ceiling = Math.min(0.05 * 2 ** retries, 2);
  return ceiling * (0.5 + Math.random() / 2);
}
