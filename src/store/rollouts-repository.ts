import type { Selectable } from "kysely";
import type { Executor } from "./executor.ts";
import { runInOrder } from "./pipeline.ts";
import { newestRevisionOf, type RevisionRecord } from "./revisions-repository.ts";
import type { ImageRolloutsTable } from "./schema.ts";

export type RolloutRecord = Selectable<ImageRolloutsTable>;

/** What the controller writes of a rollout (the whole row, image id aside). */
export type RolloutWrite = Omit<RolloutRecord, "image_id">;

/** Where each image's rollout stands (sql/0019). Written by the controller only. */
export function createRolloutsRepository(db: Executor) {
  return {
    /**
     * The image's rollout and its newest revision (what a pass's rollout tracking starts from):
     * two statements in one round trip on one connection where it pipelines (store/pipeline.ts).
     */
    async findWithNewestRevision(
      imageId: number,
    ): Promise<{ rollout: RolloutRecord | undefined; newest: RevisionRecord | undefined }> {
      const [rollout, newest] = await runInOrder(db, [
        db.selectFrom("image_rollouts").selectAll().where("image_id", "=", imageId).compile(),
        newestRevisionOf(db, imageId).compile(),
      ]);
      return {
        rollout: rollout?.rows[0] as RolloutRecord | undefined,
        newest: newest?.rows[0] as RevisionRecord | undefined,
      };
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
