import path from "node:path";
import { z } from "zod";
import { tokenCharacters } from "./auth/tokens.ts";
import {
  type RegistrySettings,
  registryVariables,
  resolveRegistrySettings,
  secretRegistryVariables,
} from "./builds/registry-settings.ts";
import { parseCpu, parseMemory } from "./domain/quantity.ts";
import type { QuotaLimits } from "./domain/quota.ts";
import { normalizeAbsolutePath } from "./domain/volumes.ts";
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

/** `a, b,c` → ["a", "b", "c"]. */
const commaSeparated = z
  .string()
  .trim()
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

const brokerList = commaSeparated.pipe(
  z
    .array(
      z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, {
        message: "each broker must be host:port",
      }),
    )
    .min(1, { message: "must name at least one broker as host:port" }),
);

/** Comma-separated http(s) URLs of routers' /metrics; an error names the bad one. */
const routerMetricsUrls = commaSeparated.pipe(
  z
    .array(
      z.string().regex(/^https?:\/\/[^\s,]+$/, {
        error: (issue) =>
          `has ${JSON.stringify(issue.input)}, which is not an http(s) URL like http://127.0.0.1:8080/metrics`,
      }),
    )
    .min(1, { message: "must name at least one URL like http://127.0.0.1:8080/metrics" }),
);

/** Comma-separated image patterns (`*` matches anything), e.g. `nginx:*,registry.local/team/*`. */
const imagePatterns = commaSeparated.pipe(
  z.array(
    z.string().regex(/^[A-Za-z0-9*][A-Za-z0-9*._:/@-]*$/, {
      message: "each pattern must be an image reference, with * as a wildcard",
    }),
  ),
);

/**
 * Comma-separated absolute host folders (`/srv/shared,/data`): `..` resolved, no trailing
 * slash, so that a bind mount's source is compared with where they really are.
 */
const hostFolders = commaSeparated.pipe(
  z.array(
    z
      .string()
      .regex(/^\/[^\0,]*$/, { message: "each entry must be an absolute host path like /srv/data" })
      .transform(normalizeAbsolutePath),
  ),
);

/** A size like 10g or 512m (what Docker's storage-opt size takes). */
const sizeLimit = z
  .string()
  .trim()
  .regex(/^(0|\d+[kmgt]?)$/i, { message: "must be a size like 10g or 512m, or 0 for none" })
  .transform((value) => value.toLowerCase());
/** A quota of CPU: cores, "0" to allow none. */
const quotaCpu = z
  .string()
  .trim()
  .transform((value, context) => {
    if (/^0+(\.0+)?$/.test(value)) return 0;
    const parsed = parseCpu(value, { minNano: 10_000_000, maxNano: 1_000_000 * 1_000_000_000 });
    if (parsed.ok) return parsed.value;
    context.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  });

/** A quota of memory: "64g", "512m", "0" to allow none. */
const quotaMemory = z
  .string()
  .trim()
  .transform((value, context) => {
    if (/^0+$/.test(value)) return 0;
    const parsed = parseMemory(value, { minBytes: 1, maxBytes: 1024 ** 5 });
    if (parsed.ok) return parsed.value;
    context.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  });

const filePath = z.string().trim().min(1);

/**
 * A token clients present as `Authorization: Bearer …`: one the bearer parser could never read
 * back (a space, a quote, too long) would make its route refuse everyone, so it is refused here.
 */
const tokenSetting = z
  .string()
  .min(16, { message: "must be at least 16 characters" })
  .max(512, { message: "must be at most 512 characters" })
  .regex(tokenCharacters, {
    message: "must be letters, digits and . _ ~ + / = - only (what a bearer token can carry)",
  });

const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** What is wrong with a token setting read outside the service's config, if anything. */
export function tokenSettingProblem(value: string): string | undefined {
  const parsed = tokenSetting.safeParse(value);
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}

