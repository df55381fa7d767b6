import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../metrics/registry.ts";
import type { Store } from "../store/database.ts";
import { eventSource } from "./cloudevent.ts";
import { type Relay, startRelay } from "./relay.ts";

export type KafkaRelayConfig = Pick<
  Config,
  "kafkaBrokers" | "kafkaTopic" | "kafkaConnection" | "orchestratorId" | "eventRetentionDays"
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
  const { clientId, tls, sasl } = config.kafkaConnection;
  logger.info(
    {
      brokers: config.kafkaBrokers,
      topic: config.kafkaTopic,
      clientId,
      tls: tls !== undefined,
      clientCertificate: tls?.clientCertificate !== undefined,
      sasl: sasl?.mechanism ?? null,
      saslUsername: sasl?.username,
    },
    "publishing events to Kafka",
  );
  if (sasl !== undefined && tls === undefined) {
    logger.warn(
      { sasl: sasl.mechanism },
      "SASL without TLS (KAFKA_SSL is not true): credentials and events cross the network unencrypted",
    );
  }
  // Loaded only when publishing: kafkajs is 140 modules a start without Kafka need not read.
  const { createKafkaSink } = await import("./kafka-sink.ts");
  const sink = createKafkaSink({
    brokers: config.kafkaBrokers,
    topic: config.kafkaTopic,
    clientId,
    tls,
    sasl,
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
