import type { RolloutBounds } from "../../domain/rollout.ts";

/** What the next rollout step reads of one live instance that should run. */
export type RolloutMember = {
  readonly id: string;
  /** Its container runs an earlier spec (spec hash differs from the desired one). */
  readonly outdated: boolean;
  /** Serving: up, past min_ready, and healthy when the image has a health check. */
  readonly ready: boolean;
};

export type RolloutStepInput = {
  /** Desired instances. */
  readonly target: number;
  /** Live instances, counting those that should not run and claimed ones. */
  readonly total: number;
  /** Live, unclaimed instances that should run. */
  readonly members: readonly RolloutMember[];
  readonly bounds: RolloutBounds;
};

export type RolloutStep = {
  /** Outdated instances replaced in place (same instance, new container): in-place mode. */
  readonly replace: readonly string[];
  /** New instances started above the desired count (start-first). */
  readonly add: number;
  /** Outdated instances removed, their place taken by new ready ones (start-first). */
  readonly retire: readonly string[];
};

export const noStep: RolloutStep = { replace: [], add: 0, retire: [] };

/**
 * One step of a rolling update. Pure. The number of ready (serving) instances never drops below
 * `target - maxUnavailable` because of a step: an outdated instance that serves goes only while
 * more than that serve; one that does not serve (crashed, starting, unhealthy) is replaced at once.
 *
 * - In place (maxUnavailable ≥ 1; Swarm's stop-first): up to the unavailability budget,
 *   outdated instances get a new container; instance ids stay.
 * - Start-first (maxUnavailable 0): up to `maxSurge` new instances start above the desired
 *   count; an outdated instance is retired as each new one becomes ready (one that serves
 *   nobody at once).
 */
export function planRolloutStep(input: RolloutStepInput): RolloutStep {
  const { target, total, members, bounds } = input;
  const outdated = members.filter((member) => member.outdated);
  if (outdated.length === 0) return noStep;
  const serving = members.filter((member) => member.ready).length;
  // Instances told to stop, and claimed ones, serve nobody the rollout answers for.
  const shouldServe = Math.max(0, target - (total - members.length));
  const minServing = Math.max(0, shouldServe - bounds.maxUnavailable);
  // Outdated instances that serve nobody cost nothing to replace.
  const broken = outdated.filter((member) => !member.ready).map((member) => member.id);
  const servingOutdated = outdated.filter((member) => member.ready).map((member) => member.id);
  const budget = Math.max(0, serving - minServing);

  if (!bounds.startFirst) {
    return { replace: [...broken, ...servingOutdated.slice(0, budget)], add: 0, retire: [] };
  }
  // Start-first retires (marks, drains, removes) rather than replaces: even an outdated
  // instance that serves nobody goes the way clients can see coming.
  const current = members.length - outdated.length;
  const room = target + bounds.maxSurge - total;
  const add = Math.max(0, Math.min(target - current, room));
  const surplus = Math.max(0, total - broken.length - target);
  const retire = [...broken, ...servingOutdated.slice(0, Math.min(budget, surplus))];
  return { replace: [], add, retire };
}
