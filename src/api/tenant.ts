import type { Context } from "hono";
import { z } from "zod";
import type { Scope } from "../desired/image-writes.ts";
import type { UsersRepository } from "../store/users-repository.ts";
import type { AppEnv, Principal } from "./app-env.ts";
import { ProblemError } from "./problem.ts";
import { queryParams } from "./validation.ts";

/** `?user=NAME`: the admin acting for a user. */
export const userQuery = z.strictObject({ user: z.string().optional() });

/** Finds users by name: what acting for a user needs. */
export type UserLookup = Pick<UsersRepository, "findByName">;

/**
 * What a caller may see and change (their own resources, or everyone's for the admin), and who
 * they are, for the audit log.
 */
export function scopeOf(principal: Principal): Scope {
  return { userId: principal.isAdmin ? undefined : principal.userId, actor: principal.actor };
}

/**
 * The user a new resource belongs to: the caller, or for the admin the user named by
 * `?user=NAME` (the admin acts for anyone).
 */
export async function actingUserId(
  principal: Principal,
  requestedUser: string | undefined,
  users: UserLookup,
): Promise<number> {
  if (requestedUser === undefined || requestedUser === principal.userName) return principal.userId;
  if (!principal.isAdmin)
    throw new ProblemError("forbidden", "only the admin token may act for another user");
  const user = await users.findByName(requestedUser);
  if (user === undefined) {
    throw new ProblemError("validation_failed", `user ${requestedUser} does not exist`, {
      errors: [{ path: "user", message: "no such user" }],
    });
  }
  return user.id;
}

/** The user named by `?user=` (admin), or the caller. */
export function actingUserOf(c: Context<AppEnv>, users: UserLookup): Promise<number> {
  return actingUserId(c.get("principal"), queryParams(c, userQuery).user, users);
}

/**
 * Whose resources a list shows: the admin sees everyone's (undefined), or one user's with
 * `?user=NAME`; a user only their own.
 */
export async function listedOwnerOf(
  c: Context<AppEnv>,
  users: UserLookup,
): Promise<number | undefined> {
  const query = queryParams(c, userQuery);
  const principal = c.get("principal");
  if (query.user === undefined) return scopeOf(principal).userId;
  return actingUserId(principal, query.user, users);
}
