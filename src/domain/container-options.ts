import { z } from "zod";
import { autoscaleSchema } from "./autoscale-spec.ts";
import { buildOptionDefaults, buildOptionsSchema } from "./build-options.ts";
import { durationSchema } from "./duration-schema.ts";
import { imageNamePattern, imageNameRule } from "./names.ts";
import { noPlacement, placementSchema } from "./placement.ts";
import { poolSchema } from "./pool.ts";
import { formatMemory, parseMemory } from "./quantity.ts";
import { defaultRollout, rolloutSchema } from "./rollout.ts";
import { secretFileList } from "./secret-references.ts";
import { volumeList } from "./volumes.ts";

/**
 * How each container of an image runs, beyond the image, its primary port, env and limits:
 * the fields Docker Compose and Kubernetes users expect. Each has its own validation and a
 * canonical output, so that equal specs compare (and hash) equal.
 */

const portRule = { message: "must be a port number between 1 and 65535" };
const port = z.number(portRule).int(portRule).min(1, portRule).max(65535, portRule);

const argumentList = (max: number) =>
  z
    .array(z.string().max(4_096, { message: "must be at most 4096 characters" }), {
      error: "must be a list of strings",
    })
    .max(max, { message: `at most ${max} items` });

const absolutePath = z
  .string()
  .max(1_024)
  .regex(/^\/[^\0]*$/, { message: "must be an absolute path" });

const durationWithin = (maxMs: number) => durationSchema({ minMs: 0, maxMs });

/** Label keys this controller sets itself: nobody may set them through a spec. */
export function isReservedLabel(key: string): boolean {
  return key === "managed-by" || key.startsWith("orchestrator.");
}

const userLabels = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, {
        message: "must be a label key like app.kubernetes.io/name",
      })
      .refine((key) => !isReservedLabel(key), {
        message: "is reserved: managed-by and orchestrator.* are set by the orchestrator",
      }),
    z.string().max(4_096, { message: "must be at most 4096 characters" }),
  )
  .refine((labels) => Object.keys(labels).length <= 64, { message: "at most 64 labels" });

/** A tmpfs size: from 4 KiB (one page) to 64 GiB. */
const tmpfsSizeBounds = { minBytes: 4 * 1024, maxBytes: 64 * 1024 ** 3 };

/** `/tmp`, or `{target, size}`; a bare path is read as `{target}` so errors name the field. */
const tmpfsMount = z.preprocess(
  (value) => (typeof value === "string" ? { target: value } : value),
  z.strictObject(
    {
      target: absolutePath,
      size: z
        .union([z.string(), z.number()])
        .transform((value, context) => {
          const parsed = parseMemory(value, tmpfsSizeBounds);
          if (!parsed.ok) {
            context.addIssue({ code: "custom", message: parsed.message });
            return z.NEVER;
          }
          return formatMemory(parsed.value);
        })
        .default("64m"),
    },
    { error: "must be an absolute path or {target, size}" },
  ),
);

/** A list where each key may appear once (its index is the field path of the second). */
function distinctBy<Item>(keyOf: (item: Item) => string) {
  return (items: readonly Item[], context: z.RefinementCtx) => {
    const seen = new Set<string>();
    for (const [index, item] of items.entries()) {
      if (seen.has(keyOf(item)))
        context.addIssue({
          code: "custom",
          path: [index],
          message: `${keyOf(item)} is listed twice`,
        });
      seen.add(keyOf(item));
    }
  };
}

export const portMappingSchema = z.strictObject({
  container: port,
  protocol: z.enum(["tcp", "udp"], { message: 'must be "tcp" or "udp"' }).default("tcp"),
  /** A fixed port on the host (within the admin's HOST_PORT_RANGE); a dynamic one otherwise. */
  host: port.optional(),
});

export type PortMapping = z.output<typeof portMappingSchema>;

/** Port mappings as stored (a kept revision's spec): none when absent or unreadable. Pure. */
export function portMappingsOf(stored: unknown): PortMapping[] {
  return z.array(portMappingSchema).safeParse(stored ?? []).data ?? [];
}