const environmentVariables = z.object({
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
  /** REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD(_FILE): src/builds/registry-settings.ts. */
  ...registryVariables,
  BUILD_CONTEXT_BASE_DIR: z.string().trim().min(1).optional(),
  IMAGE_NAME_PREFIX: dockerName.default("nvidia-app"),
  ORCHESTRATOR_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
      message: "must be 1-63 letters, digits, '.', '_' or '-'",
    })
    .default("orchestrator"),
  ORCHESTRATOR_ADMIN_TOKEN: tokenSetting.optional(),
  HEALTH_INTERVAL_SECONDS: integer(1, 86_400).default(60),
  HEALTH_RETENTION_DAYS: integer(1, 3650).default(7),
  /** How often the leader's autoscaler looks at the images with `autoscale`. */
  AUTOSCALE_INTERVAL_SECONDS: integer(1, 3_600).default(15),
  /**
   * The hostname routers' /metrics (`orchestrator router`), comma-separated: their per-host
   * request counters, summed, are what `autoscale.metric: requests_per_second` scales by.
   * Unset: that metric has no samples.
   */
  ROUTER_METRICS_URL: routerMetricsUrls.optional(),
  /**
   * Sent as a bearer token when scraping ROUTER_METRICS_URL; a router started with the same
   * value asks for it. Its own token, not METRICS_TOKEN: it travels to the routers, often over
   * plain http on an internal network, and grants only their scrape.
   */
  ROUTER_METRICS_TOKEN: tokenSetting.optional(),
  LOG_LEVEL: logLevel.default("info"),
  /** Host address written into events and status for service discovery. */
  ADVERTISE_HOST: z.string().trim().min(1).default("127.0.0.1"),
  /**
   * Where this process reaches published ports for HTTP health probes; ADVERTISE_HOST when unset.
   * In a container, 127.0.0.1 is the container itself: use the host gateway (compose:
   * `host.docker.internal` with `extra_hosts: host.docker.internal:host-gateway`).
   */
  PROBE_HOST: z.string().trim().min(1).optional(),
  /** Host interface that container ports are published on. */
  PUBLISH_IP: z.string().trim().min(1).default("0.0.0.0"),
  /** What makes instances exist: containers on one engine, or one Swarm service per image. */
  RUNTIME: z
    .enum(["docker", "swarm"], { message: 'must be "docker" or "swarm"' })
    .default("docker"),
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
  /** Memory and CPU of a build's steps. */
  BUILD_MEMORY_LIMIT: z.string().trim().min(1).default("2g"),
  BUILD_CPU_LIMIT: z.string().trim().min(1).default("1"),
  /** Local images (not built here, not pulled for the tenant) that every tenant may run. */
  ALLOWED_LOCAL_IMAGES: imagePatterns.default([]),
  /** Host ports tenants may ask for by number (`ports[].host`), e.g. 30000-32767; none if unset. */
  HOST_PORT_RANGE: z
    .string()
    .trim()
    .regex(/^\d{1,5}-\d{1,5}$/, { message: "must be a range like 30000-32767" })
    .transform((value) => {
      const [min = 0, max = 0] = value.split("-").map(Number);
      return { min, max };
    })
    .refine((range) => range.min >= 1 && range.min <= range.max && range.max <= 65535, {
      message: "must be a range of ports between 1 and 65535, low-high",
    })
    .optional(),
  /** Host folders the admin's images may mount (`volumes[].type: bind`); none when unset. */
  BIND_MOUNT_ALLOWLIST: hostFolders.default([]),
  /** Processes (threads) one container may have. */
  CONTAINER_PIDS_LIMIT: integer(16, 1_000_000).default(512),
  /** Open files per process in a container (at most the engine's own hard limit). */
  CONTAINER_NOFILE_LIMIT: integer(64, 1_048_576).default(4096),
  /** Writable-layer size of one container, where the storage driver supports a limit. */
  CONTAINER_DISK_LIMIT: sizeLimit.default("10g"),
  /** The largest JSON or text body of any route (uploads have UPLOAD_MAX_BYTES). */
  BODY_MAX_BYTES: integer(1, 1024 * 1024 * 1024).default(1024 * 1024),
  /** Uploads received at once; more answer 429 with Retry-After. */
  UPLOAD_MAX_CONCURRENT: integer(1, 1024).default(8),
  /** Writes per token per minute; more answer 429 with Retry-After. */
  RATE_LIMIT_WRITES_PER_MINUTE: integer(1, 10_000_000).default(600),
  /** Failed authentications per client address per minute before it is refused for a while. */
  AUTH_FAILURES_PER_MINUTE: integer(1, 10_000_000).default(30),
  /** A token that may read /metrics and the detailed /readyz (besides the admin token). */
  METRICS_TOKEN: tokenSetting.optional(),
  /** AES-256-GCM key of secrets and registry passwords: base64 of 32 bytes. */
  SECRETS_KEY: z
    .string()
    .trim()
    .transform((value) => Buffer.from(value, "base64"))
    .refine((bytes) => bytes.length === 32, {
      message: "must be the base64 of 32 random bytes (openssl rand -base64 32)",
    })
    .optional(),
  /** The original worker-pool routes on a second listener (off when unset): its port. */
  POOL_COMPAT_PORT: integer(0, 65_535).optional(),
  /** Interface of that listener; loopback unless the operator opens it. */
  POOL_COMPAT_HOST: z.string().trim().min(1).default("127.0.0.1"),
  /** The pooled image it serves (by name) and its owner (a user name; the admin's by default). */
  POOL_COMPAT_IMAGE: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, { message: "must be an image name" })
    .optional(),
  POOL_COMPAT_USER: z.string().trim().min(1).default("admin"),
  TLS_CERT_FILE: filePath.optional(),
  TLS_KEY_FILE: filePath.optional(),
  QUOTA_IMAGES: integer(0, 10_000_000).default(50),
  QUOTA_INSTANCES: integer(0, 10_000_000).default(100),
  QUOTA_CPU: z.string().default("32").pipe(quotaCpu),
  QUOTA_MEMORY: z.string().default("64g").pipe(quotaMemory),
  QUOTA_CONCURRENT_BUILDS: integer(0, 1024).default(2),
});

