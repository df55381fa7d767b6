import { formatCpu, formatMemory } from "../domain/quantity.ts";
import {
  limitsOf,
  type QuotaLimits,
  type QuotaOverrides,
  type QuotaPolicy,
  type QuotaUsage,
} from "../domain/quota.ts";
import type { Store } from "../store/database.ts";
import { overridesOf, UserNameTakenError, type UserRecord } from "../store/users-repository.ts";
import { AccountError } from "./account-error.ts";
import type { Caller } from "./caller.ts";

/** A user's quota as `GET /api/quota` shows it: limits (null: none), overrides and usage. */
export type QuotaView = {
  readonly user: UserRecord;
  readonly limits: QuotaLimits;
  readonly overrides: QuotaOverrides;
  readonly usage: QuotaUsage & { readonly concurrentBuilds: number };
};

/** Quota amounts as clients read and write them: counts, cores ("0.5"), sizes ("64g"). */
export function presentQuota(values: QuotaOverrides) {
  const shown = (value: number | null | undefined, format: (amount: number) => string | number) =>
    value === null || value === undefined || !Number.isFinite(value) ? null : format(value);
  return {
    images: shown(values.images, Number),
    instances: shown(values.instances, Number),
    cpu: shown(values.nanoCpus, (nano) => (nano === 0 ? "0" : formatCpu(Math.round(nano)))),
    memory: shown(values.memoryBytes, (bytes) => (bytes === 0 ? "0" : formatMemory(bytes))),
    concurrent_builds: shown(values.concurrentBuilds, Number),
  };
}

/**
 * Users, created explicitly by the admin (a token is never issued to a user that does not
 * exist), and their quotas: the defaults, the admin's overrides, and what each uses now.
 */
export function createUsersService(store: Store, policy: QuotaPolicy) {
  async function findUser(name: string): Promise<UserRecord> {
    const user = await store.users.findByName(name);
    if (user === undefined) throw new AccountError("not_found", `user ${name} not found`);
    return user;
  }

  function requireAdmin(caller: Caller): void {
    if (!caller.isAdmin) throw new AccountError("forbidden", "this needs the admin token");
  }

  /** The caller's quota; the admin may read anyone's. */
  async function quota(caller: Caller, userName?: string): Promise<QuotaView> {
    if (userName !== undefined && userName !== caller.userName) requireAdmin(caller);
    const user = await findUser(userName ?? caller.userName);
    const [usage, building] = await Promise.all([
      store.images.usageOf(user.id),
      store.images.countBuilding(user.id),
    ]);
    const overrides = overridesOf(user);
    return {
      user,
      limits: limitsOf(policy, user.id, overrides),
      overrides,
      usage: { ...usage, concurrentBuilds: building },
    };
  }

  return {
    async create(caller: Caller, name: string): Promise<UserRecord> {
      requireAdmin(caller);
      try {
        return await store.transaction(async (tx) => {
          const user = await tx.users.create(name);
          await tx.audit.append(caller.actor, [
            {
              action: "user.create",
              userId: user.id,
              imageId: null,
              target: `users/${user.name}`,
              old: null,
              new: { name: user.name },
            },
          ]);
          return user;
        });
      } catch (error) {
        if (error instanceof UserNameTakenError) {
          throw new AccountError("name_taken", `a user named ${name} already exists`);
        }
        throw error;
      }
    },

    list(caller: Caller): Promise<UserRecord[]> {
      requireAdmin(caller);
      return store.users.list();
    },

    findUser,

    quota,

    /** Sets a user's overrides (null: back to the default); admin only; audited. */
    async setQuota(
      caller: Caller,
      userName: string,
      overrides: QuotaOverrides,
    ): Promise<QuotaView> {
      requireAdmin(caller);
      await store.transaction(async (tx) => {
        const user = await tx.users.findByName(userName);
        if (user === undefined) throw new AccountError("not_found", `user ${userName} not found`);
        const updated = await tx.users.setQuota(user.id, overrides);
        await tx.audit.append(caller.actor, [
          {
            action: "quota.update",
            userId: user.id,
            imageId: null,
            target: `users/${user.name}/quota`,
            old: presentQuota(overridesOf(user)),
            new: presentQuota(overridesOf(updated)),
          },
        ]);
      });
      return quota(caller, userName);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
