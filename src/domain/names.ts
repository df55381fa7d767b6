import { randomBytes } from "node:crypto";

/** Image names: unique per user, part of container names and of desired-state files. */
export const imageNamePattern = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
export const imageNameRule =
  "1-40 lowercase letters, digits or '-', not starting or ending with '-'";

/** Docker tag grammar. */
export const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const instanceIdAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";

/** A short random instance id: 10 characters of Crockford base32 (50 bits). */
export function newInstanceId(): string {
  const bytes = randomBytes(10);
  let id = "";
  for (const byte of bytes) id += instanceIdAlphabet[byte % 32];
  return id;
}

/**
 * `{prefix}-{image name}-{instance id}`: deterministic for an instance, so a crash between
 * "create" and "record" can never produce a second container for it (Docker refuses the name).
 */
export function containerName(prefix: string, imageName: string, instanceId: string): string {
  return `${prefix}-${imageName}-${instanceId}`;
}

/**
 * `{prefix}-u{user_id}-i{image_id}-{build token}:{tag}`: the tag of an image built from an
 * upload. The token is random and kept secret from other tenants, so that nobody else can name
 * the build (in `FROM`, or as an image to run).
 */
export function builtImageReference(
  prefix: string,
  userId: number,
  imageId: number,
  buildToken: string,
  tag: string,
): string {
  return `${prefix}-u${userId}-i${imageId}-${buildToken}:${tag}`;
}

/** Whether a reference is in the namespace of built images (`{prefix}-u…-i…`), anyone's. */
export function isBuiltImageReference(reference: string, prefix: string): boolean {
  const name = reference.replace(/^docker\.io\/(library\/)?/, "");
  return name.startsWith(`${prefix}-u`) && /^-u\d+-i\d+/.test(name.slice(prefix.length));
}

/**
 * What an image's containers run: the tag of its build for an upload, the user's reference for
 * an existing image. Every event's `image` field is this.
 */
export function runnableReference(
  image: {
    readonly source_type: "reference" | "upload";
    readonly image_reference: string | null;
    readonly user_id: number;
    readonly id: number;
    readonly tag: string;
    readonly build_token: string;
  },
  builtImagePrefix: string,
): string {
  return image.source_type === "upload"
    ? builtImageReference(builtImagePrefix, image.user_id, image.id, image.build_token, image.tag)
    : (image.image_reference ?? "");
}

/** The bridge network of one tenant's instances: `{orchestratorId}-u{user_id}`. */
export function tenantNetworkName(orchestratorId: string, userId: number): string {
  return `${orchestratorId}-u${userId}`;
}

/**
 * A network an image declares (`networks: [backend]`), the tenant's own:
 * `{orchestratorId}-u{user_id}-{name}`. Two tenants naming `backend` get two networks.
 */
export function declaredNetworkName(orchestratorId: string, userId: number, name: string): string {
  return `${tenantNetworkName(orchestratorId, userId)}-${name}`;
}

/** The rows of `count` new instances of an image: a fresh id each, and its container's name. */
export function newInstanceRows(
  prefix: string,
  image: { readonly id: number; readonly user_id: number; readonly name: string },
  count: number,
) {
  return Array.from({ length: count }, () => {
    const id = newInstanceId();
    return {
      id,
      image_id: image.id,
      user_id: image.user_id,
      container_name: containerName(prefix, image.name, id),
    };
  });
}
