import { Readable } from "node:stream";
import type { Hono } from "hono";
import { stream } from "hono/streaming";
import type { Selectable } from "kysely";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import type { Observability } from "../docker/observability.ts";
import type { Db } from "../store/database.ts";
import type { HealthSnapshotsTable } from "../store/schema.ts";
import type { AppEnv } from "./env.ts";
import { validationProblem } from "./problem.ts";
import { scopeOf } from "./tenant.ts";
import { queryParams } from "./validation.ts";

export type ContainerHealthOptions = {
  readonly db: Db;
  readonly images: ImageService;
  readonly observability: Observability;
  readonly shutdown: AbortSignal;
};

const historyQuery = z.strictObject({
  since: z.iso
    .datetime({ offset: true, message: "must be an RFC 3339 time" })
    .transform((value) => new Date(value))
    .optional(),
  limit: z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .pipe(z.number().min(1).max(10_000))
    .optional(),
});

const logsQuery = z.strictObject({
  tail: z
    .string()
    .regex(/^\d{1,6}$/, { message: "must be a number of lines" })
    .transform(Number)
    .optional(),
  follow: z.enum(["0", "1", "true", "false"]).optional(),
});

function instanceId(raw: string | undefined): string {
  if (raw === undefined || !/^[0-9a-z]{1,64}$/.test(raw))
    throw validationProblem([{ path: "id", message: "must be a container (instance) id" }]);
  return raw;
}

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

function presentSnapshot(row: Selectable<HealthSnapshotsTable>) {
  return {
    sampled_at: iso(row.sampled_at),
    status: row.status,
    cpu_usage: row.cpu_usage,
    memory_usage: row.memory_usage,
    memory_bytes: row.memory_bytes,
    disk_usage: row.disk_usage,
    network_rx_bytes: row.network_rx_bytes,
    network_tx_bytes: row.network_tx_bytes,
    block_read_bytes: row.block_read_bytes,
    block_write_bytes: row.block_write_bytes,
  };
}

/** `/api/containers/{id}/health`, `/health/history` and `/logs` (streamed with `?follow=1`). */
export function addContainerHealthRoutes(app: Hono<AppEnv>, options: ContainerHealthOptions): void {
  app.get("/:id/health", async (c) => {
    const instance = await options.images.getInstance(
      scopeOf(c.get("principal")),
      instanceId(c.req.param("id")),
    );
    const latest = await options.db
      .selectFrom("health_snapshots")
      .selectAll()
      .where("instance_id", "=", instance.id)
      .orderBy("sampled_at", "desc")
      .limit(1)
      .executeTakeFirst();
    const running = instance.observed_state === "running";
    return c.json({
      instance_id: instance.id,
      container_id: instance.container_id,
      observed_state: instance.observed_state,
      health: instance.health,
      probe: instance.last_probe,
      ...(latest === undefined
        ? {
            status: running ? "healthy" : "stopped",
            sampled_at: null,
            cpu_usage: null,
            memory_usage: null,
            disk_usage: null,
          }
        : presentSnapshot(latest)),
      ...(running ? {} : { status: "stopped" }),
    });
  });

  app.get("/:id/health/history", async (c) => {
    const query = queryParams(c, historyQuery);
    const instance = await options.images.getInstance(
      scopeOf(c.get("principal")),
      instanceId(c.req.param("id")),
    );
    let select = options.db
      .selectFrom("health_snapshots")
      .selectAll()
      .where("instance_id", "=", instance.id)
      .orderBy("sampled_at", "asc")
      .limit(query.limit ?? 1_000);
    if (query.since !== undefined) select = select.where("sampled_at", ">=", query.since);
    const rows = await select.execute();
    return c.json({ instance_id: instance.id, items: rows.map(presentSnapshot) });
  });

  app.get("/:id/logs", async (c) => {
    const query = queryParams(c, logsQuery);
    const instance = await options.images.getInstance(
      scopeOf(c.get("principal")),
      instanceId(c.req.param("id")),
    );
    const tail = query.tail ?? 200;
    if (instance.container_id === null) return c.text("", 200);
    if (query.follow !== "1" && query.follow !== "true") {
      return c.text(await options.observability.logTail(instance.container_id, tail), 200);
    }
    const abort = new AbortController();
    const stop = () => abort.abort();
    options.shutdown.addEventListener("abort", stop);
    const logs = await options.observability.followLogs(instance.container_id, {
      tail,
      signal: abort.signal,
    });
    c.header("content-type", "text/plain; charset=utf-8");
    return stream(c, async (output) => {
      output.onAbort(stop);
      try {
        for await (const chunk of Readable.from(logs)) {
          await output.write(chunk as Uint8Array);
        }
      } finally {
        options.shutdown.removeEventListener("abort", stop);
        stop();
      }
    });
  });
}
