export type BackoffPolicy = {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** No delay is longer than this. */
  readonly maxMs: number;
};

export const defaultRelayBackoff: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

/**
 * Exponential backoff with "equal jitter": after the n-th consecutive failure (0-based) wait
 * between half and all of min(max, initial * 2^n), so relays that failed together do not
 * retry together, and a long outage is probed at most every `maxMs`.
 */
export function backoffDelay(
  failure: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failure, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
