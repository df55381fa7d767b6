import { type Selectable, sql } from "kysely";
import type { Executor } from "./executor.ts";
import { jsonb } from "./json.ts";
import type { ImageRevisionsTable } from "./schema.ts";

export type RevisionRecord = Selectable<ImageRevisionsTable>;

/** The query for an image's newest revision (also read with its rollout, rollouts-repository.ts). */
export function newestRevisionOf(db: Executor, imageId: number) {
  return db
    .selectFrom("image_revisions")
    .selectAll()
    .where("image_id", "=", imageId)
    .orderBy("revision", "desc")
    .limit(1);
}

export type NewRevision = {
  readonly imageId: number;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly sourceDigest: string | null;
  /** Known at once for a rollback (the revision's image); else filled in later. */
  readonly dockerImageId: string | null;
  readonly generation: number;
  readonly actor: string;
  readonly actorUserId: number | null;
  readonly cause: string;
};

/**
 * An image's revisions (sql/0017). Written in the transaction of the change that asks for new
 * containers; the caller holds the image's row lock, so the next number cannot race.
 */
export function createRevisionsRepository(db: Executor) {
  return {
    /** Appends the next revision (1 for the first) and returns it. */
    async append(revision: NewRevision): Promise<RevisionRecord> {
      const last = await db
        .selectFrom("image_revisions")
        .select((eb) => eb.fn.max("revision").as("revision"))
        .where("image_id", "=", revision.imageId)
        .executeTakeFirst();
      return db
        .insertInto("image_revisions")
        .values({
          image_id: revision.imageId,
          revision: (last?.revision ?? 0) + 1,
          spec: jsonb({ ...revision.spec }),
          source_digest: revision.sourceDigest,
          docker_image_id: revision.dockerImageId,
          generation: revision.generation,
          actor: revision.actor,
          actor_user_id: revision.actorUserId,
          cause: revision.cause,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    /** Deletes all but the newest `keep` revisions of an image. */
    async trim(imageId: number, keep: number): Promise<void> {
      await db
        .deleteFrom("image_revisions")
        .where("image_id", "=", imageId)
        .where(
          "revision",
          "<=",
          sql<number>`(select max(revision) from image_revisions where image_id = ${imageId}) - ${keep}`,
        )
        .execute();
    },

    /** Newest first. */
    async list(imageId: number): Promise<RevisionRecord[]> {
      return db
        .selectFrom("image_revisions")
        .selectAll()
        .where("image_id", "=", imageId)
        .orderBy("revision", "desc")
        .execute();
    },

    async find(imageId: number, revision: number): Promise<RevisionRecord | undefined> {
      return db
        .selectFrom("image_revisions")
        .selectAll()
        .where("image_id", "=", imageId)
        .where("revision", "=", revision)
        .executeTakeFirst();
    },

    async latest(imageId: number): Promise<RevisionRecord | undefined> {
      return newestRevisionOf(db, imageId).executeTakeFirst();
    },

    /**
     * The newest revision of the image's spec at `generation` or before: what a pass that read
     * the image at that generation works toward (a revision written while it ran is newer).
     */
    async newestUpTo(imageId: number, generation: number): Promise<RevisionRecord | undefined> {
      return newestRevisionOf(db, imageId).where("generation", "<=", generation).executeTakeFirst();
    },

    /**
     * The image a finished build made, for the newest revision (a build runs for the newest;
     * one run again because its image went missing replaces the image).
     */
    async recordBuiltImage(imageId: number, dockerImageId: string): Promise<void> {
      await db
        .updateTable("image_revisions")
        .set({ docker_image_id: dockerImageId })
        .where("image_id", "=", imageId)
        .where(
          "revision",
          "=",
          sql<number>`(select max(revision) from image_revisions where image_id = ${imageId})`,
        )
        .execute();
    },

    /**
     * The image the controller resolved for a generation of the spec (a reference, or a build
     * that a later change kept), for the revision that generation runs, if it has none yet: the
     * newest revision written at or before it (a scale makes a generation but no revision).
     */
    async recordResolvedImage(
      imageId: number,
      generation: number,
      dockerImageId: string,
    ): Promise<void> {
      await db
        .updateTable("image_revisions")
        .set({ docker_image_id: dockerImageId })
        .where("image_id", "=", imageId)
        .where(
          "revision",
          "=",
          sql<number>`(select max(revision) from image_revisions where image_id = ${imageId} and generation <= ${generation})`,
        )
        .where("docker_image_id", "is", null)
        .execute();
    },

    /** The images the kept revisions run: the build cleanup leaves them. */
    async keptImageIds(imageId: number): Promise<string[]> {
      const rows = await db
        .selectFrom("image_revisions")
        .select("docker_image_id")
        .distinct()
        .where("image_id", "=", imageId)
        .where("docker_image_id", "is not", null)
        .execute();
      return rows.flatMap((row) => (row.docker_image_id === null ? [] : [row.docker_image_id]));
    },
  };
}

export type RevisionsRepository = ReturnType<typeof createRevisionsRepository>;
