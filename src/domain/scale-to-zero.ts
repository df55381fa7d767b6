/**
 * Scale to zero, pure: an image with `autoscale.scale_to_zero_after` goes to 0 once the router
 * saw no request for it for that long. Idle must be seen, not guessed: an unknown rate (a
 * router that did not answer, no two scrapes yet) starts the idle time over, as a request does.
 */
export type IdleInput = {
  readonly scaleToZeroAfterMs: number;
  /** The desired count now. */
  readonly current: number;
  /** Requests per second through the routers for the image's hostname; undefined: unknown. */
  readonly rate: number | undefined;
  /** Since when the rate has been seen at 0, as this function returned it last time. */
  readonly idleSince: number | undefined;
  readonly now: number;
};

export type IdleDecision = {
  /** Keep for the next look (undefined: not idle, or not known to be). */
  readonly idleSince: number | undefined;
  /** Move to 0 now. */
  readonly toZero: boolean;
};

export function decideIdle(input: IdleInput): IdleDecision {
  // At zero the idle time is over: once woken, the image is idle again only from then on.
  if (input.current === 0 || input.rate === undefined || input.rate > 0) {
    return { idleSince: undefined, toZero: false };
  }
  const idleSince = input.idleSince ?? input.now;
  return {
    idleSince,
    toZero: input.current > 0 && input.now - idleSince >= input.scaleToZeroAfterMs,
  };
}
