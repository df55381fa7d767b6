import type { Logger } from "../logger.ts";
import type { Store } from "../store/database.ts";

/**
 * Without KAFKA_BROKERS nothing publishes events, so the relay's "prune what was published"
 * never applies: the API is their only reader, and EVENT_RETENTION_DAYS bounds the log instead.
 * Runs hourly (and once shortly after start), deleting in chunks.
 */
export function startLocalEventRetention(
  store: Pick<Store, "events">,
  retentionDays: number,
  logger: Logger,
): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const prune = async () => {
    const count = await store.events.pruneAll(new Date(Date.now() - retentionDays * 86_400_000));
    if (count > 0) logger.info({ count, retentionDays }, "old events pruned");
  };
  const loop = (delayMs: number) => {
    timer = setTimeout(() => {
      void prune()
        .catch((error: unknown) => logger.warn({ err: error }, "event pruning failed"))
        .finally(() => {
          if (!stopped) loop(3_600_000);
        });
    }, delayMs);
    timer.unref();
  };
  loop(30_000);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