const portList = z
  .array(portMappingSchema, { error: "must be a list of {container, protocol, host}" })
  .max(20, { message: "at most 20 ports" })
  .superRefine((ports, context) => {
    const seen = new Set<string>();
    const hosts = new Set<string>();
    for (const [index, mapping] of ports.entries()) {
      const key = `${mapping.container}/${mapping.protocol}`;
      if (seen.has(key))
        context.addIssue({ code: "custom", path: [index], message: `${key} is listed twice` });
      seen.add(key);
      if (mapping.host === undefined) continue;
      const host = `${mapping.host}/${mapping.protocol}`;
      if (hosts.has(host))
        context.addIssue({
          code: "custom",
          path: [index, "host"],
          message: `host port ${host} is asked for twice`,
        });
      hosts.add(host);
    }
  });

export const restartPolicySchema = z
  .strictObject({
    name: z.enum(["always", "on-failure", "never"], {
      message: 'must be "always", "on-failure" or "never"',
    }),
    max_retries: z.number().int().min(0).max(1_000).optional(),
  })
  .refine((policy) => policy.name === "on-failure" || policy.max_retries === undefined, {
    message: "max_retries applies to on-failure only",
    path: ["max_retries"],
  });

export type RestartPolicy = z.output<typeof restartPolicySchema>;

const capability = z.string().regex(/^(CAP_)?(?!CAP_)[A-Z][A-Z_]{1,31}$/, {
  message: "must be a capability name like NET_ADMIN",
});
const device = z.string().regex(/^\/dev\/[^:\0]+(:\/dev\/[^:\0]+)?(:[rwm]{1,3})?$/, {
  message: "must be a device like /dev/fuse or /dev/sda:/dev/xvda:r",
});

/** Names of a tenant's own things (networks, images named in depends_on): like image names. */
const tenantName = z.string().regex(imageNamePattern, { message: `must be ${imageNameRule}` });

/** Networks of the tenant besides its private one, by the tenant's own names for them. */
const networkList = z
  .array(tenantName, { error: "must be a list of network names" })
  .max(8, { message: "at most 8 networks" })
  .superRefine(distinctBy((name: string) => name));

export const dependencyConditions = ["started", "healthy"] as const;

/** `db` is short for `{name: db, condition: healthy}`. */
export const dependencySchema = z.preprocess(
  (value) => (typeof value === "string" ? { name: value } : value),
  z.strictObject(
    {
      name: tenantName,
      condition: z
        .enum(dependencyConditions, { message: 'must be "started" or "healthy"' })
        .default("healthy"),
    },
    { error: "must be an image name or {name, condition}" },
  ),
);

export type Dependency = z.output<typeof dependencySchema>;

/** Images of the same tenant this one waits for: `[db]` or `[{name: db, condition: started}]`. */
const dependencyList = z
  .array(dependencySchema, { error: "must be a list of image names or {name, condition}" })
  .max(32, { message: "at most 32 dependencies" })
  .superRefine(distinctBy((dependency: Dependency) => dependency.name));

