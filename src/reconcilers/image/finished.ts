import type { RestartPolicy } from "../../domain/container-options.ts";
import type { InstanceRecord } from "./model.ts";

/**
 * Whether an instance's container has ended for good under its restart policy: on-failure
 * after exit 0 or out of retries, never after any exit. Observe records such an exit with no
 * next restart; the plan then leaves it alone. Pure.
 */
export function hasFinished(record: InstanceRecord, policy: RestartPolicy): boolean {
  return (
    policy.name !== "always" &&
    record.observed_state === "exited" &&
    record.next_restart_at === null
  );
}

/** Finished with exit 0: done, as a job is, and it counts as ready. */
export function hasCompleted(record: InstanceRecord, policy: RestartPolicy): boolean {
  return hasFinished(record, policy) && record.last_exit_code === 0 && !record.oom_killed;
}