const environmentSchema = environmentVariables.superRefine((env, context) => {
  if (env.POOL_COMPAT_PORT !== undefined && env.POOL_COMPAT_IMAGE === undefined) {
    context.addIssue({
      code: "custom",
      path: ["POOL_COMPAT_IMAGE"],
      message: "must name the pooled image the compat listener (POOL_COMPAT_PORT) serves",
    });
  }
  if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
    context.addIssue({
      code: "custom",
      path: [env.TLS_CERT_FILE === undefined ? "TLS_CERT_FILE" : "TLS_KEY_FILE"],
      message: "must be set together with the other of TLS_CERT_FILE and TLS_KEY_FILE",
    });
  }
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
  autoscaleIntervalSeconds: number;
  /** The routers' /metrics URLs (ROUTER_METRICS_URL, comma-separated); empty: none. */
  routerMetricsUrls: readonly string[];
  /** ROUTER_METRICS_TOKEN: sent when scraping the routers. */
  routerMetricsToken: string | undefined;
  logLevel: z.infer<typeof logLevel>;
  advertiseHost: string;
  /** Where HTTP health probes reach published ports from this process. */
  probeHost: string;
  publishIp: string;
  runtime: "docker" | "swarm";
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
  allowedLocalImages: readonly string[];
  buildMemoryBytes: number;
  buildNanoCpus: number;
  containerPidsLimit: number;
  /** Host ports tenants may ask for by number; undefined: none. */
  hostPortRange: { readonly min: number; readonly max: number } | undefined;
  /** Host folders (normalised) under which the admin's bind mounts may be; empty: none. */
  bindMountAllowlist: readonly string[];
  containerNofileLimit: number;
  /** Undefined for no limit. */
  containerDiskLimit: string | undefined;
  bodyMaxBytes: number;
  uploadMaxConcurrent: number;
  rateLimitWritesPerMinute: number;
  authFailuresPerMinute: number;
  metricsToken: string | undefined;
  /** SECRETS_KEY; undefined: DATA_DIR/secrets.key (generated once). */
  secretsKey: Buffer | undefined;
  /** Both files, or undefined to serve plain HTTP. */
  tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Default per-user quotas; the admin user has none unless the admin sets them. */
  quota: QuotaLimits;
  /** Where built images are pushed; undefined: nowhere. */
  registry: RegistrySettings | undefined;
  /** The original worker-pool routes on their own listener; undefined: off. */
  poolCompat:
    | {
        readonly port: number;
        readonly host: string;
        readonly image: string;
        readonly user: string;
      }
    | undefined;
}>;

