import type { ContainerOptions } from "../domain/container-options.ts";
import { type EnvValue, secretReferences } from "../domain/secret-references.ts";
import type { Repositories } from "../store/repositories.ts";
import { DesiredStateError } from "./errors.ts";

/**
 * A spec may name only secrets its owner has (another tenant's are simply unknown: 422 at the
 * field that names it). The named secrets are held (FOR SHARE) until the write commits, so a
 * delete of one of them waits and then finds the image that uses it (409), or goes first and
 * the write is refused: never an image naming a secret that is gone.
 */
export async function refuseUnknownSecrets(
  tx: Pick<Repositories, "secrets">,
  userId: number,
  spec: {
    readonly env?: Readonly<Record<string, EnvValue>> | undefined;
    readonly container_options?: Partial<ContainerOptions> | undefined;
  },
): Promise<void> {
  const references = secretReferences({
    env: spec.env,
    secrets: spec.container_options?.secrets,
  });
  if (references.length === 0) return;
  const existing = await tx.secrets.holdExisting(userId, [
    ...new Set(references.map((reference) => reference.name)),
  ]);
  const unknown = references.filter((reference) => !existing.has(reference.name));
  if (unknown.length === 0) return;
  const errors = unknown.map((reference) => ({
    path: reference.path,
    message: `no secret named ${reference.name}: create it with POST /api/secrets`,
  }));
  throw new DesiredStateError(
    "validation_failed",
    errors.map((error) => `${error.path}: ${error.message}`).join("; "),
    { errors },
  );
}
