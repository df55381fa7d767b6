import { z } from "zod";

/**
 * How an image spec names a tenant's secrets: as an env value (`{secret: db-password}`) or as a
 * file (`secrets: [{name: db-password, target: /run/secrets/db-password}]`). A spec holds only
 * these references, never a value: what the API shows, audits, exports and hashes is the name.
 */

export const secretNameRule =
  "1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit";

export const secretName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, {
  message: `must be ${secretNameRule}`,
});

/** An env value taken from a secret. */
export type SecretEnvValue = { readonly secret: string };

/** An env value as a spec holds it: a literal, or a secret's name. */
export type EnvValue = string | SecretEnvValue;

export const secretEnvValue = z.strictObject(
  { secret: secretName },
  { error: "must be a string, number or boolean, or {secret: name}" },
);

export function isSecretValue(value: EnvValue): value is SecretEnvValue {
  return typeof value === "object";
}

const defaultSecretsFolder = "/run/secrets";

const secretTarget = z
  .string()
  .max(1_024)
  .regex(/^\/[^\0]*[^/]$/, { message: "must be an absolute path to a file" })
  .refine((target) => !target.split("/").some((part) => part === "." || part === ".."), {
    message: "must not contain . or .. segments",
  });

/** A secret written as a file into each container: `name`, or `{name, target}`. */
export const secretFile = z.union([
  secretName.transform((name) => ({ name, target: `${defaultSecretsFolder}/${name}` })),
  z
    .strictObject({ name: secretName, target: secretTarget.optional() })
    .transform(({ name, target }) => ({
      name,
      target: target ?? `${defaultSecretsFolder}/${name}`,
    })),
]);

export type SecretFile = z.output<typeof secretFile>;

export const secretFileList = z
  .array(secretFile, { error: "must be a list of secret names or {name, target}" })
  .max(64, { message: "at most 64 secrets" })
  .superRefine((files, context) => {
    const seen = new Set<string>();
    for (const [index, file] of files.entries()) {
      if (seen.has(file.target))
        context.addIssue({
          code: "custom",
          path: [index, "target"],
          message: `${file.target} is listed twice`,
        });
      seen.add(file.target);
    }
  });

/** One place a spec names a secret, with the field path a refusal points at. */
export type SecretReference = { readonly name: string; readonly path: string };

/** Every secret a spec names, env values first, in order. */
export function secretReferences(spec: {
  readonly env?: Readonly<Record<string, EnvValue>> | undefined;
  readonly secrets?: readonly SecretFile[] | undefined;
}): SecretReference[] {
  const references: SecretReference[] = [];
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    if (isSecretValue(value)) references.push({ name: value.secret, path: `env.${key}` });
  }
  for (const [index, file] of (spec.secrets ?? []).entries()) {
    references.push({ name: file.name, path: `secrets[${index}].name` });
  }
  return references;
}

/** The distinct names a spec refers to, sorted. */
export function secretNamesOf(spec: Parameters<typeof secretReferences>[0]): string[] {
  return [...new Set(secretReferences(spec).map((reference) => reference.name))].sort();
}

/**
 * Files a container cannot receive before it starts: the controller writes them into the
 * created container's filesystem (see docker/create-container.ts), which a read-only root
 * filesystem refuses and a tmpfs mounted over the folder would hide.
 */
export function secretFileIssues(spec: {
  readonly secrets?: readonly SecretFile[] | undefined;
  readonly read_only_root_filesystem?: boolean | undefined;
  readonly tmpfs?: ReadonlyArray<{ readonly target: string }> | undefined;
}): Array<{ path: string; message: string }> {
  const issues: Array<{ path: string; message: string }> = [];
  const files = spec.secrets ?? [];
  if (files.length > 0 && spec.read_only_root_filesystem === true) {
    issues.push({
      path: "secrets",
      message:
        "secret files are written into the container before it starts, which a read-only root filesystem refuses: pass them through env instead, or drop read_only_root_filesystem",
    });
  }
  for (const [index, file] of files.entries()) {
    const under = (spec.tmpfs ?? []).find(
      (mount) =>
        file.target === mount.target ||
        file.target.startsWith(`${mount.target.replace(/\/$/, "")}/`),
    );
    if (under !== undefined) {
      issues.push({
        path: `secrets[${index}].target`,
        message: `is under the tmpfs mount ${under.target}, which would hide it: choose a target outside it`,
      });
    }
  }
  return issues;
}
