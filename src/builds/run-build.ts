import type { Readable } from "node:stream";
import type { ImageBuilder } from "../docker/build.ts";
import type { BuildLimits } from "../docker/build-limits.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import type { ReferenceAccess } from "../domain/image-access.ts";
import { imageLabels } from "../domain/labels.ts";
import type { Logger } from "../logger.ts";
import type { BuildOutcome } from "../store/builds-repository.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { BuildLogFiles } from "./build-log-files.ts";
import { BuildRefused, preflightBuild, type RegistryAuthLookup } from "./build-preflight.ts";
import { type BuildFailure, createBuildProgress, describeFailure } from "./build-progress.ts";
import { BuildAborted, type BuildJob } from "./build-queue.ts";
import { claimBuild, finishBuild } from "./build-records.ts";
import type { BuiltImageRegistry } from "./built-image-registry.ts";
import { createLogKeeper } from "./log-keeper.ts";
import type { BuildPruner } from "./prune-builds.ts";

export type BuildRunnerDependencies = {
  readonly store: Store;
  readonly builder: ImageBuilder;
  readonly logs: BuildLogFiles;
  readonly pruner: BuildPruner;
  readonly packContext: (dir: string) => Readable;
  readonly referenceOf: (image: ImageRecord) => string;
  readonly orchestratorId: string;
  /** Which images an owner may build from (domain/image-access.ts). */
  readonly access: ReferenceAccess;
  /** Memory and CPU of a build's steps. */
  readonly limits: BuildLimits;
  /** The owner's stored credentials for a base image's registry (`POST /api/registries`). */
  readonly registryAuth?: RegistryAuthLookup | undefined;
  /** Where builds are pushed (REGISTRY_URL); undefined: nowhere. */
  readonly registry?: BuiltImageRegistry | undefined;
  readonly timeoutSeconds: number;
  readonly logger: Logger;
  /** Told how each build ended ("ready", a failure reason, or "stopped") and how long it took. */
  readonly onEnded?: (result: string, seconds: number) => void;
  /** How often the log so far is copied to the database while building. */
  readonly progressIntervalMs?: number;
};

type Outcome =
  | {
      readonly kind: "built";
      readonly dockerImageId: string;
      readonly registryReference: string | null;
    }
  | { readonly kind: "failed"; readonly failure: BuildFailure }
  | { readonly kind: "aborted"; readonly cause: BuildAborted }
  | { readonly kind: "unreachable"; readonly error: unknown };

/** The engine could not be reached at all: not the build's fault, so not a failed build. */
function engineUnreachable(error: unknown): boolean {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  return syscall === "connect" || code === "ECONNREFUSED";
}

/** The build worked, the push to REGISTRY_URL did not. */
class PushFailed extends Error {
  override name = "PushFailed";
}

const abortNotes = {
  superseded: "build stopped: a newer build of this image was requested",
  cancelled: "build stopped: the image is being deleted",
  shutdown: "build stopped: the service is shutting down; it starts again at the next start",
} as const;

/**
 * Runs one queued build: claims it, streams the context to the engine with the timeout, keeps
 * the full log in a file and its head and tail in the database, and records the result with its
 * event. A superseded, cancelled or shut-down build records nothing: what comes next does.
 */
