import type { Dependency } from "./container-options.ts";

/**
 * `depends_on` between the images of one tenant, decided without I/O: which declarations are
 * refused (an unknown name, a cycle), whether an image's dependencies let it create instances,
 * in which order a set is removed, and whose status matters to whom.
 */

/** An image as the dependency graph sees it: its name and what it waits for. */
export type DependencyNode = {
  readonly name: string;
  readonly depends_on: readonly Dependency[];
};

/** A refused declaration: `depends_on[index]` of `image`. */
export type DependencyIssue = {
  readonly image: string;
  readonly index: number;
  readonly message: string;
  /** For a cycle: its names, first and last the same (`a → b → a`). */
  readonly cycle?: readonly string[];
};

/** `a → b → a`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(" → ");
}

/** The shortest path of dependencies from `from` to `to` (both included), if there is one. */
function shortestPath(
  edges: ReadonlyMap<string, readonly string[]>,
  from: string,
  to: string,
): string[] | undefined {
  const previous = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head] as string;
    if (current === to) {
      const path: string[] = [];
      for (let step: string | undefined = to; step !== undefined; step = previous.get(step)) {
        path.unshift(step);
      }
      return path;
    }
    for (const next of edges.get(current) ?? []) {
      if (previous.has(next)) continue;
      previous.set(next, current);
      queue.push(next);
    }
  }
  return undefined;
}

/** A cycle's names as a set, whatever image it is read from (to report each cycle once). */
function cycleKey(cycle: readonly string[]): string {
  return [...new Set(cycle)].sort().join(",");
}

/**
 * What is wrong with the dependencies of the `checked` images, given every image the tenant
 * will have (`nodes`, the checked ones included): a name that is not among them (unless
 * `unknownAllowed`, when the rest of the tenant's images are not known here), and each cycle,
 * once, on the first checked image in it, at the dependency that starts it.
 */
export function dependencyIssues(
  nodes: readonly DependencyNode[],
  checked: readonly string[],
  options: { readonly unknownAllowed?: boolean } = {},
): DependencyIssue[] {
  const edges = new Map(
    nodes.map((node) => [node.name, node.depends_on.map((dependency) => dependency.name)]),
  );
  const issues: DependencyIssue[] = [];
  const reported = new Set<string>();
  for (const image of checked) {
    for (const [index, target] of (edges.get(image) ?? []).entries()) {
      if (!edges.has(target)) {
        if (options.unknownAllowed !== true) {
          issues.push({ image, index, message: `${target}: no image of yours has this name` });
        }
        continue;
      }
      const back = shortestPath(edges, target, image);
      if (back === undefined) continue;
      const cycle = [image, ...back];
      const key = cycleKey(cycle);
      if (reported.has(key)) continue;
      reported.add(key);
      issues.push({ image, index, message: `${formatCycle(cycle)} is a cycle`, cycle });
    }
  }
  return issues;
}

/** What a dependent needs to know of one of its dependencies. */
export type DependencyState = {
  readonly deleting: boolean;
  /** Its Ready condition is True. */
  readonly ready: boolean;
  /** At least one of its instances runs. */
  readonly started: boolean;
  /** Its Degraded condition, when True. */
  readonly degraded: { readonly reason: string; readonly message: string } | undefined;
};

/** Whether an image's dependencies let it create instances, and what its status says of them. */
export type DependencyCheck = {
  /** Every dependency meets its condition: instances may be created. */
  readonly met: boolean;
  /** The dependencies not (yet) meeting their condition: `db (healthy)`. */
  readonly waitingFor: readonly string[];
  /** Dependencies that are gone or Degraded, said as `db is Degraded (CrashLoopBackOff: …)`. */
  readonly failed: readonly string[];
};

export const noDependencies: DependencyCheck = { met: true, waitingFor: [], failed: [] };

/**
 * `started`: at least one instance of the dependency runs; `healthy`: the dependency is Ready
 * (every instance runs the current spec and passes its health check). A dependency that is
 * missing, being deleted or Degraded has failed; the dependent waits for it all the same.
 */
export function checkDependencies(
  dependsOn: readonly Dependency[],
  states: ReadonlyMap<string, DependencyState>,
): DependencyCheck {
  const waitingFor: string[] = [];
  const failed: string[] = [];
  for (const dependency of dependsOn) {
    const state = states.get(dependency.name);
    const met =
      state !== undefined &&
      !state.deleting &&
      (dependency.condition === "started" ? state.started : state.ready);
    if (!met) waitingFor.push(`${dependency.name} (${dependency.condition})`);
    if (state === undefined) failed.push(`${dependency.name} does not exist`);
    else if (state.deleting) failed.push(`${dependency.name} is being deleted`);
    else if (state.degraded !== undefined) {
      failed.push(
        `${dependency.name} is Degraded (${state.degraded.reason}: ${state.degraded.message})`,
      );
    }
  }
  return { met: waitingFor.length === 0, waitingFor, failed };
}

/** What dependents of an image look at: a change of any of these may let them move on. */
export function dependencyFacingState(state: Omit<DependencyState, "deleting">): string {
  return `${state.ready}/${state.started}/${state.degraded?.reason ?? ""}`;
}

/** The names of the images that depend on `name`. */
export function dependentsOf(name: string, nodes: readonly DependencyNode[]): string[] {
  return nodes
    .filter((node) => node.depends_on.some((dependency) => dependency.name === name))
    .map((node) => node.name);
}

/**
 * The images whose pass may decide differently once `image` changed: those waiting for it (its
 * dependents) and those it waits for (a dependency being deleted waits for its dependents to go).
 */
export function relatedImages<Node extends DependencyNode>(
  image: DependencyNode,
  nodes: readonly Node[],
): Node[] {
  const dependencies = new Set(image.depends_on.map((dependency) => dependency.name));
  const dependents = new Set(dependentsOf(image.name, nodes));
  return nodes.filter(
    (node) =>
      node.name !== image.name && (dependencies.has(node.name) || dependents.has(node.name)),
  );
}

/**
 * The order to remove a set of images in: every image before those it depends on (dependents
 * first), otherwise in the order given. Dependencies on images outside the set do not matter;
 * a cycle (refused when written, so only in old data) is broken at its first image.
 */
export function removalOrder<Node extends DependencyNode>(nodes: readonly Node[]): Node[] {
  const inSet = new Map(nodes.map((node) => [node.name, node]));
  const order: Node[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  // An image goes after all of its dependents in the set.
  const visit = (node: Node) => {
    if (placed.has(node.name) || visiting.has(node.name)) return;
    visiting.add(node.name);
    for (const dependent of dependentsOf(node.name, nodes)) {
      const other = inSet.get(dependent);
      if (other !== undefined) visit(other);
    }
    visiting.delete(node.name);
    placed.add(node.name);
    order.push(node);
  };
  for (const node of nodes) visit(node);
  return order;
}
