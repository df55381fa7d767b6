import type { ImageView } from "./api-types.ts";
import { readinessOf } from "./readiness.ts";

/**
 * The events that end a rollout in failure (the contract's names, DESIGN.md; the controller
 * writes them with `data.from_revision` and `data.to_revision`): the new revision failed, or the
 * image was rolled back from it.
 */
export const rolloutFailureTypes: readonly string[] = ["image.rollout_failed", "image.rolled_back"];

/** The Progressing reasons that say the same on the image (its conditions). */
const failedReasons: readonly string[] = ["RolloutFailed", "RolledBack"];

/** What the decision needs of an event. */
export type RolloutEvent = {
  readonly type: string;
  readonly image_id: number;
  readonly data: unknown;
};

/** What the decision needs of the image, as `GET /api/images/{id}` answers it. */
export type RolloutImage = Pick<
  ImageView,
  "status" | "generation" | "observed_generation" | "conditions"
> & { readonly rollout_paused?: boolean };

export type RolloutVerdict =
  | { readonly state: "progressing"; readonly message: string }
  | { readonly state: "complete"; readonly message: string }
  | { readonly state: "failed"; readonly message: string };

export type RolloutObservation =
  | { readonly kind: "event"; readonly event: RolloutEvent }
  /** The image as read now; undefined: it is gone. */
  | { readonly kind: "image"; readonly image: RolloutImage | undefined };

const revisionOf = (data: Record<string, unknown>, key: string) =>
  typeof data[key] === "number" ? `revision ${data[key]}` : "?";

/**
 * The failure an event says for one image ("rolled back from revision 5 to revision 4: …"), or
 * undefined when it says none. Pure.
 */
export function rolloutFailureOf(event: RolloutEvent, imageId: number): string | undefined {
  if (event.image_id !== imageId || !rolloutFailureTypes.includes(event.type)) return undefined;
  const data = (typeof event.data === "object" && event.data !== null ? event.data : {}) as Record<
    string,
    unknown
  >;
  const from = revisionOf(data, "from_revision");
  const to = revisionOf(data, "to_revision");
  // The controller's message says why (a failing health check, the deadline); its reason is a
  // code ("failed", "rollout_failed"), said only when there is no message.
  const why = [data.message, data.reason].find(
    (text): text is string => typeof text === "string" && text !== "",
  );
  const what =
    event.type === "image.rolled_back"
      ? `rolled back from ${from} to ${to}`
      : `rollout from ${from} to ${to} failed`;
  return why === undefined ? what : `${what}: ${why}`;
}

/**
 * Where a rollout stands after one more observation, like `kubectl rollout status`: failed once
 * an `image.rollout_failed` or `image.rolled_back` event of the image arrives, or the image says
 * so (Progressing RolloutFailed/RolledBack for its current generation), or its build failed, or
 * it is gone; complete once Ready for the current generation (every instance runs the current
 * revision and is ready); progressing otherwise (a Degraded image may still be rolled back).
 * A failed or complete verdict is final. Pure.
 */
export function observeRollout(
  imageId: number,
  verdict: RolloutVerdict,
  observation: RolloutObservation,
): RolloutVerdict {
  if (verdict.state !== "progressing") return verdict;
  if (observation.kind === "event") {
    const failure = rolloutFailureOf(observation.event, imageId);
    return failure === undefined ? verdict : { state: "failed", message: failure };
  }
  const { image } = observation;
  if (image === undefined) return { state: "failed", message: "the image is gone" };
  if (image.status === "deleting")
    return { state: "failed", message: "the image is being deleted" };
  const progressing = image.conditions.find((condition) => condition.type === "Progressing");
  if (
    image.observed_generation === image.generation &&
    progressing !== undefined &&
    failedReasons.includes(progressing.reason)
  ) {
    return {
      state: "failed",
      message: `${progressing.reason}${progressing.message === "" ? "" : `: ${progressing.message}`}`,
    };
  }
  const readiness = readinessOf(image);
  if (image.status === "build_failed" && readiness.state === "degraded") {
    return { state: "failed", message: `the build failed: ${readiness.message}` };
  }
  if (readiness.state === "ready") return { state: "complete", message: readiness.message };
  const paused = image.rollout_paused === true ? " (rollout paused: rollout resume IMAGE)" : "";
  return {
    state: "progressing",
    message: `${readiness.reason}${readiness.message === "" ? "" : `: ${readiness.message}`}${paused}`,
  };
}

/** The verdict after a sequence of observations, from "progressing". Pure. */
export function rolloutVerdictOf(
  imageId: number,
  observations: readonly RolloutObservation[],
): RolloutVerdict {
  return observations.reduce<RolloutVerdict>(
    (verdict, observation) => observeRollout(imageId, verdict, observation),
    { state: "progressing", message: "waiting for the image" },
  );
}
