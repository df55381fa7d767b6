import type { Principal } from "./env.ts";
import { notFound } from "./problem.ts";

/** The owner a listing is limited to: the caller's own id, or undefined (everyone) for the admin. */
export function visibleOwner(principal: Principal): number | undefined {
  return principal.isAdmin ? undefined : principal.userId;
}

/** Whether the caller may see a resource owned by `ownerId`. */
export function canSee(principal: Principal, ownerId: number): boolean {
  return principal.isAdmin || principal.userId === ownerId;
}

/**
 * Returns the resource when the caller may see it; otherwise 404, the same answer as for an
 * id that does not exist, so another tenant's ids are never revealed.
 */
export function ownedOrNotFound<Resource extends { readonly user_id: number }>(
  principal: Principal,
  resource: Resource | undefined,
  what: string,
): Resource {
  if (resource === undefined || !canSee(principal, resource.user_id)) throw notFound(what);
  return resource;
}
