import { z } from "zod";
import { parseDuration } from "./duration.ts";
import { durationSchema } from "./duration-schema.ts";

/**
 * A warm pool: instances kept running and unclaimed, handed to one key (a project) at a time.
 * `min_idle` ready unclaimed instances are kept, never more than `max` instances in all; a claim
 * lives `claim_ttl` unless renewed; a released instance is `recycle`d before it is handed out
 * again (`restart`: a fresh container for the same instance; `replace`: a new instance).
 */
export const recycleModes = ["restart", "replace"] as const;
export type RecycleMode = (typeof recycleModes)[number];

const claimTtlBounds = { minMs: 1_000, maxMs: 30 * 24 * 3_600_000 };

const countRule = (min: number) => ({ message: `must be a whole number between ${min} and 10000` });
const poolCount = (min: number) =>
  z.number(countRule(min)).int(countRule(min)).min(min, countRule(min)).max(10_000, countRule(min));

export const poolSchema = z
  .strictObject(
    {
      min_idle: poolCount(0).default(2),
      max: poolCount(1).default(10),
      claim_ttl: durationSchema(claimTtlBounds).default("1h"),
      recycle: z
        .enum(recycleModes, { message: 'must be "restart" or "replace"' })
        .default("restart"),
    },
    { error: "must be {min_idle, max, claim_ttl, recycle}" },
  )
  .refine((pool) => pool.min_idle <= pool.max, {
    message: "must be ≤ max",
    path: ["min_idle"],
  });

export type Pool = z.output<typeof poolSchema>;

/** The claim TTL in milliseconds (the stored form is canonical, so it always parses). */
export function claimTtlMs(pool: Pool): number {
  const parsed = parseDuration(pool.claim_ttl, claimTtlBounds);
  return parsed.ok ? parsed.value : 3_600_000;
}

/** What the pool decisions read of an instance row. */
export type PoolMember = {
  readonly claim_key: string | null;
  readonly deletion_requested_at: Date | null;
  readonly recycle_requested_at: Date | null;
  readonly desired_state: string;
  readonly observed_state: string;
  readonly health: string;
};

export function isClaimed(member: PoolMember): boolean {
  return member.claim_key !== null;
}

/**
 * Ready to be handed out: running, not claimed, not being recycled or removed, and healthy when
 * the image has a health check (the same rule as the claim query in the store).
 */
export function isIdle(member: PoolMember, hasHealthCheck: boolean): boolean {
  return (
    member.claim_key === null &&
    member.deletion_requested_at === null &&
    member.recycle_requested_at === null &&
    member.desired_state === "running" &&
    member.observed_state === "running" &&
    (!hasHealthCheck || member.health === "healthy")
  );
}

/**
 * What a claim can be answered with: the instance runs with its port published (and is healthy
 * when the image has a health check).
 */
export function isServing(
  member: Pick<PoolMember, "observed_state" | "health"> & {
    readonly container_id: string | null;
    readonly host_port: number | null;
  },
  hasHealthCheck: boolean,
): boolean {
  return (
    member.observed_state === "running" &&
    member.container_id !== null &&
    member.host_port !== null &&
    (!hasHealthCheck || member.health === "healthy")
  );
}

/**
 * How many instances a pooled image should have: one per live claim plus `min_idle` spare,
 * never more than `max` (claims never exceed `max`: a claim only takes or adds within it).
 */
export function poolTarget(pool: Pool, claimed: number): number {
  return Math.min(pool.max, claimed + pool.min_idle);
}

/** A claim key: what callers name a project by (printable, no spaces, up to 200 characters). */
export const claimKeyPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/;
export const claimKeyRule =
  "must be 1-200 letters, digits or . _ : @ / - (starting with a letter or digit)";
