import { namesSecrets } from "./container-spec.ts";
import type { ImageRecord } from "./model.ts";
import type { SecretsResolver } from "./ports.ts";
import type { Runnability } from "./status.ts";

/**
 * A runnable image that names secrets runs only with all of them (their versions hashed); both
 * runtimes (containers and Swarm services) ask this before they write.
 */
export async function withSecrets(
  image: ImageRecord,
  runnability: Runnability,
  resolveSecrets: SecretsResolver | undefined,
): Promise<Runnability> {
  if (!runnability.ok || !namesSecrets(image)) return runnability;
  const secrets =
    resolveSecrets === undefined
      ? {
          ok: false as const,
          reason: "SecretNotFound",
          message: "secrets are not available here",
        }
      : await resolveSecrets(image);
  if (!secrets.ok) {
    return { ok: false, reason: secrets.reason, message: secrets.message, degraded: true };
  }
  return { ...runnability, secrets };
}