export function createBuildRunner(deps: BuildRunnerDependencies) {
  const timeoutMs = deps.timeoutSeconds * 1000;

  return async function runBuild(job: BuildJob): Promise<void> {
    const claimed = await claimBuild(deps.store, job.imageId, job.generation, deps.referenceOf);
    if (claimed === undefined) return;
    const { image } = claimed;
    const sourcePath = image.source_path ?? "";
    const reference = deps.referenceOf(image);
    const options = withOptionDefaults(image.container_options).build;
    const log = deps.logger.child({ imageId: image.id, generation: job.generation });
    log.info({ reference, trigger: claimed.trigger, resumed: claimed.resumed }, "build started");

    const file = await deps.logs.create(image.id, job.generation);
    const keeper = createLogKeeper();
    const progress = createBuildProgress();
    const append = (text: string) => {
      file.write(text);
      keeper.append(text);
    };
    let saving = Promise.resolve();
    const saver = setInterval(() => {
      saving = saving
        .then(() => deps.store.builds.saveProgress(image.id, job.generation, keeper.snapshot()))
        .catch((error: unknown) => log.warn({ err: error }, "could not save the build log"));
    }, deps.progressIntervalMs ?? 2_000);

    const startedAt = performance.now();
    const ended = (result: string) =>
      deps.onEnded?.(result, (performance.now() - startedAt) / 1000);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([job.signal, timeout]);
    let outcome: Outcome;
    try {
      const { buildArgs } = await preflightBuild({
        contextDir: sourcePath,
        userId: image.user_id,
        userArgs: options.args,
        access: deps.access,
        registryAuth: deps.registryAuth,
        builder: deps.builder,
      });
      await deps.builder.build({
        context: deps.packContext(sourcePath),
        tag: reference,
        labels: imageLabels(deps.orchestratorId, image.id, image.user_id),
        buildArgs,
        target: options.target ?? undefined,
        platform: options.platform ?? undefined,
        limits: deps.limits,
        noCache: claimed.trigger === "rebuild" || options.no_cache,
        signal,
        onEvent: (event) => append(progress.add(event)),
      });
      const dockerImageId =
        progress.error === undefined ? await deps.builder.imageId(reference) : undefined;
      outcome =
        progress.error !== undefined
          ? {
              kind: "failed",
              failure: describeFailure({ kind: "error", message: progress.error }, progress.step),
            }
          : dockerImageId === undefined
            ? {
                kind: "failed",
                failure: {
                  reason: "build_error",
                  message: `the engine finished the build but ${reference} is missing`,
                },
              }
            : {
                kind: "built",
                dockerImageId,
                registryReference: await pushBuilt(reference, append, signal),
              };
    } catch (error) {
      if (error instanceof BuildRefused) {
        outcome = { kind: "failed", failure: { reason: "build_error", message: error.message } };
      } else if (error instanceof PushFailed) {
        outcome = { kind: "failed", failure: { reason: "push_failed", message: error.message } };
      } else if (job.signal.aborted && job.signal.reason instanceof BuildAborted) {
        outcome = { kind: "aborted", cause: job.signal.reason };
      } else if (timeout.aborted) {
        outcome = {
          kind: "failed",
          failure: describeFailure(
            { kind: "timeout", seconds: deps.timeoutSeconds },
            progress.step,
          ),
        };
      } else if (engineUnreachable(error)) {
        outcome = { kind: "unreachable", error };
      } else {
        const message = (error as Error).message ?? String(error);
        outcome = {
          kind: "failed",
          failure: describeFailure({ kind: "error", message }, progress.step),
        };
      }
    } finally {
      clearInterval(saver);
    }

    if (outcome.kind === "failed" && progress.error === undefined) {
      append(`ERROR: ${outcome.failure.message}\n`);
    } else if (outcome.kind === "aborted") {
      append(`${abortNotes[outcome.cause.abortCause]}\n`);
    } else if (outcome.kind === "unreachable") {
      append("build stopped: the Docker engine is unreachable; it starts again when it is back\n");
    }
    await file.close();
    await saving;

    if (outcome.kind === "aborted") {
      log.info({ cause: outcome.cause.abortCause }, "build stopped");
      ended("stopped");
      return;
    }
    if (outcome.kind === "unreachable") {
      log.warn({ err: outcome.error }, "build stopped: Docker engine unreachable");
      ended("stopped");
      return;
    }
    ended(outcome.kind === "built" ? "ready" : outcome.failure.reason);
    const result: BuildOutcome =
      outcome.kind === "built"
        ? {
            ok: true,
            dockerImageId: outcome.dockerImageId,
            registryReference: outcome.registryReference,
            logs: keeper.snapshot(),
          }
        : { ok: false, ...outcome.failure, logs: keeper.snapshot() };
    const written = await finishBuild(deps.store, image.id, job.generation, reference, result);
    if (!written) {
      log.info("build result dropped: a newer build was requested or the image is being deleted");
      return;
    }
    if (outcome.kind === "built") {
      log.info({ reference, dockerImageId: outcome.dockerImageId }, "build succeeded");
      await cleanUpAfterSuccess(image, job.generation, outcome.dockerImageId, log);
    } else {
      log.info(
        { reason: outcome.failure.reason, message: outcome.failure.message },
        "build failed",
      );
    }
  };

  /**
   * Pushes a build to REGISTRY_URL when one is set; null otherwise. A push that fails fails the
   * build (`push_failed`): other engines could not run it.
   */
  async function pushBuilt(
    reference: string,
    append: (text: string) => void,
    signal: AbortSignal,
  ): Promise<string | null> {
    if (deps.registry === undefined) return null;
    signal.throwIfAborted();
    append(`pushing ${deps.registry.targetOf(reference)}\n`);
    try {
      const pushed = await deps.registry.push(reference);
      append(`pushed ${pushed}\n`);
      return pushed;
    } catch (error) {
      signal.throwIfAborted();
      throw new PushFailed(
        `built, but the push to ${deps.registry.targetOf(reference)} failed: ${(error as Error).message}`,
      );
    }
  }

  /** Earlier builds go once no container runs them, their logs at once. Best effort. */
  async function cleanUpAfterSuccess(
    image: ImageRecord,
    generation: number,
    dockerImageId: string,
    log: Logger,
  ): Promise<void> {
    deps.pruner.mark(image.id);
    deps.pruner.sweep(image.id, dockerImageId);
    try {
      await deps.logs.removeOlder(image.id, generation);
    } catch (error) {
      log.warn({ err: error }, "could not remove the logs of earlier builds");
    }
  }
}
