import { type Dependency, withOptionDefaults } from "../domain/container-options.ts";
import {
  type DependencyIssue,
  type DependencyNode,
  dependencyIssues,
  dependentsOf,
} from "../domain/dependencies.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import { DesiredStateError } from "./errors.ts";

/** An image row as a node of its tenant's dependency graph. */
export function dependencyNodeOf(image: ImageRecord): DependencyNode {
  return { name: image.name, depends_on: withOptionDefaults(image.container_options).depends_on };
}

/** The tenant's images that stay (not being deleted), as graph nodes. */
export function liveNodes(images: readonly ImageRecord[]): DependencyNode[] {
  return images.filter((image) => image.status !== "deleting").map(dependencyNodeOf);
}

/** 422 naming every refused declaration: `depends_on: a → b → a is a cycle`. */
export function refuseDependencyIssues(
  issues: readonly DependencyIssue[],
  pathOf: (issue: DependencyIssue) => string,
): void {
  if (issues.length === 0) return;
  throw new DesiredStateError(
    "validation_failed",
    issues.map((issue) => `depends_on: ${issue.message}`).join("; "),
    { errors: issues.map((issue) => ({ path: pathOf(issue), message: issue.message })) },
  );
}

/**
 * An image may depend only on images of its own tenant that exist (and are not being deleted),
 * and never close a cycle. Checked against the stored images in the write's transaction, under
 * the tenant's graph lock.
 */
export async function refuseBadDependencies(
  tx: Pick<Repositories, "images">,
  userId: number,
  image: { readonly name: string; readonly depends_on: readonly Dependency[] },
): Promise<void> {
  await tx.images.lockDependencyGraph(userId);
  const others = liveNodes(await tx.images.list(userId)).filter((node) => node.name !== image.name);
  const issues = dependencyIssues([...others, image], [image.name]);
  refuseDependencyIssues(issues, (issue) => `depends_on[${issue.index}]`);
}

/**
 * An image that others still depend on is not deleted alone (409): its dependents go first, or
 * drop it from their depends_on. Dependents being deleted do not count: the controller removes
 * them before it (reconcilers/image/dependency-view.ts).
 */
export async function refuseDeletingDependency(
  tx: Pick<Repositories, "images">,
  image: ImageRecord,
): Promise<void> {
  await tx.images.lockDependencyGraph(image.user_id);
  const dependents = dependentsOf(image.name, liveNodes(await tx.images.list(image.user_id)));
  if (dependents.length === 0) return;
  throw new DesiredStateError(
    "conflict",
    `${image.name} is a dependency of ${dependents.join(", ")}: delete ${dependents.length === 1 ? "it" : "them"} first, or take ${image.name} out of depends_on`,
    { extensions: { dependents } },
  );
}

/**
 * The dependencies of a whole set (an apply), checked together before anything is written:
 * every document may name the set's images and the tenant's others, no cycle may form, and no
 * image left outside the set may depend on one the set prunes. Read again under the graph lock,
 * so that no write committed meanwhile is missed.
 */
export async function refuseBadSetDependencies(
  tx: Pick<Repositories, "images">,
  userId: number,
  documents: readonly DependencyNode[],
  pruned: readonly string[],
): Promise<void> {
  await tx.images.lockDependencyGraph(userId);
  const inSet = new Set(documents.map((document) => document.name));
  const outside = liveNodes(await tx.images.list(userId)).filter(
    (node) => !inSet.has(node.name) && !pruned.includes(node.name),
  );
  const issues = dependencyIssues(
    [...outside, ...documents],
    documents.map((document) => document.name),
  );
  const indexOf = new Map(documents.map((document, index) => [document.name, index]));
  refuseDependencyIssues(
    issues,
    (issue) => `documents[${indexOf.get(issue.image)}].depends_on[${issue.index}]`,
  );
  for (const node of outside) {
    const lost = node.depends_on.find((dependency) => pruned.includes(dependency.name));
    if (lost === undefined) continue;
    throw new DesiredStateError(
      "conflict",
      `${node.name} (not in this set) depends on ${lost.name}, which this apply would delete: take it out of depends_on first`,
      { extensions: { dependents: [node.name] } },
    );
  }
}
