import type { DeclaredNetwork } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import type { ImageRecord } from "./model.ts";

/** The tenant's declared networks that none of its images names any more. Pure. */
export function undeclaredNetworks(
  existing: readonly DeclaredNetwork[],
  images: readonly Pick<ImageRecord, "container_options">[],
): DeclaredNetwork[] {
  const declared = new Set(
    images.flatMap((image) => withOptionDefaults(image.container_options).networks),
  );
  return existing.filter((network) => !declared.has(network.declaredAs));
}

/** An image's declared networks as one comparable value (order does not matter). */
export function declaredNetworksKey(image: Pick<ImageRecord, "container_options">): string {
  return withOptionDefaults(image.container_options).networks.toSorted().join("\n");
}

/**
 * Whether a pass looks for networks no image of the tenant declares any more: after it removed
 * a container (a network may have lost its last one), or when the image's declared networks
 * are not those this controller last cleaned up after (a change, or the first pass it makes of
 * the image). Not on every change of the spec: a change of the count leaves them as they were.
 * Pure.
 */
export function mayHaveUndeclaredNetworks(
  removedContainers: boolean,
  declared: string,
  lastCleaned: string | undefined,
): boolean {
  return removedContainers || declared !== lastCleaned;
}

/**
 * Removes the networks made for a tenant's `networks` that no image of the tenant names any
 * more (images being deleted still count, until their containers are gone). Docker is listed
 * before the images are read: a network an image declares meanwhile is kept. One still in use
 * stays (the engine refuses), and goes on a later pass.
 */
export async function removeUndeclaredNetworks(
  deps: Pick<ReconcilerDependencies, "store" | "runtime" | "settings" | "logger">,
  userId: number,
): Promise<void> {
  const existing = await deps.runtime.listDeclaredNetworks(deps.settings.orchestratorId, userId);
  if (existing.length === 0) return;
  const tenant = await deps.store.images.list(userId);
  for (const network of undeclaredNetworks(existing, tenant)) {
    if (await deps.runtime.removeNetwork(network.name)) {
      deps.logger.info({ network: network.name, userId }, "undeclared network removed");
    }
  }
}
