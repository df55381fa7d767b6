import { Hono } from "hono";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type {
  HealthSnapshot,
  HealthSnapshotsRepository,
} from "../store/health-snapshots-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { instanceIdParameter } from "./schemas/common-schemas.ts";
import { healthHistorySchema, instanceHealthSchema } from "./schemas/instance-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { instanceIdParam, queryParams } from "./validation.ts";

export type ContainerHealthOptions = {
  readonly images: ImageService;
  readonly snapshots: Pick<HealthSnapshotsRepository, "latest" | "history">;
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

function presentSnapshot(row: HealthSnapshot) {
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

/** `/api/containers/{id}/health` (the latest sample and probe) and `/health/history`. */
export function containerHealthRoutes(options: ContainerHealthOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/:id/health",
    documented({
      summary: "An instance's latest resource sample and probe",
      tags: ["containers"],
      params: { id: instanceIdParameter },
      responses: { 200: { description: "Latest health", body: instanceHealthSchema } },
    }),
    async (c) => {
      const { instance } = await options.images.getInstance(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      const latest = await options.snapshots.latest(instance.id);
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
    },
  );

  app.get(
    "/:id/health/history",
    documented({
      summary: "An instance's resource samples over time",
      tags: ["containers"],
      params: { id: instanceIdParameter },
      query: historyQuery,
      responses: { 200: { description: "Samples, oldest first", body: healthHistorySchema } },
    }),
    async (c) => {
      const query = queryParams(c, historyQuery);
      const { instance } = await options.images.getInstance(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      const rows = await options.snapshots.history(instance.id, {
        since: query.since,
        limit: query.limit ?? 1_000,
      });
      return c.json({ instance_id: instance.id, items: rows.map(presentSnapshot) });
    },
  );

  return app;
}