const secretVariables = new Set([
  "ORCHESTRATOR_ADMIN_TOKEN",
  "METRICS_TOKEN",
  "ROUTER_METRICS_TOKEN",
  "SECRETS_KEY",
]);

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A quantity (memory, CPU) in its unit, or the configuration error naming the variable. */
function quantity(
  parse: (value: string) => { ok: true; value: number } | { ok: false; message: string },
  value: string,
  variable: string,
): number {
  const parsed = parse(value);
  if (!parsed.ok)
    throw new ConfigError(
      `invalid configuration: ${variable}=${JSON.stringify(value)} ${parsed.message}`,
    );
  return parsed.value;
}

/** Parses the environment; throws a ConfigError whose message is one line per bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(environmentVariables.shape)
      .map((key) => [key, environment[key]])
      .filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? "environment");
      const shown =
        secretVariables.has(variable) ||
        secretKafkaVariables.has(variable) ||
        secretRegistryVariables.has(variable)
          ? "<hidden>"
          : present[variable];
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
  const registry = resolveRegistrySettings(env);
  if ("problems" in registry) {
    throw new ConfigError(
      registry.problems.map((message) => `invalid configuration: ${message}`).join("\n"),
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
    autoscaleIntervalSeconds: env.AUTOSCALE_INTERVAL_SECONDS,
    routerMetricsUrls: env.ROUTER_METRICS_URL ?? [],
    routerMetricsToken: env.ROUTER_METRICS_TOKEN,
    logLevel: env.LOG_LEVEL,
    advertiseHost: env.ADVERTISE_HOST,
    probeHost: env.PROBE_HOST ?? env.ADVERTISE_HOST,
    publishIp: env.PUBLISH_IP,
    runtime: env.RUNTIME,
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
    allowedLocalImages: env.ALLOWED_LOCAL_IMAGES,
    buildMemoryBytes: quantity(parseMemory, env.BUILD_MEMORY_LIMIT, "BUILD_MEMORY_LIMIT"),
    buildNanoCpus: quantity(parseCpu, env.BUILD_CPU_LIMIT, "BUILD_CPU_LIMIT"),
    containerPidsLimit: env.CONTAINER_PIDS_LIMIT,
    hostPortRange: env.HOST_PORT_RANGE,
    bindMountAllowlist: env.BIND_MOUNT_ALLOWLIST,
    containerNofileLimit: env.CONTAINER_NOFILE_LIMIT,
    containerDiskLimit: env.CONTAINER_DISK_LIMIT === "0" ? undefined : env.CONTAINER_DISK_LIMIT,
    bodyMaxBytes: env.BODY_MAX_BYTES,
    uploadMaxConcurrent: env.UPLOAD_MAX_CONCURRENT,
    rateLimitWritesPerMinute: env.RATE_LIMIT_WRITES_PER_MINUTE,
    authFailuresPerMinute: env.AUTH_FAILURES_PER_MINUTE,
    metricsToken: env.METRICS_TOKEN,
    secretsKey: env.SECRETS_KEY,
    tls:
      env.TLS_CERT_FILE === undefined || env.TLS_KEY_FILE === undefined
        ? undefined
        : { certFile: path.resolve(env.TLS_CERT_FILE), keyFile: path.resolve(env.TLS_KEY_FILE) },
    poolCompat:
      env.POOL_COMPAT_PORT === undefined || env.POOL_COMPAT_IMAGE === undefined
        ? undefined
        : {
            port: env.POOL_COMPAT_PORT,
            host: env.POOL_COMPAT_HOST,
            image: env.POOL_COMPAT_IMAGE,
            user: env.POOL_COMPAT_USER,
          },
    quota: {
      images: env.QUOTA_IMAGES,
      instances: env.QUOTA_INSTANCES,
      nanoCpus: env.QUOTA_CPU,
      memoryBytes: env.QUOTA_MEMORY,
      concurrentBuilds: env.QUOTA_CONCURRENT_BUILDS,
    },
    registry: registry.settings,
  };
}
