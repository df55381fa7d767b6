import { DesiredStateError } from "../desired/errors.ts";
import type { Actor } from "../domain/actor.ts";
import type { Store } from "../store/database.ts";
import type { RegistryCredentialsRecord } from "../store/registry-credentials-repository.ts";
import { registryBinding, type SecretsKey, seal } from "./cipher.ts";

const forAudit = (credentials: RegistryCredentialsRecord) => ({
  server: credentials.server,
  username: credentials.username,
});

/**
 * A tenant's registry credentials: the password sealed like a secret, never returned, logged or
 * audited; used only for pulls of that tenant's images (secret-opener.ts).
 */
export function createRegistriesService(store: Store, key: SecretsKey) {
  return {
    async put(
      userId: number,
      actor: Actor,
      request: { readonly server: string; readonly username: string; readonly password: string },
    ): Promise<{ credentials: RegistryCredentialsRecord; created: boolean }> {
      const ciphertext = seal(key, request.password, registryBinding(userId, request.server));
      return store.transaction(async (tx) => {
        const before = await tx.registryCredentials.find(userId, request.server);
        const credentials = await tx.registryCredentials.put(
          userId,
          request.server,
          request.username,
          ciphertext,
        );
        await tx.audit.append(actor, [
          {
            action: before === undefined ? "registry.create" : "registry.update",
            userId,
            imageId: null,
            target: `registries/${request.server}`,
            old: before === undefined ? null : forAudit(before),
            new: forAudit(credentials),
          },
        ]);
        return { credentials, created: before === undefined };
      });
    },

    list: (userId: number) => store.registryCredentials.list(userId),

    delete(userId: number, actor: Actor, server: string): Promise<RegistryCredentialsRecord> {
      return store.transaction(async (tx) => {
        const credentials = await tx.registryCredentials.find(userId, server);
        if (credentials === undefined) {
          throw new DesiredStateError("not_found", `no credentials for registry ${server}`);
        }
        await tx.registryCredentials.delete(credentials.id);
        await tx.audit.append(actor, [
          {
            action: "registry.delete",
            userId,
            imageId: null,
            target: `registries/${server}`,
            old: forAudit(credentials),
            new: null,
          },
        ]);
        return credentials;
      });
    },
  };
}

export type RegistriesService = ReturnType<typeof createRegistriesService>;
