import {
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from "kafkajs";
import type { Logger } from "../logger.ts";
import { createBrokerProbe, probeUntilBack } from "./broker-probe.ts";
import { awayAtStart, type BrokerReach, probesWhile, reachAfterPublish } from "./broker-reach.ts";
import {
  type EventSink,
  PublishError,
  type PublishOptions,
  type PublishReport,
  type SinkMessage,
} from "./event-sink.ts";
import type { KafkaConnection } from "./kafka-connection-settings.ts";
import { classifyKafkaError } from "./kafka-errors.ts";

export type KafkaSinkOptions = {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
  /** TLS and SASL (KAFKA_SSL*, KAFKA_SASL*); both unset: plaintext without authentication. */
  readonly tls?: KafkaConnection["tls"];
  readonly sasl?: KafkaConnection["sasl"];
  readonly logger: Logger;
  /** Larger messages are rejected here, as the broker would (Kafka's default is ~1 MiB). */
  readonly maxMessageBytes?: number;
  /** How long the broker may take to answer one request (and to gather acks=all). */
  readonly requestTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
  /** Ceiling for one publish including kafkajs's own retries; then it is retriable. */
  readonly sendTimeoutMs?: number;
  /** How often `brokerReturns` tries a TCP connection to the brokers. */
  readonly returnProbeIntervalMs?: number;
};

const defaultMaxMessageBytes = 1_000_000;

/**
 * kafkajs speaks through our logger, at debug: a publish that fails comes back to the relay,
 * which logs it once per retry with the broker's error. At warn, kafkajs's own lines repeated
 * that failure about 14 times per attempt while a broker was down (connection, pool, retrier).
 */
function kafkaLogCreator(logger: Logger) {
  const child = logger.child({ component: "kafkajs" });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, stack: _stack, logger: _logger, ...fields } = log;
      child.debug({ namespace, kafkajsLevel: level, ...fields }, message);
    };
}

/**
 * The message's size as the broker counts it (UTF-8), or undefined when it is certainly within
 * `limit`: a UTF-16 code unit is at most 3 bytes of UTF-8, so most messages need no count.
 */
function bytesOverLimit(message: SinkMessage, limit: number): number | undefined {
  let units = message.key.length + message.value.length;
  for (const name in message.headers) units += name.length + (message.headers[name]?.length ?? 0);
  if (3 * units <= limit) return undefined;
  let bytes = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  return bytes <= limit ? undefined : bytes;
}

/** Rejects when the signal aborts or the time is up; the caller treats both as retriable. */
function deadline(signal: AbortSignal | undefined, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PublishError(`publish timed out after ${timeoutMs} ms`, {
            retriable: true,
            code: "TIMEOUT",
          }),
        ),
      timeoutMs,
    );
    onAbort = () =>
      reject(new PublishError("publish aborted", { retriable: true, code: "ABORTED" }));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  return {
    promise,
    clear: () => {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    },
  };
}

const retry = { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 };

/** What kafkajs throws when it reached no broker: refused, timed out, or closed on it. */
const connectionFailures = new Set(["KafkaJSConnectionError", "KafkaJSConnectionClosedError"]);

/**
 * The kafkajs client settings for the sink's options: the one place where TLS and SASL settings
 * become kafkajs's, and where secrets are revealed (to kafkajs only). Certificates are always
 * verified against `tls.ca`, or Node's bundled roots without it; there is deliberately no switch
 * to skip verification (trust a private CA with KAFKA_SSL_CA_FILE instead).
 */
export function kafkaClientConfig(options: KafkaSinkOptions): KafkaConfig {
  const { tls, sasl } = options;
  return {
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    retry,
    logLevel: options.logger.isLevelEnabled("debug") ? logLevel.INFO : logLevel.NOTHING,
    logCreator: kafkaLogCreator(options.logger),
    ...(tls === undefined
      ? {}
      : {
          ssl: {
            rejectUnauthorized: true,
            ...(tls.ca === undefined ? {} : { ca: [tls.ca] }),
            ...(tls.clientCertificate === undefined
              ? {}
              : { cert: tls.clientCertificate.cert, key: tls.clientCertificate.key.reveal() }),
          },
        }),
    ...(sasl === undefined ? {} : { sasl: saslOptions(sasl) }),
  };
}

