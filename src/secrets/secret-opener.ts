import type { RegistryAuth } from "../docker/runtime.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import { registryHostOf } from "../domain/registry-host.ts";
import { secretNamesOf } from "../domain/secret-references.ts";
import type { ImageRecord } from "../reconcilers/image/model.ts";
import type { SecretsResolution } from "../reconcilers/image/ports.ts";
import type { Repositories } from "../store/repositories.ts";
import { open, registryBinding, type SecretsKey, secretBinding } from "./cipher.ts";

/**
 * The controller's side of secrets: which versions an image's secrets are at (for the spec
 * hash), their values when a container is created, and the owner's credentials for a pull. The
 * only code besides the services that holds the key; values are opened at the last moment and
 * handed straight to the engine.
 */
export function createSecretOpener(
  store: Pick<Repositories, "secrets" | "registryCredentials">,
  key: SecretsKey,
) {
  return {
    async resolveSecrets(image: ImageRecord): Promise<SecretsResolution> {
      const names = secretNamesOf({
        env: image.env,
        secrets: withOptionDefaults(image.container_options).secrets,
      });
      const sealed = await store.secrets.sealed(image.user_id, names);
      const found = new Map(sealed.map((secret) => [secret.name, secret]));
      const missing = names.filter((name) => !found.has(name));
      if (missing.length > 0) {
        return {
          ok: false,
          reason: "SecretNotFound",
          message: `secret ${missing.join(", ")} does not exist: create it with POST /api/secrets`,
        };
      }
      return {
        ok: true,
        versions: Object.fromEntries(
          sealed.map((secret) => [secret.name, `${secret.id}:${secret.version}`]),
        ),
        open: () =>
          new Map(
            sealed.map((secret) => [
              secret.name,
              open(key, secret.ciphertext, secretBinding(image.user_id, secret.name)),
            ]),
          ),
      };
    },

    /** The owner's credentials for the registry a reference is pulled from, if it has any. */
    async registryAuth(userId: number, reference: string): Promise<RegistryAuth | undefined> {
      const server = registryHostOf(reference);
      const credentials = await store.registryCredentials.sealed(userId, server);
      if (credentials === undefined) return undefined;
      return {
        server,
        username: credentials.username,
        password: open(key, credentials.password_ciphertext, registryBinding(userId, server)),
      };
    },
  };
}

export type SecretOpener = ReturnType<typeof createSecretOpener>;
