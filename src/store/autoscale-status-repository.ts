import type { Insertable, Selectable } from "kysely";
import type { Executor } from "./executor.ts";
import type { AutoscaleStatusTable } from "./schema.ts";

export type AutoscaleStatus = Selectable<AutoscaleStatusTable>;
export type NewAutoscaleStatus = Insertable<AutoscaleStatusTable>;

/** Queries on `autoscale_status`: the leader's autoscaler writes, the API reads. */
export function createAutoscaleStatusRepository(db: Executor) {
  return {
    /** The image's latest evaluation replaces the one before (an image gone meanwhile: none). */
    async record(status: NewAutoscaleStatus): Promise<void> {
      const { image_id: _imageId, ...rest } = status;
      await db
        .insertInto("autoscale_status")
        .columns([
          "image_id",
          "evaluated_at",
          "metric",
          "value",
          "target",
          "desired_instances",
          "recommendation",
          "reason",
          "instances",
          "missing",
        ])
        .expression((eb) =>
          eb
            .selectFrom("images")
            .select([
              "images.id",
              eb.val(status.evaluated_at).as("evaluated_at"),
              eb.val(status.metric).as("metric"),
              eb.val(status.value).as("value"),
              eb.val(status.target).as("target"),
              eb.val(status.desired_instances).as("desired_instances"),
              eb.val(status.recommendation).as("recommendation"),
              eb.val(status.reason).as("reason"),
              eb.val(status.instances).as("instances"),
              eb.val(status.missing).as("missing"),
            ])
            .where("images.id", "=", status.image_id),
        )
        .onConflict((conflict) => conflict.column("image_id").doUpdateSet(rest))
        .execute();
    },

    async find(imageId: number): Promise<AutoscaleStatus | undefined> {
      return db
        .selectFrom("autoscale_status")
        .selectAll()
        .where("image_id", "=", imageId)
        .executeTakeFirst();
    },
  };
}

export type AutoscaleStatusRepository = ReturnType<typeof createAutoscaleStatusRepository>;
