import type { Image, Instance } from "../client/index.ts";
import { formatDuration } from "../domain/duration.ts";
import { type Readiness, readinessOf } from "./readiness.ts";
import { formatTable } from "./table.ts";
import { paint, type Terminal } from "./terminal.ts";

/** What `apply --wait` waits for: an applied image, or one the apply deleted. */
export type WaitTarget = {
  readonly name: string;
  readonly imageId: number;
  /** Deleted by the apply: done once it is gone. */
  readonly gone: boolean;
};

/** Where one image stands while waiting. */
export type ImageProgress = {
  readonly target: WaitTarget;
  /** undefined: the image is gone. */
  readonly readiness: Readiness | undefined;
  readonly status: Image["status"] | "gone";
  readonly readyInstances: number;
  readonly desiredInstances: number;
  /** The build step running now (`step 2/5 : RUN make`), while building. */
  readonly step: string | undefined;
};

/** Ready or done: nothing more to wait for. */
export function isDone(progress: ImageProgress): boolean {
  return progress.target.gone ? progress.status === "gone" : progress.readiness?.state === "ready";
}

/** An instance counts as ready when it runs and its health check (if any) does not fail. */
const instanceReady = (instance: Instance) =>
  instance.observed_state === "running" && instance.health !== "unhealthy";

/** Where an image stands, from what the API says about it now. Pure. */
export function progressOf(
  target: WaitTarget,
  image: Image | undefined,
  instances: readonly Instance[],
  step: string | undefined,
): ImageProgress {
  return {
    target,
    readiness: image === undefined ? undefined : readinessOf(image),
    status: image?.status ?? "gone",
    readyInstances: instances.filter(instanceReady).length,
    desiredInstances: image?.desired_instances ?? 0,
    step: image?.status === "building" ? step : undefined,
  };
}

/**
 * The build step a build log line starts, as "step n/m : INSTRUCTION": the classic builder's
 * `Step 2/5 : RUN make`, BuildKit's `#7 [2/5] RUN make` (or `#7 [stage 2/5] …`). Pure.
 */
export function buildStepOf(line: string): string | undefined {
  const classic = /^Step (\d+)\/(\d+) : (.*)$/.exec(line.trim());
  if (classic !== null) return `step ${classic[1]}/${classic[2]} : ${classic[3]}`;
  const buildKit = /^#\d+ \[(?:[^\]\s]+ )?(\d+)\/(\d+)\] (.*)$/.exec(line.trim());
  if (buildKit !== null) return `step ${buildKit[1]}/${buildKit[2]} : ${buildKit[3]}`;
  return undefined;
}

/** The state part of a progress line, e.g. `1/3 ready · building step 2/5 : RUN make`. Pure. */
export function progressText(progress: ImageProgress): string {
  if (progress.target.gone) return progress.status === "gone" ? "deleted" : "deleting";
  const instances = `${progress.readyInstances}/${progress.desiredInstances} ready`;
  const readiness = progress.readiness;
  if (readiness === undefined) return "gone";
  if (readiness.state === "ready") return `${instances} · Ready`;
  if (progress.status === "building") {
    return `${instances} · building${progress.step === undefined ? "" : ` ${progress.step}`}`;
  }
  const detail =
    readiness.message === "" ? readiness.reason : `${readiness.reason}: ${readiness.message}`;
  return `${instances} · ${detail}`;
}

/** One image's progress line, the state coloured on a terminal. Pure. */
export function progressLine(terminal: Terminal, progress: ImageProgress, width = 0): string {
  const style = isDone(progress)
    ? "green"
    : progress.readiness?.state === "degraded"
      ? "red"
      : "yellow";
  const marker = isDone(progress) ? "✓" : progress.readiness?.state === "degraded" ? "✗" : "…";
  return `${paint(terminal, style, marker)} ${progress.target.name.padEnd(width)}  ${progressText(progress)}`;
}

/** The closing table of `apply --wait`: each image and where it ended, then the total. Pure. */
export function summaryLines(progress: readonly ImageProgress[], elapsedMs: number): string[] {
  const applied = progress.filter((entry) => !entry.target.gone);
  const deleted = progress.length - applied.length;
  const rounded = Math.max(1000, Math.round(elapsedMs / 1000) * 1000);
  return [
    ...formatTable(
      ["IMAGE", "READY", "STATUS"],
      progress.map((entry) => [
        entry.target.name,
        entry.target.gone ? "-" : `${entry.readyInstances}/${entry.desiredInstances}`,
        entry.target.gone ? "deleted" : entry.status,
      ]),
    ),
    `(${applied.length} applied, ${deleted} deleted in ${formatDuration(rounded)})`,
  ];
}
