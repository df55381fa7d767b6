import type { Selectable } from "kysely";
import type { Executor } from "./executor.ts";
import type { ImageRolloutsTable } from "./schema.ts";

export type RolloutRecord = Selectable<ImageRolloutsTable>;

/** What the controller writes of a rollout (the whole row, image id aside). */
export type RolloutWrite = Omit<RolloutRecord, "image_id">;

/** Where each image's rollout stands (sql/0019). Written by the controller only. */
export function createRolloutsRepository(db: Executor) {
  return {
    async find(imageId: number): Promise<RolloutRecord | undefined> {
      return db
        .selectFrom("image_rollouts")
        .selectAll()
        .where("image_id", "=", imageId)
        .executeTakeFirst();
    },

    async save(imageId: number, rollout: RolloutWrite): Promise<void> {
      await db
        .insertInto("image_rollouts")
        .values({ image_id: imageId, ...rollout })
        .onConflict((conflict) => conflict.column("image_id").doUpdateSet({ ...rollout }))
        .execute();
    },
  };
}

export type RolloutsRepository = ReturnType<typeof createRolloutsRepository>;
