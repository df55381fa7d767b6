import { z } from "zod";
import { nullableTimestamp, timestamp, userId } from "./common-schemas.ts";

export const observedStates = [
  "pending",
  "creating",
  "running",
  "exited",
  "crash_loop",
  "stopped",
  "removing",
] as const;

export const probeSchema = z.strictObject({
  ok: z.boolean(),
  at: z.string(),
  kind: z.enum(["http", "docker"]),
  status_code: z.number().int().optional(),
  latency_ms: z.number().optional(),
  error: z.string().optional(),
});

export const publishedPortSchema = z.strictObject({
  container_port: z.number().int(),
  protocol: z.string(),
  host_port: z.number().int(),
});

/** One instance (container): desired and observed state, where it answers, what went wrong. */
export const instanceSchema = z.strictObject({
  id: z.string(),
  image_id: z.number().int(),
  user_id: userId,
  name: z.string(),
  desired_state: z.enum(["running", "stopped"]),
  observed_state: z.enum(observedStates),
  marked_for_deletion: z.boolean(),
  container_id: z.string().nullable(),
  host: z.string(),
  host_port: z.number().int().nullable(),
  container_port: z.number().int().nullable(),
  ports: z.array(publishedPortSchema),
  health: z.enum(["unknown", "healthy", "unhealthy"]),
  restart_count: z.number().int(),
  consecutive_failures: z.number().int(),
  next_restart_at: nullableTimestamp,
  last_exit_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  oom_killed: z.boolean(),
  last_logs: z.string().nullable(),
  probe: probeSchema.nullable(),
  started_at: nullableTimestamp,
  stopped_at: nullableTimestamp,
  restart_requested_at: nullableTimestamp,
  /** The key of the claim holding it (pooled images), or null while idle. */
  claimed_by: z.string().nullable(),
  claimed_at: nullableTimestamp,
  claim_id: z.string().nullable(),
  /** Set while a released instance waits to be wiped (recycled) for the next claim. */
  recycle_requested_at: nullableTimestamp,
  created_at: timestamp,
});

export type Instance = z.output<typeof instanceSchema>;

const healthStatus = z.enum(["healthy", "warning", "critical", "stopped"]);

export const healthSampleSchema = z.strictObject({
  sampled_at: timestamp,
  status: healthStatus,
  cpu_usage: z.number().nullable(),
  memory_usage: z.number().nullable(),
  memory_bytes: z.number().nullable(),
  disk_usage: z.number().nullable(),
  network_rx_bytes: z.number().nullable(),
  network_tx_bytes: z.number().nullable(),
  block_read_bytes: z.number().nullable(),
  block_write_bytes: z.number().nullable(),
});

/** The latest sample of an instance (nulls before the first), with its probe and state. */
export const instanceHealthSchema = healthSampleSchema
  .partial({
    memory_bytes: true,
    network_rx_bytes: true,
    network_tx_bytes: true,
    block_read_bytes: true,
    block_write_bytes: true,
  })
  .extend({
    instance_id: z.string(),
    container_id: z.string().nullable(),
    observed_state: z.enum(observedStates),
    health: z.enum(["unknown", "healthy", "unhealthy"]),
    probe: probeSchema.nullable(),
    sampled_at: nullableTimestamp,
  });

export const healthHistorySchema = z.strictObject({
  instance_id: z.string(),
  items: z.array(healthSampleSchema),
});

/** `POST /api/containers/{image_id}`: the instances it added (ports known once they run). */
export const addedInstancesSchema = z.strictObject({
  image_id: z.number().int(),
  desired_instances: z.number().int(),
  added: z.number().int(),
  items: z.array(instanceSchema),
});
