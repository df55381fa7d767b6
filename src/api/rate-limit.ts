import type { Context, MiddlewareHandler } from "hono";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { isReadMethod } from "../domain/token-scope.ts";
import type { AppEnv } from "./app-env.ts";
import { ProblemError } from "./problem.ts";

/**
 * Counting hits per key over a window, with rate-limiter-flexible (the only importer of it):
 * per token on writes, per client address on failed authentications. The counters live in this
 * process: with several processes each keeps its own, which bounds every one of them.
 */
export type Limiter = {
  /** Counts one hit; undefined when it is allowed, else the seconds until the key may go on. */
  hit(key: string): Promise<number | undefined>;
  /** The seconds a key is still refused for, or undefined when it is not refused now. */
  refusedFor(key: string): Promise<number | undefined>;
  readonly points: number;
};

export function createLimiter(options: {
  readonly points: number;
  readonly durationSeconds: number;
  /** Once over the limit, the key stays refused this long (default: the rest of the window). */
  readonly blockSeconds?: number;
}): Limiter {
  const limiter = new RateLimiterMemory({
    points: options.points,
    duration: options.durationSeconds,
    blockDuration: options.blockSeconds ?? 0,
  });
  const seconds = (result: RateLimiterRes) => Math.max(1, Math.ceil(result.msBeforeNext / 1000));
  return {
    points: options.points,
    async hit(key) {
      try {
        await limiter.consume(key);
        return undefined;
      } catch (error) {
        if (error instanceof RateLimiterRes) return seconds(error);
        throw error;
      }
    },
    async refusedFor(key) {
      const current = await limiter.get(key);
      if (current === null || current.consumedPoints <= options.points) return undefined;
      return seconds(current);
    },
  };
}

/** 429 with Retry-After: the client may go on after that many seconds. */
export function tooManyRequests(
  c: Context,
  retryAfterSeconds: number,
  code: "rate_limited" | "too_many_uploads",
  detail: string,
): ProblemError {
  c.header("retry-after", String(retryAfterSeconds));
  return new ProblemError(code, detail, { extensions: { retry_after: retryAfterSeconds } });
}

/**
 * Writes (anything but GET/HEAD/OPTIONS) count against their token's budget per minute; past it
 * they answer 429 with Retry-After, before anything is read or written. The admin token of the
 * configuration (the operator's, e.g. a GitOps watch) is not limited.
 */
export function limitWrites(limiter: Limiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (isReadMethod(c.req.method)) return next();
    const { tokenId } = c.get("principal");
    if (tokenId === null) return next();
    const retryAfter = await limiter.hit(`token:${tokenId}`);
    if (retryAfter !== undefined) {
      throw tooManyRequests(
        c,
        retryAfter,
        "rate_limited",
        `this token made more than ${limiter.points} writes in a minute (RATE_LIMIT_WRITES_PER_MINUTE); retry after ${retryAfter} s`,
      );
    }
    return next();
  };
}
