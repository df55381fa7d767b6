import path from "node:path";
import { z } from "zod";
import {
  type KafkaConnection,
  kafkaConnectionVariables,
  resolveKafkaConnection,
  secretKafkaVariables,
} from "./events/kafka-connection-settings.ts";

/**
 * Every environment variable the service reads, parsed once at start.
 * The public ones are the contract in DESIGN.md; the rest are tuning knobs with safe defaults.
 */

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const dockerName = z
  .string()
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, {
    message: "must be lowercase letters, digits and single '.', '_' or '-' between them",
  })
  .max(40);

const databaseUrl = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), {
    message: "must be a postgres:// or postgresql:// URL, e.g. postgres://user:pass@host:5432/db",
  });

const dockerHost = z
  .string()
  .trim()
  .refine((value) => /^(unix|tcp|ssh|http|https):\/\/.+/.test(value) || value.startsWith("/"), {
    message: "must be unix:///path/docker.sock, tcp://host:port or ssh://user@host",
  });

const brokerList = z
  .string()
  .trim()
  .transform((value) =>
    value
      .split(",")
      .map((broker) => broker.trim())
      .filter((broker) => broker.length > 0),
  )
  .pipe(
    z
      .array(
        z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, {
          message: "each broker must be host:port",
        }),
      )
      .min(1, { message: "must name at least one broker as host:port" }),
  );

const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const environmentSchema = z.object({
  PORT: integer(0, 65535).default(3003),
  HOST: z.string().trim().min(1).default("0.0.0.0"),
  DATABASE_URL: databaseUrl.optional(),
  DATA_DIR: z.string().trim().min(1).default("./data"),
  DOCKER_HOST: dockerHost.optional(),
  KAFKA_BROKERS: brokerList.optional(),
  KAFKA_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, { message: "must be a valid Kafka topic name" })
    .default("container-lifecycle"),
  /** KAFKA_CLIENT_ID, KAFKA_SSL*, KAFKA_SASL*: see src/events/kafka-connection-settings.ts. */
  ...kafkaConnectionVariables,
  BUILD_CONTEXT_BASE_DIR: z.string().trim().min(1).optional(),
  IMAGE_NAME_PREFIX: dockerName.default("nvidia-app"),
  ORCHESTRATOR_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
      message: "must be 1-63 letters, digits, '.', '_' or '-'",
    })
    .default("orchestrator"),
  ORCHESTRATOR_ADMIN_TOKEN: z
    .string()
    .min(16, { message: "must be at least 16 characters" })
    .optional(),
  HEALTH_INTERVAL_SECONDS: integer(1, 86_400).default(60),
  HEALTH_RETENTION_DAYS: integer(1, 3650).default(7),
  LOG_LEVEL: logLevel.default("info"),
  /** Host address written into events and status for service discovery. */
  ADVERTISE_HOST: z.string().trim().min(1).default("127.0.0.1"),
  /** Host interface that container ports are published on. */
  PUBLISH_IP: z.string().trim().min(1).default("0.0.0.0"),
  RECONCILE_WORKERS: integer(1, 64).default(4),
  RESYNC_INTERVAL_SECONDS: integer(1, 86_400).default(300),
  MAX_INSTANCES_CAP: integer(1, 10_000).default(100),
  BUILD_CONCURRENCY: integer(1, 32).default(1),
  BUILD_TIMEOUT_SECONDS: integer(1, 86_400).default(900),
  UPLOAD_MAX_BYTES: integer(1, Number.MAX_SAFE_INTEGER).default(200 * 1024 * 1024),
  EXTRACT_MAX_BYTES: integer(1, Number.MAX_SAFE_INTEGER).default(1024 * 1024 * 1024),
  EXTRACT_MAX_ENTRIES: integer(1, 10_000_000).default(20_000),
  EVENT_RETENTION_DAYS: integer(1, 3650).default(7),
  SHUTDOWN_TIMEOUT_SECONDS: integer(1, 600).default(10),
  /** Seconds a container gets between SIGTERM and SIGKILL when the controller stops it. */
  STOP_TIMEOUT_SECONDS: integer(0, 600).default(10),
});

