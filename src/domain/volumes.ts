import { z } from "zod";

/**
 * Volumes of an image's containers: named volumes owned by the tenant (`type: volume`), created
 * and labelled by the controller under a Docker name no other tenant can reach, and host folders
 * (`type: bind`) for the admin only, under BIND_MOUNT_ALLOWLIST. Pure: validation, names, labels
 * and the rules on who may mount what.
 */

/** A tenant's name for a volume: short, safe in a Docker volume name. */
export const volumeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const volumeNameRule =
  "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit";

/**
 * `/a/./b/../c/` → `/a/c`: an absolute path with `.`, `..` and repeated or trailing slashes
 * resolved (never above `/`), as the kernel would walk it without symlinks.
 */
export function normalizeAbsolutePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** Whether `path` is one of the prefixes or inside one (by whole path components). */
export function isUnderAnyPrefix(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some(
    (prefix) => prefix === "/" || path === prefix || path.startsWith(`${prefix}/`),
  );
}

/** Where the kernel's and the engine's own filesystems are: no volume goes over them. */
const reservedTargets = ["/proc", "/sys", "/dev"];

const absolutePath = z
  .string({ error: "must be an absolute path" })
  .max(1_024, { message: "must be at most 1024 characters" })
  .regex(/^\/[^\0]*$/, { message: "must be an absolute path" })
  .transform(normalizeAbsolutePath);

const mountTarget = absolutePath
  .refine((target) => target !== "/", { message: "must not be / (the container's root)" })
  .refine((target) => !isUnderAnyPrefix(target, reservedTargets), {
    message: "must not be under /proc, /sys or /dev",
  });

const readOnly = z.boolean({ error: "must be true or false" }).default(false);

export const namedVolumeSchema = z.strictObject({
  type: z.literal("volume"),
  source: z.string({ error: "must be a volume name" }).regex(volumeNamePattern, {
    message: `must be a volume name: ${volumeNameRule}`,
  }),
  target: mountTarget,
  read_only: readOnly,
});

export const bindMountSchema = z.strictObject({
  type: z.literal("bind"),
  /** A host folder; `..` resolved, so that the allowlist sees where it really points. */
  source: absolutePath,
  target: mountTarget,
  read_only: readOnly,
});

const volumeMount = z.discriminatedUnion("type", [namedVolumeSchema, bindMountSchema], {
  error: (issue) =>
    issue.code === "invalid_union"
      ? 'must be "volume" or "bind" (tmpfs mounts go in the tmpfs field)'
      : undefined,
});

export type VolumeMount = z.output<typeof volumeMount>;
export type NamedVolumeMount = Extract<VolumeMount, { type: "volume" }>;

/** `volumes`: at most 32 mounts, each target once. */
export const volumeList = z
  .array(volumeMount, { error: "must be a list of {type, source, target, read_only}" })
  .max(32, { message: "at most 32 volumes" })
  .superRefine((mounts, context) => {
    const seen = new Set<string>();
    for (const [index, mount] of mounts.entries()) {
      if (seen.has(mount.target)) {
        context.addIssue({
          code: "custom",
          path: [index, "target"],
          message: `${mount.target} is mounted twice`,
        });
      }
      seen.add(mount.target);
    }
  });

/** The names of the tenant's volumes a spec mounts. */
export function namedVolumesOf(mounts: readonly VolumeMount[] | undefined): string[] {
  return [
    ...new Set(
      (mounts ?? []).filter((mount) => mount.type === "volume").map((mount) => mount.source),
    ),
  ];
}

/**
 * The Docker name of a tenant's volume: `{orchestratorId}-u{user id}-{name}`. The user id is
 * digits ended by `-`, so two tenants' names can never meet, whatever their volume names.
 */
export function volumeDockerName(orchestratorId: string, userId: number, name: string): string {
  return `${orchestratorId}-u${userId}-${name}`;
}

export type VolumeRuleIssue = { readonly path: string; readonly message: string };

/**
 * Host folders are the admin's, and only under BIND_MOUNT_ALLOWLIST (none when unset): a tenant
 * asking for one, or a folder outside the allowlist, is refused with the mount's path.
 */
export function bindMountIssues(
  mounts: readonly VolumeMount[] | undefined,
  rules: { readonly isAdmin: boolean; readonly allowlist: readonly string[] },
): VolumeRuleIssue[] {
  const issues: VolumeRuleIssue[] = [];
  for (const [index, mount] of (mounts ?? []).entries()) {
    if (mount.type !== "bind") continue;
    if (!rules.isAdmin) {
      issues.push({
        path: `volumes[${index}].type`,
        message: "only the admin may mount host folders: use a named volume (type: volume)",
      });
    } else if (!isUnderAnyPrefix(mount.source, rules.allowlist)) {
      issues.push({
        path: `volumes[${index}].source`,
        message:
          rules.allowlist.length === 0
            ? "host folders are not enabled (BIND_MOUNT_ALLOWLIST is unset)"
            : `${mount.source} is outside BIND_MOUNT_ALLOWLIST (${rules.allowlist.join(", ")})`,
      });
    }
  }
  return issues;
}
