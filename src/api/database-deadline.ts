import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env.ts";
import { ProblemError } from "./problem.ts";

export type DatabaseDeadlineOptions = {
  /** How long a request may wait before the database is asked whether it is there. */
  readonly afterMs: number;
  /** Whether the database answers now (a short, bounded check). */
  readonly reachable: () => Promise<boolean>;
};

/**
 * A request waiting on a database that went away answers 503 `unavailable` instead of hanging:
 * once it has waited `afterMs`, the database is asked (a bounded ping); when it does not answer,
 * the client gets its 503 at once and may retry, while the handler's own work ends as the
 * driver decides (its result is dropped). A slow request on a database that is there keeps
 * waiting. Streams and uploads answer (or read) long before: only their start is bounded.
 */
export function databaseDeadline(options: DatabaseDeadlineOptions): MiddlewareHandler<AppEnv> {
  return async (_c, next) => {
    const handled = next().then(
      () => "done" as const,
      (error: unknown) => ({ error }),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), options.afterMs);
    });
    try {
      const first = await Promise.race([handled, late]);
      if (first === "late" && !(await options.reachable())) {
        throw new ProblemError(
          "unavailable",
          "the database is unavailable right now; try again shortly",
        );
      }
      const outcome = first === "late" ? await handled : first;
      if (outcome !== "done") throw outcome.error;
    } finally {
      clearTimeout(timer);
    }
  };
}
