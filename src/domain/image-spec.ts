import { z } from "zod";
import { buildOptionDefaults } from "./build-options.ts";
import {
  type ContainerOptions,
  containerOptionDefaults,
  containerOptionFields,
  containerOptionNames,
  controllerOnlyOptions,
} from "./container-options.ts";
import { durationSchema } from "./duration-schema.ts";
import { imageNamePattern, imageNameRule, tagPattern } from "./names.ts";
import { formatCpu, formatMemory, parseCpu, parseMemory } from "./quantity.ts";
import { type EnvValue, secretEnvValue, secretFileIssues } from "./secret-references.ts";
import { canonicalJson } from "./spec-hash.ts";
import { normalizeAbsolutePath } from "./volumes.ts";

/**
 * The desired state of one image as users write it: the same snake_case fields in the HTTP API
 * and in desired-state files. Values come out canonical ("500m" → "0.5", "256Mi" → "256m") so
 * that equal specs compare equal.
 */

export const imageName = z
  .string()
  .regex(imageNamePattern, { message: `must be ${imageNameRule}` });

export const imageTag = z.string().regex(tagPattern, {
  message:
    "must be a Docker tag: letters, digits, '_', '.', '-' (up to 128, not starting with '.' or '-')",
});

const referencePattern =
  /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const imageReference = z.string().max(512).regex(referencePattern, {
  message: 'must be a Docker image reference like "nginx:1.27" or "registry:5000/team/app:v1"',
});

const hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/i, {
    message: "must be a hostname like shop.example.com",
  })
  .transform((value) => value.toLowerCase());

const portRule = { message: "must be a port number between 1 and 65535" };
const port = z.number(portRule).int(portRule).min(1, portRule).max(65535, portRule);
const portField = z.union([port, z.string().regex(/^\d+$/).transform(Number).pipe(port)], {
  error: "must be a port number between 1 and 65535",
});

const countRule = { message: "must be a whole number between 0 and 10000" };
const count = z.number(countRule).int(countRule).min(0, countRule).max(10_000, countRule);
const countField = z.union([count, z.string().regex(/^\d+$/).transform(Number).pipe(count)], {
  error: countRule.message,
});

const cpuField = z.union([z.string(), z.number()]).transform((value, context) => {
  const parsed = parseCpu(value);
  if (!parsed.ok) {
    context.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }
  return formatCpu(parsed.value);
});

const memoryField = z.union([z.string(), z.number()]).transform((value, context) => {
  const parsed = parseMemory(value);
  if (!parsed.ok) {
    context.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }
  return formatMemory(parsed.value);
});

const envField = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, {
      message: "must be a variable name like LOG_LEVEL",
    }),
    z.union(
      [
        z
          .union([z.string(), z.number(), z.boolean()])
          .transform(String)
          .pipe(z.string().max(32_768, { message: "must be at most 32 KiB" })),
        // A tenant's secret by name (its value never enters the spec).
        secretEnvValue,
      ],
      { error: "must be a string, number or boolean, or {secret: name}" },
    ),
  )
  .refine((env) => Object.keys(env).length <= 200, { message: "at most 200 variables" });

const durationField = (minMs: number, maxMs: number) => durationSchema({ minMs, maxMs });

/** Probed from outside (HTTP against the host port) or run inside by Docker (HEALTHCHECK). */
export const healthCheckSchema = z
  .strictObject({
    http_path: z
      .string()
      .regex(/^\/[\x21-\x7e]*$/, { message: "must be a path starting with /" })
      .max(2048)
      .optional(),
    test: z
      .array(z.string().max(4096))
      .min(2)
      .refine((test) => test[0] === "CMD" || test[0] === "CMD-SHELL", {
        message: 'must start with "CMD" or "CMD-SHELL"',
      })
      .optional(),
    interval: durationField(1_000, 3_600_000).default("10s"),
    timeout: durationField(100, 600_000).default("3s"),
    retries: z.number().int().min(1).max(100).default(3),
    start_period: durationField(0, 3_600_000).default("0s"),
  })
  .refine((check) => (check.http_path === undefined) !== (check.test === undefined), {
    message: "set exactly one of http_path or test",
  });

export type HealthCheck = z.output<typeof healthCheckSchema>;

