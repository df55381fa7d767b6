import { Counter, Gauge, Histogram, type Registry } from "../metrics/registry.ts";
import type { Backlog } from "../store/events-repository.ts";

const names = {
  unpublished: "orchestrator_events_unpublished",
  oldestAge: "orchestrator_events_oldest_unpublished_age_seconds",
  published: "orchestrator_events_published_total",
  failed: "orchestrator_events_failed_total",
  publishLag: "orchestrator_event_publish_lag_seconds",
} as const;

export type RelayMetrics = {
  /** Events acknowledged by the broker, and how long after their commit. */
  published(lagsSeconds: readonly number[]): void;
  /** Events the broker rejected for good. */
  failed(count: number): void;
  /** Takes the metrics off the registry (at stop), so a new relay may register them again. */
  unregister(): void;
};

/**
 * The relay's metrics on the service's registry. The two gauges are read on scrape with one
 * query (shared by both, cached for a second); a scrape never fails because the database did.
 */
export function createRelayMetrics(
  registry: Registry,
  readBacklog: () => Promise<Backlog>,
): RelayMetrics {
  let cached: { at: number; backlog: Promise<Backlog | undefined> } | undefined;
  const backlog = () => {
    if (cached === undefined || Date.now() - cached.at > 1_000) {
      cached = { at: Date.now(), backlog: readBacklog().catch(() => undefined) };
    }
    return cached.backlog;
  };
  new Gauge({
    name: names.unpublished,
    help: "Events written but not yet acknowledged by Kafka (the outbox backlog)",
    registers: [registry],
    async collect() {
      const current = await backlog();
      if (current !== undefined) this.set(current.count);
    },
  });
  new Gauge({
    name: names.oldestAge,
    help: "Age of the oldest event not yet acknowledged by Kafka (0 when none waits)",
    registers: [registry],
    async collect() {
      const current = await backlog();
      if (current === undefined) return;
      this.set(
        current.oldest === null ? 0 : Math.max(0, (Date.now() - current.oldest.getTime()) / 1000),
      );
    },
  });
  const published = new Counter({
    name: names.published,
    help: "Events acknowledged by Kafka",
    registers: [registry],
  });
  const failed = new Counter({
    name: names.failed,
    help: "Events Kafka rejected for good (marked failed, see publish_error)",
    registers: [registry],
  });
  const publishLag = new Histogram({
    name: names.publishLag,
    help: "Lag from an event's commit to Kafka's acknowledgement of it",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  return {
    published: (lags) => {
      if (lags.length === 0) return;
      published.inc(lags.length);
      for (const lag of lags) publishLag.observe(lag);
    },
    failed: (count) => {
      if (count > 0) failed.inc(count);
    },
    unregister: () => {
      for (const name of Object.values(names)) registry.removeSingleMetric(name);
    },
  };
}
