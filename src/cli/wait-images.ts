import {
  type Image,
  type Instance,
  type Orchestrator,
  OrchestratorError,
} from "../client/index.ts";
import { formatDuration } from "../domain/duration.ts";
import { CliError, exitCodes } from "./cli-error.ts";
import { latestEvents } from "./event-cursor.ts";
import { rolloutFailureOf } from "./rollout-verdict.ts";
import type { Terminal } from "./terminal.ts";
import {
  buildStepOf,
  type ImageProgress,
  isDone,
  progressLine,
  progressOf,
  progressText,
  type WaitTarget,
} from "./wait-progress.ts";

export type { WaitTarget } from "./wait-progress.ts";

export type WaitOptions = {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** A re-read of every image still waited for, in case a change came without an event. */
  readonly resyncMs?: number;
};

/** Where progress goes: redrawn lines on a terminal, a plain line per change otherwise. */
export type WaitDisplay = {
  readonly terminal: Terminal;
  readonly out: (line: string) => void;
  readonly write: (text: string) => void;
};

/** The live region of a terminal: one line per image, redrawn in place. */
function liveRegion(display: WaitDisplay) {
  let drawn = 0;
  return (lines: readonly string[]) => {
    let text = drawn > 0 ? `\u001b[${drawn}A\r` : "";
    for (const line of lines) text += `\u001b[2K${line}\n`;
    display.write(text);
    drawn = lines.length;
  };
}

function describe(progress: ImageProgress | undefined): string {
  const readiness = progress?.readiness;
  if (readiness === undefined) return "still there";
  if (readiness.state === "ready") return "ready";
  return `${readiness.reason}${readiness.message === "" ? "" : `: ${readiness.message}`}`;
}

/** The image, or undefined once it is gone (404). */
export async function readImage(client: Orchestrator, id: number): Promise<Image | undefined> {
  try {
    return await client.images.get(id);
  } catch (error) {
    if (error instanceof OrchestratorError && error.status === 404) return undefined;
    throw error;
  }
}

/** Settles as `promise` does, or rejects as soon as `signal` aborts (the request may linger). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits until every target is Ready for its current generation (or gone, when deleted), showing
 * each image's progress (instances ready of desired, the build step) as it changes. Level-
 * triggered like the controller: the event stream only says which image to read again (and a
 * slow resync catches a change that came without an event); each read decides. Exit code 1 as
 * soon as one is Degraded, its rollout fails or is rolled back (an `image.rollout_failed` or
 * `image.rolled_back` event, or Progressing RolloutFailed/RolledBack: named with both revisions),
 * or when the timeout passes, naming what it waited for. Answers where each image ended.
 */
