import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../metrics/registry.ts";
import type { Store } from "../store/database.ts";
import { eventSource } from "./cloudevent.ts";
import { type Relay, startRelay } from "./relay.ts";

export type KafkaRelayConfig = Pick<
  Config,
  "kafkaBrokers" | "kafkaTopic" | "orchestratorId" | "eventRetentionDays"
>;

/**
 * The service's outbox relay to Kafka, from configuration. Undefined without KAFKA_BROKERS:
 * events then stay in the database (GET /api/events serves them). Never waits for Kafka: an
 * unreachable broker is logged and retried in the background while the service runs.
 */
export async function startKafkaRelay(
  config: KafkaRelayConfig,
  dependencies: {
    readonly store: Store;
    readonly logger: Logger;
    readonly metrics?: { readonly registry: Registry };
  },
): Promise<Relay | undefined> {
  const { store, logger, metrics } = dependencies;
  if (config.kafkaBrokers === undefined) {
    logger.info("KAFKA_BROKERS is not set: events stay in the database and are not published");
    return undefined;
  }
  logger.info(
    { brokers: config.kafkaBrokers, topic: config.kafkaTopic },
    "publishing events to Kafka",
  );
  // Loaded only when publishing: kafkajs is 140 modules a start without Kafka need not read.
  const { createKafkaSink } = await import("./kafka-sink.ts");
  const sink = createKafkaSink({
    brokers: config.kafkaBrokers,
    topic: config.kafkaTopic,
    clientId: `orchestrator-${config.orchestratorId}`,
    logger,
  });
  return startRelay({
    store,
    sink,
    logger,
    source: eventSource(config.orchestratorId),
    retentionDays: config.eventRetentionDays,
    ...(metrics === undefined ? {} : { metrics }),
  });
}
