import { sql } from "kysely";
import type { Executor } from "./executor.ts";
import type { ImageRecord } from "./records.ts";

export type BuildRecord = {
  readonly image_id: number;
  /** The build wanted now. */
  readonly generation: number;
  readonly trigger: string;
  readonly failure_reason: string | null;
  readonly error: string | null;
};

export type BuildOutcome =
  | {
      readonly ok: true;
      readonly dockerImageId: string;
      /** Where it was pushed (REGISTRY_URL), or null. */
      readonly registryReference?: string | null;
      readonly logs: string;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly message: string;
      readonly logs: string;
    };

/**
 * Queries of the build pipeline: `image_builds` (which build is wanted, what asked for it, how
 * the last one failed) and the build columns of `images` (status, times, logs).
 */
export function createBuildsRepository(db: Executor) {
  return {
    async find(imageId: number): Promise<BuildRecord | undefined> {
      return db
        .selectFrom("image_builds")
        .select(["image_id", "generation", "trigger", "failure_reason", "error"])
        .where("image_id", "=", imageId)
        .executeTakeFirst();
    },

    /** The wanted build, locked for the rest of the transaction. */
    async findForUpdate(imageId: number): Promise<BuildRecord | undefined> {
      return db
        .selectFrom("image_builds")
        .select(["image_id", "generation", "trigger", "failure_reason", "error"])
        .where("image_id", "=", imageId)
        .forUpdate()
        .executeTakeFirst();
    },

    /** A new build is wanted: the generation moves on and the last failure is forgotten. */
    async want(imageId: number, trigger: string): Promise<void> {
      await db
        .insertInto("image_builds")
        .values({ image_id: imageId, generation: 1, trigger })
        .onConflict((conflict) =>
          conflict.column("image_id").doUpdateSet({
            generation: sql<number>`image_builds.generation + 1`,
            trigger,
            failure_reason: null,
            error: null,
            updated_at: sql<Date>`now()`,
          }),
        )
        .execute();
    },

    /** Status `building` from now, with no logs yet. */
    async markStarted(imageId: number): Promise<ImageRecord> {
      return db
        .updateTable("images")
        .set({
          status: "building",
          build_started_at: sql<Date>`now()`,
          build_finished_at: null,
          build_logs: null,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", imageId)
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    /** The log so far, while the image builds and `generation` is still the one wanted. */
    async saveProgress(imageId: number, generation: number, logs: string): Promise<void> {
      await db
        .updateTable("images")
        .set({ build_logs: logs })
        .where("id", "=", imageId)
        .where("status", "=", "building")
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom("image_builds")
              .select("image_id")
              .where("image_id", "=", imageId)
              .where("generation", "=", generation),
          ),
        )
        .execute();
    },

    /** How the build ended: the image's status, logs and built id, and the failure if any. */
    async recordOutcome(imageId: number, outcome: BuildOutcome): Promise<ImageRecord> {
      const updated = await db
        .updateTable("images")
        .set({
          status: outcome.ok ? "ready" : "build_failed",
          build_finished_at: sql<Date>`now()`,
          build_logs: outcome.logs,
          ...(outcome.ok
            ? {
                docker_image_id: outcome.dockerImageId,
                registry_reference: outcome.registryReference ?? null,
              }
            : {}),
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", imageId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await db
        .updateTable("image_builds")
        .set({
          failure_reason: outcome.ok ? null : outcome.reason,
          error: outcome.ok ? null : outcome.message,
          updated_at: sql<Date>`now()`,
        })
        .where("image_id", "=", imageId)
        .execute();
      return updated;
    },
  };
}

export type BuildsRepository = ReturnType<typeof createBuildsRepository>;
