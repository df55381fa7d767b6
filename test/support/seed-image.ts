import { loadConfig } from "../../src/config.ts";
import { createImage } from "../../src/desired/image-writes.ts";
import { newImageSchema } from "../../src/domain/image-spec.ts";
import type { Store } from "../../src/store/database.ts";
import type { ImageRecord } from "../../src/store/records.ts";

/**
 * An image written straight to a store, as the API's create writes it (one transaction: row,
 * revision, event, audit), by its owner, who is the admin and outside any quota: for suites
 * and benches that seed a database without a running service.
 */
export function seedImage(
  store: Store,
  owner: { readonly id: number; readonly name: string },
  spec: Record<string, unknown>,
  options: { readonly sourceType: "upload" | "reference"; readonly builtImagePrefix: string },
): Promise<ImageRecord> {
  const input = newImageSchema(100).parse(spec);
  return store.transaction((tx) =>
    createImage(
      tx,
      {
        userId: owner.id,
        input: { ...input, source_type: options.sourceType },
        status: "pending",
        actor: { userId: owner.id, name: owner.name, tokenId: null, tokenName: null },
      },
      {
        builtImagePrefix: options.builtImagePrefix,
        adminUserId: owner.id,
        quota: { defaults: loadConfig({}).quota, unlimitedUsers: new Set([owner.id]) },
      },
    ),
  );
}