/** Each field with its own validation; optional, no defaults (PATCH uses these). */
export const containerOptionFields = {
  command: argumentList(256).nullable(),
  entrypoint: argumentList(64).nullable(),
  working_dir: absolutePath.nullable(),
  user: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}(:[A-Za-z0-9_.-]{1,64})?$/, {
      message: "must be a user (and group) like 1000:1000 or app",
    })
    .nullable(),
  hostname: z
    .string()
    .regex(/^(?!-)[a-z0-9-]{1,63}(?<!-)$/i, {
      message: "must be a hostname label (1-63 characters)",
    })
    .transform((value) => value.toLowerCase())
    .nullable(),
  labels: userLabels,
  stop_grace_period: durationWithin(3_600_000).nullable(),
  stop_signal: z
    .string()
    .regex(/^SIG[A-Z0-9+-]{2,12}$/, { message: "must be a signal name like SIGTERM" })
    .nullable(),
  read_only_root_filesystem: z.boolean({ error: "must be true or false" }),
  tmpfs: z
    .array(tmpfsMount)
    .max(16, { message: "at most 16 tmpfs mounts" })
    .superRefine((mounts, context) => {
      const seen = new Set<string>();
      for (const [index, mount] of mounts.entries()) {
        if (seen.has(mount.target))
          context.addIssue({
            code: "custom",
            path: [index, "target"],
            message: `${mount.target} is mounted twice`,
          });
        seen.add(mount.target);
      }
    }),
  /** Named volumes of the tenant and (admin only) host folders: domain/volumes.ts. */
  volumes: volumeList,
  init: z.boolean({ error: "must be true or false" }),
  ports: portList,
  restart_policy: restartPolicySchema,
  pull_policy: z.enum(["always", "missing", "never"], {
    message: 'must be "always", "missing" or "never"',
  }),
  privileged: z.boolean({ error: "must be true or false" }),
  cap_add: z
    .array(capability)
    .max(32)
    .transform((capabilities) => [
      ...new Set(capabilities.map((name) => name.replace(/^CAP_/, ""))),
    ]),
  devices: z.array(device).max(32),
  /** The tenant's secrets written as files into each container (domain/secret-references.ts). */
  secrets: secretFileList,
  networks: networkList,
  depends_on: dependencyList,
  /** How an upload's source is built (domain/build-options.ts); ignored for `image:` references. */
  build: buildOptionsSchema,
  /** A warm pool of claimable instances (domain/pool.ts); null: an ordinary image. */
  pool: poolSchema.nullable(),
  /** Where instances may run: Swarm constraints and spread (domain/placement.ts). */
  placement: placementSchema,
  /** The controller moves desired_instances by a metric (domain/autoscale-spec.ts); null: off. */
  autoscale: autoscaleSchema.nullable(),
  /** How a spec change rolls out: surge and unavailability bounds, gates (domain/rollout.ts). */
  rollout: rolloutSchema,
} as const;

export type ContainerOptions = {
  readonly [Field in keyof typeof containerOptionFields]: z.output<
    (typeof containerOptionFields)[Field]
  >;
};

/** What a container gets when its spec says nothing. */
export const containerOptionDefaults: ContainerOptions = {
  command: null,
  entrypoint: null,
  working_dir: null,
  user: null,
  hostname: null,
  labels: {},
  stop_grace_period: null,
  stop_signal: null,
  read_only_root_filesystem: false,
  tmpfs: [],
  volumes: [],
  init: false,
  ports: [],
  restart_policy: { name: "always" },
  pull_policy: "missing",
  privileged: false,
  cap_add: [],
  devices: [],
  secrets: [],
  networks: [],
  depends_on: [],
  build: buildOptionDefaults,
  pool: null,
  placement: noPlacement,
  autoscale: null,
  rollout: defaultRollout,
};

export const containerOptionNames = Object.keys(containerOptionFields) as ReadonlyArray<
  keyof ContainerOptions
>;

/** Options only the admin's images may set (they reach past the container's sandbox). */
export const adminOnlyOptions = ["privileged", "cap_add", "devices"] as const;

/**
 * The options whose change does not replace running containers (the controller's own policy):
 * depends_on decides when containers are created, not how they run; pool how many there are
 * and who holds them; build makes a new image, and its new id is what replaces them (the spec
 * hash holds the image id); autoscale only moves the desired count; rollout how they are
 * replaced; placement says where containers may run, not how (the container runtime creates
 * none while it is unmet; the Swarm runtime hashes it into its service's spec).
 */
export const controllerOnlyOptions = [
  "restart_policy",
  "pull_policy",
  "depends_on",
  "build",
  "pool",
  "placement",
  "autoscale",
  "rollout",
] as const;

/** An image's options as stored (rows written before they existed have none): defaults filled. */
export function withOptionDefaults(stored: Partial<ContainerOptions>): ContainerOptions {
  return { ...containerOptionDefaults, ...stored };
}

/** The options a container embodies, at their non-default values only (so a spec hash of an
 * image that sets none stays what it was before these options existed). */
export function containerOptionsForHash(options: ContainerOptions): Partial<ContainerOptions> {
  return Object.fromEntries(
    containerOptionNames
      .filter((name) => !(controllerOnlyOptions as readonly string[]).includes(name))
      .filter(
        (name) => JSON.stringify(options[name]) !== JSON.stringify(containerOptionDefaults[name]),
      )
      .map((name) => [name, options[name]]),
  );
}
