import { DesiredStateError } from "../desired/errors.ts";
import type { Actor } from "../domain/actor.ts";
import type { Store } from "../store/database.ts";
import type { SecretRecord } from "../store/secrets-repository.ts";
import { type SecretsKey, seal, secretBinding } from "./cipher.ts";

/** What the audit log keeps of a secret: its name and version, never its value. */
const forAudit = (secret: SecretRecord) => ({ name: secret.name, version: secret.version });

/**
 * A tenant's secrets: created or replaced (sealed with the key before they reach the store),
 * listed without values, deleted when no image names them. Replacing a value tells the
 * controller about every image that uses it, in the same transaction: their containers roll
 * (the version is part of the spec hash). Every change is audited without the value.
 */
export function createSecretsService(store: Store, key: SecretsKey) {
  return {
    async put(
      userId: number,
      actor: Actor,
      name: string,
      value: string,
    ): Promise<{ secret: SecretRecord; created: boolean; usedBy: number }> {
      const ciphertext = seal(key, value, secretBinding(userId, name));
      return store.transaction(async (tx) => {
        const secret = await tx.secrets.put(userId, name, ciphertext);
        const created = secret.version === 1;
        const users = created ? [] : await tx.images.usingSecret(userId, name);
        for (const image of users) await tx.images.notifyChanged(image.id);
        await tx.audit.append(actor, [
          {
            action: created ? "secret.create" : "secret.update",
            userId,
            imageId: null,
            target: `secrets/${name}`,
            old: created ? null : { name, version: secret.version - 1 },
            new: forAudit(secret),
          },
        ]);
        return { secret, created, usedBy: users.length };
      });
    },

    list: (userId: number) => store.secrets.list(userId),

    /** 404 when there is none; 409 `secret_in_use` naming the images that still use it. */
    delete(userId: number, actor: Actor, name: string): Promise<SecretRecord> {
      return store.transaction(async (tx) => {
        const secret = await tx.secrets.findForUpdate(userId, name);
        if (secret === undefined)
          throw new DesiredStateError("not_found", `secret ${name} not found`);
        const users = await tx.images.usingSecret(userId, name);
        if (users.length > 0) {
          throw new DesiredStateError(
            "secret_in_use",
            `secret ${name} is used by ${users.map((image) => `${image.name} (${image.id})`).join(", ")}: remove it from their specs first`,
            { extensions: { images: users.map((image) => ({ id: image.id, name: image.name })) } },
          );
        }
        await tx.secrets.delete(secret.id);
        await tx.audit.append(actor, [
          {
            action: "secret.delete",
            userId,
            imageId: null,
            target: `secrets/${name}`,
            old: forAudit(secret),
            new: null,
          },
        ]);
        return secret;
      });
    },
  };
}

export type SecretsService = ReturnType<typeof createSecretsService>;
