/**
 * Exponential back-off with jitter: after the n-th failure in a row (1-based), wait about
 * `initialMs × 2^(n-1)`, never more than `maxMs`, multiplied by a random factor between
 * `jitter.low` and `jitter.high`, so that whatever failed together does not retry together.
 */
export type BackoffPolicy = {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** The exponential part never grows past this. */
  readonly maxMs: number;
  /** The random factor's range; "equal jitter" (half to all of the delay) when left out. */
  readonly jitter?: { readonly low: number; readonly high: number };
};

const equalJitter = { low: 0.5, high: 1 } as const;

export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const { low, high } = policy.jitter ?? equalJitter;
  return Math.max(0, Math.round(ceiling * (low + random() * (high - low))));
}
