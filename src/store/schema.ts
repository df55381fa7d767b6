import type { ColumnType, Generated } from "kysely";
import type { ContainerOptions } from "../domain/container-options.ts";
import type { HealthCheck } from "../domain/image-spec.ts";
import type { EnvValue } from "../domain/secret-references.ts";
import type { TokenScope } from "../domain/token-scope.ts";

/** Kysely's view of the tables in sql/. One type per table; names match the SQL. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;
type GeneratedId = Generated<number>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;
type Json<T> = ColumnType<T, T, T>;

export type UsersTable = {
  id: GeneratedId;
  name: string;
  created_at: Timestamp;
  /** Quota overrides (sql/0007_tenancy.sql); null: the configured default. */
  quota_images: ColumnType<number | null, number | null | undefined, number | null>;
  quota_instances: ColumnType<number | null, number | null | undefined, number | null>;
  quota_nano_cpus: ColumnType<number | null, number | null | undefined, number | null>;
  quota_memory_bytes: ColumnType<number | null, number | null | undefined, number | null>;
  quota_concurrent_builds: ColumnType<number | null, number | null | undefined, number | null>;
};

export type { TokenScope };

export type ApiTokensTable = {
  id: GeneratedId;
  user_id: number;
  name: string;
  token_hash: string;
  scope: Defaulted<TokenScope>;
  expires_at: NullableTimestamp;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
};

/** Who changed what, when (sql/0007_tenancy.sql). */
export type AuditLogTable = {
  id: GeneratedId;
  time: Timestamp;
  actor_user_id: number | null;
  actor: string;
  token_id: number | null;
  token_name: string | null;
  request_id: string | null;
  action: string;
  user_id: number | null;
  image_id: number | null;
  target: string;
  old_value: Json<Record<string, unknown> | null>;
  new_value: Json<Record<string, unknown> | null>;
};

export type ImageStatus =
  | "pending"
  | "building"
  | "ready"
  | "build_failed"
  | "registered"
  | "deleting";
export type SourceType = "reference" | "upload";

export type Condition = {
  readonly type: "Ready" | "Progressing" | "Degraded";
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly last_transition_time: string;
};

export type ImagesTable = {
  id: GeneratedId;
  user_id: number;
  name: string;
  source_type: SourceType;
  image_reference: string | null;
  tag: string;
  status: ImageStatus;
  app_hostname: string | null;
  container_port: number;
  min_instances: number;
  max_instances: number;
  desired_instances: number;
  cpu_limit: string;
  nano_cpus: number;
  memory_limit: string;
  memory_bytes: number;
  /** Literal values, or `{secret: name}` references to the owner's secrets (never a value). */
  env: Json<Record<string, EnvValue>>;
  health_check: Json<HealthCheck | null>;
  /** Partial in rows written before sql/0010: read through specOfRecord, which fills defaults. */
  container_options: ColumnType<
    Partial<ContainerOptions>,
    Partial<ContainerOptions> | undefined,
    Partial<ContainerOptions>
  >;
  generation: Defaulted<number>;
  observed_generation: Defaulted<number>;
  resource_version: Defaulted<number>;
  conditions: ColumnType<Condition[], Condition[] | undefined, Condition[]>;
  docker_image_id: string | null;
  source_path: string | null;
  source_digest: string | null;
  build_logs: string | null;
  build_requested_at: NullableTimestamp;
  build_started_at: NullableTimestamp;
  build_finished_at: NullableTimestamp;
  apply_set: string | null;
  /** Random, part of built tags (sql/0006): nobody else can name this image's builds. */
  build_token: Generated<string>;
  deletion_requested_at: NullableTimestamp;
  /** Asked with the deletion (sql/0011): the image's named volumes go with it. */
  delete_volumes: Defaulted<boolean>;
  /** Where the last build was pushed (sql/0015), `repository@sha256:…`; null: not pushed. */
  registry_reference: Generated<string | null>;
  /** The rollout is held (sql/0020, POST …/rollout/pause); not part of the spec. */
  rollout_paused: Defaulted<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
};

/** Build bookkeeping of an upload image (sql/0003_builds.sql), written by the build pipeline. */
export type ImageBuildsTable = {
  image_id: number;
  generation: Defaulted<number>;
  trigger: string;
  failure_reason: string | null;
  error: string | null;
  updated_at: Timestamp;
};

export type DesiredState = "running" | "stopped";
export type ObservedState =
  | "pending"
  | "creating"
  | "running"
  | "exited"
  | "crash_loop"
  | "stopped"
  | "removing";
export type InstanceHealth = "unknown" | "healthy" | "unhealthy";