/** Every field of the spec with its own validation; optional, no defaults (PATCH uses this). */
export const specFields = {
  tag: imageTag,
  image: imageReference,
  app_hostname: hostname.nullable(),
  container_port: portField,
  min_instances: countField,
  max_instances: countField,
  desired_instances: countField,
  cpu_limit: cpuField,
  memory_limit: memoryField,
  env: envField,
  health_check: healthCheckSchema.nullable(),
  ...containerOptionFields,
} as const;

/** The names of a spec's fields, in the order users see them. */
export const specFieldNames = Object.keys(specFields) as ReadonlyArray<keyof typeof specFields>;

export const specDefaults = {
  tag: "latest",
  app_hostname: null,
  container_port: 8080,
  min_instances: 0,
  max_instances: 10,
  desired_instances: 1,
  cpu_limit: "1",
  memory_limit: "512m",
  env: {},
  health_check: null,
  ...containerOptionDefaults,
} as const;

/** A complete, canonical spec. `image` is set for existing images; uploads have none. */
export type ImageSpec = {
  readonly tag: string;
  readonly image?: string | undefined;
  readonly app_hostname: string | null;
  readonly container_port: number;
  readonly min_instances: number;
  readonly max_instances: number;
  readonly desired_instances: number;
  readonly cpu_limit: string;
  readonly memory_limit: string;
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly health_check: HealthCheck | null;
} & ContainerOptions;

export type SpecIssue = { readonly path: string; readonly message: string };

/**
 * Checks that involve several fields: min ≤ desired ≤ max, 1 ≤ max ≤ cap, a fixed host port
 * only for an image of one instance (two cannot bind one port), and no volume where a tmpfs is.
 */
export function crossFieldIssues(
  spec: Pick<ImageSpec, "min_instances" | "max_instances" | "desired_instances"> &
    Partial<
      Pick<
        ImageSpec,
        | "ports"
        | "volumes"
        | "secrets"
        | "read_only_root_filesystem"
        | "tmpfs"
        | "image"
        | "build"
        | "pool"
        | "autoscale"
      >
    >,
  maxInstancesCap: number,
): SpecIssue[] {
  const issues: SpecIssue[] = [...secretFileIssues(spec)];
  if (
    spec.image !== undefined &&
    spec.build !== undefined &&
    canonicalJson(spec.build) !== canonicalJson(buildOptionDefaults)
  ) {
    issues.push({
      path: "build",
      message: "applies only to an image built from a source (an upload, or source: in a file)",
    });
  }
  const tmpfsTargets = new Set(
    (spec.tmpfs ?? []).map((mount) => normalizeAbsolutePath(mount.target)),
  );
  for (const [index, mount] of (spec.volumes ?? []).entries()) {
    if (tmpfsTargets.has(mount.target)) {
      issues.push({
        path: `volumes[${index}].target`,
        message: `${mount.target} is a tmpfs mount already`,
      });
    }
  }
  const fixed = (spec.ports ?? []).findIndex((mapping) => mapping.host !== undefined);
  if (fixed >= 0 && spec.max_instances > 1) {
    issues.push({
      path: `ports[${fixed}].host`,
      message: "a fixed host port allows one instance: set max_instances to 1, or leave host out",
    });
  }
  if (spec.pool && spec.pool.max > maxInstancesCap) {
    issues.push({
      path: "pool.max",
      message: `must be at most ${maxInstancesCap} (MAX_INSTANCES_CAP)`,
    });
  }
  if (spec.autoscale && spec.pool) {
    issues.push({
      path: "autoscale",
      message: "cannot be set together with pool (the pool decides how many instances run)",
    });
  }
  const scalesToZero = spec.autoscale?.scale_to_zero_after !== undefined;
  if (scalesToZero && spec.autoscale?.metric !== "requests_per_second") {
    issues.push({
      path: "autoscale.scale_to_zero_after",
      message:
        'needs metric "requests_per_second" (idle means no request through the router, which wakes the image)',
    });
  }
  if (spec.autoscale && spec.min_instances < 1 && !scalesToZero) {
    issues.push({
      path: "min_instances",
      message:
        "must be at least 1 with autoscale (zero instances give no samples to scale by), unless autoscale.scale_to_zero_after is set",
    });
  }
  if (scalesToZero && spec.min_instances !== 0) {
    issues.push({
      path: "min_instances",
      message: "must be 0 with autoscale.scale_to_zero_after",
    });
  }
  if (spec.max_instances < 1) issues.push({ path: "max_instances", message: "must be at least 1" });
  if (spec.max_instances > maxInstancesCap) {
    issues.push({
      path: "max_instances",
      message: `must be at most ${maxInstancesCap} (MAX_INSTANCES_CAP)`,
    });
  }
  if (spec.min_instances > spec.max_instances) {
    issues.push({
      path: "min_instances",
      message: `must be ≤ max_instances (${spec.max_instances})`,
    });
  }
  if (spec.desired_instances < spec.min_instances) {
    issues.push({
      path: "desired_instances",
      message: `must be ≥ min_instances (${spec.min_instances})`,
    });
  }
  if (spec.desired_instances > spec.max_instances) {
    issues.push({
      path: "desired_instances",
      message: `must be ≤ max_instances (${spec.max_instances})`,
    });
  }
  return issues;
}

