import type { ImageView } from "./api-types.ts";

export type Readiness =
  | { readonly state: "ready"; readonly message: string }
  | { readonly state: "degraded"; readonly reason: string; readonly message: string }
  | { readonly state: "progressing"; readonly reason: string; readonly message: string };

type ReadinessInput = Pick<
  ImageView,
  "status" | "generation" | "observed_generation" | "conditions"
>;

/**
 * Where an image stands for `--wait`. Ready: `Ready=True` for the current generation. Degraded:
 * its build failed, `Degraded=True` for the current generation (its reason names the cause), or
 * its rollout failed or was rolled back (Progressing RolloutFailed/RolledBack); an older
 * generation's conditions say nothing about the spec just applied. Otherwise progressing. Pure.
 */
export function readinessOf(image: ReadinessInput): Readiness {
  const condition = (type: string) => image.conditions.find((entry) => entry.type === type);
  const current = image.observed_generation === image.generation;
  const ready = condition("Ready");
  const degraded = condition("Degraded");
  if (image.status === "build_failed") {
    return {
      state: "degraded",
      reason: degraded?.status === "True" ? degraded.reason : "BuildFailed",
      message: degraded?.status === "True" ? degraded.message : "the build failed",
    };
  }
  // Degraded names the cause itself (CrashLoopBackOff, Unhealthy, …): it comes first.
  if (current && degraded?.status === "True") {
    return { state: "degraded", reason: degraded.reason, message: degraded.message };
  }
  // The controller failed the rollout or rolled it back (issue 18): the spec asked for is not
  // what runs, even once the instances of the revision returned to are ready.
  const progressing = condition("Progressing");
  if (
    current &&
    (progressing?.reason === "RolloutFailed" || progressing?.reason === "RolledBack")
  ) {
    return { state: "degraded", reason: progressing.reason, message: progressing.message };
  }
  if (current && ready?.status === "True" && image.status !== "deleting") {
    return { state: "ready", message: ready.message };
  }
  if (!current) {
    return {
      state: "progressing",
      reason: "NotObserved",
      message: `generation ${image.generation} not observed yet (at ${image.observed_generation})`,
    };
  }
  return {
    state: "progressing",
    reason: ready?.reason ?? image.status,
    message: ready?.message ?? `status ${image.status}`,
  };
}
