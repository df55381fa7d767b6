import { type Selectable, sql } from "kysely";
import type { QuotaOverrides } from "../domain/quota.ts";
import type { Executor } from "./executor.ts";
import type { UsersTable } from "./schema.ts";
import { isUniqueViolation } from "./unique-violation.ts";

export type UserRecord = Selectable<UsersTable>;

/** Two creates of one user name raced, or the name exists: the unique constraint refused it. */
export class UserNameTakenError extends Error {
  override name = "UserNameTakenError";
}

/** First key of the per-user quota lock (any constant; the second key is the user id). */
const quotaLockNamespace = 724_603;

const overrideColumns = {
  images: "quota_images",
  instances: "quota_instances",
  nanoCpus: "quota_nano_cpus",
  memoryBytes: "quota_memory_bytes",
  concurrentBuilds: "quota_concurrent_builds",
} as const;

/** A user's quota overrides as the domain names them. */
/** Takes the user's quota lock (see lockQuota) and reads the user's row, in one statement. */
export function lockQuotaQuery(db: Executor, id: number) {
  return db
    .selectFrom(
      sql`(select pg_advisory_xact_lock(${quotaLockNamespace}, ${id % 2_147_483_647}::int))`.as(
        "locked",
      ),
    )
    .leftJoin("users", (join) => join.on("users.id", "=", id))
    .selectAll("users");
}

/**
 * Takes the quota lock (see lockQuota) of the user of each row, from its `user_id` column, if
 * nobody else holds it now: true when taken, or held by this transaction already (never waits).
 */
export const tryLockRowUsersQuota = sql<boolean>`pg_try_advisory_xact_lock(${quotaLockNamespace}, (user_id % 2147483647)::int)`;

/** The user row lockQuotaQuery read; undefined when there is no such user. */
export function lockedUser(row: Record<string, unknown>): UserRecord | undefined {
  return row.id === null || row.id === undefined ? undefined : (row as UserRecord);
}

export function overridesOf(user: UserRecord): QuotaOverrides {
  return {
    images: user.quota_images,
    instances: user.quota_instances,
    nanoCpus: user.quota_nano_cpus,
    memoryBytes: user.quota_memory_bytes,
    concurrentBuilds: user.quota_concurrent_builds,
  };
}

/** Queries on `users`: tenants, created explicitly by the admin, and their quota overrides. */
export function createUsersRepository(db: Executor) {
  return {
    /** A new user; a name that exists is a UserNameTakenError. */
    async create(name: string): Promise<UserRecord> {
      try {
        return await db
          .insertInto("users")
          .values({ name })
          .returningAll()
          .executeTakeFirstOrThrow();
      } catch (error) {
        if (isUniqueViolation(error, "users_name_key")) {
          throw new UserNameTakenError(`a user named ${name} already exists`, { cause: error });
        }
        throw error;
      }
    },

    async list(): Promise<UserRecord[]> {
      return db.selectFrom("users").selectAll().orderBy("id").execute();
    },

    async find(id: number): Promise<UserRecord | undefined> {
      return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    },

    async findByName(name: string): Promise<UserRecord | undefined> {
      return db.selectFrom("users").selectAll().where("name", "=", name).executeTakeFirst();
    },

    /** Sets the given overrides (null: back to the default), leaving the others. */
    async setQuota(id: number, overrides: QuotaOverrides): Promise<UserRecord> {
      const values = Object.fromEntries(
        Object.entries(overrides)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => [overrideColumns[key as keyof typeof overrideColumns], value]),
      );
      if (Object.keys(values).length === 0) {
        return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      }
      return db
        .updateTable("users")
        .set(values)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    /**
     * Serialises the quota-checked writes of one user until the transaction ends: the usage a
     * writer measures after taking it (in a later statement) includes every write that took it
     * before. Returns the user's row (its overrides) from the same round trip.
     */
    async lockQuota(id: number): Promise<UserRecord | undefined> {
      return lockedUser(await lockQuotaQuery(db, id).executeTakeFirstOrThrow());
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
