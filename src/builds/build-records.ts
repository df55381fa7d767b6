import { type Kysely, sql } from "kysely";
import type { NewEvent } from "../domain/events.ts";
import { imageEvent } from "../reconcilers/image/event-data.ts";
import { appendEvents } from "../store/events-repository.ts";
import { findImageForUpdate, notifyImageChanged } from "../store/images-repository.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Database } from "../store/schema.ts";
import type { FailureReason } from "./build-progress.ts";

/** What asked for a build. */
export type BuildTrigger = "upload" | "source" | "rebuild" | "image_missing";

export type BuildRecord = {
  readonly image_id: number;
  /** The build wanted now. */
  readonly generation: number;
  readonly trigger: string;
  readonly failure_reason: string | null;
  readonly error: string | null;
};

export async function findBuild(
  db: Kysely<Database>,
  imageId: number,
): Promise<BuildRecord | undefined> {
  return db
    .selectFrom("image_builds")
    .select(["image_id", "generation", "trigger", "failure_reason", "error"])
    .where("image_id", "=", imageId)
    .executeTakeFirst();
}

/** A build event, with the reference the build tags (uploads have no `image_reference`). */
function buildEvent(
  type: "image.building" | "image.ready" | "image.build_failed",
  image: ImageRecord,
  reason: string,
  reference: string,
  message?: string,
): NewEvent {
  const event = imageEvent(type, image, reason, message === undefined ? {} : { message });
  return { ...event, data: { ...event.data, image: reference } };
}

/**
 * Asks for a new build of an upload image (the caller holds its row lock, `image` is what it
 * read): the wanted generation moves on, the status goes back to `pending`, the source is
 * recorded when given, and the controller is told. A running build of an older generation is
 * superseded: its result will not be written.
 */
export async function requestBuild(
  trx: Kysely<Database>,
  image: ImageRecord,
  trigger: BuildTrigger,
  options: {
    readonly source?: { readonly path: string; readonly digest: string };
    /** A user's request changes the spec's generation, so "ready" means this build. */
    readonly bumpGeneration: boolean;
  },
): Promise<ImageRecord> {
  await trx
    .insertInto("image_builds")
    .values({ image_id: image.id, generation: 1, trigger })
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
  const updated = await trx
    .updateTable("images")
    .set({
      status: "pending",
      // Moves on every request: the status guard (sql/0003) lets the status go back only then.
      build_requested_at: sql<Date>`clock_timestamp()`,
      build_started_at: null,
      build_finished_at: null,
      // The logs shown are the wanted build's: none until it starts.
      build_logs: null,
      ...(options.source === undefined
        ? {}
        : { source_path: options.source.path, source_digest: options.source.digest }),
      ...(options.bumpGeneration ? { generation: sql<number>`generation + 1` } : {}),
      resource_version: sql<number>`resource_version + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where("id", "=", image.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await notifyImageChanged(trx, image.id);
  return updated;
}

export type ClaimedBuild = {
  readonly image: ImageRecord;
  readonly trigger: string;
  /** The image was already `building`: a build interrupted by a restart, started again. */
  readonly resumed: boolean;
};

/**
 * Starts the build of `generation` if it is still the one wanted and the image still wants a
 * build: status `building` and its `image.building` event, in one transaction.
 */
export async function claimBuild(
  db: Kysely<Database>,
  imageId: number,
  generation: number,
  reference: (image: ImageRecord) => string,
): Promise<ClaimedBuild | undefined> {
  return db.transaction().execute(async (trx) => {
    const build = await trx
      .selectFrom("image_builds")
      .select(["generation", "trigger"])
      .where("image_id", "=", imageId)
      .forUpdate()
      .executeTakeFirst();
    if (build === undefined || build.generation !== generation) return undefined;
    const image = await findImageForUpdate(trx, imageId);
    if (
      image === undefined ||
      image.source_type !== "upload" ||
      image.source_path === null ||
      (image.status !== "pending" && image.status !== "building")
    ) {
      return undefined;
    }
    const resumed = image.status === "building";
    const claimed = await trx
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
    await appendEvents(trx, [
      buildEvent(
        "image.building",
        claimed,
        resumed ? "resumed" : build.trigger,
        reference(claimed),
      ),
    ]);
    return { image: claimed, trigger: build.trigger, resumed };
  });
}

/** The log so far, for readers of the image while it builds (only while still current). */
export async function saveBuildProgress(
  db: Kysely<Database>,
  imageId: number,
  generation: number,
  logs: string,
): Promise<void> {
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
}

export type BuildResult =
  | { readonly ok: true; readonly dockerImageId: string; readonly logs: string }
  | {
      readonly ok: false;
      readonly reason: FailureReason;
      readonly message: string;
      readonly logs: string;
    };

/**
 * Records how the build of `generation` ended, with its event, and tells the controller (which
 * then creates or replaces instances). Nothing is written when a newer build was asked for or
 * the image is being deleted; returns whether it was written.
 */
export async function finishBuild(
  db: Kysely<Database>,
  imageId: number,
  generation: number,
  reference: string,
  result: BuildResult,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const build = await trx
      .selectFrom("image_builds")
      .select("generation")
      .where("image_id", "=", imageId)
      .forUpdate()
      .executeTakeFirst();
    if (build === undefined || build.generation !== generation) return false;
    const image = await findImageForUpdate(trx, imageId);
    if (image === undefined || image.status !== "building") return false;
    const updated = await trx
      .updateTable("images")
      .set({
        status: result.ok ? "ready" : "build_failed",
        build_finished_at: sql<Date>`now()`,
        build_logs: result.logs,
        ...(result.ok ? { docker_image_id: result.dockerImageId } : {}),
        updated_at: sql<Date>`now()`,
      })
      .where("id", "=", imageId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable("image_builds")
      .set({
        failure_reason: result.ok ? null : result.reason,
        error: result.ok ? null : result.message,
        updated_at: sql<Date>`now()`,
      })
      .where("image_id", "=", imageId)
      .execute();
    await appendEvents(trx, [
      result.ok
        ? buildEvent("image.ready", updated, "built", reference)
        : buildEvent("image.build_failed", updated, result.reason, reference, result.message),
    ]);
    await notifyImageChanged(trx, imageId);
    return true;
  });
}
