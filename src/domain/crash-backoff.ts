/** Crash-loop restart delays: the first failure restarts at once, then 10 s doubling to 5 min. */
export const crashBackoff = {
  firstDelayMs: 10_000,
  maxDelayMs: 300_000,
  /** A container that ran this long before failing starts a fresh count. */
  resetAfterMs: 600_000,
} as const;

export function restartDelayMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(
    crashBackoff.firstDelayMs * 2 ** (consecutiveFailures - 2),
    crashBackoff.maxDelayMs,
  );
}