export type Config = Readonly<{
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  dockerHost: string | undefined;
  kafkaBrokers: readonly string[] | undefined;
  kafkaTopic: string;
  /** Client id, TLS and SASL for the brokers (files already read, secrets wrapped). */
  kafkaConnection: KafkaConnection;
  /** Explicitly configured build context base, or undefined to use the contract default. */
  buildContextBaseDir: string | undefined;
  imageNamePrefix: string;
  orchestratorId: string;
  adminToken: string | undefined;
  healthIntervalSeconds: number;
  healthRetentionDays: number;
  logLevel: z.infer<typeof logLevel>;
  advertiseHost: string;
  publishIp: string;
  reconcileWorkers: number;
  resyncIntervalSeconds: number;
  maxInstancesCap: number;
  buildConcurrency: number;
  buildTimeoutSeconds: number;
  uploadMaxBytes: number;
  extractMaxBytes: number;
  extractMaxEntries: number;
  eventRetentionDays: number;
  shutdownTimeoutSeconds: number;
  stopTimeoutSeconds: number;
}>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; throws a ConfigError whose message is one line per bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(environmentSchema.shape)
      .map((key) => [key, environment[key]])
      .filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? "environment");
      const hidden = variable === "ORCHESTRATOR_ADMIN_TOKEN" || secretKafkaVariables.has(variable);
      const shown = hidden ? "<hidden>" : present[variable];
      return `invalid configuration: ${variable}=${JSON.stringify(shown)} ${issue.message}`;
    });
    throw new ConfigError(lines.join("\n"));
  }
  const env = parsed.data;
  const kafka = resolveKafkaConnection({
    ...env,
    brokersSet: env.KAFKA_BROKERS !== undefined,
    orchestratorId: env.ORCHESTRATOR_ID,
  });
  if ("problems" in kafka) {
    throw new ConfigError(
      kafka.problems.map(({ message }) => `invalid configuration: ${message}`).join("\n"),
    );
  }
  return {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: path.resolve(env.DATA_DIR),
    dockerHost: env.DOCKER_HOST,
    kafkaBrokers: env.KAFKA_BROKERS,
    kafkaTopic: env.KAFKA_TOPIC,
    kafkaConnection: kafka.connection,
    buildContextBaseDir: env.BUILD_CONTEXT_BASE_DIR,
    imageNamePrefix: env.IMAGE_NAME_PREFIX,
    orchestratorId: env.ORCHESTRATOR_ID,
    adminToken: env.ORCHESTRATOR_ADMIN_TOKEN,
    healthIntervalSeconds: env.HEALTH_INTERVAL_SECONDS,
    healthRetentionDays: env.HEALTH_RETENTION_DAYS,
    logLevel: env.LOG_LEVEL,
    advertiseHost: env.ADVERTISE_HOST,
    publishIp: env.PUBLISH_IP,
    reconcileWorkers: env.RECONCILE_WORKERS,
    resyncIntervalSeconds: env.RESYNC_INTERVAL_SECONDS,
    maxInstancesCap: env.MAX_INSTANCES_CAP,
    buildConcurrency: env.BUILD_CONCURRENCY,
    buildTimeoutSeconds: env.BUILD_TIMEOUT_SECONDS,
    uploadMaxBytes: env.UPLOAD_MAX_BYTES,
    extractMaxBytes: env.EXTRACT_MAX_BYTES,
    extractMaxEntries: env.EXTRACT_MAX_ENTRIES,
    eventRetentionDays: env.EVENT_RETENTION_DAYS,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
    stopTimeoutSeconds: env.STOP_TIMEOUT_SECONDS,
  };
}
