/**
 * Per-user quotas: how much of the shared engine one user's desired state may ask for. Pure:
 * the write path measures usage and asks `quotaExceeded`; the build queue asks
 * `concurrentBuilds`.
 */

/** The limits of one user (CPU in NanoCpus, memory in bytes, as the image rows hold them). */
export type QuotaLimits = {
  readonly images: number;
  readonly instances: number;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly concurrentBuilds: number;
};

/** What a user's images ask for, summed over the images not being deleted. */
export type QuotaUsage = {
  readonly images: number;
  readonly instances: number;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
};

/** A user's overrides; null (or absent) takes the default. */
export type QuotaOverrides = { readonly [Key in keyof QuotaLimits]?: number | null | undefined };

/** The names a refusal gives, as clients see them (`GET /api/quota`, problem `limit`). */
export const quotaNames = {
  images: "images",
  instances: "instances",
  nanoCpus: "cpu",
  memoryBytes: "memory",
  concurrentBuilds: "concurrent_builds",
} as const satisfies Record<keyof QuotaLimits, string>;

export type QuotaName = (typeof quotaNames)[keyof typeof quotaNames];

export const noUsage: QuotaUsage = { images: 0, instances: 0, nanoCpus: 0, memoryBytes: 0 };

/** What one image row asks for: nothing once it is being deleted. */
export function usageOfImage(
  image:
    | {
        readonly status: string;
        readonly desired_instances: number;
        readonly nano_cpus: number;
        readonly memory_bytes: number;
      }
    | undefined,
): QuotaUsage {
  if (image === undefined || image.status === "deleting") return noUsage;
  return {
    images: 1,
    instances: image.desired_instances,
    nanoCpus: image.desired_instances * image.nano_cpus,
    memoryBytes: image.desired_instances * image.memory_bytes,
  };
}

export function subtractUsage(left: QuotaUsage, right: QuotaUsage): QuotaUsage {
  return {
    images: left.images - right.images,
    instances: left.instances - right.instances,
    nanoCpus: left.nanoCpus - right.nanoCpus,
    memoryBytes: left.memoryBytes - right.memoryBytes,
  };
}

/** Whether a change asks for more of anything (only such changes are checked). */
export function growsUsage(delta: QuotaUsage): boolean {
  return delta.images > 0 || delta.instances > 0 || delta.nanoCpus > 0 || delta.memoryBytes > 0;
}

export function effectiveLimits(defaults: QuotaLimits, overrides: QuotaOverrides): QuotaLimits {
  return {
    images: overrides.images ?? defaults.images,
    instances: overrides.instances ?? defaults.instances,
    nanoCpus: overrides.nanoCpus ?? defaults.nanoCpus,
    memoryBytes: overrides.memoryBytes ?? defaults.memoryBytes,
    concurrentBuilds: overrides.concurrentBuilds ?? defaults.concurrentBuilds,
  };
}

export type QuotaRefusal = {
  readonly limit: QuotaName;
  readonly key: keyof QuotaUsage;
  /** Usage before the change, and what the change would make it. */
  readonly used: number;
  readonly requested: number;
  readonly max: number;
};

/**
 * The first limit a change breaks: one whose usage grows and ends above the limit. A change
 * that does not ask for more of something is never refused for it, so a user over a lowered
 * limit can still scale down and delete. Pure.
 */
export function quotaExceeded(
  after: QuotaUsage,
  delta: QuotaUsage,
  limits: QuotaLimits,
): QuotaRefusal | undefined {
  for (const key of ["images", "instances", "nanoCpus", "memoryBytes"] as const) {
    if (delta[key] > 0 && after[key] > limits[key]) {
      return {
        limit: quotaNames[key],
        key,
        used: after[key] - delta[key],
        requested: after[key],
        max: limits[key],
      };
    }
  }
  return undefined;
}

/**
 * The quota settings of a service: the default limits (QUOTA_*), and the users whose default is
 * no limit at all (the admin user, the operator's own); overrides apply to everyone.
 */
export type QuotaPolicy = {
  readonly defaults: QuotaLimits;
  readonly unlimitedUsers: ReadonlySet<number>;
};

const noLimits: QuotaLimits = {
  images: Number.POSITIVE_INFINITY,
  instances: Number.POSITIVE_INFINITY,
  nanoCpus: Number.POSITIVE_INFINITY,
  memoryBytes: Number.POSITIVE_INFINITY,
  concurrentBuilds: Number.POSITIVE_INFINITY,
};

/** One user's limits under a policy. Pure. */
export function limitsOf(
  policy: QuotaPolicy,
  userId: number,
  overrides: QuotaOverrides,
): QuotaLimits {
  return effectiveLimits(policy.unlimitedUsers.has(userId) ? noLimits : policy.defaults, overrides);
}
