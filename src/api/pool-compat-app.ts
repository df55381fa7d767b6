import { Hono } from "hono";
import { DesiredStateError } from "../desired/errors.ts";
import type { Scope } from "../desired/image-writes.ts";
import { isIdle } from "../domain/pool.ts";
import type { Logger } from "../logger.ts";
import type { ClaimsService } from "../pools/claims-service.ts";
import type { ImageRecord, InstanceRecord } from "../store/records.ts";
import type { AppEnv } from "./app-env.ts";
import { toProblem } from "./error-mapping.ts";

/**
 * What the compat listener needs: the pooled image it serves and as whom (resolved on each
 * request, so an image created or renamed later is found), its instances, and whether Docker
 * answers.
 */
export type PoolCompatPort = {
  readonly claims: ClaimsService;
  /** The configured image and its owner's scope; undefined while it does not exist. */
  target(): Promise<{ readonly scope: Scope; readonly image: ImageRecord } | undefined>;
  instancesOf(imageId: number): Promise<InstanceRecord[]>;
  dockerReachable(): Promise<boolean>;
  readonly advertiseHost: string;
  readonly logger: Logger;
  /** How long a GET /:projectId waits for a free machine before 503. */
  readonly claimWaitMs: number;
};

/** A project id as the original accepted it: one path segment. */
const projectIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

const noMachine = {
  error: "No machines available, retry in a few seconds",
};

/**
 * The original worker-pool routes, for its existing callers, on their own listener
 * (POOL_COMPAT_PORT): `GET /:projectId` → `{ip, port, url, containerId}`, `DELETE /:projectId`,
 * `POST /destroy` (`{containerId}`), `GET /health`, `GET /machines/list`, with the original's
 * JSON and status codes, but served by durable, idempotent claims on one pooled image. No
 * token: like the original, it trusts whoever reaches it (loopback by default).
 */
export function poolCompatApp(port: PoolCompatPort) {
  const app = new Hono<AppEnv>();
  const host = port.advertiseHost;
  const urlOf = (hostPort: number | null) =>
    hostPort === null ? null : `http://${host}:${hostPort}`;

  app.get("/health", async (c) => {
    const [docker, target] = await Promise.all([port.dockerReachable(), port.target()]);
    const instances = target === undefined ? [] : await port.instancesOf(target.image.id);
    const live = instances.filter((instance) => instance.deletion_requested_at === null);
    const used = live.filter((instance) => instance.claim_key !== null).length;
    const checked = target?.image.health_check != null;
    const idle = live.filter((instance) => isIdle(instance, checked)).length;
    const body = {
      status: docker ? "ok" : "error",
      docker: docker ? "connected" : "disconnected",
      machines: { total: live.length, idle, used },
    };
    return c.json(body, docker ? 200 : 503);
  });

  app.get("/machines/list", async (c) => {
    const target = await port.target();
    const instances = target === undefined ? [] : await port.instancesOf(target.image.id);
    return c.json(
      instances
        .filter((instance) => instance.deletion_requested_at === null)
        .map((instance) => ({
          id: instance.id,
          containerId: instance.container_id,
          ip: host,
          port: instance.host_port,
          isUsed: instance.claim_key !== null,
          assignedProject: instance.claim_key,
          url: urlOf(instance.host_port),
        })),
    );
  });

  app.post("/destroy", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      body = undefined;
    }
    const containerId = (body as { containerId?: unknown } | undefined)?.containerId;
    if (typeof containerId !== "string" || containerId.length === 0) {
      return c.json({ error: "containerId is required" }, 400);
    }
    const target = await port.target();
    const instance =
      target === undefined
        ? undefined
        : (await port.instancesOf(target.image.id)).find(
            (candidate) => candidate.container_id === containerId || candidate.id === containerId,
          );
    if (target === undefined || instance === undefined) {
      return c.json({ error: "Machine not found" }, 404);
    }
    await port.claims.destroy(target.scope, instance.id);
    return c.json({ success: true, containerId });
  });

  app.get("/:projectId", async (c) => {
    const projectId = c.req.param("projectId");
    if (!projectIdPattern.test(projectId)) return c.json({ error: "Invalid project id" }, 400);
    const target = await port.target();
    if (target === undefined) return c.json(noMachine, 503);
    try {
      const held = await port.claims.claim(
        target.scope,
        target.image.id,
        projectId,
        port.claimWaitMs,
      );
      return c.json({
        ip: host,
        port: held.instance.host_port,
        url: urlOf(held.instance.host_port),
        containerId: held.instance.container_id,
      });
    } catch (error) {
      if (error instanceof DesiredStateError && error.code === "pool_exhausted") {
        c.header("retry-after", String(error.extensions?.["retry_after"] ?? 5));
        return c.json(noMachine, 503);
      }
      throw error;
    }
  });

  app.delete("/:projectId", async (c) => {
    const projectId = c.req.param("projectId");
    if (!projectIdPattern.test(projectId)) return c.json({ error: "Invalid project id" }, 400);
    const target = await port.target();
    const released =
      target === undefined
        ? []
        : await port.claims.releaseByKey(target.scope, projectId, target.image.id);
    if (released.length === 0) return c.json({ error: "No machine assigned to this project" }, 404);
    return c.json({ success: true, projectId });
  });

  app.notFound((c) => c.json({ error: "Not found" }, 404));
  app.onError((error, c) => {
    if (toProblem(error)?.code === "unavailable") {
      c.header("retry-after", "5");
      return c.json(noMachine, 503);
    }
    port.logger.error({ err: error, path: c.req.path }, "compat request failed");
    return c.json({ error: "Internal server error" }, 500);
  });
  return app;
}