/** The container options with their defaults (a new image). */
function withDefaults() {
  return Object.fromEntries(
    containerOptionNames.map((name) => [
      name,
      (containerOptionFields[name] as z.ZodType).default(containerOptionDefaults[name] as never),
    ]),
  ) as { [Field in keyof ContainerOptions]: z.ZodDefault<(typeof containerOptionFields)[Field]> };
}

/** The container options, each optional (a change). */
function optionalOptions() {
  return Object.fromEntries(
    containerOptionNames.map((name) => [name, containerOptionFields[name].optional()]),
  ) as { [Field in keyof ContainerOptions]: z.ZodOptional<(typeof containerOptionFields)[Field]> };
}

/** Schema of a new image: name plus the spec, defaults filled in, bounds checked. */
export function newImageSchema(maxInstancesCap: number) {
  return z
    .strictObject({
      name: imageName,
      tag: specFields.tag.default(specDefaults.tag),
      image: specFields.image.optional(),
      app_hostname: specFields.app_hostname.default(specDefaults.app_hostname),
      container_port: specFields.container_port.default(specDefaults.container_port),
      min_instances: specFields.min_instances.default(specDefaults.min_instances),
      max_instances: specFields.max_instances.default(specDefaults.max_instances),
      desired_instances: specFields.desired_instances.optional(),
      cpu_limit: specFields.cpu_limit.default(specDefaults.cpu_limit),
      memory_limit: specFields.memory_limit.default(specDefaults.memory_limit),
      env: specFields.env.default({}),
      health_check: specFields.health_check.default(null),
      ...withDefaults(),
    })
    .transform((value) => ({
      ...value,
      // Without an explicit count, start what min_instances asks for, and at least one.
      desired_instances:
        value.desired_instances ?? Math.min(Math.max(value.min_instances, 1), value.max_instances),
    }))
    .superRefine((value, context) => {
      for (const issue of crossFieldIssues(value, maxInstancesCap)) {
        context.addIssue({ code: "custom", path: [issue.path], message: issue.message });
      }
    });
}

export type NewImage = z.output<ReturnType<typeof newImageSchema>>;

/** Schema of a change: any subset of the spec, plus the resource_version the client last saw. */
export const imagePatchSchema = z.strictObject({
  tag: specFields.tag.optional(),
  image: specFields.image.optional(),
  app_hostname: specFields.app_hostname.optional(),
  container_port: specFields.container_port.optional(),
  min_instances: specFields.min_instances.optional(),
  max_instances: specFields.max_instances.optional(),
  desired_instances: specFields.desired_instances.optional(),
  cpu_limit: specFields.cpu_limit.optional(),
  memory_limit: specFields.memory_limit.optional(),
  env: specFields.env.optional(),
  health_check: specFields.health_check.optional(),
  ...optionalOptions(),
  resource_version: z.number().int().min(1).optional(),
});

export type ImagePatch = z.output<typeof imagePatchSchema>;

/** The fields whose change replaces running containers (counts and the hostname do not). */
export const containerSpecFields = [
  "tag",
  "image",
  "container_port",
  "cpu_limit",
  "memory_limit",
  "env",
  "health_check",
  ...containerOptionNames.filter(
    (name): name is Exclude<keyof ContainerOptions, (typeof controllerOnlyOptions)[number]> =>
      !(controllerOnlyOptions as readonly string[]).includes(name),
  ),
] as const satisfies ReadonlyArray<keyof ImageSpec>;