function saslOptions(sasl: NonNullable<KafkaConnection["sasl"]>): SASLOptions {
  const credentials = { username: sasl.username, password: sasl.password.reveal() };
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", ...credentials };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", ...credentials };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", ...credentials };
  }
}

/**
 * The Kafka adapter, and the only importer of kafkajs. acks=all (-1): a publish resolves only
 * once every in-sync replica has the messages. Not idempotent (the mock broker and some managed
 * Kafkas refuse it; the relay delivers at-least-once and consumers dedupe by id). One request in
 * flight, so a retry can never overtake the request after it. Topics are not created here: the
 * broker auto-creates them, or creating the topic is a deploy step.
 */
export function createKafkaSink(options: KafkaSinkOptions): EventSink {
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const sendTimeoutMs = options.sendTimeoutMs ?? 6 * requestTimeoutMs;
  const maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  const kafka = new Kafka(kafkaClientConfig(options));
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: false,
    allowAutoTopicCreation: true,
    maxInFlightRequests: 1,
    retry,
  });
  let connected = false;
  let connecting: Promise<void> | undefined;
  let reach: BrokerReach = "reached";
  const failed = (error: unknown) => {
    const classified = classifyKafkaError(error);
    reach = reachAfterPublish(
      reach,
      connectionFailures.has(classified.code) ? "connection failed" : "reached",
    );
    return classified;
  };
  const reached = () => {
    reach = "reached";
  };
  const probe = createBrokerProbe(options.brokers, options.connectionTimeoutMs ?? 3_000);

  const connect = () => {
    connecting ??= producer
      .connect()
      .then(() => {
        connected = true;
        reached();
      })
      .catch((error: unknown) => {
        throw failed(error);
      })
      .finally(() => {
        connecting = undefined;
      });
    return connecting;
  };

  // kafkajs reads the messages (it copies each into its record) and changes none of them.
  const send = async (messages: SinkMessage[]) => {
    if (!connected) await connect();
    try {
      await producer.sendBatch({
        acks: -1,
        timeout: requestTimeoutMs,
        topicMessages: [
          {
            topic: options.topic,
            messages,
          },
        ],
      });
      reached();
    } catch (error) {
      throw failed(error);
    }
  };

  return {
    connect,
    publish: async (messages, publishOptions: PublishOptions = {}): Promise<PublishReport> => {
      const rejected: { index: number; error: PublishError }[] = [];
      const accepted: SinkMessage[] = [];
      messages.forEach((message, index) => {
        const bytes = bytesOverLimit(message, maxMessageBytes);
        if (bytes === undefined) accepted.push(message);
        else
          rejected.push({
            index,
            error: new PublishError(
              `message of ${bytes} bytes is larger than the ${maxMessageBytes} bytes the broker accepts`,
              { retriable: false, code: "MESSAGE_TOO_LARGE" },
            ),
          });
      });
      if (accepted.length === 0) return { rejected };
      const limit = deadline(publishOptions.signal, sendTimeoutMs);
      const sending = send(accepted);
      // A send that lost the race may still settle later; it must not become an unhandled rejection.
      sending.catch(() => {});
      try {
        await Promise.race([sending, limit.promise]);
      } finally {
        limit.clear();
      }
      return { rejected };
    },
    disconnect: async () => {
      connected = false;
      await producer.disconnect();
    },
    brokerReturns: async (signal) => {
      // A broker answered the last publish (no leader, refused credentials): nothing to wait
      // for, and no connection a second for the broker to log as a failed handshake.
      if (!probesWhile(reach)) return new Promise<void>(() => {});
      await probeUntilBack(
        probe,
        signal,
        options.returnProbeIntervalMs ?? 1_000,
        awayAtStart(reach),
      );
      reach = "woken";
    },
  };
}
