import pRetry from "p-retry";
import { commitImageChange, type WriteSettings } from "../desired/image-writes.ts";
import { type Actor, controllerActor } from "../domain/actor.ts";
import { imageEvent } from "../domain/event-builders.ts";
import type { BuildOutcome } from "../store/builds-repository.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";

/** What asked for a build. */
export type BuildTrigger = "upload" | "source" | "rebuild" | "image_missing";

/**
 * Asks for a new build of an upload image (the caller holds its row lock, `image` is what it
 * read): the wanted generation moves on, the status goes back to `pending`, the source is
 * recorded when given, and the controller is told. A running build of an older generation is
 * superseded: its result will not be written.
 */
export async function requestBuild(
  tx: Repositories,
  image: ImageRecord,
  trigger: BuildTrigger,
  options: {
    readonly source?: { readonly path: string; readonly digest: string };
    /** A user's request changes the spec's generation, so "ready" means this build. */
    readonly bumpGeneration: boolean;
    /** Who asks; the controller when not said (a built image gone missing). */
    readonly actor?: Actor;
  },
  settings: WriteSettings,
): Promise<ImageRecord> {
  await tx.builds.want(image.id, trigger);
  return commitImageChange(
    tx,
    image,
    {
      requestBuild: options.source === undefined ? {} : { source: options.source },
      bumpGeneration: options.bumpGeneration,
      reason: trigger,
      action: `build.${trigger}`,
      actor: options.actor ?? controllerActor,
    },
    settings,
  );
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
  store: Store,
  imageId: number,
  generation: number,
  reference: (image: ImageRecord) => string,
): Promise<ClaimedBuild | undefined> {
  return store.transaction(async (tx) => {
    const build = await tx.builds.findForUpdate(imageId);
    if (build === undefined || build.generation !== generation) return undefined;
    const image = await tx.images.findForUpdate(imageId);
    if (
      image === undefined ||
      image.source_type !== "upload" ||
      image.source_path === null ||
      (image.status !== "pending" && image.status !== "building")
    ) {
      return undefined;
    }
    const resumed = image.status === "building";
    const claimed = await tx.builds.markStarted(imageId);
    await tx.events.append([
      imageEvent(
        "image.building",
        claimed,
        reference(claimed),
        resumed ? "resumed" : build.trigger,
      ),
    ]);
    return { image: claimed, trigger: build.trigger, resumed };
  });
}

/** Tries at writing a build's result before it is recorded as a failure that can be written. */
const resultWriteTries = 3;

/**
 * Records how the build of `generation` ended, with its event, and tells the controller (which
 * then creates or replaces instances). Nothing is written when a newer build was asked for or
 * the image is being deleted; returns whether it was written.
 *
 * A result the database refuses (a log it cannot store, a constraint) is tried a few times and
 * then recorded as the failure `result_not_recorded`, without the log: a build whose result
 * cannot be written must end, not stay `building` to be built again and again. Only a database
 * that cannot be reached at all leaves it `building`, to resume once it is back.
 */
export async function finishBuild(
  store: Store,
  imageId: number,
  generation: number,
  reference: string,
  result: BuildOutcome,
): Promise<boolean> {
  try {
    return await pRetry(() => writeOutcome(store, imageId, generation, reference, result), {
      retries: resultWriteTries - 1,
      minTimeout: 100,
      factor: 2,
      shouldRetry: ({ error }) => !isDatabaseUnavailable(error),
    });
  } catch (error) {
    if (isDatabaseUnavailable(error)) throw error;
    const message = (error as Error).message ?? String(error);
    return writeOutcome(store, imageId, generation, reference, {
      ok: false,
      reason: "result_not_recorded",
      message: `the build ended, but its result could not be recorded: ${message.slice(0, 500)}`,
      logs: "[the log could not be stored: read it at GET /api/images/{id}/build-logs]\n",
    });
  }
}

async function writeOutcome(
  store: Store,
  imageId: number,
  generation: number,
  reference: string,
  result: BuildOutcome,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const build = await tx.builds.findForUpdate(imageId);
    if (build === undefined || build.generation !== generation) return false;
    const image = await tx.images.findForUpdate(imageId);
    if (image === undefined || image.status !== "building") return false;
    const updated = await tx.builds.recordOutcome(imageId, result);
    // The build ran for the newest revision: it runs this image from now on.
    if (result.ok) await tx.revisions.recordBuiltImage(imageId, result.dockerImageId);
    await tx.events.append([
      result.ok
        ? imageEvent(
            "image.ready",
            updated,
            reference,
            "built",
            // What other engines pull to run it, when it was pushed (REGISTRY_URL).
            updated.registry_reference === null
              ? undefined
              : { registry_reference: updated.registry_reference },
          )
        : imageEvent("image.build_failed", updated, reference, result.reason, {
            message: result.message,
          }),
    ]);
    await tx.images.notifyChanged(imageId);
    return true;
  });
}