export async function waitForImages(
  client: Orchestrator,
  targets: readonly WaitTarget[],
  options: WaitOptions,
  display: WaitDisplay,
): Promise<ImageProgress[]> {
  if (targets.length === 0) return [];
  const stop = new AbortController();
  const dirty = new Set(targets.map((target) => target.imageId));
  let wake: (() => void) | undefined;
  const markDirty = (imageId: number) => {
    dirty.add(imageId);
    wake?.();
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, options.timeoutMs);
  const interrupt = () => stop.abort();
  options.signal?.addEventListener("abort", interrupt);
  if (options.signal?.aborted) stop.abort();
  stop.signal.addEventListener("abort", () => wake?.());
  const progress = new Map<number, ImageProgress>();
  const steps = new Map<number, string>();
  const followed = new Set<number>();
  const announced = new Set<number>();
  const printed = new Map<number, string>();
  const draw = display.terminal.tty ? liveRegion(display) : undefined;
  const width = Math.max(...targets.map((target) => target.name.length));
  const ids = new Set(targets.map((target) => target.imageId));
  /** Rollouts the controller failed or rolled back while waiting (their events), by image. */
  const rolloutFailures = new Map<number, string>();

  /** A building image's log, read for its step; each new step or the end is a change. */
  const followBuild = (imageId: number) => {
    if (followed.has(imageId)) return;
    followed.add(imageId);
    void (async () => {
      try {
        for await (const message of client.images.followBuildLogs(imageId, {
          signal: stop.signal,
        })) {
          const step = message.kind === "log" ? buildStepOf(message.line) : undefined;
          if (step !== undefined) steps.set(imageId, step);
          if (step !== undefined || message.kind === "end") markDirty(imageId);
        }
      } catch {
        // The stream failed: the image's status still ends the wait; only the step is missing.
      } finally {
        followed.delete(imageId);
      }
    })();
  };

  try {
    const { newest } = await unlessAborted(latestEvents(client, {}, 0), stop.signal).catch(
      (error: unknown) => {
        if (stop.signal.aborted) return { newest: 0 };
        throw error;
      },
    );
    void (async () => {
      try {
        for await (const event of client.events({ after: newest, signal: stop.signal })) {
          if (!ids.has(event.image_id)) continue;
          const failure = rolloutFailureOf(event, event.image_id);
          if (failure !== undefined) rolloutFailures.set(event.image_id, failure);
          markDirty(event.image_id);
        }
      } catch {
        // A refused stream: the resync below still re-reads every image.
      }
    })();
    const resync = setInterval(() => {
      for (const target of targets) {
        const known = progress.get(target.imageId);
        if (known === undefined || !isDone(known)) markDirty(target.imageId);
      }
    }, options.resyncMs ?? 2_000);
    try {
      for (;;) {
        const changed = [...dirty];
        dirty.clear();
        for (const imageId of changed) {
          const target = targets.find((candidate) => candidate.imageId === imageId);
          const failure = rolloutFailures.get(imageId);
          if (target !== undefined && !target.gone && failure !== undefined) {
            throw new CliError(
              `${target.name} (image ${target.imageId}): ${failure}`,
              exitCodes.failed,
            );
          }
          if (
            target === undefined ||
            (progress.has(imageId) && isDone(progress.get(imageId) as ImageProgress))
          )
            continue;
          // A request the server is slow to answer must not outlast --timeout (nor Ctrl-C).
          let image: Image | undefined;
          let instances: Instance[];
          try {
            image = await unlessAborted(readImage(client, imageId), stop.signal);
            instances =
              image === undefined
                ? []
                : await unlessAborted(client.images.containers(imageId), stop.signal);
          } catch (error) {
            if (stop.signal.aborted) break;
            throw error;
          }
          const current = progressOf(target, image, instances, steps.get(imageId));
          progress.set(imageId, current);
          if (image === undefined && !target.gone) {
            throw new CliError(
              `${target.name} (image ${target.imageId}) is gone`,
              exitCodes.failed,
            );
          }
          if (image?.status === "building") followBuild(imageId);
          if (!target.gone && current.readiness?.state === "degraded") {
            draw?.(
              targets.map((each) =>
                progressLine(display.terminal, progress.get(each.imageId) ?? current, width),
              ),
            );
            throw new CliError(
              `${target.name} is degraded: ${describe(current)}`,
              exitCodes.failed,
            );
          }
          if (draw === undefined) {
            const text = isDone(current)
              ? target.gone
                ? `${target.name} deleted`
                : `${target.name} ready (${current.readiness?.state === "ready" ? current.readiness.message : ""})`
              : target.gone
                ? undefined
                : `${target.name}: ${progressText(current)}`;
            if (text !== undefined && printed.get(imageId) !== text) {
              printed.set(imageId, text);
              display.out(text);
            }
          }
          if (isDone(current)) announced.add(imageId);
        }
        if (draw !== undefined && changed.length > 0 && progress.size === targets.length) {
          draw(
            targets.map((target) =>
              progressLine(display.terminal, progress.get(target.imageId) as ImageProgress, width),
            ),
          );
        }
        if (announced.size === targets.length)
          return targets.map((target) => progress.get(target.imageId) as ImageProgress);
        if (stop.signal.aborted) {
          if (!timedOut) throw new CliError("interrupted while waiting", exitCodes.failed);
          const waiting = targets
            .filter((target) => !announced.has(target.imageId))
            .map((target) => `${target.name} (${describe(progress.get(target.imageId))})`);
          throw new CliError(
            `timed out after ${formatDuration(options.timeoutMs)} waiting for ${waiting.join(", ")}`,
            exitCodes.failed,
          );
        }
        if (dirty.size === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      }
    } finally {
      clearInterval(resync);
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", interrupt);
    stop.abort();
  }
}

/** The images an apply touched, to wait for. */
export function waitTargets(
  items: readonly { name: string; action: string; image_id: number | null }[],
): WaitTarget[] {
  return items.flatMap((item) =>
    item.image_id === null
      ? []
      : [{ name: item.name, imageId: item.image_id, gone: item.action === "delete" }],
  );
}
