import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "./spec-hash.ts";

/**
 * How an uploaded source is built (`build: {args, target, platform, no_cache}`), the same in the
 * API and in desired-state files. Pure: validation, defaults, and the hash that says whether a
 * built image was built with the settings the spec asks for now.
 */

/**
 * Build args the engine's BuildKit reads as its own settings (`BUILDKIT_SYNTAX` picks a frontend
 * image, `BUILDKIT_CACHE_MOUNT_NS` keeps tenants' cache mounts apart): the controller sets
 * those, a tenant never does.
 */
export function isReservedBuildArg(name: string): boolean {
  return /^BUILDKIT_/i.test(name);
}

const buildArgName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, { message: "must be a build arg name like VERSION" })
  .refine((name) => !isReservedBuildArg(name), {
    message: "is reserved: BUILDKIT_* build args are set by the orchestrator",
  });

const buildArgs = z
  .record(
    buildArgName,
    z
      .union([z.string(), z.number(), z.boolean()], {
        error: "must be a string, number or boolean",
      })
      .transform(String)
      .pipe(
        z
          .string()
          .max(32_768, { message: "must be at most 32 KiB" })
          .refine((value) => !value.includes("\0"), { message: "must not contain NUL" }),
      ),
  )
  .refine((args) => Object.keys(args).length <= 100, { message: "at most 100 build args" });

/** A Dockerfile stage name (`FROM … AS build`), as the Dockerfile frontend accepts it. */
const stageName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/, {
    message: "must be a stage name of the Dockerfile (FROM … AS name)",
  })
  .transform((value) => value.toLowerCase());

/** `os/arch[/variant]`, as the engine takes it (`linux/amd64`, `linux/arm/v7`). */
const platform = z
  .string()
  .trim()
  .transform((value) => value.toLowerCase())
  .pipe(
    z.string().regex(/^[a-z0-9]{1,32}\/[a-z0-9_]{1,32}(?:\/[a-z0-9]{1,32})?$/, {
      message: 'must be a platform like "linux/amd64" or "linux/arm64/v8"',
    }),
  );

export const buildOptionsSchema = z.strictObject(
  {
    args: buildArgs.default({}),
    target: stageName.nullable().default(null),
    platform: platform.nullable().default(null),
    no_cache: z.boolean({ error: "must be true or false" }).default(false),
  },
  { error: "must be an object {args, target, platform, no_cache}" },
);

export type BuildOptions = z.output<typeof buildOptionsSchema>;

export const buildOptionDefaults: BuildOptions = {
  args: {},
  target: null,
  platform: null,
  no_cache: false,
};

/**
 * What an image is built from, besides its source: args, target and platform. A write that
 * changes it asks for a new build; `no_cache` changes how, not what, so it is left out.
 * Undefined for the defaults.
 */
export function buildSettingsHash(options: BuildOptions): string | undefined {
  const settings = { args: options.args, target: options.target, platform: options.platform };
  if (
    Object.keys(settings.args).length === 0 &&
    settings.target === null &&
    settings.platform === null
  ) {
    return undefined;
  }
  return createHash("sha256").update(canonicalJson(settings)).digest("hex").slice(0, 16);
}
