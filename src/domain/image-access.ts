import { labelKeys } from "./labels.ts";
import { isBuiltImageReference } from "./names.ts";

/** Who wants to run (or build from) an image. */
export type ImageOwner = { readonly userId: number; readonly isAdmin: boolean };

export type ImageAccessSettings = {
  readonly orchestratorId: string;
  readonly builtImagePrefix: string;
  /** Patterns (`*` matches anything) of local images every tenant may use. */
  readonly allowedLocalImages: readonly string[];
};

/** The settings, and who the admin is (the admin's images may use anything the engine has). */
export type ReferenceAccess = ImageAccessSettings & { readonly adminUserId: number };

/** The owner of an image row, as the decisions see it. */
export function ownerOf(userId: number, access: Pick<ReferenceAccess, "adminUserId">): ImageOwner {
  return { userId, isAdmin: userId === access.adminUserId };
}

/** What the engine holds under a reference (by name), as far as the decision needs it. */
export type LocalImageFacts = { readonly labels: Readonly<Record<string, string>> };

export type ImageAccess =
  | { readonly kind: "allow" }
  /** Only if a registry gives it to this tenant now: pull it, and use it only if that works. */
  | { readonly kind: "pull" }
  | {
      readonly kind: "deny";
      readonly code: "image_not_found" | "image_not_allowed";
      readonly message: string;
    };

const allow: ImageAccess = { kind: "allow" };
const pull: ImageAccess = { kind: "pull" };

/**
 * `sha256:…` or a full 64-hex id. (Shorter hex names are valid names: the engine would also
 * resolve them as id prefixes, which is why local images are looked up by name only.)
 */
function isImageId(reference: string): boolean {
  return /^sha256:/i.test(reference) || /^[0-9a-f]{64}$/i.test(reference);
}

function ownerOfBuiltReference(reference: string, prefix: string): number | undefined {
  const match = /-u(\d+)-i\d+/.exec(
    reference.replace(/^docker\.io\/(library\/)?/, "").slice(prefix.length),
  );
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** `nginx*` matches `nginx:1.27`; `orchestrator-test/*` matches `orchestrator-test/httpd:latest`. */
export function matchesImagePattern(reference: string, pattern: string): boolean {
  const escaped = pattern
    .trim()
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  const name = reference.replace(/^docker\.io\/(library\/)?/, "");
  return new RegExp(`^${escaped}$`).test(name) || new RegExp(`^${escaped}$`).test(reference);
}

/**
 * What a reference may be, before looking at the engine: image ids (which would reach any local
 * image) and other tenants' builds are refused to tenants. Pure.
 */
export function referencePolicy(
  reference: string,
  owner: ImageOwner,
  settings: Pick<ImageAccessSettings, "builtImagePrefix">,
): ImageAccess {
  if (owner.isAdmin) return allow;
  if (isImageId(reference)) {
    return {
      kind: "deny",
      code: "image_not_allowed",
      message: `${reference}: image ids are not allowed; name an image by its reference`,
    };
  }
  if (
    isBuiltImageReference(reference, settings.builtImagePrefix) &&
    ownerOfBuiltReference(reference, settings.builtImagePrefix) !== owner.userId
  ) {
    return { kind: "deny", code: "image_not_found", message: `image ${reference} not found` };
  }
  return allow;
}

/**
 * Whether a tenant may run (or build from) what a reference names on the engine. A tenant may
 * use public images (those a registry hands out: pulled, so the registry decides), local
 * images the admin allows (ALLOWED_LOCAL_IMAGES), and its own builds (known by the labels this
 * controller sets on every build, over anything the Dockerfile says). The admin may use anything.
 * A local image that is none of these is usable only if a pull of it works now. Pure.
 */
export function decideImageAccess(
  reference: string,
  owner: ImageOwner,
  local: LocalImageFacts | undefined,
  settings: ImageAccessSettings,
): ImageAccess {
  const policy = referencePolicy(reference, owner, settings);
  if (owner.isAdmin || policy.kind === "deny") return policy;
  const built = isBuiltImageReference(reference, settings.builtImagePrefix);
  const labels = local?.labels ?? {};
  const ours =
    labels[labelKeys.managedBy] === settings.orchestratorId &&
    labels[labelKeys.imageId] !== undefined;
  if (ours) {
    return labels[labelKeys.owner] === String(owner.userId)
      ? allow
      : { kind: "deny", code: "image_not_found", message: `image ${reference} not found` };
  }
  // A name in the builds' namespace is never pulled: a registry copy must not replace a build.
  if (built)
    return { kind: "deny", code: "image_not_found", message: `image ${reference} not found` };
  if (local === undefined) return pull;
  if (settings.allowedLocalImages.some((pattern) => matchesImagePattern(reference, pattern))) {
    return allow;
  }
  return pull;
}