export type InstancesTable = {
  id: string;
  image_id: number;
  user_id: number;
  container_name: string;
  desired_state: Defaulted<DesiredState>;
  deletion_requested_at: NullableTimestamp;
  deletion_reason: string | null;
  observed_state: Defaulted<ObservedState>;
  container_id: string | null;
  host_port: number | null;
  /** Where it answers when not at ADVERTISE_HOST (sql/0023: a Swarm task on another node). */
  host: ColumnType<string | null, string | null | undefined, string | null>;
  /** Every published port: "8080/tcp" → host port. */
  host_ports: ColumnType<
    Record<string, number>,
    Record<string, number> | undefined,
    Record<string, number>
  >;
  /** The live claim of a pooled instance (sql/0016): id, holder, since, until. */
  claim_id: ColumnType<string | null, string | null | undefined, string | null>;
  claim_key: ColumnType<string | null, string | null | undefined, string | null>;
  claimed_at: NullableTimestamp;
  claim_expires_at: NullableTimestamp;
  /** Released with recycle: restart; the container is replaced before the next claim. */
  recycle_requested_at: NullableTimestamp;
  /** A restart asked for by the API; done once the container started after it. */
  restart_requested_at: NullableTimestamp;
  spec_hash: string | null;
  restart_count: Defaulted<number>;
  consecutive_failures: Defaulted<number>;
  next_restart_at: NullableTimestamp;
  last_exit_code: number | null;
  last_error: string | null;
  oom_killed: Defaulted<boolean>;
  health: Defaulted<InstanceHealth>;
  last_logs: string | null;
  probe_failures: Defaulted<number>;
  last_probe: Json<ProbeResult | null>;
  started_at: NullableTimestamp;
  stopped_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
};

/** The last health probe of an instance: HTTP against the host port, or Docker's own check. */
export type ProbeResult = {
  readonly ok: boolean;
  readonly at: string;
  readonly kind: "http" | "docker";
  readonly status_code?: number;
  readonly latency_ms?: number;
  readonly error?: string;
};

export type HealthStatus = "healthy" | "warning" | "critical" | "stopped";

export type HealthSnapshotsTable = {
  id: GeneratedId;
  instance_id: string;
  image_id: number;
  user_id: number;
  container_id: string | null;
  sampled_at: Timestamp;
  cpu_usage: number | null;
  memory_usage: number | null;
  memory_bytes: number | null;
  disk_usage: number | null;
  network_rx_bytes: number | null;
  network_tx_bytes: number | null;
  block_read_bytes: number | null;
  block_write_bytes: number | null;
  status: HealthStatus;
  probe: Json<ProbeResult | null>;
};

export type EventsTable = {
  seq: GeneratedId;
  id: string;
  type: string;
  subject: string;
  image_id: number;
  instance_id: string | null;
  user_id: number;
  time: Timestamp;
  data: Json<Record<string, unknown>>;
  /** Attempts that did not publish (sql/0024); when it was published: events_published. */
  publish_attempts: Defaulted<number>;
  publish_error: string | null;
  failed_at: NullableTimestamp;
};

/** A tenant's secret (sql/0013): its value only as AES-256-GCM ciphertext (src/secrets/cipher.ts). */
export type SecretsTable = {
  id: GeneratedId;
  user_id: number;
  name: string;
  ciphertext: string;
  /** 1 at creation, +1 at every replacement of the value. */
  version: Defaulted<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
};

/** A tenant's credentials for one registry (sql/0013); the password only as ciphertext. */
export type RegistryCredentialsTable = {
  id: GeneratedId;
  user_id: number;
  server: string;
  username: string;
  password_ciphertext: string;
  created_at: Timestamp;
  updated_at: Timestamp;
};

/** The relay's queue: one row per event neither published nor failed (sql/0017). */
export type EventsPendingTable = {
  seq: number;
};

/** Every event of seq first_seq..last_seq was published at published_at (sql/0024). */
export type EventsPublishedTable = {
  first_seq: number;
  last_seq: number;
  published_at: Timestamp;
};

export type LeaderLeasesTable = {
  name: string;
  epoch: number;
  holder: string;
  acquired_at: Timestamp;
};

/** The autoscaler's latest evaluation of one image (sql/0021_autoscale.sql). */
export type AutoscaleStatusTable = {
  image_id: number;
  evaluated_at: Timestamp;
  metric: string;
  value: number | null;
  target: number;
  desired_instances: number;
  recommendation: number;
  reason: string;
  instances: number;
  missing: number;
};

/** One revision of an image (sql/0018_image_revisions.sql): what a change asked containers to run. */
export type ImageRevisionsTable = {
  image_id: number;
  revision: number;
  spec: Json<Record<string, unknown>>;
  source_digest: string | null;
  docker_image_id: string | null;
  generation: number;
  actor: string;
  actor_user_id: number | null;
  cause: string;
  created_at: Timestamp;
};

/** Where the rollout of an image's newest revision stands (sql/0019_rollouts.sql). */
export type ImageRolloutsTable = {
  image_id: number;
  stable_revision: number | null;
  from_revision: number | null;
  to_revision: number;
  state: "progressing" | "complete" | "failed";
  rollback: boolean;
  started_at: Timestamp;
  progressed_at: Timestamp;
  ready_new: number;
  finished_at: NullableTimestamp;
  message: string;
};

export type SchemaMigrationsTable = {
  name: string;
  applied_at: Timestamp;
};

export type Database = {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  images: ImagesTable;
  image_builds: ImageBuildsTable;
  image_revisions: ImageRevisionsTable;
  image_rollouts: ImageRolloutsTable;
  instances: InstancesTable;
  events: EventsTable;
  events_pending: EventsPendingTable;
  events_published: EventsPublishedTable;
  health_snapshots: HealthSnapshotsTable;
  leader_leases: LeaderLeasesTable;
  autoscale_status: AutoscaleStatusTable;
  secrets: SecretsTable;
  registry_credentials: RegistryCredentialsTable;
  schema_migrations: SchemaMigrationsTable;
};
