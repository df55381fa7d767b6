import { formatDuration } from "../domain/duration.ts";
import type { ImageView, ItemsOf } from "./api-types.ts";
import { CliError, type ClientSettings, callApi } from "./client.ts";
import { type Readiness, readinessOf } from "./readiness.ts";

export type WaitTarget = {
  readonly name: string;
  readonly imageId: number;
  /** Deleted by the apply: done once it is gone. */
  readonly gone: boolean;
};

export type WaitOptions = {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
};

const sleep = (milliseconds: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

function describe(readiness: Readiness | undefined): string {
  if (readiness === undefined) return "still there";
  if (readiness.state === "ready") return "ready";
  return `${readiness.reason}${readiness.message === "" ? "" : `: ${readiness.message}`}`;
}

/**
 * Polls the image list (one request per round) until every target is Ready for its current
 * generation, or gone when it was deleted. Exit code 1 as soon as one is Degraded, or when the
 * timeout passes, naming what it waited for.
 */
export async function waitForImages(
  settings: ClientSettings,
  targets: readonly WaitTarget[],
  options: WaitOptions,
  out: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const done = new Set<number>();
  let last = new Map<number, Readiness | undefined>();
  for (;;) {
    const images = (await callApi<ItemsOf<ImageView>>(settings, "GET", "/api/images")).body.items;
    const byId = new Map(images.map((image) => [image.id, image]));
    last = new Map();
    for (const target of targets) {
      if (done.has(target.imageId)) continue;
      const image = byId.get(target.imageId);
      if (target.gone) {
        if (image === undefined) {
          done.add(target.imageId);
          out(`${target.name} deleted`);
        } else last.set(target.imageId, undefined);
        continue;
      }
      if (image === undefined) {
        throw new CliError(`${target.name} (image ${target.imageId}) is gone`, 1);
      }
      const readiness = readinessOf(image);
      if (readiness.state === "degraded") {
        throw new CliError(`${target.name} is degraded: ${describe(readiness)}`, 1);
      }
      if (readiness.state === "ready") {
        done.add(target.imageId);
        out(`${target.name} ready (${readiness.message})`);
      } else last.set(target.imageId, readiness);
    }
    if (done.size === targets.length) return;
    if (options.signal?.aborted) throw new CliError("interrupted while waiting", 1);
    if (Date.now() >= deadline) {
      const waiting = targets
        .filter((target) => !done.has(target.imageId))
        .map((target) => `${target.name} (${describe(last.get(target.imageId))})`);
      throw new CliError(
        `timed out after ${formatDuration(options.timeoutMs)} waiting for ${waiting.join(", ")}`,
        1,
      );
    }
    await sleep(
      Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now())),
      options.signal,
    );
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
