import type { ImageBuilder } from "../docker/build.ts";
import type { RegistrySettings } from "./registry-settings.ts";

/**
 * The registry built images are pushed to (REGISTRY_URL), so that other engines can pull them,
 * and from which the controller pulls a build back when the engine lost it. One set of
 * credentials, the operator's: tenants never see them.
 */
export type BuiltImageRegistry = {
  /** Where a build goes: `{REGISTRY_URL}/{built name}:{tag}` (the name keeps its secret token). */
  targetOf(localReference: string): string;
  /** Pushes a local build; resolves with `repository:tag@sha256:…`, what others pull. */
  push(localReference: string): Promise<string>;
  /**
   * Pulls a pushed build (by its digest) and names it as built again (`localReference`).
   * Resolves false, pulling nothing, when it was pushed for another name or tag.
   */
  restore(registryReference: string, localReference: string): Promise<boolean>;
};

/** `host:5000/a/b:tag` → `host:5000/a/b`. */
function repositoryOf(reference: string): string {
  const colon = reference.lastIndexOf(":");
  return colon > reference.lastIndexOf("/") ? reference.slice(0, colon) : reference;
}

export function createBuiltImageRegistry(
  builder: Pick<ImageBuilder, "tag" | "untag" | "push" | "pull">,
  settings: RegistrySettings,
): BuiltImageRegistry {
  const credentials =
    settings.username === undefined || settings.password === undefined
      ? undefined
      : { server: settings.server, username: settings.username, password: settings.password };
  const targetOf = (localReference: string) =>
    `${settings.repositoryPrefix}/${localReference.replace(/^docker\.io\/(library\/)?/, "")}`;

  return {
    targetOf,
    async push(localReference) {
      const target = targetOf(localReference);
      await builder.tag(localReference, target);
      try {
        const digest = await builder.push(target, credentials ?? { server: settings.server });
        return `${target}@${digest}`;
      } finally {
        // The engine keeps the build under its own name only.
        await builder.untag(target).catch(() => {});
      }
    },
    async restore(registryReference, localReference) {
      const at = registryReference.lastIndexOf("@");
      if (at < 0 || registryReference.slice(0, at) !== targetOf(localReference)) return false;
      const byDigest = `${repositoryOf(registryReference.slice(0, at))}${registryReference.slice(at)}`;
      await builder.pull(byDigest, credentials);
      await builder.tag(byDigest, localReference);
      return true;
    },
  };
}
