import { Hono } from "hono";
import { findVisibleImage, type Scope } from "../desired/image-writes.ts";
import type { WakeResult } from "../desired/wake.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import type { AutoscaleStatusRepository } from "../store/autoscale-status-repository.ts";
import type { EventRow, EventsRepository } from "../store/events-repository.ts";
import type { ImagesRepository } from "../store/images-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import {
  type AutoscaleView,
  autoscaleViewSchema,
  wakeResultSchema,
} from "./schemas/autoscale-schemas.ts";
import { idParameter } from "./schemas/common-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { idParam } from "./validation.ts";

export type AutoscaleRoutesOptions = {
  readonly images: Pick<ImagesRepository, "find">;
  readonly status: Pick<AutoscaleStatusRepository, "find">;
  readonly events: Pick<EventsRepository, "autoscalerDecisions">;
  /** desired/wake.ts on the service's store. */
  readonly wake: (scope: Scope, imageId: number) => Promise<WakeResult>;
};

const decisionsShown = 20;

const numberOr = (value: unknown, fallback: number) =>
  typeof value === "number" ? value : fallback;

function presentDecision(event: EventRow): AutoscaleView["decisions"][number] {
  const data = event.data;
  return {
    time: event.time.toISOString(),
    metric: String(data.metric),
    value: typeof data.value === "number" ? data.value : null,
    target: numberOr(data.target, 0),
    from: numberOr(data.from, numberOr(data.previous_desired_instances, 0)),
    to: numberOr(data.to, numberOr(data.desired_instances, 0)),
    reason: String(data.reason),
    event_id: event.id,
  };
}

/** `GET /api/images/{id}/autoscale`: owner-checked like the image itself (404 for others). */
export function autoscaleRoutes(options: AutoscaleRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/:id/autoscale",
    documented({
      summary: "An image's autoscaler: its spec, the metric now, and its last decisions",
      description:
        "`current` is the leader's latest evaluation (every AUTOSCALE_INTERVAL_SECONDS); `decisions` are the `image.scaled` events the autoscaler wrote, newest first.",
      tags: ["images"],
      params: { id: idParameter },
      responses: { 200: { description: "The autoscaler's view", body: autoscaleViewSchema } },
    }),
    async (c) => {
      const image = await findVisibleImage(
        options.images,
        scopeOf(c.get("principal")),
        idParam(c, "id"),
      );
      const [status, decisions] = await Promise.all([
        options.status.find(image.id),
        options.events.autoscalerDecisions(image.id, decisionsShown),
      ]);
      const view: AutoscaleView = {
        image_id: image.id,
        autoscale: withOptionDefaults(image.container_options).autoscale,
        min_instances: image.min_instances,
        max_instances: image.max_instances,
        desired_instances: image.desired_instances,
        current:
          status === undefined
            ? null
            : {
                evaluated_at: status.evaluated_at.toISOString(),
                metric: status.metric,
                value: status.value === null ? null : Math.round(status.value * 100) / 100,
                target: status.target,
                recommendation: status.recommendation,
                desired_instances: status.desired_instances,
                reason: status.reason,
                instances: status.instances,
                missing: status.missing,
              },
        decisions: decisions.map(presentDecision),
      };
      return c.json(view);
    },
  );

  app.post(
    "/:id/wake",
    documented({
      summary: "Wake an image scaled to zero: it wants one instance again",
      description:
        "For an image with `autoscale.scale_to_zero_after` at 0 instances: sets `desired_instances` to 1 as the autoscaler (event `image.scaled`, reason `wake`). Idempotent: an image already wanting instances is left as it is (`woken: false`). 409 for an image that does not scale to zero. What the hostname router calls when it holds a request for an image with no ready instance.",
      tags: ["images"],
      params: { id: idParameter },
      responses: {
        200: { description: "The image's count after the call", body: wakeResultSchema },
      },
    }),
    async (c) => c.json(await options.wake(scopeOf(c.get("principal")), idParam(c, "id"))),
  );

  return app;
}
