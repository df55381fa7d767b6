import { z } from "zod";
import { eventTypes } from "../../domain/events.ts";
import { nullableTimestamp, timestamp, userId } from "./common-schemas.ts";

const publishedPort = z.object({
  container_port: z.number().int(),
  protocol: z.string(),
  host_port: z.number().int(),
});

/** What a container event says (more fields may be added; consumers ignore unknown ones). */
export const containerEventDataSchema = z.looseObject({
  container_id: z.string().nullable(),
  name: z.string(),
  instance_id: z.string(),
  image_id: z.number().int(),
  image: z.string(),
  user_id: userId,
  app_hostname: z.string().nullable(),
  host: z.string(),
  host_port: z.number().int().nullable(),
  container_port: z.number().int(),
  ports: z.array(publishedPort).optional(),
  cpu_limit: z.string(),
  memory_limit: z.string(),
  started_at: z.string().nullable(),
  stopped_at: z.string().nullable(),
  reason: z.string(),
  exit_code: z.number().int().nullable().optional(),
  error: z.string().nullable().optional(),
  /** The Swarm node the task runs on (RUNTIME=swarm only). */
  node: z.string().optional(),
});

/** What an image event says. */
export const imageEventDataSchema = z.looseObject({
  image_id: z.number().int(),
  name: z.string(),
  image: z.string().nullable(),
  user_id: userId,
  app_hostname: z.string().nullable(),
  status: z.string(),
  reason: z.string(),
  desired_instances: z.number().int().optional(),
  previous_desired_instances: z.number().int().optional(),
  /** `image.scaled` by the autoscaler: its metric, the value per instance, the target, the move. */
  metric: z.string().optional(),
  value: z.number().nullable().optional(),
  target: z.number().optional(),
  from: z.number().int().optional(),
  to: z.number().int().optional(),
  message: z.string().optional(),
  /** `image.rollout_*`, `image.rolled_back`: the revision rolled from (null: none) and to. */
  from_revision: z.number().int().nullable().optional(),
  to_revision: z.number().int().optional(),
  /** `image.rolled_back`: the earlier revision the new one runs again. */
  restored_revision: z.number().int().optional(),
});

/** One event of the log (`seq` orders them and is the SSE id to resume after). */
export const eventSchema = z.strictObject({
  seq: z.number().int(),
  id: z.string(),
  type: z.enum(eventTypes),
  subject: z.string(),
  time: timestamp,
  image_id: z.number().int(),
  instance_id: z.string().nullable(),
  user_id: userId,
  data: z.union([
    containerEventDataSchema,
    imageEventDataSchema,
    // Events written before a field became required keep the data they had.
    z.record(z.string(), z.unknown()),
  ]),
  published_at: nullableTimestamp,
  publish_error: z.string().nullable(),
  failed_at: nullableTimestamp,
});

export type OrchestratorEvent = z.output<typeof eventSchema>;

export const eventPageSchema = z.strictObject({
  items: z.array(eventSchema),
  /** The cursor for the next page (`?after=`), or null when the log is empty. */
  next_after: z.number().int().nullable(),
});

/**
 * A resource sample of one instance on the event stream (`?follow=1&metrics=1`): sent as it is
 * taken (every HEALTH_INTERVAL_SECONDS), never in the log, never on Kafka, no SSE id.
 */
export const metricsSampleSchema = z.strictObject({
  type: z.literal("metrics"),
  instance_id: z.string(),
  image_id: z.number().int(),
  container_id: z.string().nullable(),
  sampled_at: timestamp,
  status: z.enum(["healthy", "warning", "critical", "stopped"]),
  cpu_usage: z.number().nullable(),
  memory_usage: z.number().nullable(),
  memory_bytes: z.number().nullable(),
  network_rx_bytes: z.number().nullable(),
  network_tx_bytes: z.number().nullable(),
  block_read_bytes: z.number().nullable(),
  block_write_bytes: z.number().nullable(),
});

export type MetricsSample = z.output<typeof metricsSampleSchema>;
